"""Films: size, rate, frame count and sound kept; lightness kept; steady colour; resume; bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from colorizer.color import rgb_to_lab
from colorizer.batches.batch import colorize_inputs
from colorizer.inference.full_resolution import image_lightness
from colorizer.films.temporal import TemporalSmoother
from colorizer.films.video import colorize_frames, colorize_video, parts_folder
from colorizer.films.video_io import Frame, VideoReadError, probe_video, read_frames
from colorizer.model.network import build_colorizer
from tests.films import clips

# The model's part of a film runs on either Keras backend (the tests marked `backends`); the
# rest (containers, codecs, segments, resume) is the same NumPy and PyAV code on both.

SIZE = (64, 96)


@pytest.fixture(scope="module")
def model():
    return build_colorizer(weights=None)


@pytest.fixture(scope="module")
def grainy_model():
    return clips.high_pass_model()


@pytest.fixture(scope="module")
def photo(photos):
    # Wide enough for a pan, and mid-toned: near black, 8-bit RGB cannot hold ab steadily.
    return max((p for p in photos if 60 < p.mean() < 190), key=lambda p: p.shape[1])


def _frames(rgbs):
    return [Frame(i, i, rgb) for i, rgb in enumerate(rgbs)]


def _ab(rgb):
    return rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 1:]


@pytest.mark.backends
def test_film_keeps_size_rate_frames_sound_and_says_a_model_coloured_it(tmp_path, model, photo):
    frames, _ = clips.pan(photo, 30, SIZE)
    clip = str(tmp_path / "clip.mp4")
    clips.write_clip(clip, clips.gray(frames), fps=24, tone_seconds=1.25)
    manifest = colorize_inputs(model, [clip], tmp_path / "out", render_size=64, progress=False)
    assert manifest.counts() == {"ok": 1, "skipped": 0, "failed": 0}
    out = str(tmp_path / "out" / "clip.mp4")
    after = probe_video(out)
    assert (after.width, after.height, after.frames, after.fps) == (96, 64, 30, 24)
    assert after.codec == "h264" and after.audio_codec == "aac"
    assert clips.audio_packets(out) == clips.audio_packets(clip)  # copied, not re-encoded
    assert clips.frame_times(out) == pytest.approx(clips.frame_times(clip), abs=1e-3)
    import av

    with av.open(out) as container:
        assert "Colorized by colorizer" in container.metadata.get("comment", "")
    entry = json.loads((tmp_path / "out" / "manifest.jsonl").read_text())
    assert (entry["frames"], entry["fps"], entry["width"]) == (30, 24.0, 96)
    assert not os.path.exists(parts_folder(out))  # the work folder is gone once done
    again = colorize_inputs(model, [clip], tmp_path / "out", render_size=64, progress=False)
    assert again.counts()["skipped"] == 1 and again.entries[0].frames == 30


@pytest.mark.backends
def test_lightness_of_every_frame_is_kept_before_encoding(model, photo):
    frames, _ = clips.pan(photo, 10, SIZE, grain=6.0)
    for frame, rgb in colorize_frames(model, _frames(frames), render_size=64, batch_size=4,
                                      smoother=TemporalSmoother()):
        lightness = rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 0]
        assert np.abs(lightness - image_lightness(frame.rgb)[..., 0]).max() < 0.3


def _flicker(rgbs, step):
    """Mean |change of ab| between consecutive frames on the same scene point."""
    abs_ = [_ab(rgb) for rgb in rgbs]
    return float(np.mean([np.abs(b[4:-4, 4:-4 - step] - a[4:-4, 4 + step:-4]).mean()
                          for a, b in zip(abs_, abs_[1:])]))


@pytest.mark.backends
def test_colour_along_the_motion_flickers_far_less_than_per_frame(grainy_model, photo):
    frames, step = clips.pan(photo, 24, SIZE, grain=8.0)

    def run(mode):
        return [rgb for _, rgb in colorize_frames(
            grainy_model, _frames(frames), render_size=64, batch_size=8,
            smoother=TemporalSmoother(mode=mode))]

    per_frame, steady = run("none"), run("flow")
    assert _flicker(steady, step) < 0.5 * _flicker(per_frame, step)


def test_a_scene_cut_starts_the_colour_again(grainy_model, photos, photo):
    other = min(photos, key=lambda p: float(np.mean(np.abs(p[:64, :96].astype(float)
                                                           - photo[:64, :96]))))
    first, _ = clips.pan(photo, 8, SIZE, grain=4.0)
    second, _ = clips.pan(np.ascontiguousarray(255 - photo[::-1]), 8, SIZE, grain=4.0, seed=1)
    del other
    smoother = TemporalSmoother()
    steady = [rgb for _, rgb in colorize_frames(grainy_model, _frames(first + second),
                                                render_size=64, batch_size=4,
                                                smoother=smoother)]
    per_frame = [rgb for _, rgb in colorize_frames(grainy_model, _frames(first + second),
                                                   render_size=64, batch_size=4)]
    assert smoother.cuts == 1
    np.testing.assert_array_equal(steady[8], per_frame[8])  # nothing of shot 1 carried over
    assert not np.array_equal(steady[9], per_frame[9])  # and smoothing resumes in shot 2


_CHILD = """
import sys
sys.path.insert(0, {root!r})
from tests.films import clips
from colorizer.films.video import colorize_video
colorize_video(clips.high_pass_model(), {clip!r}, {target!r}, render_size=64, batch_size=4,
               segment_seconds=0.5, progress=False)
"""


def _child(clip, target):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.Popen([sys.executable, "-c", _CHILD.format(root=root, clip=clip,
                                                                  target=target)])


@pytest.mark.slow
def test_a_run_killed_midway_resumes_and_gives_the_same_file(tmp_path, photo):
    frames, _ = clips.pan(photo, 96, SIZE, step=1, grain=5.0)
    clip = str(tmp_path / "clip.mp4")
    clips.write_clip(clip, frames, fps=24, tone_seconds=4.0)
    killed, whole = str(tmp_path / "a" / "clip.mp4"), str(tmp_path / "b" / "clip.mp4")
    child = _child(clip, killed)
    second_segment = os.path.join(parts_folder(killed), "segment-000001.mp4")
    deadline = time.monotonic() + 240
    while not os.path.exists(second_segment) and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not os.path.exists(killed)  # never half-written
    from colorizer.films.video_io import probe_video as probe

    result = colorize_video(clips.high_pass_model(), clip, killed, render_size=64, batch_size=4,
                            segment_seconds=0.5, progress=False)
    assert result.resumed_from >= 24  # it went on from a finished segment
    assert _child(clip, whole).wait() == 0
    assert probe(killed).frames == 96
    with open(killed, "rb") as a, open(whole, "rb") as b:
        assert a.read() == b.read()


@pytest.mark.parametrize("codec,pix_fmt,size", [
    ("libx265", "yuv420p", (48, 64)), ("libvpx-vp9", "yuv420p", (48, 64)),
    ("mpeg4", "yuv420p", (48, 64)), ("mjpeg", "yuvj420p", (48, 64)),
    ("libx264", "yuv420p10le", (48, 64)), ("libx264", "yuv444p", (47, 63))])
def test_common_codecs_ten_bit_and_odd_sizes(tmp_path, model, photo, codec, pix_fmt, size):
    frames, _ = clips.pan(photo, 6, size)
    extension = {"libvpx-vp9": ".webm", "mjpeg": ".avi", "mpeg4": ".mkv"}.get(codec, ".mp4")
    clip = str(tmp_path / f"clip{extension}")
    clips.write_clip(clip, frames, codec=codec, pix_fmt=pix_fmt)
    out = str(tmp_path / "out.mp4")
    result = colorize_video(model, clip, out, render_size=64, progress=False)
    info = probe_video(out)
    assert (info.height, info.width, info.frames) == (*size, 6) == (result.height, result.width,
                                                                   result.frames)


def test_variable_frame_rate_keeps_every_frame_time(tmp_path, model, photo):
    frames, _ = clips.pan(photo, 8, SIZE)
    times = [0, 40, 80, 200, 240, 400, 440, 480]  # ms: irregular gaps
    clip = str(tmp_path / "vfr.mp4")
    clips.write_clip(clip, frames, pts=times)
    out = str(tmp_path / "out.mp4")
    colorize_video(model, clip, out, render_size=64, progress=False)
    source_times = clips.frame_times(clip)
    assert len(set(np.round(np.diff(source_times), 3))) > 2  # the test film is irregular
    assert clips.frame_times(out) == pytest.approx(source_times, abs=1e-3)


def test_phone_rotation_is_applied(tmp_path, photo):
    import imageio_ffmpeg

    frames, _ = clips.pan(photo, 3, SIZE)
    clip, rotated = str(tmp_path / "clip.mp4"), str(tmp_path / "rotated.mp4")
    clips.write_clip(clip, frames, codec="libx264", pix_fmt="yuv444p")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-display_rotation", "90",
                    "-i", clip, "-c", "copy", rotated], check=True)
    info = probe_video(rotated)
    assert (info.width, info.height, info.rotation) == (64, 96, 90)
    upright = next(read_frames(rotated)).rgb
    plain = next(read_frames(clip)).rgb
    # 90 degrees counter-clockwise, as players show it.
    np.testing.assert_array_equal(upright, np.rot90(plain))


def _bad_films(folder, photo) -> dict[str, str]:
    frames, _ = clips.pan(photo, 12, SIZE)
    good = os.path.join(folder, "good.mp4")
    clips.write_clip(good, frames)
    with open(good, "rb") as file:
        data = file.read()
    bad = {}
    bad["corrupt.mp4"] = b"\x00\x01garbage" * 500
    bad["truncated.mp4"] = data[: len(data) // 2]
    for name, content in bad.items():
        with open(os.path.join(folder, name), "wb") as file:
            file.write(content)
    import av

    sound = os.path.join(folder, "sound.mp4")
    with av.open(sound, "w") as out:
        stream = out.add_stream("aac", rate=8000)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")
        chunk.sample_rate, chunk.pts = 8000, 0
        for packet in list(stream.encode(chunk)) + list(stream.encode(None)):
            out.mux(packet)
    return {"corrupt.mp4": "not a readable video", "truncated.mp4": "not a readable video",
            "sound.mp4": "no video stream"}


def test_bad_films_fail_alone_with_a_reason_and_leave_nothing(tmp_path, model, photo):
    folder = tmp_path / "in"
    folder.mkdir()
    expected = _bad_films(str(folder), photo)
    from PIL import Image

    Image.fromarray(photo[:64, :96]).save(folder / "photo.png")
    out = tmp_path / "out"
    manifest = colorize_inputs(model, [folder], out, render_size=64, progress=False)
    by_name = {os.path.basename(e.input): e for e in manifest.entries}
    assert by_name["photo.png"].status == "ok" and by_name["good.mp4"].status == "ok"
    for name, reason in expected.items():
        assert by_name[name].status == "failed" and reason in by_name[name].reason, name
    left = sorted(p.name for p in out.iterdir())
    assert left == ["good.mp4", "manifest.jsonl", "photo.png"]  # no partial output


def test_command_line_mixes_films_and_photos_and_exits_1_on_a_bad_film(tmp_path, model, photo):
    frames, _ = clips.pan(photo, 6, SIZE)
    clip = tmp_path / "clip.mkv"
    clips.write_clip(str(clip), frames)
    (tmp_path / "broken.mov").write_bytes(b"nope" * 100)
    model_path = tmp_path / "model.keras"
    model.save(model_path)
    result = subprocess.run(
        [sys.executable, "-m", "colorizer", "colorize", "--model", str(model_path), "--out",
         str(tmp_path / "out"), "--render-size", "64", "--temporal", "none", str(clip),
         str(tmp_path / "broken.mov")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "broken.mov" in result.stderr and "not a readable video" in result.stderr
    assert probe_video(str(tmp_path / "out" / "clip.mkv.mp4")).frames == 6


def test_temporal_mode_is_checked():
    with pytest.raises(ValueError, match="flow, none"):
        TemporalSmoother(mode="smooth")
    with pytest.raises(VideoReadError):
        probe_video(os.devnull)



def test_the_encoder_keeps_the_colour_of_a_still_grainy_scene_steady(tmp_path, photo):
    """Colour is all a colorized film adds: its chroma is encoded finer than x264's default,
    whose compression noise alone makes a still scene's colour flicker."""
    import cv2

    from colorizer.films.video_io import SegmentWriter

    rng = np.random.default_rng(0)
    still = photo[:96, :128].astype(np.float32)
    frames = [np.clip(still + rng.normal(0, 5, still.shape[:2] + (1,)), 0, 255).astype(np.uint8)
              for _ in range(12)]  # grain on lightness only: the true colour never changes
    clip = str(tmp_path / "still.mp4")
    clips.write_clip(clip, frames)
    info = probe_video(clip)

    def colour_change(options):
        path = str(tmp_path / f"out-{len(options or {})}.mp4")
        with SegmentWriter(path, info, options=options) as writer:
            for index, rgb in enumerate(frames):
                writer.write(rgb, read_pts[index])
        # Over areas, as a viewer sees flicker (single 8-bit pixels jitter in any encoding).
        abs_ = [cv2.GaussianBlur(_ab(frame.rgb), (0, 0), 2.0) for frame in read_frames(path)]
        return np.mean([np.abs(b - a).mean() for a, b in zip(abs_, abs_[1:])])

    read_pts = [frame.pts for frame in read_frames(clip)]
    x264_default = colour_change({"crf": "17", "preset": "medium"})
    assert colour_change(None) < 0.8 * x264_default
