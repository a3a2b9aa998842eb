"""The sRGB image that evaluation scores and shows: the one ``colorizer colorize`` writes.

A predicted ab joined with the true L may lie outside sRGB. Clipping each channel would change
the pixel's lightness and hue. ``colorize`` instead lowers its chroma at constant L and hue
(:mod:`colorizer.gamut_mapping`). PSNR, SSIM and colourfulness are computed on that same
rendering, so they score the colours a user gets.

Example:
    >>> import numpy as np
    >>> rgb = render_rgb(np.full((2, 2, 1), 50.0), np.full((2, 2, 2), 90.0))  # far outside sRGB
    >>> bool(rgb.min() >= 0.0 and rgb.max() <= 1.0)
    True
"""
from __future__ import annotations

import numpy as np

from colorizer.color import lightness_to_gray_rgb
from colorizer.gamut_mapping import lab_to_rgb_in_gamut


def render_rgb(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] of L and ab as ``colorize`` renders it, with ab = 0 exactly neutral.

    Colours outside sRGB are mapped into it at constant L and hue, as in every output of
    ``colorizer colorize``. The rounded sRGB matrix maps the D65 white a hair off neutral
    (about 1e-5); snapping ab = 0 to the pure gray of its L keeps the gray baseline truly gray
    (colourfulness 0).

    Args:
        lightness: ``(..., H, W, 1)`` L.
        ab: ``(..., H, W, 2)`` ab.

    Returns:
        ``(..., H, W, 3)`` float32 sRGB in [0, 1].
    """
    lightness = np.asarray(lightness, np.float32)
    ab = np.asarray(ab, np.float32)
    rgb = lab_to_rgb_in_gamut(np.concatenate([lightness, ab], axis=-1))
    neutral = np.all(ab == 0, axis=-1, keepdims=True)
    if not neutral.any():
        return rgb
    return np.where(neutral, lightness_to_gray_rgb(lightness), rgb).astype(np.float32)
