"""The colorized photo's lightness is the input's, at the worst pixel, even where the model
predicts colours that sRGB cannot show at that lightness.

References are independent of the code under test: scikit-image's ``rgb2lab`` for L and hue,
and bounds derived by hand (see the constants).
"""
import numpy as np
import pytest
from skimage import data
from skimage.color import rgb2lab

from colorizer import colorize
from colorizer.inference.full_resolution import (
    image_lightness, merge_lightness_ab, model_input, predict_ab_batch)
from colorizer.model.network import build_colorizer

ROUNDING_8_BIT = 0.3
"""Largest L change that rounding sRGB to 8 bits can cause: the sum over channels of
|dL/dc| * (half a level + 0.05 level of the encoding table); its maximum over the sRGB cube,
0.26 + 0.03, lies at dark blue-greens (scikit-image finite differences on a 129^3 grid)."""
ROUNDING_16_BIT = 0.005
"""The same at 16 bits (0.001), plus at most 0.004 from the slack allowed at the ends of the
range (1e-4 above 1: the rounded white point of the Lab constants maps white a little past 1)."""
PHOTOS = {"astronaut": data.astronaut, "coffee": data.coffee, "chelsea": data.chelsea}


@pytest.fixture(scope="module")
def saturating_model():
    """An untrained colorizer whose last convolution is scaled up 50 times: its tanh output
    saturates, so many predicted colours lie far outside sRGB at their pixel's lightness."""
    import keras

    keras.utils.set_random_seed(0)  # the same weights each run
    model = build_colorizer(weights=None)
    layer = model.get_layer("ab_conv")
    layer.set_weights([w * 50.0 for w in layer.get_weights()])
    return model


def _linear_srgb(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Unclipped linear sRGB of Lab, a NumPy re-implementation with scikit-image's constants."""
    from skimage.color.colorconv import rgb_from_xyz, xyz_tristimulus_values

    fy = (np.asarray(lightness, np.float64) + 16.0) / 116.0
    ab = np.asarray(ab, np.float64)
    f = np.stack([fy + ab[..., 0] / 500.0, fy, fy - ab[..., 1] / 200.0], -1)
    xyz = np.where(f > 6 / 29, f**3, (f - 16 / 116) / 7.787)
    return (xyz * xyz_tristimulus_values(illuminant="D65", observer="2")) @ rgb_from_xyz.T


def _outside(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    linear = _linear_srgb(lightness, ab)
    return np.any((linear < -1e-3) | (linear > 1 + 1e-3), axis=-1)


def _outside_share(lightness: np.ndarray, ab_small: np.ndarray) -> float:
    """Share of pixels whose (L, upscaled ab) has no sRGB colour."""
    import cv2

    height, width = lightness.shape[:2]
    ab = cv2.resize(ab_small, (width, height), interpolation=cv2.INTER_CUBIC)
    return float(np.mean(_outside(lightness[..., 0], ab)))


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_worst_pixel_keeps_its_lightness_with_saturated_predictions(saturating_model, name):
    photo = PHOTOS[name]()
    lightness = image_lightness(photo)
    ab_small = predict_ab_batch(saturating_model, model_input(lightness)[None])[0]
    assert _outside_share(lightness, ab_small) > 0.3  # the case that clipping gets wrong

    out = colorize(saturating_model, photo)
    expected = rgb2lab(photo)[..., 0]  # a colour photo's L: colorize makes it gray first
    difference = np.abs(rgb2lab(out)[..., 0] - expected)
    assert difference.max() <= ROUNDING_8_BIT, (name, difference.max())

    wide = merge_lightness_ab(lightness, ab_small, dtype=np.uint16)
    difference = np.abs(rgb2lab(wide / 65535.0)[..., 0] - expected)
    assert difference.max() <= ROUNDING_16_BIT, (name, difference.max())


@pytest.mark.parametrize("hue_degrees", [-150, -90, -20, 30, 100, 170])
def test_mapped_colours_keep_hue_and_lightness_and_lose_only_needed_chroma(hue_degrees):
    lightness = np.random.default_rng(0).uniform(5, 95, (32, 32, 1)).astype(np.float32)
    hue = np.radians(hue_degrees)
    ab_small = np.empty((4, 4, 2), np.float32)
    ab_small[...] = 150.0 * np.cos(hue), 150.0 * np.sin(hue)  # beyond sRGB at every L
    wide = merge_lightness_ab(lightness, ab_small, dtype=np.uint16)
    lab = rgb2lab(wide / 65535.0)
    assert np.abs(lab[..., 0] - lightness[..., 0]).max() <= ROUNDING_16_BIT
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    turn = np.abs(np.angle(np.exp(1j * (np.arctan2(lab[..., 2], lab[..., 1]) - hue))))
    assert np.degrees(turn[chroma > 5]).max() < 0.5
    # The largest chroma displayable all the way from gray at each pixel's L and this hue, by
    # brute force. (Not always the largest at all: near the yellow cusp a chroma beyond the
    # first edge can fit again, as R rises past 1 and falls back.)
    steps = np.arange(0.0, 150.0, 0.25)
    direction = np.array([np.cos(hue), np.sin(hue)])
    outside = _outside(np.broadcast_to(lightness[..., 0, None], (32, 32, steps.size)),
                       steps[:, None] * direction)
    largest = steps[np.argmax(outside, axis=-1) - 1]
    assert np.all(chroma <= largest + 0.5)  # displayable
    assert np.all(chroma >= 0.8 * largest - 0.5)  # and not washed out
    assert np.median(chroma / np.maximum(largest, 1e-3)) > 0.98
