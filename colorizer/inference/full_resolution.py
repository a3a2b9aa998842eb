"""Colorize photos of any size: predict ab at the model's working size, keep the photo's own L.

    photo (H, W) -> L at full resolution -----------------------------------+
               \\-> downscale to ~render_size^2 pixels (sides multiple of 32) |
                   -> model -> ab -> upscale to (H, W) --------------------> Lab -> RGB

The output therefore has the input's exact height, width and lightness; only the colour comes
from the network, which the eye forgives at a lower resolution. Full-size work runs in strips
of rows, in float32, so a photo of tens of megapixels needs little more memory than its L, its
upscaled ab and its output.

Example:
    >>> model = load_colorizer("runs/demo/model.keras")
    >>> rgb = colorize(model, read_rgb("grandma.jpg"))   # uint8, same size as the input
"""
from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from colorizer.color import LUMINANCE_WEIGHTS, l_ab_to_rgb, luminance_to_lightness, srgb_to_linear

DEFAULT_RENDER_SIZE = 224
"""The model's working size: its input has about render_size^2 pixels (it trained at 224)."""
SIDE_MULTIPLE = 32
STRIP_PIXELS = 1 << 20
"""Pixels converted at once: bounds the float temporaries to a few MB whatever the photo."""


def working_size(height: int, width: int, render_size: int = DEFAULT_RENDER_SIZE) -> tuple[int, int]:
    """The (height, width) the model sees: about ``render_size**2`` pixels, the photo's aspect,
    each side a multiple of 32 and at least 32."""
    if render_size % SIDE_MULTIPLE or render_size <= 0:
        raise ValueError(f"render_size must be a positive multiple of {SIDE_MULTIPLE}, "
                         f"got {render_size}")
    scale = render_size / math.sqrt(height * width)

    def side(n: int) -> int:
        return max(SIDE_MULTIPLE, int(round(n * scale / SIDE_MULTIPLE)) * SIDE_MULTIPLE)

    return side(height), side(width)


def to_float_rgb(image: np.ndarray) -> np.ndarray:
    """uint8/uint16/float, gray/RGB/RGBA array -> float32 RGB in [0, 1] (alpha dropped)."""
    image = _check_image(image)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        image = image.astype(np.float32) / 65535.0
    else:
        image = np.clip(image.astype(np.float32), 0.0, 1.0)
    if image.ndim == 2:
        image = image[..., None]
    image = image[..., :3]
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"unsupported image dtype {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] in (1, 3, 4))):
        raise ValueError(f"expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}")
    return image


def row_strips(height: int, width: int) -> list[slice]:
    """Slices of rows holding about :data:`STRIP_PIXELS` pixels each, covering ``height``."""
    rows = max(1, STRIP_PIXELS // max(1, width))
    return [slice(top, min(height, top + rows)) for top in range(0, height, rows)]


@functools.lru_cache(maxsize=4)
def _linear_table(levels: int) -> np.ndarray:
    """Linear light of every integer level (256 or 65536): a lookup beats the power function."""
    return srgb_to_linear(np, np.arange(levels, dtype=np.float32) / np.float32(levels - 1))


@functools.lru_cache(maxsize=4)
def _lightness_table(levels: int) -> np.ndarray:
    return luminance_to_lightness(_linear_table(levels)).astype(np.float32)


def _lightness_rows(rows: np.ndarray) -> np.ndarray:
    if rows.ndim == 3:
        rows = rows[..., 0] if rows.shape[-1] == 1 else rows[..., :3]  # alpha dropped
    if rows.dtype in (np.uint8, np.uint16):
        levels = 256 if rows.dtype == np.uint8 else 65536
        if rows.ndim == 2:
            return _lightness_table(levels)[rows]
        linear = _linear_table(levels)[rows]
    else:
        linear = srgb_to_linear(np, np.clip(rows.astype(np.float32), 0.0, 1.0))
        if rows.ndim == 2:
            return luminance_to_lightness(linear).astype(np.float32)
    luminance = linear @ LUMINANCE_WEIGHTS.astype(np.float32)
    return luminance_to_lightness(luminance).astype(np.float32)


def image_lightness(image: np.ndarray) -> np.ndarray:
    """CIE L (``(H, W, 1)``, float32) of a photo; a colour photo is treated as its gray version.

    Equals ``rgb_to_lab(to_float_rgb(image))[..., :1]`` to float precision, computed strip by
    strip from the luminance alone (lookup tables for 8- and 16-bit data).
    """
    image = _check_image(image)
    height, width = image.shape[:2]
    lightness = np.empty((height, width, 1), np.float32)
    for rows in row_strips(height, width):
        lightness[rows, :, 0] = _lightness_rows(image[rows])
    return lightness


def model_input(lightness: np.ndarray, render_size: int = DEFAULT_RENDER_SIZE) -> np.ndarray:
    """Resizes full-size L ``(H, W, 1)`` to the working size: ``(h, w, 1)`` float32."""
    height, width = lightness.shape[:2]
    work_h, work_w = working_size(height, width, render_size)
    # INTER_AREA averages when shrinking, so the model sees a clean, unaliased L.
    method = cv2.INTER_AREA if work_h * work_w < height * width else cv2.INTER_CUBIC
    small = cv2.resize(lightness[..., 0], (work_w, work_h), interpolation=method)
    return np.clip(small, 0.0, 100.0).astype(np.float32)[..., None]


def predict_ab_batch(model, batch: np.ndarray) -> np.ndarray:
    """ab ``(N, h, w, 2)`` for a batch of working-size L ``(N, h, w, 1)``."""
    return np.asarray(model.predict_on_batch(np.asarray(batch, np.float32)), np.float32)


def merge_lightness_ab(lightness: np.ndarray, ab_small: np.ndarray, *,
                       dtype: type = np.uint8) -> np.ndarray:
    """Joins full-size L with working-size ab into RGB of the photo's size.

    ab is upscaled smoothly (bicubic) to the full size, then L and ab are converted strip by
    strip; colours outside sRGB are clipped.

    Args:
        lightness: ``(H, W, 1)`` float32 L.
        ab_small: ``(h, w, 2)`` model output.
        dtype: ``np.uint8`` or ``np.uint16`` (keeps a 16-bit photo's tonal precision).

    Returns:
        RGB ``(H, W, 3)`` of ``dtype``.
    """
    height, width = lightness.shape[:2]
    ab = cv2.resize(np.asarray(ab_small, np.float32), (width, height),
                    interpolation=cv2.INTER_CUBIC).reshape(height, width, 2)
    top = float(np.iinfo(dtype).max)
    rgb = np.empty((height, width, 3), dtype)
    for rows in row_strips(height, width):
        strip = l_ab_to_rgb(lightness[rows], ab[rows])
        rgb[rows] = np.clip(strip * top + 0.5, 0, top).astype(dtype)
    return rgb


def colorize(model, image: np.ndarray, *, render_size: int = DEFAULT_RENDER_SIZE) -> np.ndarray:
    """Colorizes one photo at its full resolution.

    Args:
        model: A colorizer (``build_colorizer`` or ``load_colorizer``).
        image: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``, uint8, uint16 or
            float in [0, 1]. A colour photo is made gray first.
        render_size: The model's working size (a multiple of 32): larger sees finer detail,
            smaller gives broader, steadier colour.

    Returns:
        uint8 RGB ``(H, W, 3)`` whose CIE L equals the input's.
    """
    lightness = image_lightness(image)
    ab_small = predict_ab_batch(model, model_input(lightness, render_size)[None])[0]
    return merge_lightness_ab(lightness, ab_small)

