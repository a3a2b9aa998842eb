"""Gamut mapping at constant L and hue, against scikit-image on colours it can check."""
import numpy as np
from skimage.color import rgb2lab

from colorizer.gamut_mapping import chroma_factor, lab_to_rgb_in_gamut, max_chroma_table


def test_displayable_colours_are_left_alone():
    rgb = np.random.default_rng(0).random((64, 64, 3))
    lab = rgb2lab(rgb).astype(np.float32)  # every one of these has an sRGB colour
    assert np.all(chroma_factor(lab[..., 0], lab[..., 1:]) == 1.0)
    np.testing.assert_allclose(lab_to_rgb_in_gamut(lab), rgb, atol=2e-4)


def test_colours_outside_keep_lightness_and_hue():
    rng = np.random.default_rng(1)
    lightness = rng.uniform(1, 99, 5000)
    hue = rng.uniform(-np.pi, np.pi, 5000)
    lab = np.stack([lightness, 180 * np.cos(hue), 180 * np.sin(hue)], -1).astype(np.float32)
    rgb = lab_to_rgb_in_gamut(lab)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    back = rgb2lab(rgb.astype(np.float64))
    np.testing.assert_allclose(back[..., 0], lightness, atol=5e-3)
    chroma = np.hypot(back[..., 1], back[..., 2])
    turn = np.angle(np.exp(1j * (np.arctan2(back[..., 2], back[..., 1]) - hue)))
    assert np.degrees(np.abs(turn[chroma > 2])).max() < 0.2
    factor = chroma_factor(lab[..., 0], lab[..., 1:])
    np.testing.assert_allclose(chroma, 180 * factor, rtol=2e-3, atol=2e-2)


def test_table_agrees_with_scikit_image_at_the_primaries():
    # The most saturated sRGB colours: red, green and blue at their own L and hue.
    table = max_chroma_table()
    for rgb in ([1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]):
        lightness, a, b = rgb2lab(np.array(rgb))
        row = int(round(lightness))
        column = int(round(np.degrees(np.arctan2(b, a)))) + 180
        # The table holds the largest chroma at that L and hue, which the primary reaches.
        assert abs(table[row, column] - np.hypot(a, b)) < 0.05 * np.hypot(a, b)


def test_strips_converted_in_reused_buffers_equal_a_fresh_conversion():
    from colorizer.gamut_mapping import StripBuffers, lab_to_linear_in_gamut

    rng = np.random.default_rng(3)
    buffers = StripBuffers(600)
    # A big strip, then a smaller one in the same buffers: nothing of the first may leak into
    # the second; many colours lie outside sRGB, some pixels are near black (the straight part
    # of CIE f) and a few beyond the range.
    for pixels in (600, 250):
        lightness = rng.uniform(-2.0, 102.0, (pixels,)).astype(np.float32)
        ab = rng.normal(0.0, 60.0, (pixels, 2)).astype(np.float32)
        fresh = lab_to_linear_in_gamut(lightness, ab)
        reused = lab_to_linear_in_gamut(lightness, ab, buffers=buffers, clip=False)
        assert np.shares_memory(reused, buffers.linear)
        np.testing.assert_array_equal(np.clip(reused, 0.0, 1.0), fresh)
        # Only the slack is left unclipped where L is in range (beyond it even gray is not).
        in_range = reused[(lightness >= 0.0) & (lightness <= 100.0)]
        assert in_range.min() >= -1e-6 and in_range.max() <= 1.0 + 1e-4
    too_many = np.zeros(601, np.float32)
    try:
        lab_to_linear_in_gamut(too_many, np.zeros((601, 2), np.float32), buffers=buffers)
    except ValueError as error:
        assert "601 pixels" in str(error)
    else:
        raise AssertionError("601 pixels went into buffers of 600")
