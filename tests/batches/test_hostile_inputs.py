"""Inputs as people (and attackers) send them: malformed hints files, endless or huge files,
films whose frames change size or whose header miscounts. Each fails alone, named in one line,
through the same boundary photos pass; nothing is left behind; the others are colorized."""
from __future__ import annotations

import fractions
import io
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from colorizer.batches.batch import colorize_inputs
from colorizer.batches.guidance import BatchGuidance
from colorizer.guided.hints import (
    MAX_HINTS_BYTES, HintError, Hints, hint_pixels, load_hints)
from colorizer.films.video import colorize_video, truncated
from colorizer.films.video_io import VideoReadError, probe_video
from tests.bombs import zero_png
from tests.films import clips

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = (48, 64)


@pytest.fixture(scope="module")
def model():
    return clips.high_pass_model()


def _gray_frames(count: int, size=SIZE) -> list[np.ndarray]:
    ramp = np.linspace(30, 220, size[1], dtype=np.float32)[None, :, None]
    return [np.broadcast_to(np.clip(ramp + 3 * i, 0, 255), (*size, 3)).astype(np.uint8)
            for i in range(count)]


# -- hints files -----------------------------------------------------------------------------

HOSTILE_HINTS = {
    "huge-int": ('{"points": [{"x": ' + "9" * 5000 + ', "y": 1, "color": "#aa3322"}]}',
                 "a number of 5000 digits"),
    "infinity": ('{"points": [{"x": 1, "y": 1, "color": [Infinity, 0, 0]}]}',
                 "Infinity is not a number"),
    "nan": ('{"points": [{"x": NaN, "y": 1, "color": "#aa3322"}]}', "NaN is not a number"),
    "overflow": ('{"points": [{"x": 1e999, "y": 1, "color": "#aa3322"}]}', "too large"),
    "nested": ("[" * 100_000, "malformed JSON"),
    "huge-float": ('{"points": [{"x": 1, "y": 1e300, "color": "#aa3322"}]}',
                   "y must be a whole number from 0 to"),
    "fraction-colour": ('{"points": [{"x": 1, "y": 1, "color": [1.7, 0, 0]}]}',
                        "unknown colour"),
    "string-colour": ('{"points": [{"x": 1, "y": 1, "color": ["255", "0", "0"]}]}',
                      "unknown colour"),
    "bool-x": ('{"points": [{"x": true, "y": 1, "color": "#aa3322"}]}', "x must be a whole"),
    "not-utf8": (b'{"points": [\xff\xfe]}', "not UTF-8"),
    "folder": (None, "a folder, not a hints file"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_HINTS))
def test_hostile_hints_files_fail_with_one_short_line_naming_the_file(tmp_path, name):
    content, message = HOSTILE_HINTS[name]
    path = tmp_path / "bad.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(HintError) as error:
        load_hints(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and message in text, text
    assert len(text) < 300 and "\n" not in text  # a hostile value is never echoed whole


def test_whole_numbers_written_as_floats_are_taken_for_x_y_and_frame_alike(tmp_path):
    path = tmp_path / "h.json"
    path.write_text('{"points": [{"x": 1.0, "y": 2, "color": [255.0, 0, 0]}], "frame": 3.0}')
    hints = load_hints(path)
    assert (hints.points[0].x, hints.points[0].y, hints.points[0].rgb) == (1, 2, (255, 0, 0))
    assert hints.frame == 3 and isinstance(hints.frame, int)


def test_an_endless_hints_file_is_refused_at_the_cap_while_reading(tmp_path):
    with pytest.raises(HintError, match="/dev/zero: a hints file of over 16 MB"):
        load_hints("/dev/zero")  # its reported size is 0
    fifo = tmp_path / "hints.fifo"
    os.mkfifo(fifo)
    stop = threading.Event()

    def write_forever():
        with open(fifo, "wb") as pipe:
            try:
                while not stop.is_set():
                    pipe.write(b" " * 65536)
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=write_forever, daemon=True)
    writer.start()
    try:
        with pytest.raises(HintError, match="a hints file of over 16 MB"):
            load_hints(fifo)
    finally:
        stop.set()
    writer.join(timeout=10)
    assert MAX_HINTS_BYTES == 16 * 2**20


PEAK = """
import sys
from colorizer.guided.hints import HintError, Hints, hint_pixels
try:
    hint_pixels(Hints(scribbles=sys.argv[1]), 120, 160)
except HintError as error:
    print(error)
# The peak of this program's own memory (ru_maxrss would count the parent's, from the fork).
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def test_a_scribbles_bomb_is_refused_from_its_header_before_decoding(tmp_path):
    bomb = tmp_path / "s.png"
    size = zero_png(bomb, 12000, 12000, colour_type=6)  # RGBA: 576 MB of pixels
    assert size < 2_000_000
    result = subprocess.run([sys.executable, "-c", PEAK, str(bomb)], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    message, peak_mb = result.stdout.strip().splitlines()
    assert "scribbles s.png is 12000x12000, the photo 160x120" in message, result.stderr
    assert int(peak_mb) < 250  # decoding it would take 576 MB and more


def test_scribbles_go_through_the_pixel_cap_every_image_does(tmp_path):
    bomb = tmp_path / "s.png"
    zero_png(bomb, 8000, 8000, colour_type=6)  # the photo's own size, but 64 MP
    with pytest.raises(HintError, match="scribbles s.png: .*too large"):
        hint_pixels(Hints(scribbles=str(bomb)), 8000, 8000)
    (tmp_path / "t.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(HintError, match="scribbles t.png: not a readable image"):
        hint_pixels(Hints(scribbles=str(tmp_path / "t.png")), 10, 10)


def test_scribbles_whose_exif_turns_them_upright_to_the_photos_size_still_fit(tmp_path):
    stored = np.zeros((30, 20, 4), np.uint8)  # 20 wide, 30 tall as stored
    stored[0, 0] = (200, 30, 30, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter: 30 wide, 20 tall
    buffer = io.BytesIO()
    Image.fromarray(stored, "RGBA").save(buffer, "PNG", exif=exif)
    (tmp_path / "s.png").write_bytes(buffer.getvalue())
    rows, cols, _ = hint_pixels(Hints(scribbles=str(tmp_path / "s.png")), 20, 30)
    assert len(rows) == 1 and (rows[0], cols[0]) == (0, 29)


def test_a_hints_file_shared_by_many_photos_is_parsed_once(tmp_path):
    from colorizer.batches.inputs import Source

    path = tmp_path / "h.json"
    path.write_text('{"points": [{"x": 1, "y": 1, "color": "#aa3322"}]}')
    guide = BatchGuidance.from_paths(path, None)
    first = guide(Source("a.jpg", "a.jpg"))
    path.write_text("{broken")  # were it read again, the next photo would fail
    assert guide(Source("b.jpg", "b.jpg")).hints is first.hints


# -- films -----------------------------------------------------------------------------------

def _size_changing_avi(path: str, sizes: list[tuple[int, int]]) -> None:
    """An MJPEG AVI whose header gives the first frame's size and whose frames are JPEGs of
    ``sizes`` (width, height): made packet by packet, as a hostile file would be."""
    import av

    with av.open(path, "w") as out:
        stream = out.add_stream("mjpeg", rate=24)
        stream.width, stream.height = sizes[0]
        stream.pix_fmt = "yuvj420p"
        for index, (width, height) in enumerate(sizes):
            buffer = io.BytesIO()
            Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(buffer, "JPEG")
            packet = av.Packet(buffer.getvalue())
            packet.pts = packet.dts = index
            packet.time_base = fractions.Fraction(1, 24)
            packet.stream = stream
            out.mux(packet)


def _film_folder(tmp_path) -> tuple:
    """Films and a photo, with a hints folder beside them, hostile and fine mixed."""
    films = tmp_path / "films"
    hints = tmp_path / "hints"
    films.mkdir()
    hints.mkdir()
    for name in ("fine", "huge-int", "infinity", "nested", "outside"):
        clips.write_clip(str(films / f"{name}.mp4"), _gray_frames(6))
    (hints / "fine.json").write_text('{"points": [{"x": 3, "y": 4, "color": "#aa3322"}]}')
    for name in ("huge-int", "infinity", "nested"):
        (hints / f"{name}.json").write_text(HOSTILE_HINTS[name][0])
    (hints / "outside.json").write_text('{"points": [{"x": 64, "y": 4, "color": "#aa3322"}]}')
    _size_changing_avi(str(films / "grows.avi"), [(64, 48), (64, 48), (6000, 6000), (64, 48)])
    _size_changing_avi(str(films / "shrinks.avi"), [(64, 48), (64, 48), (32, 24), (64, 48)])
    Image.fromarray(_gray_frames(1)[0]).save(films / "photo.png")
    return films, hints


def test_a_bad_film_or_hints_file_fails_that_film_alone_and_leaves_nothing(tmp_path, model):
    films, hints = _film_folder(tmp_path)
    out = tmp_path / "out"
    manifest = colorize_inputs(model, [films], out, render_size=64, progress=False,
                               guide=BatchGuidance.from_paths(hints, None))
    by_name = {os.path.basename(e.input): e for e in manifest.entries}
    assert len(by_name) == 8  # the manifest is complete
    assert by_name["fine.mp4"].status == "ok" and by_name["photo.png"].status == "ok"
    assert by_name["fine.mp4"].hints["file"] == str(hints / "fine.json")
    for name, message in [("huge-int", "a number of 5000 digits"),
                          ("infinity", "Infinity is not a number"),
                          ("nested", "nested too deeply"),
                          ("outside", "point (64, 4) lies outside the 64x48 frame")]:
        entry = by_name[f"{name}.mp4"]
        assert entry.status == "failed", name
        assert entry.reason.startswith(str(hints / f"{name}.json") + ": ") and \
            message in entry.reason, entry.reason
    assert "larger than the film's 64 x 48 are refused" in by_name["grows.avi"].reason
    assert "frame 2 is 32 x 24, the film's frames 64 x 48" in by_name["shrinks.avi"].reason
    left = sorted(p.name for p in out.iterdir())  # no partial film, no .parts folder
    assert left == ["fine.mp4", "manifest.jsonl", "photo.png"]


def test_the_command_line_names_each_bad_film_once_and_exits_1(tmp_path, model):
    films, hints = _film_folder(tmp_path)
    model_path = tmp_path / "model.keras"
    model.save(model_path)
    result = subprocess.run(
        [sys.executable, "-m", "colorizer", "colorize", "--model", str(model_path), "--out",
         str(tmp_path / "out"), "--render-size", "64", "--hints", str(hints), str(films)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=600)
    assert result.returncode == 1, result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert sorted(os.path.basename(line.split(": ")[1]) for line in failed) == [
        "grows.avi", "huge-int.mp4", "infinity.mp4", "nested.mp4", "outside.mp4",
        "shrinks.avi"]
    lines = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["status"] for line in lines) == ["failed"] * 6 + ["ok"] * 2


def _mp3_avi(path: str, frames: list[np.ndarray]) -> None:
    """MPEG-4 video and MP3 sound in an AVI, as PyAV writes it: its header lists one frame
    more than it holds, as AVI headers often do."""
    import av

    with av.open(path, "w") as out:
        video = out.add_stream("mpeg4", rate=24)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("libmp3lame", rate=44100)
        for rgb in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        tone = (0.3 * np.sin(np.arange(22050) * 2 * np.pi * 440 / 44100)).astype(np.float32)
        for start in range(0, tone.size, 1152):
            chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1152].copy(),
                                               format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 44100, start
            for packet in audio.encode(chunk):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


def test_a_film_whose_header_lists_one_frame_more_than_it_holds_is_whole(tmp_path, model):
    clip = str(tmp_path / "mp3.avi")
    _mp3_avi(clip, _gray_frames(12))
    assert probe_video(clip).frames == 13  # the header's count, one too many
    result = colorize_video(model, clip, str(tmp_path / "mp3.avi.mp4"), render_size=64,
                            progress=False)
    assert result.frames == 12
    out = probe_video(str(tmp_path / "mp3.avi.mp4"))
    assert probe_video(clip).audio_codec == "mp3"  # as FFmpeg names it, not its decoder
    assert out.frames == 12 and out.audio_codec == "mp3"  # copied


def test_truncated_means_far_short_of_the_header_not_one_off():
    assert not truncated(12, 13) and not truncated(100, 102) and not truncated(14380, 14400)
    assert truncated(6, 12) and truncated(100, 110) and truncated(10_000, 14_400)
    assert not truncated(5, 0)  # a header that gives no count


def test_a_film_longer_than_max_frames_is_refused_even_when_its_header_says_less(tmp_path,
                                                                                  model):
    clip = str(tmp_path / "long.mp4")
    clips.write_clip(clip, _gray_frames(12))
    with pytest.raises(VideoReadError, match="longer than 10 frames"):
        colorize_video(model, clip, str(tmp_path / "out.mp4"), render_size=64,
                       progress=False, max_frames=10)
    # A header that says nothing (or less): the count while decoding stops it all the same.
    mkv = str(tmp_path / "long.mkv")
    clips.write_clip(mkv, _gray_frames(12))
    assert probe_video(mkv).frames == 0
    with pytest.raises(VideoReadError, match="longer than 10 frames"):
        colorize_video(model, mkv, str(tmp_path / "out2.mp4"), render_size=64,
                       progress=False, max_frames=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mkv", "long.mp4"]


def test_a_film_path_given_as_a_str_subclass_is_read(tmp_path, model):
    """Gradio hands upload handlers its own ``str`` subclass; PyAV refuses those."""
    class NamedString(str):
        pass

    clip = tmp_path / "clip.mp4"
    clips.write_clip(str(clip), _gray_frames(4))
    manifest = colorize_inputs(model, [NamedString(clip)], tmp_path / "out", render_size=64,
                               progress=False)
    assert manifest.counts()["ok"] == 1, manifest.entries
