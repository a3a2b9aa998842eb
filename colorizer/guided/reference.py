"""Colour from a reference photo of a similar scene (after Welsh, Ashikhmin and Mueller,
"Transferring color to greyscale images", 2002).

Each pixel of the gray photo takes the a, b of the reference pixel that looks most like it in
lightness and local texture:

1. The reference is shrunk to about the photo's working size and converted to Lab; its L is
   remapped linearly to the photo's mean and spread of L (so a brighter reference still matches).
2. Every pixel gets a feature: its L and the standard deviation of L in its 5x5 neighbourhood
   (texture), weighed half and half as Welsh et al. do.
3. A few thousand reference pixels, on a jittered grid, are the candidates; a k-d tree finds
   each photo pixel's nearest candidate in feature space (SciPy's ``cKDTree``).
4. The match's distance gives a confidence in (0, 1]: a pixel with no good match gets little
   weight, so the model's own colour and the edge-aware smoothing decide there.

:mod:`colorizer.guided.guided` uses the result as soft targets, far weaker than a hint, so
the transferred colour is smoothed along edges rather than pasted pixel by pixel.

Example:
    >>> ab, confidence = transfer_ab(lightness_small, reference_rgb)
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from colorizer.color import rgb_to_lab

SAMPLES = 4096
"""Reference pixels searched (Welsh et al. used about 200; a k-d tree makes more cheap)."""
TEXTURE_WINDOW = 5
MATCH_SCALE = 4.0
"""Feature distance (L units) at which a match's confidence falls to exp(-1/2)."""


def local_deviation(lightness: np.ndarray, window: int = TEXTURE_WINDOW) -> np.ndarray:
    """Standard deviation of L in each pixel's ``window`` x ``window`` neighbourhood."""
    mean = cv2.blur(lightness, (window, window))
    square = cv2.blur(lightness * lightness, (window, window))
    return np.sqrt(np.maximum(square - mean * mean, 0.0))


def reference_lab(reference: np.ndarray, pixels: int) -> np.ndarray:
    """The reference photo (any size, uint8/uint16/float, RGB or RGBA) as float32 Lab of about
    ``pixels`` pixels."""
    from colorizer.inference.full_resolution import to_float_rgb

    rgb = to_float_rgb(reference)
    height, width = rgb.shape[:2]
    scale = math.sqrt(pixels / (height * width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return np.asarray(rgb_to_lab(np.ascontiguousarray(rgb, np.float32)), np.float32)


def _features(lightness: np.ndarray) -> np.ndarray:
    lightness = np.asarray(lightness, np.float32)
    return np.stack([lightness, local_deviation(lightness)], axis=-1).reshape(-1, 2)


def transfer_ab(lightness: np.ndarray, reference: np.ndarray, *, samples: int = SAMPLES,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Colour for each pixel of a gray grid, matched in a reference photo.

    Args:
        lightness: ``(h, w)`` L of the gray photo at its working size.
        reference: A colour photo, any size.
        samples: Reference pixels searched.
        seed: Seed of the jittered sample grid (the same seed gives the same colours).

    Returns:
        ``ab`` ``(h, w, 2)`` float32 and ``confidence`` ``(h, w)`` in (0, 1].
    """
    from scipy.spatial import cKDTree

    height, width = lightness.shape
    lab = reference_lab(reference, height * width)
    ref_l = lab[..., 0]
    # Luminance remapping: the reference's L shifted and scaled to the photo's statistics.
    spread = float(ref_l.std())
    ref_l = (ref_l - ref_l.mean()) * (float(lightness.std()) / max(spread, 1e-3)) + lightness.mean()
    candidates = _jittered_grid(ref_l.shape, samples, seed)
    tree = cKDTree(_features(ref_l)[candidates])
    distance, nearest = tree.query(_features(lightness), k=1)
    ab = lab[..., 1:].reshape(-1, 2)[candidates[nearest]]
    confidence = np.exp(-0.5 * (distance / MATCH_SCALE) ** 2)
    return (ab.reshape(height, width, 2).astype(np.float32),
            confidence.reshape(height, width).astype(np.float32))


def _jittered_grid(shape: tuple[int, int], samples: int, seed: int) -> np.ndarray:
    """Flat indices of about ``samples`` pixels: one random pixel in each cell of a grid."""
    height, width = shape
    if height * width <= samples:
        return np.arange(height * width)
    step = math.sqrt(height * width / samples)
    rng = np.random.default_rng(seed)
    tops = np.arange(0, height, step)
    lefts = np.arange(0, width, step)
    grid_y, grid_x = np.meshgrid(tops, lefts, indexing="ij")
    rows = np.minimum(grid_y + rng.uniform(0, step, grid_y.shape), height - 1).astype(np.int64)
    cols = np.minimum(grid_x + rng.uniform(0, step, grid_x.shape), width - 1).astype(np.int64)
    return np.unique((rows * width + cols).ravel())
