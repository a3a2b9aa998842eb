"""Bring Lab colours into the sRGB gamut at constant lightness and hue, fast enough for 12 MP.

A model may predict an ab that no sRGB colour has at a pixel's lightness. Clipping the RGB
channels one by one would make it displayable but change its lightness (and hue): on real
photos by several L units. Here such a colour keeps its L and its hue angle; only its chroma
``sqrt(a^2 + b^2)`` shrinks, by the factor ``s`` in [0, 1] that brings it just inside sRGB. The
gray of the same L (``s = 0``) is always displayable, so a factor always exists.

How ``s`` is found, per pixel and vectorised:

1. Pixels already inside sRGB keep ``s = 1`` (one test on the linear RGB every conversion
   computes anyway); only the others are mapped.
2. For those, a table of the largest displayable chroma by lightness and hue
   (:func:`max_chroma_table`, computed once per process by bisection) gives ``s`` by bilinear
   interpolation, taken a little short (:data:`TABLE_MARGIN`) so that interpolation stays inside.
3. Every result is checked; the rare pixel still outside (where the gamut surface bends inside
   a table cell) is mapped by bisection on ``s`` between 0 and the table's value.

So the output is displayable by construction, and its L is the input's to float precision.

Example:
    >>> import numpy as np
    >>> lightness = np.array([50.0], np.float32)
    >>> ab = np.array([[0.0, -120.0]], np.float32)          # a blue no screen can show at L 50
    >>> linear = lab_to_linear_in_gamut(lightness, ab)      # linear sRGB, inside [0, 1]
    >>> bool(linear.min() >= 0.0 and linear.max() <= 1.0)
    True
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from colorizer.color import D65_WHITE, F_EPSILON, XYZ_TO_RGB, linear_to_srgb

# Linear sRGB from (X/Xn, Y/Yn, Z/Zn): the white point folded into the matrix.
_MATRIX = (XYZ_TO_RGB * D65_WHITE[None, :]).astype(np.float32)
# The white point and the matrix, both rounded to 6 digits, map Lab white to a linear blue of
# 1.00008: channels may exceed 1 by this much before a colour counts as outside. Below 0 only
# float rounding is forgiven. Clipping these slack amounts moves L by under 0.004.
LOWER_SLACK = 1e-6
UPPER_SLACK = 1e-4

TABLE_LIGHTNESS_STEPS = 100
"""Table rows: L from 0 to 100 in steps of 1."""
TABLE_HUE_STEPS = 360
"""Table columns: hue angles in steps of 1 degree."""
TABLE_MARGIN = 0.995
"""The table's chroma is used 0.5% short, so that interpolation rarely lands outside."""
BISECTION_STEPS = 12
"""Steps of the fallback bisection: the factor to within 2^-12 of the boundary (0.03 units of
chroma at the largest)."""


_SLOPE = np.float32(3.0 * F_EPSILON**2)  # of the straight part, which meets the cube at 6/29
# (L, a, b, 1) -> (fx, fy, fz): fy = (L + 16) / 116, fx = fy + a / 500, fz = fy - b / 200.
_LAB_TO_F = np.array([[1 / 116, 1 / 500, 0, 16 / 116],
                      [1 / 116, 0, 0, 16 / 116],
                      [1 / 116, 0, -1 / 200, 16 / 116]], np.float32)
_VOID3 = np.dtype((np.void, 12))  # one float32 pixel of 3 channels, moved as one item


class StripBuffers:
    """Arrays one thread reuses from one strip of pixels to the next.

    Args:
        pixels: The most pixels a strip will have.
    """

    def __init__(self, pixels: int):
        self.pixels = pixels
        self.lab = np.empty((pixels, 1, 3), np.float32)
        self.f = np.empty((pixels, 3), np.float32)
        self.h = np.empty((pixels, 3), np.float32)
        self.cube = np.empty((pixels, 3), np.float32)
        self.linear = np.empty((pixels, 3), np.float32)
        self.inside = np.empty((pixels, 1), np.uint8)
        self.index = np.empty((pixels, 3), np.uint16)  # for a caller's 16-bit table look-up


def _f_to_linear(f: np.ndarray, scratch: StripBuffers | None = None) -> np.ndarray:
    """Linear sRGB (unclipped) of contiguous float32 ``(fx, fy, fz)`` ``(h, w, 3)``; ``f`` is
    overwritten.

    The inverse of CIE f, ``f^3`` above 6/29 and its tangent there below, is one branch-free
    expression: ``h = max(f, 6/29)``, ``h^3 + slope (f - h)``. Every step is an OpenCV call
    on a one-channel view (a scalar then applies to every element, not to the first channel
    only), writing into ``scratch``'s arrays when given: allocating a fresh array per step cost
    as much as the step itself (the page faults of new memory).
    """
    count = f.size // 3
    if count == 0:
        return np.empty_like(f)
    flat = f.reshape(count, 3)
    h = scratch.h[:count] if scratch is not None else None
    cube = scratch.cube[:count] if scratch is not None else None
    h = cv2.max(flat, float(F_EPSILON), dst=h)
    cube = cv2.multiply(h, h, dst=cube)
    cv2.multiply(cube, h, dst=cube)
    cv2.subtract(flat, h, dst=h)
    cv2.scaleAdd(h, float(_SLOPE), cube, dst=flat)
    out = scratch.linear[:count].reshape(f.shape) if scratch is not None else None
    return cv2.transform(f, _MATRIX, dst=out)


def _lab_to_linear(lab: np.ndarray, scratch: StripBuffers | None = None) -> np.ndarray:
    """Linear sRGB (unclipped) of contiguous float32 Lab ``(h, w, 3)``."""
    out = scratch.f[:lab.size // 3].reshape(lab.shape) if scratch is not None else None
    return _f_to_linear(cv2.transform(lab, _LAB_TO_F, dst=out), scratch)


def _inside_mask(linear: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """255 for pixels of ``(h, w, 3)`` whose channels all lie in [0, 1] up to the slack, else 0."""
    return cv2.inRange(linear, (-LOWER_SLACK,) * 3, (1.0 + UPPER_SLACK,) * 3, dst=out)


class _Rays:
    """Pixels ``(n, 1, 3)`` seen along their chroma: ``f(s) = f(gray) + s (f(colour) - f(gray))``
    is linear in the factor ``s`` on ab, so each trial factor costs one multiply-add."""

    def __init__(self, lab: np.ndarray):
        self.lab = lab
        f = cv2.transform(lab, _LAB_TO_F)
        self.gray = np.repeat(f[..., 1:2], 3, axis=-1)  # fx = fy = fz at a = b = 0
        self.step = f - self.gray

    def __len__(self) -> int:
        return len(self.lab)

    def linear(self, factor: np.ndarray) -> np.ndarray:
        f = self.step * np.repeat(factor, 3).reshape(-1, 1, 3)
        f += self.gray
        return _f_to_linear(f)

    def inside(self, factor: np.ndarray) -> np.ndarray:
        return _inside_mask(self.linear(factor)).ravel()


def _bisect(rays: _Rays, low: np.ndarray, high: np.ndarray,
            steps: int = BISECTION_STEPS) -> np.ndarray:
    """The largest factor in [low, high] found inside, per pixel (``low`` must be inside)."""
    for _ in range(steps):
        middle = (low + high) * np.float32(0.5)
        ok = rays.inside(middle)  # uint8: np.where takes nonzero as true
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
    return low


@functools.lru_cache(maxsize=1)
def max_chroma_table() -> np.ndarray:
    """The largest displayable chroma at each lightness and hue: ``(101, 361)`` float32.

    Row ``i`` is L = ``100 i / TABLE_LIGHTNESS_STEPS``, column ``j`` the hue angle
    ``-180 + 360 j / TABLE_HUE_STEPS`` degrees (as ``arctan2`` gives it, so a look-up needs no
    wrap-around). Computed by bisection on chroma, in a fraction of a second.
    """
    lightness = np.linspace(0.0, 100.0, TABLE_LIGHTNESS_STEPS + 1, dtype=np.float32)
    hue = np.linspace(-np.pi, np.pi, TABLE_HUE_STEPS + 1, dtype=np.float32)
    grid_l, grid_h = np.meshgrid(lightness, hue, indexing="ij")
    top = np.float32(200.0)  # beyond any sRGB chroma (the largest is about 134)
    lab = np.stack([grid_l.ravel(), np.cos(grid_h.ravel()) * top,
                    np.sin(grid_h.ravel()) * top], -1).astype(np.float32)[:, None, :]
    factor = _bisect(_Rays(lab), np.zeros(len(lab), np.float32), np.ones(len(lab), np.float32),
                     steps=20)
    return (factor * top).reshape(grid_l.shape).astype(np.float32)


def _table_factor(lab: np.ndarray) -> np.ndarray:
    """Chroma factor from the table (bilinear in L and hue), with the margin; ``<= 1``."""
    lightness, a, b = (channel.ravel() for channel in cv2.split(lab))
    flat = max_chroma_table().ravel()
    width = TABLE_HUE_STEPS + 1
    row = np.clip(lightness, 0.0, 100.0) * np.float32(TABLE_LIGHTNESS_STEPS / 100.0)
    column = (np.arctan2(b, a) + np.float32(np.pi)) * np.float32(TABLE_HUE_STEPS / (2 * np.pi))
    i = np.minimum(row.astype(np.int32), TABLE_LIGHTNESS_STEPS - 1)
    j = np.minimum(column.astype(np.int32), TABLE_HUE_STEPS - 1)
    u, v = row - i.astype(np.float32), column - j.astype(np.float32)  # stay float32
    at = i * width + j
    top = np.take(flat, at)
    top += (np.take(flat, at + 1) - top) * v
    at += width
    bottom = np.take(flat, at)
    bottom += (np.take(flat, at + 1) - bottom) * v
    limit = (top + (bottom - top) * u) * np.float32(TABLE_MARGIN)
    chroma = np.sqrt(a * a + b * b)
    return np.minimum(np.float32(1.0), limit / np.maximum(chroma, np.float32(1e-6)))


def _scaled_ab(lab: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Lab ``(n, 1, 3)`` with each pixel's a and b multiplied by its factor ``(n,)``."""
    ones = np.ones_like(factor)
    return cv2.multiply(lab, cv2.merge([ones, factor, factor]).reshape(lab.shape))


def _factor_outside(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factors, and the mapped linear sRGB, for pixels ``(n, 1, 3)`` all outside sRGB: from the
    table, then by bisection where the table's value is still outside."""
    factor = _table_factor(lab)
    linear = _lab_to_linear(_scaled_ab(lab, factor))
    missed = np.flatnonzero(_inside_mask(linear).ravel() == 0)
    if missed.size:  # the gamut bends inside a table cell here: find the factor exactly
        few = _Rays(lab[missed])
        factor[missed] = _bisect(few, np.zeros(missed.size, np.float32), factor[missed])
        linear[missed] = few.linear(factor[missed])
    return factor, linear


def _as_lab(lightness: np.ndarray, ab: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    lightness = np.asarray(lightness, np.float32)
    return cv2.merge([lightness.reshape(-1, 1), np.asarray(ab, np.float32).reshape(-1, 1, 2)],
                     dst=out)


def chroma_factor(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The factor on each pixel's ab that brings it into sRGB at its L and hue.

    Args:
        lightness: L, float32, shape ``S``.
        ab: ``S + (2,)`` float32.

    Returns:
        ``S`` float32 factors in [0, 1]: 1 where the colour is displayable already.
    """
    lab = _as_lab(lightness, ab)
    scale = np.ones(len(lab), np.float32)
    outside = np.flatnonzero(_inside_mask(_lab_to_linear(lab)).ravel() == 0)
    if outside.size:
        scale[outside] = _factor_outside(np.take(lab, outside, axis=0))[0]
    return scale.reshape(np.shape(lightness))


def lab_to_linear_in_gamut(lightness: np.ndarray, ab: np.ndarray, *,
                           buffers: StripBuffers | None = None, clip: bool = True
                           ) -> np.ndarray:
    """Linear sRGB in [0, 1] of L and ab, out-of-gamut colours mapped at constant L and hue.

    Args:
        lightness: L, float32, any shape ``S`` (a strip of rows ``(h, w)`` here).
        ab: ``S + (2,)`` float32.
        buffers: Arrays to work in, for a caller converting strip after strip (room for
            ``lightness.size`` pixels at least); the result is then a view of them, valid until
            their next use.
        clip: ``False`` leaves the slack (up to :data:`UPPER_SLACK` over 1 and
            :data:`LOWER_SLACK` under 0) for a caller whose next step saturates anyway.

    Returns:
        ``S + (3,)`` float32 linear RGB, whose CIE L is ``lightness`` (to float precision, and
        within the slack at the range's ends).
    """
    count = int(np.size(lightness))
    if buffers is not None and count > buffers.pixels:
        raise ValueError(f"{count} pixels do not fit buffers of {buffers.pixels}")
    lab = _as_lab(lightness, ab, buffers.lab[:count] if buffers is not None else None)
    linear = _lab_to_linear(lab, buffers)
    inside = _inside_mask(linear, buffers.inside[:count] if buffers is not None else None)
    outside = np.flatnonzero(inside.ravel() == 0)
    if outside.size:
        mapped = _factor_outside(np.take(lab, outside, axis=0))[1]
        # Pixels move as 12-byte items: several times faster than indexing rows of 3.
        as_items = linear.reshape(-1, 3).view(_VOID3).ravel()
        as_items[outside] = mapped.reshape(-1, 3).view(_VOID3).ravel()
    if clip:
        np.clip(linear, 0.0, 1.0, out=linear)
    return linear.reshape(np.shape(lightness) + (3,))


def lab_to_rgb_in_gamut(lab: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (float32) of Lab ``[..., 3]``, mapped into the gamut at constant L and hue.

    The NumPy counterpart of :func:`colorizer.color.lab_to_rgb` for display: where that clips
    each channel (and so changes L), this keeps the L of every pixel.
    """
    lab = np.asarray(lab, np.float32)
    linear = lab_to_linear_in_gamut(lab[..., 0], lab[..., 1:])
    return np.clip(linear_to_srgb(np, linear), 0.0, 1.0).astype(np.float32)
