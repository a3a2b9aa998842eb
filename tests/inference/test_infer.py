import numpy as np
import pytest

from colorizer.color import l_ab_to_rgb, rgb_to_lab
from colorizer import colorize
from colorizer.inference.full_resolution import (
    image_lightness, merge_lightness_ab, to_float_rgb, working_size)
from colorizer.model.network import build_colorizer

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)


@pytest.fixture(scope="module")
def model():
    return build_colorizer(weights=None)


@pytest.mark.parametrize("shape", [(1, 1), (37, 250), (300, 41), (120, 160, 3), (64, 64, 4),
                                   (50, 70, 1)])
def test_output_has_input_size_and_lightness(model, shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    out = colorize(model, image, render_size=64)
    assert out.shape == (*shape[:2], 3) and out.dtype == np.uint8
    lightness_out = rgb_to_lab(out.astype(np.float32) / 255.0)[..., 0]
    # uint8 rounding of RGB moves L by at most 0.26 (colours are mapped at constant L).
    assert np.abs(lightness_out - image_lightness(image)[..., 0]).max() < 0.3


def test_float_and_16_bit_inputs(model):
    gray16 = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    as_float = gray16.astype(np.float32) / 65535.0
    np.testing.assert_array_equal(colorize(model, gray16, render_size=32),
                                  colorize(model, as_float, render_size=32))


def test_working_size_keeps_aspect_and_area():
    assert working_size(224, 224) == (224, 224)
    h, w = working_size(3000, 4000)
    assert h % 32 == 0 and w % 32 == 0 and abs(w / h - 4 / 3) < 0.2
    assert 0.7 < h * w / 224**2 < 1.3
    assert working_size(1, 1) == (224, 224) and working_size(10, 5000)[0] == 32
    with pytest.raises(ValueError):
        working_size(10, 10, render_size=100)


def test_unsupported_arrays_are_rejected(model):
    with pytest.raises(ValueError):
        colorize(model, np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError):
        colorize(model, np.zeros((4, 4), np.int64))


def test_full_resolution_lightness_and_rgb_match_the_formula():
    from skimage.color import gray2rgb, rgb2lab

    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (1100, 1000, 3), dtype=np.uint8)  # large: several strips
    reference = rgb_to_lab(to_float_rgb(photo))
    # Lightness against scikit-image's conversion, not our own formula.
    np.testing.assert_allclose(image_lightness(photo)[..., 0],
                               rgb2lab(photo.astype(np.float64) / 255)[..., 0], atol=2e-3)
    gray = photo[..., 0]
    np.testing.assert_allclose(image_lightness(gray)[..., 0],
                               rgb2lab(gray2rgb(gray).astype(np.float64) / 255)[..., 0],
                               atol=2e-3)
    # In-gamut colour (the photo's own ab): merging L and ab gives the photo back.
    restored = merge_lightness_ab(reference[..., :1], reference[..., 1:])
    assert np.abs(restored.astype(int) - photo).max() <= 1
    ab = reference[..., 1:] + rng.normal(0, 20, reference[..., 1:].shape).astype(np.float32)
    # Where the colour is displayable, the plain formula (scikit-image's, rounded) is the answer;
    # elsewhere colours are mapped (tests/inference/test_lightness_kept.py).
    from skimage.color import lab2rgb

    lab = np.concatenate([reference[..., :1], ab], -1).astype(np.float64)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.clip(lab2rgb(lab) * 255.0 + 0.5, 0, 255).astype(int)
    displayable = np.all(np.abs(l_ab_to_rgb(reference[..., :1], ab) -
                                _unclipped(reference[..., :1], ab)) < 1e-6, axis=-1)
    assert 0.2 < displayable.mean() < 0.95
    merged = merge_lightness_ab(reference[..., :1], ab).astype(int)
    difference = np.abs(merged - expected)[displayable]
    assert difference.max() <= 1 and difference.mean() < 0.01


def _unclipped(lightness, ab):
    from colorizer.color import lab_to_rgb

    return lab_to_rgb(np.concatenate([lightness, ab], -1), clip=False)
