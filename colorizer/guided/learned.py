"""Hints fed to a network that takes them (learned hints, Zhang et al. 2017).

A model built with ``hint_inputs=True`` (:mod:`colorizer.model.hints`) reads, beside L at its
working size, the hints at that size: their ab and a mask. It was trained on hints simulated
from true colour, so it puts a hint's colour where it belongs (the whole cat, not only the
pixels of the hint's lightness). Here the hinted pixels of a full-size photo become that
input: each working-size pixel that holds hints gets their mean ab.

    hinted pixels (full size: rows, cols, ab) -> working-size cells, mean ab per cell, mask
      -> model(L, hints) -> ab                   (the network spreads each hint)
      -> guided.guided_ab_at with a local prior  (every hinted pixel exactly its hint; the
                                                  small remaining difference spread nearby)

A model without hint inputs keeps propagation on top of its own colour (:mod:`guided`).

Example:
    >>> feed = hint_input(rows, cols, hint_ab, (480, 640), (192, 256))
    >>> feed.shape
    (192, 256, 3)
"""
from __future__ import annotations

import numpy as np

from colorizer.model.hint_encoding import encode_hints

LEARNED_PRIOR_STRENGTH = 0.1
"""The prior strength of the solve after a hint-taking model (what is left to correct: the
difference between a hinted pixel's colour and the model's there). Compared on the
validation split of the cats and dogs (``benchmarks/learned_hints.py``, ``prior`` in its
JSON): 0.1 gave the lowest ab RMSE at every k from 1 to 100 against 1 and 10, the 30-minute
hint model not yet spreading a hint over all it belongs to. A fixed strength, not one chosen
from the hints: the model saw them, so holding hints out would flatter its colour."""


LEARNED_SOLVE_SIZE = 96
"""The propagation grid after a model that was fed the hints: about 96 x 96 cells, not
guided colour's 192 x 192. What is left to spread is a small local difference: on the cats and
dogs the coarser grid does as well (15 validation photos, 1 to 20 hints: within 0.15 ab RMSE of
192's, lower at every k; the test split, ``benchmarks/learned_hints.json``: the same), on the
larger shipped photos 0.2-0.5 worse at 2 to 10 hints. It has a quarter of the unknowns: the
sparse factorisation, two thirds of a 256 px preview's time at 192, shrinks about eightfold
(the web app's preview with a hint model: 0.25 s -> 0.09 s)."""


def hint_input(rows: np.ndarray, cols: np.ndarray, hint_ab: np.ndarray,
               size: tuple[int, int], small_size: tuple[int, int]) -> np.ndarray:
    """The hints input of a hint-taking model at its working size.

    Args:
        rows: Hinted pixels' rows in the full-size photo (int).
        cols: Their columns.
        hint_ab: Their ab ``(n, 2)``.
        size: The photo's ``(H, W)``.
        small_size: The working size ``(h, w)`` the model sees.

    Returns:
        ``(h, w, 3)`` float32 (see :func:`colorizer.model.hint_encoding.encode_hints`): in each
        working-size pixel holding hints, their mean ab and a mask of 1; zeros elsewhere (no
        hints at all: the automatic colour).
    """
    (height, width), (small_h, small_w) = size, small_size
    ab_sum = np.zeros((small_h * small_w, 2), np.float64)
    count = np.zeros(small_h * small_w, np.float64)
    if len(rows):
        cells = (np.asarray(rows) * small_h // height) * small_w + np.asarray(cols) * small_w // width
        for channel in range(2):
            ab_sum[:, channel] = np.bincount(cells, hint_ab[:, channel], small_h * small_w)
        count = np.bincount(cells, minlength=small_h * small_w).astype(np.float64)
    mask = count > 0
    mean = np.zeros_like(ab_sum)
    mean[mask] = ab_sum[mask] / count[mask, None]
    return encode_hints(mean.reshape(small_h, small_w, 2),
                        mask.reshape(small_h, small_w, 1)).astype(np.float32)


REFERENCE_HINT_GRID = 6
"""A reference photo fed to a hint-taking model becomes at most ``6 x 6`` hints: in each cell
of a 6 x 6 grid over the working size, the pixel whose texture and lightness the reference
matches best (:func:`colorizer.guided.reference.transfer_ab`), with the colour matched there."""
REFERENCE_HINT_MATCH = 0.5
"""Only matches at least this confident become hints (1: a perfect match)."""


def reference_hints(lightness_small: np.ndarray, reference: np.ndarray,
                    grid: int = REFERENCE_HINT_GRID,
                    min_match: float = REFERENCE_HINT_MATCH) -> np.ndarray:
    """A reference photo's colours as the hints input of a hint-taking model.

    The reference's colour is transferred to the gray photo by lightness and texture (Welsh
    et al. 2002); its best-matched pixels, one per cell of a coarse grid so that they spread
    over the photo, are then given to the network as hints, which spreads each over the region
    it belongs to, as it does a person's.

    Args:
        lightness_small: ``(h, w)`` L at the model's working size.
        reference: A colour photo, any size.
        grid: The grid's cells per side (at most ``grid**2`` hints).
        min_match: The least match confidence a hint needs.

    Returns:
        ``(h, w, 3)`` float32 hints (see :func:`colorizer.model.hint_encoding.encode_hints`).
    """
    from colorizer.guided.reference import transfer_ab

    height, width = lightness_small.shape
    ab, match = transfer_ab(lightness_small, reference)
    mask = np.zeros((height, width), np.float32)
    rows = np.linspace(0, height, grid + 1).astype(int)
    cols = np.linspace(0, width, grid + 1).astype(int)
    for top, bottom in zip(rows[:-1], rows[1:]):
        for left, right in zip(cols[:-1], cols[1:]):
            cell = match[top:bottom, left:right]
            if cell.size == 0:
                continue
            y, x = np.unravel_index(int(np.argmax(cell)), cell.shape)
            if cell[y, x] >= min_match:
                mask[top + y, left + x] = 1.0
    return encode_hints(ab, mask[..., None]).astype(np.float32)
