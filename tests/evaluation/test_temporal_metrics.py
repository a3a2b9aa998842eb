"""The film steadiness measures of the field: CDC and warp error behave as their definitions
say on films whose answer is known."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from colorizer.evaluation.temporal_metrics import (
    color_distribution_consistency, jensen_shannon, visible_in_both, warp_error)


def _texture(height=96, width=128, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.random((height // 8, width // 8)).astype(np.float32) * 255
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255
                                                                                  ).astype(np.uint8)


def _pan(frames=8, step=2):
    """A textured gray scene panning right ``step`` pixels a frame; and a colour version."""
    wide = _texture(96, 128 + frames * step)
    gray = [wide[:, t * step:t * step + 128] for t in range(frames)]
    tint = np.array([1.0, 0.8, 0.6], np.float32)
    colour = [(g[..., None] * tint).astype(np.uint8) for g in gray]
    return gray, colour


def test_jensen_shannon_is_zero_for_equal_and_ln2_for_disjoint_distributions():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.5, 0.5])
    assert jensen_shannon(p, p) == pytest.approx(0.0)
    assert jensen_shannon(p, q) == pytest.approx(np.log(2))
    assert jensen_shannon(p, q) == pytest.approx(jensen_shannon(q, p))


def test_cdc_is_zero_for_a_still_film_and_grows_with_colour_that_jumps():
    _, colour = _pan()
    still = [colour[0]] * 8
    assert color_distribution_consistency(still) == pytest.approx(0.0)
    flicker = [np.clip(f.astype(np.int16) + (40 if t % 2 else 0), 0, 255).astype(np.uint8)
               for t, f in enumerate(colour)]
    assert color_distribution_consistency(flicker) > 5 * color_distribution_consistency(colour)
    with pytest.raises(ValueError, match="more than 4 frames"):
        color_distribution_consistency(colour[:4])


def test_warp_error_is_small_for_colour_that_moves_with_the_scene_and_large_for_flicker():
    gray, colour = _pan()
    steady = warp_error(colour, gray)
    flicker = [np.clip(f.astype(np.int16) + (30 if t % 2 else 0), 0, 255).astype(np.uint8)
               for t, f in enumerate(colour)]
    assert steady < 0.002  # the texture warped by the flow lands on itself
    assert warp_error(flicker, gray) > 5 * steady
    assert warp_error(colour[:1] * 3, gray[:1] * 3) == 0.0


def test_pixels_that_leave_the_frame_or_disagree_are_occluded():
    height, width = 20, 30
    right = np.zeros((height, width, 2), np.float32)
    right[..., 0] = 4.0  # everything moved 4 pixels right
    mask = visible_in_both(right, -right)
    assert not mask[:, :4].any() and mask[:, 4:].all()  # the left edge came into view
    wrong = visible_in_both(right, right)  # back is not the inverse of forth
    assert not wrong.any()
