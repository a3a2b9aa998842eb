"""One request without the web page: previews, old requests forgotten, pixel cap."""
from __future__ import annotations

import os
import time

import numpy as np
from PIL import Image
from skimage import data

from colorizer.app.jobs import PREVIEW_SIDE, check_pixels, colorize_request, split_urls
from colorizer.app.ui import _forget_old_requests


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


def test_requests_older_than_an_hour_are_deleted(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        (folder / "out").mkdir(parents=True)
        (folder / "out" / "photo.jpg").write_bytes(b"x")
    hour_ago = time.time() - 3601
    os.utime(old, (hour_ago, hour_ago))
    _forget_old_requests(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]


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
