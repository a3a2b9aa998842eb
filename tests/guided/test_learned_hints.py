"""Hints fed to a model that takes them: the working-size hints input, zero hints equal the
automatic path, hinted pixels exact at full size, and the same feeding through batches and
films. The model here is a real Keras model with a ``hints`` input whose colour is the hints'
own (ab = 128 x the hinted ab channels), so what it was fed shows in what it paints."""
from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from colorizer import colorize
from colorizer.color import rgb_to_lab
from colorizer.guided.guided import colorize_guided
from colorizer.guided.hints import Hints, hint_pixels
from colorizer.guided.learned import hint_input
from colorizer.inference.full_resolution import colorize_photo, encode_lab, image_lightness
from colorizer.model.hints import HINTS_INPUT
from colorizer.model.network import takes_hints

pytestmark = pytest.mark.backends


@pytest.fixture(scope="module")
def echo_model() -> keras.Model:
    """L and hints in; ab = the hints' ab x 128 spread over the 5 x 5 working-size pixels
    around each (zero where no hint is near): a model that paints what it is fed."""
    lightness = keras.Input((None, None, 1), name="lightness")
    hints = keras.Input((None, None, 3), name=HINTS_INPUT)
    joined = keras.layers.Concatenate()([lightness, hints])
    conv = keras.layers.Conv2D(2, 5, padding="same", use_bias=False)
    model = keras.Model([lightness, hints], conv(joined))
    kernel = np.zeros((5, 5, 4, 2), np.float32)
    kernel[:, :, 1, 0] = kernel[:, :, 2, 1] = 128.0
    conv.set_weights([kernel])
    return model


def _photo(height=96, width=128) -> np.ndarray:
    ramp = np.linspace(40, 200, width, dtype=np.float32)[None, :]
    return np.broadcast_to(ramp, (height, width)).astype(np.uint8)


def _ab(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb_to_lab(rgb.astype(np.float32) / 255.0))[..., 1:]


def test_the_hints_input_holds_each_cells_mean_ab_and_a_mask():
    rows, cols = np.array([0, 1, 40]), np.array([0, 1, 60])
    ab = np.array([[10.0, -20.0], [30.0, 0.0], [-64.0, 64.0]], np.float32)
    feed = hint_input(rows, cols, ab, (48, 64), (12, 16))  # cells of 4 x 4 pixels
    assert feed.shape == (12, 16, 3) and feed.dtype == np.float32
    np.testing.assert_allclose(feed[0, 0], [20.0 / 128, -10.0 / 128, 1.0])  # the two averaged
    np.testing.assert_allclose(feed[10, 15], [-0.5, 0.5, 1.0])
    assert feed[..., 2].sum() == 2 and np.abs(feed[1:10]).sum() == 0
    assert not hint_input(rows[:0], cols[:0], ab[:0], (48, 64), (12, 16)).any()


def test_zero_hints_give_the_automatic_colour_byte_for_byte(echo_model):
    assert takes_hints(echo_model)
    photo = _photo()
    automatic = colorize_photo(echo_model, photo, render_size=64)
    assert np.abs(_ab(automatic)).max() < 1.0  # all-zero hints: this model paints gray
    for hints in (None, [], Hints()):
        np.testing.assert_array_equal(colorize(echo_model, photo, render_size=64,
                                               hints=hints), automatic)


def test_the_model_is_fed_the_hints_and_every_hint_pixel_is_exact(echo_model):
    photo = _photo()
    points = [(20, 30, "#2a6fc0"), (60, 70, "#cc3322")]  # mid-tones: both colours fit sRGB
    out = colorize(echo_model, photo, render_size=64, hints=points)
    rows, cols, hint_ab = hint_pixels(Hints.from_value(points), *photo.shape)
    lightness = image_lightness(photo)
    for row, col, ab in zip(rows, cols, hint_ab):
        expected = encode_lab(lightness[row:row + 1, col:col + 1], ab.reshape(1, 1, 2))
        np.testing.assert_array_equal(out[row, col], expected[0, 0])
        # The model painted the hint's colour around it (5 working-size pixels, about 7 of
        # the photo's): the pixels beside the hint have it too.
        beside = _ab(out[row - 2:row + 3, col - 2:col + 3]).reshape(-1, 2)
        assert np.all(np.sum(beside * ab, axis=1) > 0.5 * np.sum(ab * ab)), (beside, ab)
    far = _ab(out[:, 90:110]).reshape(-1, 2)
    assert np.median(np.hypot(far[:, 0], far[:, 1])) < 3.0  # and gray away from them


def test_batches_feed_the_same_hints(echo_model, tmp_path):
    from colorizer.batches.batch import colorize_inputs
    from colorizer.batches.guidance import BatchGuidance

    photo = _photo()
    Image.fromarray(photo).save(tmp_path / "p.png")
    Image.fromarray(photo[:, ::-1]).save(tmp_path / "plain.png")
    hints = tmp_path / "hints"
    hints.mkdir()
    (hints / "p.json").write_text(json.dumps(
        {"points": [{"x": 20, "y": 30, "color": "#2a6fc0"}]}))
    manifest = colorize_inputs(echo_model, [tmp_path / "p.png", tmp_path / "plain.png"],
                               tmp_path / "out", render_size=64, progress=False,
                               guide=BatchGuidance.from_paths(hints, None))
    assert manifest.counts()["ok"] == 2, manifest.entries
    with Image.open(tmp_path / "out" / "p.png") as image:
        guided = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(
        guided, colorize(echo_model, photo, render_size=64, hints=str(hints / "p.json")))
    with Image.open(tmp_path / "out" / "plain.png") as image:  # batched beside it, no hints
        plain = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(plain, colorize_photo(echo_model, photo[:, ::-1],
                                                        render_size=64))


def _mask_model() -> keras.Model:
    """Paints green (a = -40) within 7 working-size pixels of wherever its hints input is
    marked, whatever the hint's colour: what it paints tells that it was fed, apart from what
    propagation spreads."""
    lightness = keras.Input((None, None, 1), name="lightness")
    hints = keras.Input((None, None, 3), name=HINTS_INPUT)
    conv = keras.layers.Conv2D(2, 15, padding="same", use_bias=False)
    model = keras.Model([lightness, hints], conv(keras.layers.Concatenate()([lightness, hints])))
    kernel = np.zeros((15, 15, 4, 2), np.float32)
    kernel[:, :, 3, 0] = -40.0
    conv.set_weights([kernel])
    return model


def test_a_film_feeds_its_tracked_hints_frame_by_frame(tmp_path):
    from colorizer.films.video import colorize_video
    from colorizer.films.video_io import read_frames
    from tests.films import clips

    frames = [np.repeat(_photo()[..., None], 3, -1)] * 6
    clip = str(tmp_path / "still.mp4")
    clips.write_clip(clip, frames)
    out = str(tmp_path / "out.mp4")
    colorize_video(_mask_model(), clip, out, render_size=64, progress=False, temporal="none",
                   hints={"points": [{"x": 40, "y": 50, "color": "#2a6fc0"}], "frame": 2})
    for index, frame in enumerate(read_frames(out)):
        # Beside the point, 8 to 12 pixels to either side.
        beside = _ab(frame.rgb)[44:57][:, np.r_[28:32, 48:52]].reshape(-1, 2)
        if index < 2:  # before the frame the hint was drawn on: the automatic gray
            assert np.abs(beside).max() < 3.0, index
        else:  # the model was fed the hint: green beside it (propagation alone gives blue)
            assert np.median(beside[:, 0]) < -10.0, (index, np.median(beside, axis=0))
    assert os.path.exists(out)


def test_a_reference_becomes_spread_out_hints_of_its_matched_colour():
    from colorizer.guided.learned import REFERENCE_HINT_GRID, reference_hints

    lightness = _photo(48, 64).astype(np.float32) / 255.0 * 100.0
    ramp = np.linspace(40, 250, 50, dtype=np.float32)[None, :, None]  # smooth, as the photo
    teal = np.broadcast_to(ramp * np.array([0.2, 1.0, 0.9], np.float32), (40, 50, 3))
    teal = teal.astype(np.uint8)
    hints = reference_hints(lightness, teal)
    mask = hints[..., 2]
    assert 1 <= mask.sum() <= REFERENCE_HINT_GRID ** 2
    rows, cols = np.nonzero(mask)
    # At most one per cell of the grid: spread over the photo, not bunched where it matches.
    cells = set(zip(rows * REFERENCE_HINT_GRID // 48, cols * REFERENCE_HINT_GRID // 64))
    assert len(cells) == len(rows)
    reference_ab = _ab(teal).reshape(-1, 2)
    for ab in hints[rows, cols, :2] * 128.0:  # each hint is a colour of the reference
        assert np.min(np.abs(reference_ab - ab).sum(axis=1)) < 0.5
    assert not hints[mask == 0].any()


def test_a_hint_model_takes_a_reference_as_hints_or_propagates_it(echo_model):
    photo = _photo()
    reference = np.zeros((60, 80, 3), np.uint8)
    reference[..., 0], reference[..., 2] = 200, np.linspace(0, 255, 80, dtype=np.uint8)[None]
    as_hints = colorize_guided(echo_model, photo, reference=reference, render_size=64,
                               reference_as="hints")
    propagated = colorize_guided(echo_model, photo, reference=reference, render_size=64)
    automatic = colorize(echo_model, photo, render_size=64)
    # The echo model paints only what it is fed: fed the reference as hints, it paints colour.
    assert np.abs(_ab(as_hints)).max() > 5 and np.abs(_ab(automatic)).max() < 1
    assert np.abs(as_hints.astype(int) - propagated).max() > 2
    lightness = image_lightness(photo)[..., 0]
    for rgb in (as_hints, propagated):
        L = np.asarray(rgb_to_lab(rgb.astype(np.float32) / 255.0))[..., 0]
        assert np.abs(L - lightness).max() < 0.3
    with pytest.raises(ValueError, match="reference_as must be"):
        colorize_guided(echo_model, photo, reference=reference, reference_as="both")
