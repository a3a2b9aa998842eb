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

import cv2
import numpy as np

from colorizer.color import l_ab_to_rgb, rgb_to_lab

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
    return rgb_to_lab(to_float_rgb(image))[..., :1].astype(np.float32)


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
    rgb = l_ab_to_rgb(lightness, ab.astype(np.float32))
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
