"""How far to trust the model's colour, chosen from the hints themselves.

Guided colour is ``model_weight * model ab + offset + correction``, where the correction is
propagated from the hints (:mod:`colorizer.guided.propagation`) and fades back to zero
with ``strength``. A model that knows the photo's colours deserves weight 1 and a short reach
for each hint; a model that knows little (or a photo unlike its training photos) deserves less
weight, and hints that reach further. No single setting suits every model, photo and number of
hints, so the setting is chosen per photo by leave-one-out: each isolated hint is predicted
from all the others, under every candidate ``strength``; for each, the ``model_weight`` and
``offset`` that predict the held-out hints best follow in closed form (the prediction is
linear in both), and the strength whose predictions miss least wins. Every candidate costs one
factorisation on a small grid and its leave-one-out values come from the same factorisation
(:meth:`Propagation.held_out`), so the choice adds a small fraction to a guided colorize.

Hints at random pixels are exactly what leave-one-out assumes; a person's clicks are not random,
but they are the best evidence there is of where the model is wrong. Scribbles are not held out
(the neighbours along a stroke would predict each of its cells trivially): they stay as fixed
targets, and with fewer than :data:`MIN_HELD_OUT` isolated points the fixed default is used.

Example:
    >>> prior = choose_prior(lightness_small, cells, hint_ab, model_ab)
    >>> prior.model_weight, prior.strength
"""
from __future__ import annotations

import dataclasses

import numpy as np

from colorizer.guided.propagation import HINT_CONFIDENCE, Propagation, neighbour_weights

CANDIDATE_STRENGTHS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""Reaches compared: from a hint colouring its whole region (1e-4) to little more than its
neighbourhood (1)."""
CHOICE_SIZE = 96
"""The choice's grid has about CHOICE_SIZE^2 cells: a quarter of the solve's, enough to tell
the candidates apart."""
MIN_HELD_OUT = 3
"""Fewer isolated points than this leave too little to compare (two points predicting each
other chose worse than the default on held-out cat and dog photos): the default is used."""
MAX_HELD_OUT = 64
"""At most this many points are held out (spread over all of them); the rest stay targets."""
MAX_MODEL_WEIGHT = 1.5
RIDGE = 1.0
"""Pull of the model weight towards 1 and of the offset towards 0 (in squared ab units summed
over the held-out points): a handful of points cannot swing them far."""


@dataclasses.dataclass(frozen=True)
class Prior:
    """How guided colour uses the model: ``model_weight * ab + offset``, corrected by hints
    whose correction fades with ``strength`` (see
    :data:`colorizer.guided.guided.PRIOR_STRENGTH`). ``chosen`` says whether the hints chose
    it (else it is a default or the caller's)."""

    strength: float
    model_weight: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)
    chosen: bool = False

    def base(self, ab: np.ndarray) -> np.ndarray:
        """The colour the correction is added to: ``model_weight * ab + offset``, float32."""
        if self.model_weight == 1.0 and self.offset == (0.0, 0.0):
            return np.asarray(ab, np.float32)
        return (np.asarray(ab, np.float32) * np.float32(self.model_weight)
                + np.asarray(self.offset, np.float32))


def isolated_cells(cells: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mask over ``cells`` (unique flat indices on a ``height x width`` grid): True where none of
    the cell's 8 neighbours is also a hinted cell."""
    hinted = np.zeros((height + 2, width + 2), bool)
    rows, cols = np.divmod(cells, width)
    hinted[rows + 1, cols + 1] = True
    neighbours = np.zeros(cells.size, np.int64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                neighbours += hinted[rows + 1 + dy, cols + 1 + dx]
    return neighbours == 0


def _fit(miss: np.ndarray, model_gain: np.ndarray, offset_gain: np.ndarray):
    """The model weight and offset that minimise the held-out error
    ``sum |miss + weight * model_gain + offset * offset_gain|^2`` (ridge towards (1, 0)),
    the weight kept in [0, MAX_MODEL_WEIGHT]; returns ``(weight, offset (2,), error)``."""
    count = miss.shape[0]
    design = np.zeros((2 * count, 3))
    design[:count, 0], design[count:, 0] = model_gain[:, 0], model_gain[:, 1]
    design[:count, 1] = offset_gain
    design[count:, 2] = offset_gain
    wanted = -np.concatenate([miss[:, 0], miss[:, 1]])
    normal = design.T @ design + RIDGE * np.eye(3)
    theta = np.linalg.solve(normal, design.T @ wanted + RIDGE * np.array([1.0, 0.0, 0.0]))
    weight = float(np.clip(theta[0], 0.0, MAX_MODEL_WEIGHT))
    if weight != theta[0]:  # clipped: the best offsets for that weight
        rest = miss + weight * model_gain
        theta[1:] = -(offset_gain @ rest) / (offset_gain @ offset_gain + RIDGE)
    offset = theta[1:]
    error = float(np.sum((miss + weight * model_gain + offset_gain[:, None] * offset) ** 2))
    return weight, offset, error


def choose_prior(lightness_small: np.ndarray, cells: np.ndarray, hint_ab: np.ndarray,
                 model_ab: np.ndarray, *, default: Prior,
                 strengths: tuple[float, ...] = CANDIDATE_STRENGTHS) -> Prior:
    """The prior whose leave-one-out predictions of the isolated hints miss least.

    Args:
        lightness_small: ``(h, w)`` L on the choice's grid.
        cells: ``(k,)`` unique flat indices of the hinted cells on that grid.
        hint_ab: ``(k, 2)`` the hints' ab per cell.
        model_ab: ``(k, 2)`` the model's ab per cell, where the hints are.
        default: Returned when fewer than :data:`MIN_HELD_OUT` hints are isolated.
        strengths: The reaches compared.

    Returns:
        The chosen :class:`Prior` (``chosen=True``), or ``default``.
    """
    height, width = lightness_small.shape
    held = np.flatnonzero(isolated_cells(cells, height, width))
    if held.size < MIN_HELD_OUT:
        return default
    if held.size > MAX_HELD_OUT:
        held = held[np.linspace(0, held.size - 1, MAX_HELD_OUT).round().astype(int)]
    cell_count = height * width
    confidence = np.zeros(cell_count)
    confidence[cells] = HINT_CONFIDENCE
    # Three fields solved at once: the hints' ab, the model's ab at the hints (to move the
    # model weight), ones (to move the offset); the prediction is linear in all three.
    fields = np.concatenate([hint_ab, model_ab, np.ones((cells.size, 1))], axis=1)
    targets = np.zeros((cell_count, fields.shape[1]))
    targets[cells] = fields
    weights = neighbour_weights(lightness_small)
    best = None
    for strength in strengths:
        system = Propagation(weights, confidence, strength / cell_count)
        solution = system.solve(targets)
        left_out = system.held_out(cells[held], fields[held], solution)
        miss = left_out[:, 0:2] - hint_ab[held]
        model_gain = model_ab[held] - left_out[:, 2:4]
        offset_gain = 1.0 - left_out[:, 4]
        weight, offset, error = _fit(miss, model_gain, offset_gain)
        if best is None or error < best[0]:
            best = (error, Prior(strength, weight, (float(offset[0]), float(offset[1])), True))
    return best[1]
