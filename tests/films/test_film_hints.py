"""Colour hints in films follow the motion from the frame they were drawn on, and stop at a cut."""
from __future__ import annotations

import json

import numpy as np
import pytest

from colorizer.color import rgb_to_lab
from colorizer.batches.batch import colorize_inputs
from colorizer.films.film_hints import HintTracker
from colorizer.guided.hints import Hints, HintError, Point
from colorizer.films.temporal import TemporalSmoother
from colorizer.films.video import colorize_frames, colorize_video
from colorizer.films.video_io import probe_video, read_frames
from colorizer.model.network import build_colorizer
from tests.films import clips

pytestmark = pytest.mark.backends  # the model runs on either Keras backend

SIZE = (64, 96)
BLUE = (32, 96, 208)
STEP = 2  # the camera moves right 2 pixels a frame: the scene moves left


@pytest.fixture(scope="module")
def model():
    return build_colorizer(weights=None)


@pytest.fixture(scope="module")
def scenes(photos):
    wide = sorted((p for p in photos if 60 < p.mean() < 190), key=lambda p: -p.shape[1])
    # Two different scenes (the samples include a stereo pair, one scene seen twice).
    return wide[0], next(p for p in wide if p.shape != wide[0].shape)


def _film(tmp_path, scenes, shot: int = 10, after_cut: int = 5) -> str:
    first, _ = clips.pan(scenes[0], shot, SIZE, step=STEP)
    second, _ = clips.pan(scenes[1], after_cut, SIZE, step=STEP)
    path = str(tmp_path / "film.mp4")
    clips.write_clip(path, clips.gray(first + second), codec="libx264", pix_fmt="yuv444p")
    return path


def _ab(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb_to_lab(rgb.astype(np.float32) / 255.0))[..., 1:]


def _hint_distance(rgb: np.ndarray, colour) -> float:
    """The smallest ab distance, over the pixels of ``rgb``, between the pixel and the hint's
    colour as outputs render it at that pixel's lightness (mapped into sRGB if need be)."""
    from colorizer.inference.full_resolution import encode_lab

    lab = np.asarray(rgb_to_lab(rgb.astype(np.float32) / 255.0))
    hint = _ab(np.array(colour, np.uint8)[None, None])[0, 0]
    expected = _ab(encode_lab(lab[..., :1], np.broadcast_to(hint, lab.shape[:2] + (2,))))
    return float(np.min(np.linalg.norm(lab[..., 1:] - expected, axis=-1)))


def _run(model, path, hints=None, temporal="flow"):
    info = probe_video(path)
    tracker = HintTracker(hints, info.height, info.width, hints.frame) if hints else None
    smoother = (TemporalSmoother(0.0, "flow") if tracker and temporal == "none"
                else TemporalSmoother(mode=temporal))
    return [rgb for _, rgb in colorize_frames(model, read_frames(path, info), render_size=64,
                                               smoother=smoother, tracker=tracker)]


def test_a_point_follows_the_scene_and_is_dropped_at_the_cut(tmp_path, scenes, model):
    path = _film(tmp_path, scenes)
    x0, y0 = 70, 30
    hinted = _run(model, path, Hints((Point(x0, y0, BLUE),)))
    plain = _run(model, path)
    for k in range(10):
        # Where the scene point is now (moved left STEP pixels a frame): one pixel of its
        # neighbourhood holds the hint's colour (the flow is found to a pixel).
        x = x0 - STEP * k
        assert _hint_distance(hinted[k][y0 - 1:y0 + 2, x - 1:x + 2], BLUE) < 2.0, k
    # After the cut the next shot is coloured as without hints, exactly.
    for k in range(10, 15):
        np.testing.assert_array_equal(hinted[k], plain[k])


def test_hints_start_on_their_frame_and_follow_without_smoothing_too(tmp_path, scenes, model):
    path = _film(tmp_path, scenes, shot=8, after_cut=1)
    hints = Hints((Point(60, 30, BLUE),), frame=3)
    hinted = _run(model, path, hints, temporal="none")
    plain = _run(model, path, temporal="none")
    for k in range(3):
        np.testing.assert_array_equal(hinted[k], plain[k])
    for k in range(3, 8):
        x = 60 - STEP * (k - 3)
        assert _hint_distance(hinted[k][29:32, x - 1:x + 2], BLUE) < 2.0, k


def test_tracker_drops_hints_that_leave_the_frame(scenes):
    """Followed on the real flow of a pan: each kept point moves with the scene to within half
    a pixel; one that the camera leaves behind is dropped."""
    frames, _ = clips.pan(scenes[0], 6, SIZE, step=STEP)
    tracker = HintTracker(Hints((Point(2, 30, BLUE), Point(50, 30, BLUE))), *SIZE)
    smoother = TemporalSmoother()
    from colorizer.inference.full_resolution import image_lightness

    counts = []
    for index, frame in enumerate(frames):
        lightness = image_lightness(frame)
        smoother.step(lightness, np.zeros(SIZE + (2,), np.float32))
        rows, _, _ = tracker.step(index, smoother.motion, SIZE)
        counts.append(len(rows))
        moved = tracker.state.xy[-1]  # the point that stays in view
        assert moved[0] == pytest.approx(50 - STEP * index, abs=0.5), index
        assert moved[1] == pytest.approx(30, abs=0.5), index
    assert counts[0] == 2 and counts[-1] == 1  # the one near the left edge went out of view


def test_command_line_film_hints_resume_and_bad_hints(tmp_path, scenes, model, capsys):
    path = _film(tmp_path, scenes, shot=6, after_cut=2)
    (tmp_path / "hints").mkdir()
    (tmp_path / "hints" / "film.json").write_text(json.dumps(
        {"points": [{"x": 50, "y": 30, "color": "#2060d0"}], "frame": 1}))
    out = tmp_path / "out"
    manifest = colorize_inputs(model, [path], out, render_size=64, progress=False,
                               guide=_guide(tmp_path / "hints"))
    [entry] = manifest.entries
    assert entry.status == "ok" and entry.hints["points"] == 1 and entry.frames == 8
    # A point outside the frame fails this film alone, with the hints file named.
    (tmp_path / "hints" / "film.json").write_text(json.dumps(
        {"points": [{"x": 500, "y": 30, "color": "#2060d0"}]}))
    manifest = colorize_inputs(model, [path], tmp_path / "out2", render_size=64,
                               progress=False, guide=_guide(tmp_path / "hints"))
    [entry] = manifest.entries
    assert entry.status == "failed" and "outside" in entry.reason
    with pytest.raises(HintError, match="frame"):
        Hints.from_value({"points": [], "frame": -1})


def test_a_resumed_film_is_started_again_under_other_guidance():
    """Finished segments are kept only under the same settings: the hinted pixels, their
    frame and the reference are part of them."""
    from colorizer.films.video import _guidance_fingerprint

    one = Hints((Point(50, 30, BLUE),))
    same = _guidance_fingerprint(Hints((Point(50, 30, BLUE),)), None, *SIZE)
    assert _guidance_fingerprint(one, None, *SIZE) == same
    others = [Hints((Point(51, 30, BLUE),)), Hints((Point(50, 30, (1, 2, 3)),)),
              Hints((Point(50, 30, BLUE),), frame=2)]
    prints = {_guidance_fingerprint(h, None, *SIZE) for h in others}
    prints.add(_guidance_fingerprint(one, np.zeros((4, 4, 3), np.uint8), *SIZE))
    assert same not in prints and len(prints) == 4
    assert _guidance_fingerprint(Hints(), None, *SIZE) is None


def _guide(folder):
    from colorizer.batches.guidance import BatchGuidance

    return BatchGuidance.from_paths(str(folder), None)
