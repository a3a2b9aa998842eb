"""Colorize photos of any size: predict ab at the model's working size, keep the photo's own L.

    photo (H, W) -> L at full resolution -----------------------------------+
               \\-> downscale to ~render_size^2 pixels (sides multiple of 32) |
                   -> model -> ab -> upscale to (H, W) --------------------> Lab -> RGB

The output therefore has the input's exact height, width and lightness; only the colour comes
from the network, which the eye forgives at a lower resolution.

Example:
    >>> model = load_colorizer("runs/demo/model.keras")
    >>> rgb = colorize(model, read_rgb("grandma.jpg"))   # uint8, same size as the input
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from colorizer.color import (_D65_WHITE, _EPSILON, _F_EPSILON, _KAPPA, _XYZ_TO_RGB,
                             _RGB_TO_XYZ, linear_to_srgb, rgb_to_lab, srgb_to_linear)

DEFAULT_RENDER_SIZE = 224
"""The model's working size: its input has about render_size^2 pixels (it trained at 224)."""
SIDE_MULTIPLE = 32


def working_size(height: int, width: int, render_size: int = DEFAULT_RENDER_SIZE) -> tuple[int, int]:
    """The (height, width) the model sees: about ``render_size**2`` pixels, the photo's aspect,
    each side a multiple of 32 and at least 32."""
    if render_size % SIDE_MULTIPLE:
        raise ValueError(f"render_size must be a multiple of {SIDE_MULTIPLE}, got {render_size}")
    scale = render_size / math.sqrt(height * width)

    def side(n: int) -> int:
        return max(SIDE_MULTIPLE, int(round(n * scale / SIDE_MULTIPLE)) * SIDE_MULTIPLE)

    return side(height), side(width)


def to_float_rgb(image: np.ndarray) -> np.ndarray:
    """uint8/uint16/float, gray/RGB/RGBA array -> float32 RGB in [0, 1] (alpha dropped)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        image = image.astype(np.float32) / 65535.0
    elif np.issubdtype(image.dtype, np.floating):
        image = np.clip(image.astype(np.float32), 0.0, 1.0)
    else:
        raise TypeError(f"unsupported image dtype {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[-1] == 4:
        image = image[..., :3]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return image


def image_lightness(image: np.ndarray) -> np.ndarray:
    """CIE L (``(H, W, 1)``, float32) of a photo; a colour photo is treated as its gray version."""
    image = np.asarray(image)
    if image.dtype == np.uint8 and image.ndim in (2, 3):
        return _lightness_uint8(image)
    return rgb_to_lab(to_float_rgb(image))[..., :1].astype(np.float32)


# 8-bit sRGB -> linear light, one entry per code value: a table look-up instead of a power.
_LINEAR_OF_UINT8 = srgb_to_linear(np, np.arange(256) / 255.0).astype(np.float32)
# Linear light quantised to 16 bits -> 8-bit sRGB, rounded: the last step of every colorize.
_SRGB8_OF_LINEAR16 = np.clip(linear_to_srgb(np, np.arange(65536) / 65535.0) * 255.0 + 0.5,
                             0, 255).astype(np.uint8)


_ROWS_PER_CHUNK = 128


def _by_row_chunks(function, channels: int, *arrays: np.ndarray) -> np.ndarray:
    """Applies a per-pixel ``function`` to bands of rows, on every core.

    A band's temporaries stay in the CPU cache, and NumPy releases the GIL inside its loops,
    so threads run the bands in parallel: several times faster on full-resolution photos.
    """
    height, width = arrays[0].shape[:2]
    out = np.empty((height, width, channels), np.uint8 if channels == 3 else np.float32)

    def band(top: int) -> None:
        out[top:top + _ROWS_PER_CHUNK] = function(*(a[top:top + _ROWS_PER_CHUNK] for a in arrays))

    starts = range(0, height, _ROWS_PER_CHUNK)
    if height * width < 1 << 20:
        for top in starts:
            band(top)
    else:
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(band, starts))
    return out


def _lightness_uint8(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[-1] not in (1, 3, 4):
        to_float_rgb(image[:1, :1])  # raises the usual error
    return _by_row_chunks(_lightness_band, 1, image)


def _lightness_band(image: np.ndarray) -> np.ndarray:
    """L of an 8-bit photo. L depends on luminance Y alone, so only Y is computed (the same
    values as the full conversion, at a fraction of its cost on 12 MP photos)."""
    if image.ndim == 2 or image.shape[-1] == 1:
        luminance = _LINEAR_OF_UINT8[image.reshape(image.shape[:2])]  # gray: Y = linear
    else:
        weights = (_RGB_TO_XYZ[1] / _D65_WHITE[1]).astype(np.float32)
        luminance = sum(w * _LINEAR_OF_UINT8[image[..., i]] for i, w in enumerate(weights))
    f_y = np.where(luminance > _EPSILON, np.cbrt(np.maximum(luminance, _EPSILON)),
                   (_KAPPA / 116.0) * luminance + 16.0 / 116.0)
    return (116.0 * f_y - 16.0).astype(np.float32)[..., None]


def lab_to_rgb8(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """L ``(H, W, 1)`` and ab ``(H, W, 2)`` -> uint8 sRGB, as ``lab_to_rgb`` then rounding.

    Written for full-resolution photos: float32 throughout, OpenCV for the per-pixel colour
    matrix and a 16-bit table for the sRGB curve, several times faster than the general
    conversion on a 12 MP photo.
    """
    return _by_row_chunks(_rgb8_band, 3, lightness, ab)


def _rgb8_band(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    f_y = (lightness[..., 0].astype(np.float32) + 16.0) / 116.0
    f_x = f_y + ab[..., 0] / 500.0
    f_z = np.maximum(f_y - ab[..., 1] / 200.0, 0.0)  # z < 0 has no physical colour

    def f_inverse(f):
        return np.where(f > _F_EPSILON, f * f * f, (f - 16.0 / 116.0) * (116.0 / _KAPPA))

    xyz = np.dstack([f_inverse(f_x), f_inverse(f_y), f_inverse(f_z)]).astype(np.float32)
    matrix = (_XYZ_TO_RGB * _D65_WHITE[None, :]).astype(np.float32)
    linear = cv2.transform(xyz, matrix)
    index = (np.clip(linear, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    return _SRGB8_OF_LINEAR16[index]


def predict_ab(model, lightness: np.ndarray, render_size: int = DEFAULT_RENDER_SIZE) -> np.ndarray:
    """Runs the model at its working size and returns ab upscaled to the input's size."""
    height, width = lightness.shape[:2]
    work_h, work_w = working_size(height, width, render_size)
    # INTER_AREA averages when shrinking, so the model sees a clean, unaliased L.
    small = cv2.resize(lightness[..., 0], (work_w, work_h), interpolation=cv2.INTER_AREA)
    ab = np.asarray(model.predict_on_batch(small[None, ..., None].astype(np.float32)))[0]
    return cv2.resize(ab, (width, height), interpolation=cv2.INTER_CUBIC).reshape(height, width, 2)


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
    ab = predict_ab(model, lightness, render_size)
    return lab_to_rgb8(lightness, ab.astype(np.float32))
