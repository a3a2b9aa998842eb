"""Colorize with colour hints and a reference photo, the model's colour as the prior.

    photo -> L (full size) ---------------------------------------------------------+
         \\-> model -> ab (model's colour, upscaled as colorize does) ----------+    |
    prior = model weight * ab + offset (chosen from the hints: prior_choice)  |    |
    hints: correction = hint ab - prior at each hinted pixel                  |    |
    reference: soft targets = matched reference ab - prior                    |    |
         -> on a grid of ~solve_size^2 pixels: edge-aware propagation of the   |    |
            correction (propagation.py), fading to 0 far from every hint       |    |
         -> upsampled to full size along full-size L (fast guided filter) --> + -> ab
                                                        hinted pixels set exactly ^   |
                                                                         encode (gamut)

Propagating the *correction* rather than the colour keeps the model's work wherever the hints
say nothing, and lets a hint change a region's colour without flattening its shading. The
solve runs at a small working size and only its result is upsampled, so the cost hardly
grows with the photo: L and the final encoding stay at full resolution, as in ``colorize``.

Example:
    >>> rgb = colorize_guided(model, photo, hints=[(120, 45, "#aa3322")])
    >>> rgb = colorize_guided(model, photo, reference=read_rgb("similar_scene.jpg"))
"""
from __future__ import annotations

import math
import os

import cv2
import numpy as np

from colorizer.inference.full_resolution import (
    DEFAULT_RENDER_SIZE, each_strip, colorize_photo, encode_lab, image_lightness,
    model_input, predict_ab_batch, upscale_ab)
from colorizer.guided.hints import Hints, hint_pixels
from colorizer.guided.learned import (
    LEARNED_PRIOR_STRENGTH, LEARNED_SOLVE_SIZE, hint_input, reference_hints)
from colorizer.guided.prior_choice import CHOICE_SIZE, MIN_HELD_OUT, Prior, choose_prior
from colorizer.guided.propagation import HINT_CONFIDENCE, propagate
from colorizer.runtimes.network import takes_hints

SOLVE_SIZE = 192
"""The propagation's grid has about SOLVE_SIZE^2 cells (the photo's aspect)."""
REFERENCE_CONFIDENCE = 0.05
"""Weight of a perfectly matched reference colour: a nudge that smoothing turns into regions."""
PRIOR_STRENGTH = 0.1
"""The pull of the correction back to 0 (the model's colour), summed over the whole grid, so
the same value behaves alike at every grid size. At 0.01 a hint colours most of the region it
lies in, and a region an edge cuts off from every hint keeps the model's colour; larger values
keep colour nearer the hints (0.1: a few tenths of the photo; 1: little more than the hint's
neighbourhood). Used when the hints cannot choose the prior themselves (one or two points,
scribbles only, a reference only, films) or a caller fixes it; with three or more points it
is chosen per photo (:mod:`colorizer.guided.prior_choice`). Of the fixed values, 0.1
measured best for one and two points and for scribbles on held-out cat and dog photos
(benchmarks/guided_colour.json).
"""
UPSAMPLE_RADIUS = 2
UPSAMPLE_EPS = 1e-3
"""Guided-filter regulariser on L in [0, 1]: texture weaker than ~3 L units does not steer."""


def solve_grid(height: int, width: int, solve_size: int = SOLVE_SIZE) -> tuple[int, int]:
    """(rows, columns) of the propagation grid: about ``solve_size**2`` cells, never more
    than the photo has."""
    scale = min(1.0, solve_size / math.sqrt(height * width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    return cv2.blur(image, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def _coefficients(guide_small: np.ndarray, values_small: np.ndarray) -> np.ndarray:
    """The guided filter's ``(a, b)`` per grid cell, ``(h, w, 2c)``: ``value ~ a L + b`` with
    L in [0, 100], fitted in (2 r + 1)^2 windows and averaged over them (He et al.)."""
    small = np.asarray(guide_small, np.float32) / np.float32(100.0)
    values_small = np.asarray(values_small, np.float32)
    mean_i = _box(small, UPSAMPLE_RADIUS)[..., None]
    var_i = _box(small * small, UPSAMPLE_RADIUS)[..., None] - mean_i * mean_i
    mean_p = _box(values_small, UPSAMPLE_RADIUS).reshape(values_small.shape)
    cov = _box(values_small * small[..., None], UPSAMPLE_RADIUS).reshape(values_small.shape)
    cov = cov - mean_i * mean_p
    a = cov / (var_i + np.float32(UPSAMPLE_EPS))
    b = mean_p - a * mean_i
    a = _box(a / np.float32(100.0), UPSAMPLE_RADIUS).reshape(a.shape)  # for L in [0, 100]
    b = _box(b, UPSAMPLE_RADIUS).reshape(b.shape)
    return np.ascontiguousarray(np.concatenate([a, b], axis=-1))


def add_guided_upsample(target: np.ndarray, guide_small: np.ndarray,
                        values_small: np.ndarray, guide: np.ndarray) -> None:
    """Adds ``values_small`` ``(h, w, c)``, upsampled to ``guide``'s size along its edges, to
    ``target`` ``(H, W, c)`` in place.

    The fast guided filter (He and Sun, 2015): a local linear model ``value = a L + b`` is
    fitted on the small grid, its ``a`` and ``b`` are upsampled bilinearly and applied to the
    full-size L, so a colour boundary lands on the photo's own edge, not on a grid cell's.
    Full-size work runs strip by strip on every core, each strip sampling the coefficients it
    needs (no full-size coefficient maps).
    """
    height, width = guide.shape
    coefficients = _coefficients(guide_small, values_small)
    small_h, small_w, double = coefficients.shape
    channels = double // 2
    # Pixel centres mapped as cv2.resize's bilinear mode maps them.
    map_x = ((np.arange(width, dtype=np.float32) + 0.5) * (small_w / width) - 0.5)

    def strip(rows: slice) -> None:
        map_y = (np.arange(rows.start, rows.stop, dtype=np.float32) + 0.5) * (
            small_h / height) - 0.5
        grid_x, grid_y = np.meshgrid(map_x, map_y)
        sampled = cv2.remap(coefficients, grid_x, grid_y, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        sampled = sampled.reshape(grid_x.shape + (double,))
        target[rows] += sampled[..., :channels] * guide[rows, :, None] + sampled[..., channels:]

    each_strip(strip, height, width)


def _cell_means(cells: np.ndarray, values: np.ndarray):
    """Unique ``cells`` and the mean of ``values`` ``(n, c)`` over each."""
    unique, inverse = np.unique(cells, return_inverse=True)
    counts = np.bincount(inverse, minlength=unique.size)
    means = np.stack([np.bincount(inverse, values[:, c], minlength=unique.size) / counts
                      for c in range(values.shape[1])], axis=1)
    return unique, means


def _grid_cells(rows: np.ndarray, cols: np.ndarray, height: int, width: int,
                grid: tuple[int, int]) -> np.ndarray:
    return (rows * grid[0] // height) * grid[1] + cols * grid[1] // width


def guided_prior(lightness: np.ndarray, ab: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 hint_ab: np.ndarray, prior_strength: float | None = None) -> Prior:
    """How the model's colour is used under these hints: the caller's ``prior_strength``
    (model weight 1), or, when it is ``None``, the prior the hints choose
    (:func:`colorizer.guided.prior_choice.choose_prior`; :data:`PRIOR_STRENGTH` when they
    cannot).

    Args:
        lightness: Full-size L ``(H, W, 1)``.
        ab: The model's ab at full size ``(H, W, 2)``.
        rows: The hinted pixels' rows.
        cols: Their columns.
        hint_ab: Their ab ``(n, 2)``.
        prior_strength: A fixed strength, or ``None`` to choose.
    """
    if prior_strength is not None:
        return Prior(float(prior_strength))
    default = Prior(PRIOR_STRENGTH)
    if rows.size < MIN_HELD_OUT:  # too few pixels to hold out: skip the grid's making
        return default
    height, width = lightness.shape[:2]
    grid = solve_grid(height, width, CHOICE_SIZE)
    lightness_small = cv2.resize(lightness[..., 0], grid[::-1], interpolation=cv2.INTER_AREA)
    cells = _grid_cells(rows, cols, height, width, grid)
    unique, means = _cell_means(cells, np.concatenate([hint_ab, ab[rows, cols]], axis=1))
    return choose_prior(lightness_small.reshape(grid), unique, means[:, :2], means[:, 2:],
                        default=default)


def guided_ab(lightness: np.ndarray, ab_small: np.ndarray, hints: Hints | None = None,
              reference: np.ndarray | None = None, *, solve_size: int = SOLVE_SIZE,
              prior_strength: float | None = None) -> np.ndarray:
    """Full-size ab: the model's, corrected towards the hints and the reference.

    Args:
        lightness: Full-size L ``(H, W, 1)``.
        ab_small: The model's ab at its working size ``(h, w, 2)``.
        hints: Colour points and scribbles (``Hints``), or ``None``.
        reference: A colour photo of a similar scene (array, any size), or ``None``.
        solve_size: The propagation grid has about ``solve_size**2`` cells.
        prior_strength: How strongly the correction fades back to the model's colour;
            ``None``: chosen, with the model's weight, from the hints (:func:`guided_prior`).

    Returns:
        ``(H, W, 2)`` float32; exactly the hint's ab at every hinted pixel.

    Raises:
        HintError: A point outside the photo or scribbles of another size.
    """
    height, width = lightness.shape[:2]
    rows, cols, hint_ab = hint_pixels(hints or Hints(), height, width)
    return guided_ab_at(lightness, ab_small, rows, cols, hint_ab, reference,
                        solve_size=solve_size, prior_strength=prior_strength)


def guided_ab_at(lightness: np.ndarray, ab_small: np.ndarray, rows: np.ndarray,
                 cols: np.ndarray, hint_ab: np.ndarray, reference: np.ndarray | None = None, *,
                 solve_size: int = SOLVE_SIZE, prior_strength: float | None = None
                 ) -> np.ndarray:
    """:func:`guided_ab` with the hints already as pixels: ``rows``, ``cols`` (inside the
    photo, unique) and their ``hint_ab`` ``(n, 2)``, as :func:`hint_pixels` gives them (a
    film's hints, carried along the motion, arrive so)."""
    height, width = lightness.shape[:2]
    ab = upscale_ab(ab_small, (height, width))
    if not rows.size and reference is None:
        return ab
    prior = guided_prior(lightness, ab, rows, cols, hint_ab, prior_strength)
    base = prior.base(ab)
    grid_h, grid_w = solve_grid(height, width, solve_size)
    lightness_small = cv2.resize(lightness[..., 0], (grid_w, grid_h), interpolation=cv2.INTER_AREA)
    targets = np.zeros((grid_h, grid_w, 2), np.float32)
    confidence = np.zeros((grid_h, grid_w), np.float32)
    if reference is not None:
        from colorizer.guided.reference import transfer_ab

        model_small = cv2.resize(np.asarray(ab_small, np.float32), (grid_w, grid_h),
                                 interpolation=cv2.INTER_AREA).reshape(grid_h, grid_w, 2)
        reference_ab, match = transfer_ab(lightness_small, reference)
        targets = reference_ab - prior.base(model_small)
        confidence = REFERENCE_CONFIDENCE * match
    if rows.size:
        # Each grid cell takes the mean correction of the hinted pixels inside it.
        cells = _grid_cells(rows, cols, height, width, (grid_h, grid_w))
        unique, correction = _cell_means(cells, hint_ab - base[rows, cols])
        for channel in range(2):
            targets[..., channel].reshape(-1)[unique] = correction[:, channel]
        confidence.reshape(-1)[unique] = HINT_CONFIDENCE
    correction_small = propagate(lightness_small, targets, confidence,
                                 prior_weight=prior.strength / (grid_h * grid_w))
    add_guided_upsample(base, lightness_small, correction_small, lightness[..., 0])
    base[rows, cols] = hint_ab
    return base


def _as_reference(reference) -> np.ndarray | None:
    if reference is None or isinstance(reference, np.ndarray):
        return reference
    from colorizer.data.images import read_rgb

    return read_rgb(os.fspath(reference))


def colorize_guided(model, image: np.ndarray, *, hints=None, reference=None,
                    render_size: int = DEFAULT_RENDER_SIZE, solve_size: int | None = None,
                    prior_strength: float | None = None,
                    reference_as: str = "propagation") -> np.ndarray:
    """Colorizes one photo at full resolution, steered by colour hints and/or a reference.

    Args:
        model: A colorizer (``build_colorizer`` or ``load_colorizer``).
        image: The photo, as :func:`colorize` takes it.
        hints: ``Hints``; a list of ``(x, y, colour)`` with ``colour`` ``"#rrggbb"`` or
            ``(r, g, b)``; the JSON dict form; or the path of a hints JSON file.
        reference: A colour photo of a similar scene: an array (any size) or a file path.
        render_size: The model's working size.
        solve_size: The propagation grid has about ``solve_size**2`` cells; by default
            :data:`SOLVE_SIZE`, or :data:`~colorizer.guided.learned.LEARNED_SOLVE_SIZE` after
            a model that was fed the hints.
        prior_strength: How strongly colour fades back to the model's far from hints;
            ``None`` (the default): chosen per photo from the hints, with how much the model's
            colour is trusted at all (:func:`guided_prior`).
        reference_as: For a model that takes hints: ``"propagation"`` (the default) spreads
            the reference's matched colour on top of the model's, as for any other model;
            ``"hints"`` feeds its best matches to the network as hints
            (:func:`colorizer.guided.learned.reference_hints`). Measured on 30 held-out cats
            and dogs (``benchmarks/learned_reference.json``): with a second view of the same
            scene, propagation gave ab RMSE 9.06 and hints 13.91; with a photo of the same
            breed or species, propagation 21.27 (worse than gray, 16.36) and hints 14.62.

    Returns:
        uint8 RGB ``(H, W, 3)``: the input's L everywhere, each hinted pixel the hint's a, b
        (mapped into sRGB at that L as ``colorize`` maps its colours). With no hints and no
        reference, exactly ``colorize(model, image)``.

    Example:
        >>> rgb = colorize_guided(model, photo, hints=[(10, 20, "#2a7f3a")])
    """
    hints = Hints.from_value(hints)
    reference = _as_reference(reference)
    if not hints and reference is None:
        return colorize_photo(model, image, render_size=render_size)
    lightness = image_lightness(image)
    small = model_input(lightness, render_size)
    rows, cols, hint_ab = hint_pixels(hints, *lightness.shape[:2])
    feed, prior_strength = learned_feed(model, rows, cols, hint_ab, lightness.shape[:2],
                                        small.shape[:2], prior_strength)
    if reference_as not in ("propagation", "hints"):
        raise ValueError(f"reference_as must be 'propagation' or 'hints', got {reference_as!r}")
    if reference is not None and takes_hints(model) and reference_as == "hints":
        # The reference's best matches become hints the network spreads; a person's own
        # hints win where both fall on one working-size pixel.
        sampled = reference_hints(small[..., 0], reference)
        if feed is not None:
            sampled = np.where(feed[..., 2:] > 0, feed, sampled)
        feed, reference = sampled, None
        if prior_strength is None:
            prior_strength = LEARNED_PRIOR_STRENGTH
    if solve_size is None:
        solve_size = SOLVE_SIZE if feed is None else LEARNED_SOLVE_SIZE
    ab_small = predict_ab_batch(model, small[None], None if feed is None else feed[None])[0]
    ab = guided_ab_at(lightness, ab_small, rows, cols, hint_ab, reference,
                      solve_size=solve_size, prior_strength=prior_strength)
    return encode_lab(lightness, ab)


def learned_feed(model, rows: np.ndarray, cols: np.ndarray, hint_ab: np.ndarray,
                 size: tuple[int, int], small_size: tuple[int, int],
                 prior_strength: float | None = None) -> tuple[np.ndarray | None, float | None]:
    """What a model gets of the hints, and the prior strength of the solve after it.

    A model that takes hints gets them at its working size
    (:func:`colorizer.guided.learned.hint_input`), and the solve after it keeps corrections
    local (:data:`~colorizer.guided.learned.LEARNED_PRIOR_STRENGTH`, unless the caller set a
    strength); a model without hint inputs gets nothing, and the prior is chosen as before.

    Returns:
        ``(hints input (h, w, 3) or None, prior_strength)``.
    """
    if not takes_hints(model) or not len(rows):  # a reference alone: propagated as before
        return None, prior_strength
    feed = hint_input(rows, cols, hint_ab, size, small_size)
    return feed, LEARNED_PRIOR_STRENGTH if prior_strength is None else prior_strength


def colorize(model, image: np.ndarray, *, render_size: int = DEFAULT_RENDER_SIZE,
             hints=None, reference=None) -> np.ndarray:
    """Colorizes one photo at its full resolution: the one front door, guided or not.

    Without hints and a reference this is the photo stage's plain path
    (:func:`colorizer.inference.full_resolution.colorize_photo`), byte for byte; with either,
    :func:`colorize_guided`. It lives here, above the photo stage, so that the photo stage
    never imports guided colour.

    Args:
        model: A colorizer from :func:`colorizer.model.load_colorizer` or training.
        image: Any gray or colour array, as
            :func:`~colorizer.inference.full_resolution.colorize_photo` takes it.
        render_size: The working size, a multiple of 32.
        hints: Colour points and/or scribbles that steer the colour (see
            :func:`colorize_guided`).
        reference: A colour photo of a similar scene whose colours steer the result.

    Returns:
        uint8 RGB ``(H, W, 3)`` whose CIE L equals the input's (up to 8-bit rounding).

    Example:
        >>> rgb = colorize(model, read_rgb("grandma.jpg"))   # uint8, the input's size
    """
    if hints is None and reference is None:
        return colorize_photo(model, image, render_size=render_size)
    return colorize_guided(model, image, hints=hints, reference=reference,
                           render_size=render_size)
