"""The full-resolution colorize path of commit 187b422, kept as a yardstick for benchmarks.

It clips out-of-gamut colours channel by channel (which changes their lightness) and was the
fastest path measured before gamut mapping at constant L was added; ``bench.py`` times it in the
same process as the current path, so the ratio of the two does not depend on the machine's load.
Benchmark code only: the package does not use it.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from colorizer.color import (D65_WHITE, EPSILON, F_EPSILON, KAPPA, RGB_TO_XYZ, XYZ_TO_RGB,
                             linear_to_srgb, srgb_to_linear)
from colorizer.inference.full_resolution import working_size

_LINEAR_OF_UINT8 = srgb_to_linear(np, np.arange(256) / 255.0).astype(np.float32)
_SRGB8_OF_LINEAR16 = np.clip(linear_to_srgb(np, np.arange(65536) / 65535.0) * 255.0 + 0.5,
                             0, 255).astype(np.uint8)
_ROWS = 128


def _by_bands(function, channels: int, *arrays: np.ndarray) -> np.ndarray:
    height, width = arrays[0].shape[:2]
    out = np.empty((height, width, channels), np.uint8 if channels == 3 else np.float32)

    def band(top: int) -> None:
        out[top:top + _ROWS] = function(*(a[top:top + _ROWS] for a in arrays))

    if height * width < 1 << 20:
        for top in range(0, height, _ROWS):
            band(top)
    else:
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(band, range(0, height, _ROWS)))
    return out


def _lightness_band(image: np.ndarray) -> np.ndarray:
    weights = (RGB_TO_XYZ[1] / D65_WHITE[1]).astype(np.float32)
    luminance = sum(w * _LINEAR_OF_UINT8[image[..., i]] for i, w in enumerate(weights))
    f_y = np.where(luminance > EPSILON, np.cbrt(np.maximum(luminance, EPSILON)),
                   (KAPPA / 116.0) * luminance + 16.0 / 116.0)
    return (116.0 * f_y - 16.0).astype(np.float32)[..., None]


def _rgb8_band(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    f_y = (lightness[..., 0].astype(np.float32) + 16.0) / 116.0
    f_x = f_y + ab[..., 0] / 500.0
    f_z = np.maximum(f_y - ab[..., 1] / 200.0, 0.0)

    def f_inverse(f):
        return np.where(f > F_EPSILON, f * f * f, (f - 16.0 / 116.0) * (116.0 / KAPPA))

    xyz = np.dstack([f_inverse(f_x), f_inverse(f_y), f_inverse(f_z)]).astype(np.float32)
    linear = cv2.transform(xyz, (XYZ_TO_RGB * D65_WHITE[None, :]).astype(np.float32))
    return _SRGB8_OF_LINEAR16[(np.clip(linear, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)]


def colorize(model, image: np.ndarray, *, render_size: int = 224) -> np.ndarray:
    """187b422's ``colorize`` for uint8 RGB photos: L, model, bicubic ab, clipped sRGB."""
    lightness = _by_bands(_lightness_band, 1, image)
    height, width = lightness.shape[:2]
    work_h, work_w = working_size(height, width, render_size)
    small = cv2.resize(lightness[..., 0], (work_w, work_h), interpolation=cv2.INTER_AREA)
    ab = np.asarray(model.predict_on_batch(small[None, ..., None].astype(np.float32)))[0]
    ab = cv2.resize(ab, (width, height), interpolation=cv2.INTER_CUBIC).reshape(height, width, 2)
    return _by_bands(_rgb8_band, 3, lightness, ab.astype(np.float32))
