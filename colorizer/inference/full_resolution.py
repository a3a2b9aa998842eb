"""Colorize photos of any size: predict ab at the model's working size, keep the photo's own L.

    photo (H, W) -> L at full resolution -----------------------------------+
               \\-> downscale to ~render_size^2 pixels (sides multiple of 32) |
                   -> model -> ab -> upscale to (H, W) --------------------> Lab -> RGB

The output therefore has the input's exact height, width and lightness; only the colour comes
from the network, which the eye forgives at a lower resolution. A predicted colour that sRGB
cannot show at its pixel's lightness loses chroma, at constant L and hue, until it can
(:mod:`colorizer.gamut_mapping`); clipping its channels instead would change L. Full-size work
runs in strips of rows, in float32, on every core, so a photo of tens of megapixels needs
little more memory than its L, its upscaled ab and its output.

Example:
    >>> model = load_colorizer("runs/demo/model.keras")
    >>> rgb = colorize_photo(model, read_rgb("grandma.jpg"))   # uint8, the input's size
"""
from __future__ import annotations

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import cv2
import numpy as np

from colorizer.color import (
    LUMINANCE_WEIGHTS, linear_to_srgb, luminance_to_lightness, srgb_to_linear)
from colorizer.gamut_mapping import StripBuffers, lab_to_linear_in_gamut, max_chroma_table
from colorizer.runtimes.network import predict_ab

DEFAULT_RENDER_SIZE = 224
"""The model's working size: its input has about render_size^2 pixels (it trained at 224)."""
SIDE_MULTIPLE = 32
MAX_SIDE = 65_535
"""Photos with a longer side are refused: it is the most a JPEG can hold, and it keeps every
strip of the full-size work (one row at the least) small."""
STRIP_PIXELS = 1 << 16
"""Pixels converted at once: a strip's float temporaries (under 1 MB each) stay in the CPU cache,
which made the full-size conversion 2-3 times faster than strips of 1 << 18 pixels here."""
PARALLEL_PIXELS = 1 << 20
"""From this size on, strips run on all cores (NumPy and OpenCV release the GIL)."""


def working_size(height: int, width: int, render_size: int = DEFAULT_RENDER_SIZE) -> tuple[int, int]:
    """The (height, width) the model sees: about ``render_size**2`` pixels, the photo's aspect,
    each side a multiple of 32 and at least 32.

    The area stays near ``render_size**2`` for any shape: when the short side is held at 32,
    the long side is shortened to match (a very long photo is seen squeezed along its length),
    so a photo of 1 x 50,000,000 pixels cannot become a model input of 32 x 1,583,904.

    Raises:
        ValueError: A bad ``render_size``, or a photo with a side longer than
            :data:`MAX_SIDE` (the message says what to do).
    """
    if render_size % SIDE_MULTIPLE or render_size <= 0:
        raise ValueError(f"render_size must be a positive multiple of {SIDE_MULTIPLE}, "
                         f"got {render_size}")
    if height < 1 or width < 1:
        raise ValueError(f"a photo of {width} x {height} pixels has no area")
    if max(height, width) > MAX_SIDE:
        raise ValueError(f"{width} x {height} pixels: a side longer than {MAX_SIDE} pixels (the "
                         "most a JPEG can hold) is not colorized; crop it into shorter parts")
    scale = render_size / math.sqrt(height * width)
    longest = max(SIDE_MULTIPLE, render_size * render_size // SIDE_MULTIPLE
                  // SIDE_MULTIPLE * SIDE_MULTIPLE)

    def side(n: int) -> int:
        return min(longest, max(SIDE_MULTIPLE, int(round(n * scale / SIDE_MULTIPLE))
                                * SIDE_MULTIPLE))

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


def strip_rows(width: int) -> int:
    """Rows in a strip of a photo ``width`` pixels wide: about :data:`STRIP_PIXELS` pixels."""
    return max(1, STRIP_PIXELS // max(1, width))


def row_strips(height: int, width: int) -> list[slice]:
    """Slices of :func:`strip_rows` rows each, covering ``height``."""
    rows = strip_rows(width)
    return [slice(top, min(height, top + rows)) for top in range(0, height, rows)]


def each_strip(function: Callable[[slice], None], height: int, width: int) -> None:
    """Calls ``function(rows)`` for every strip, in parallel threads for big photos."""
    strips = row_strips(height, width)
    workers = min(len(strips), os.cpu_count() or 1)
    if height * width < PARALLEL_PIXELS or workers < 2:
        for rows in strips:
            function(rows)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(function, strips))  # list(): re-raises a strip's exception here


@functools.lru_cache(maxsize=4)
def _linear_table(levels: int) -> np.ndarray:
    """Linear light of every integer level (256 or 65536): a lookup beats the power function."""
    return srgb_to_linear(np, np.arange(levels, dtype=np.float32) / np.float32(levels - 1))


@functools.lru_cache(maxsize=4)
def _lightness_table(levels: int) -> np.ndarray:
    """L of every gray level: a gray photo's L is one look-up per pixel."""
    return luminance_to_lightness(_linear_table(levels))


@functools.lru_cache(maxsize=1)
def _srgb8_of_linear16() -> np.ndarray:
    """8-bit sRGB of linear light quantised to 16 bits, rounded: the last step to uint8."""
    linear = np.arange(65536, dtype=np.float64) / 65535.0
    return np.clip(linear_to_srgb(np, linear) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _lightness_rows(rows: np.ndarray) -> np.ndarray:
    if rows.ndim == 3:
        rows = rows[..., 0] if rows.shape[-1] == 1 else rows[..., :3]  # alpha dropped
    if rows.ndim == 2 and rows.dtype in (np.uint8, np.uint16):
        return np.take(_lightness_table(256 if rows.dtype == np.uint8 else 65536), rows)
    if rows.dtype == np.uint8:
        table = _linear_table(256)
        # OpenCV's LUT maps uint8 to float32 through a 256-entry table, several times faster
        # than NumPy's indexing.
        linear = cv2.LUT(np.ascontiguousarray(rows), table.reshape(1, 256))
    elif rows.dtype == np.uint16:
        linear = np.take(_linear_table(65536), rows)
    else:
        linear = srgb_to_linear(np, np.clip(rows.astype(np.float32), 0.0, 1.0))
    if linear.ndim == 3:
        weights = LUMINANCE_WEIGHTS.astype(np.float32).reshape(1, 3)
        linear = cv2.transform(np.ascontiguousarray(linear, np.float32), weights)
    return luminance_to_lightness(np.asarray(linear, np.float32).reshape(rows.shape[:2]))


def image_lightness(image: np.ndarray) -> np.ndarray:
    """CIE L (``(H, W, 1)``, float32) of a photo; a colour photo is treated as its gray version.

    Equals ``rgb_to_lab(to_float_rgb(image))[..., :1]`` to float precision, computed strip by
    strip from the luminance alone (lookup tables for 8- and 16-bit data).
    """
    image = _check_image(image)
    height, width = image.shape[:2]
    lightness = np.empty((height, width, 1), np.float32)

    def strip(rows: slice) -> None:
        lightness[rows, :, 0] = _lightness_rows(image[rows])

    each_strip(strip, height, width)
    return lightness


def model_input(lightness: np.ndarray, render_size: int = DEFAULT_RENDER_SIZE) -> np.ndarray:
    """Resizes full-size L ``(H, W, 1)`` to the working size: ``(h, w, 1)`` float32."""
    height, width = lightness.shape[:2]
    work_h, work_w = working_size(height, width, render_size)
    # INTER_AREA averages when shrinking, so the model sees a clean, unaliased L.
    method = cv2.INTER_AREA if work_h * work_w < height * width else cv2.INTER_CUBIC
    small = cv2.resize(lightness[..., 0], (work_w, work_h), interpolation=method)
    return np.clip(small, 0.0, 100.0).astype(np.float32)[..., None]


def predict_ab_batch(model, batch: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
    """ab ``(N, h, w, 2)`` for a batch of working-size L ``(N, h, w, 1)``.

    A model that takes colour hints (:func:`colorizer.runtimes.network.takes_hints`) gets
    ``hints`` ``(N, h, w, 3)`` beside L, or none (all zeros: its automatic colour).
    """
    return predict_ab(model, batch, hints)


def merge_lightness_ab(lightness: np.ndarray, ab_small: np.ndarray, *,
                       dtype: type = np.uint8) -> np.ndarray:
    """Joins full-size L with working-size ab into RGB of the photo's size.

    ab is upscaled smoothly (bicubic) to the full size; then, strip by strip, colours outside
    sRGB lose chroma at constant L and hue (:func:`colorizer.gamut_mapping.lab_to_linear_in_gamut`)
    and the result is encoded: the output's L is ``lightness`` up to the rounding to ``dtype``.

    Args:
        lightness: ``(H, W, 1)`` float32 L.
        ab_small: ``(h, w, 2)`` model output.
        dtype: ``np.uint8`` or ``np.uint16`` (keeps a 16-bit photo's tonal precision).

    Returns:
        RGB ``(H, W, 3)`` of ``dtype``.
    """
    return encode_lab(lightness, upscale_ab(ab_small, lightness.shape[:2]), dtype=dtype)


def upscale_ab(ab_small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Working-size ab ``(h, w, 2)`` upscaled smoothly (bicubic) to ``size`` = (H, W)."""
    height, width = size
    return cv2.resize(np.asarray(ab_small, np.float32), (width, height),
                      interpolation=cv2.INTER_CUBIC).reshape(height, width, 2)


def encode_lab(lightness: np.ndarray, ab: np.ndarray, *, dtype: type = np.uint8) -> np.ndarray:
    """Full-size L ``(H, W, 1)`` and ab ``(H, W, 2)`` -> RGB ``(H, W, 3)`` of ``dtype``.

    Colours outside sRGB lose chroma at constant L and hue, strip by strip, on every core,
    each thread in arrays of its own that it reuses from strip to strip.
    """
    height, width = lightness.shape[:2]
    rgb = np.empty((height, width, 3), dtype)
    max_chroma_table()  # built once per process, here rather than by several strips at once

    def strip(rows: slice) -> None:
        buffers = _strip_buffers(width)
        linear = lab_to_linear_in_gamut(lightness[rows, :, 0], ab[rows], buffers=buffers,
                                        clip=False)
        if dtype == np.uint8:
            _encode_uint8(linear, rgb[rows], buffers)
        else:
            rgb[rows] = _encode_uint16(np.clip(linear, 0.0, 1.0, out=linear))

    each_strip(strip, height, width)
    return rgb


_THREAD_BUFFERS = threading.local()


def _strip_buffers(width: int) -> StripBuffers:
    """This thread's arrays, with room for a strip of rows ``width`` pixels wide."""
    pixels = strip_rows(width) * width
    buffers = getattr(_THREAD_BUFFERS, "buffers", None)
    if buffers is None or buffers.pixels < pixels:
        buffers = _THREAD_BUFFERS.buffers = StripBuffers(pixels)
    return buffers


def _encode_uint8(linear: np.ndarray, out: np.ndarray, buffers: StripBuffers) -> None:
    """Linear RGB -> 8-bit sRGB in ``out``, through a table of 65536 linear levels (a step of
    the table moves an 8-bit value by at most 0.05).

    One OpenCV call scales, rounds and saturates to the table's index (values a little
    outside [0, 1] land on its ends), and the table is read straight into ``out``.
    """
    count = linear.size // 3
    index = cv2.multiply(linear.reshape(count, 3), 65535.0, dtype=cv2.CV_16U,
                         dst=buffers.index[:count])
    np.take(_srgb8_of_linear16(), index, out=out.reshape(count, 3), mode="clip")


def _encode_uint16(linear: np.ndarray) -> np.ndarray:
    srgb = linear_to_srgb(np, linear)  # exact: a table would be coarse near black at 16 bits
    return (np.clip(srgb, 0.0, 1.0) * np.float32(65535.0) + np.float32(0.5)).astype(np.uint16)


def colorize_photo(model, image: np.ndarray, *, render_size: int = DEFAULT_RENDER_SIZE
                   ) -> np.ndarray:
    """Colorizes one photo at its full resolution, from the model alone (the front door
    :func:`colorizer.colorize` takes this path when it has no hints and no reference).

    Args:
        model: A colorizer (``build_colorizer`` or ``load_colorizer``).
        image: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``, uint8, uint16 or
            float in [0, 1]. A colour photo is made gray first.
        render_size: The model's working size (a multiple of 32): larger sees finer detail,
            smaller gives broader, steadier colour.

    Returns:
        uint8 RGB ``(H, W, 3)`` whose CIE L equals the input's (up to 8-bit rounding).
    """
    lightness = image_lightness(image)
    ab_small = predict_ab_batch(model, model_input(lightness, render_size)[None])[0]
    return merge_lightness_ab(lightness, ab_small)
