"""One request without the web page: previews, uploads and requests expiring, pixel cap."""
from __future__ import annotations

import os
import time

import numpy as np
from PIL import Image
from skimage import data

from colorizer.app.jobs import PREVIEW_SIDE, check_pixels, colorize_request, split_urls
from colorizer.app.sweeper import Sweeper


def test_previews_are_small_and_results_full_size(model, tmp_path):
    wide = np.tile(data.camera(), (1, 4))[:, :2048]  # 512 x 2048, longer than a preview
    Image.fromarray(wide).save(tmp_path / "wide.png")
    outcome = colorize_request(model, [str(tmp_path / "wide.png")], [],
                               tmp_path / "request", render_size=128)
    (result,) = outcome.results
    assert (result.width, result.height) == (2048, 512)
    with Image.open(result.output) as full:
        assert full.size == (2048, 512)
    for preview in (result.before, result.after):
        with Image.open(preview) as image:
            assert image.size == (PREVIEW_SIDE, PREVIEW_SIDE * 512 // 2048)
    assert outcome.archive is None  # one photo: no zip


def test_uploads_and_requests_expire_and_the_folder_keeps_under_its_cap(tmp_path):
    def entry(path, size, age):
        path.mkdir(parents=True)
        (path / "photo.jpg").write_bytes(b"x" * size)
        then = time.time() - age
        for item in (path, path / "photo.jpg"):
            os.utime(item, (then, then))

    entry(tmp_path / "requests" / "old", 10, 3601)  # a request of an hour ago
    entry(tmp_path / "requests" / "new", 10, 5)
    entry(tmp_path / "0f3a", 10, 4000)  # an upload, as Gradio keeps it
    entry(tmp_path / "9bc1", 10, 1)
    sweeper = Sweeper(tmp_path, keep_seconds=3600, max_bytes=1000, grace_seconds=0)
    assert sorted(os.path.basename(p) for p in sweeper.sweep()) == ["0f3a", "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["9bc1", "requests"]

    # Over the size cap: the oldest go first, until it fits.
    entry(tmp_path / "requests" / "big", 600, 30)
    entry(tmp_path / "requests" / "bigger", 700, 20)
    removed = Sweeper(tmp_path, max_bytes=1000, grace_seconds=0).sweep()
    assert [os.path.basename(p) for p in removed] == ["big"]
    assert sweeper.folder_bytes() == 720
    # Nothing younger than the grace period goes for size: a request in progress stays.
    assert Sweeper(tmp_path, max_bytes=100, grace_seconds=60).sweep() == []


def test_the_sweeper_runs_on_its_own_timer(tmp_path):
    (tmp_path / "abc").mkdir()
    (tmp_path / "abc" / "upload.png").write_bytes(b"x")
    sweeper = Sweeper(tmp_path, keep_seconds=0.2, interval=0.1).start()
    try:
        deadline = time.monotonic() + 10
        while (tmp_path / "abc").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (tmp_path / "abc").exists()  # no request needed to trigger it
    finally:
        sweeper.stop()


def test_pixel_cap_reads_only_the_header(tmp_path):
    path = tmp_path / "scan.png"
    Image.new("L", (3000, 2000)).save(path)
    assert check_pixels(str(path), max_pixels=6_000_000) is None
    assert check_pixels(str(path), max_pixels=5_999_999).startswith(
        "too large: 3000 x 2000 pixels (6.0 MP)")
    assert check_pixels(str(tmp_path / "missing.png")) is None  # reported later, by colorize


def test_links_split_on_lines_spaces_and_commas():
    assert split_urls(" http://a/1.jpg\nhttp://b/2.png, https://c/3\n\n") == [
        "http://a/1.jpg", "http://b/2.png", "https://c/3"]
    assert split_urls(None) == []


def test_a_film_is_colorized_with_stills_for_the_slider(model, tmp_path):
    from colorizer.films.video_io import probe_video
    from tests.films import clips

    frames, _ = clips.pan(data.astronaut(), 6, (64, 96))
    clips.write_clip(str(tmp_path / "film.mov"), frames, tone_seconds=0.25)
    outcome = colorize_request(model, [str(tmp_path / "film.mov")], [], tmp_path / "request",
                               render_size=64)
    (result,) = outcome.results
    assert result.output.endswith("film.mov") and probe_video(result.output).frames == 6
    for still in (result.before, result.after):
        with Image.open(still) as image:
            assert image.size == (96, 64)


def test_a_request_in_progress_keeps_its_files(tmp_path):
    upload = tmp_path / "abc" / "photo.png"
    upload.parent.mkdir()
    upload.write_bytes(b"x")
    sweeper = Sweeper(tmp_path, keep_seconds=0, max_bytes=0, grace_seconds=0)
    with sweeper.holding([str(upload)]):
        time.sleep(0.01)
        assert sweeper.sweep() == [] and upload.exists()
    assert sweeper.sweep() == [str(tmp_path / "abc")]
