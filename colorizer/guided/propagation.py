"""Edge-aware propagation: spread values given at a few pixels to neighbours of similar
lightness, stopping at edges (after Levin, Lischinski and Weiss, "Colorization using
optimization", 2004).

For a field ``d`` (here: a correction of the model's ab) on a grid of pixels, each cell should
be the weighted mean of its 8 neighbours, with Levin et al.'s affinities on lightness
(``w_rs`` large for neighbours of similar L, normalised per cell), except that

* a cell with a target ``t`` (a hint, or a reference's colour) is pulled towards it with a
  weight ``c`` (large for hints, small for a reference), and
* every cell is pulled weakly towards 0 (``prior_weight``): far from every target, and in a
  region an edge cuts off from them, the correction fades and the model's colour remains.

That is one sparse linear system ``((1 + prior_weight + c) I - W) d = c t``, diagonally
dominant, solved directly (SciPy's SuperLU) for both channels with one factorisation.

Example:
    >>> d = propagate(lightness, targets, confidence)   # (h, w, 2) from (h, w), (h, w, 2), (h, w)
"""
from __future__ import annotations

import cv2
import numpy as np

DEFAULT_PRIOR_WEIGHT = 1e-5
"""Pull of the correction towards 0 at each cell, against the unit weight of its neighbours'
mean. Its sum over the grid sets how much of a hint reaches the rest of its region: see
:data:`colorizer.guided.guided.PRIOR_STRENGTH`."""
VARIANCE_SHARE = 0.6
MIN_VARIANCE = 0.02
MAX_VARIANCE = 20.0
"""Levin et al.'s scale of lightness differences: 0.6 times the 3x3 window's variance of L,
at least 0.02 (their 2e-6 on L in [0, 1], here on L in [0, 100]). Capped here: at an edge the
window's variance is large, which lets colour leak across a strong edge into a region that no
hint reaches; with the cap, a step of 30 L units weighs under exp(-45)."""


HINT_CONFIDENCE = 100.0
"""Weight of a hint against its neighbours' mean (weight 1): hinted cells keep ~99% of it."""


def neighbour_weights(lightness: np.ndarray):
    """Each cell's affinities to its 8 neighbours, normalised to sum to 1: CSR ``(n, n)``.

    ``w_rs = exp(-(L_r - L_s)^2 / s_r)``, ``s_r = 0.6 var_r`` kept in [0.02, 20], with ``var_r`` the
    variance of L in the 3x3 window around ``r``: a neighbour across an edge weighs little
    next to those on the cell's own side, however strong the texture around.
    """
    import scipy.sparse

    lightness = np.asarray(lightness, np.float64)
    height, width = lightness.shape
    mean = cv2.blur(lightness, (3, 3), borderType=cv2.BORDER_REPLICATE)
    variance = cv2.blur(lightness * lightness, (3, 3), borderType=cv2.BORDER_REPLICATE)
    scale = np.clip(VARIANCE_SHARE * (variance - mean * mean), MIN_VARIANCE, MAX_VARIANCE)
    index = np.arange(height * width).reshape(height, width)
    padded_l = np.pad(lightness, 1, mode="edge")
    padded_i = np.pad(index, 1, mode="edge")
    columns, weights = [], []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                other = padded_l[1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
                columns.append(padded_i[1 + dy:1 + dy + height, 1 + dx:1 + dx + width].ravel())
                weights.append(np.exp(-(other - lightness) ** 2 / scale).ravel())
    weights = np.stack(weights, 1)
    weights /= weights.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(height * width), 8)
    n = height * width
    return scipy.sparse.csr_matrix((weights.ravel(), (rows, np.stack(columns, 1).ravel())),
                                   shape=(n, n))


class Propagation:
    """The propagation system of one grid, factorised once, for any number of target fields.

    ``((1 + prior_weight + c) I - W) d = c t``: solving it for several fields (``solve``)
    costs one factorisation; :meth:`held_out` says, for each targeted cell, what the solution
    there would be had that cell's own target been left out (each cell's leave-one-out
    prediction), from the same factorisation.

    Args:
        weights: The grid's affinities, :func:`neighbour_weights`.
        confidence: ``(n,)`` weight of each cell's target (0: none).
        prior_weight: Pull towards 0 (kept at least 1e-9, so a grid without targets is
            still solvable).
    """

    def __init__(self, weights, confidence: np.ndarray, prior_weight: float):
        import scipy.sparse
        import scipy.sparse.linalg

        self.confidence = np.asarray(confidence, np.float64).ravel()
        diagonal = 1.0 + max(prior_weight, 1e-9) + self.confidence
        system = scipy.sparse.diags(diagonal) - weights
        # The pattern is symmetric (8 neighbours both ways) and the matrix diagonally dominant,
        # so pivots may stay on the diagonal and a minimum-degree ordering on A + A^T applies:
        # faster than SuperLU's default column ordering, with the same solution.
        self._factor = scipy.sparse.linalg.splu(
            system.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
            options={"SymmetricMode": True})

    def solve(self, targets: np.ndarray) -> np.ndarray:
        """``(n, f)`` solution for ``(n, f)`` targets (read where the confidence is positive)."""
        targets = np.asarray(targets, np.float64)
        return self._factor.solve(targets * self.confidence[:, None])

    def held_out(self, cells: np.ndarray, targets: np.ndarray,
                 solution: np.ndarray) -> np.ndarray:
        """Leave-one-out values at ``cells``: ``(k, f)``, row ``i`` the solution at
        ``cells[i]`` with that cell's own target removed, the others kept.

        Removing cell ``i``'s target changes one diagonal entry and one right-hand side, so by
        the Sherman-Morrison formula the value there becomes
        ``(d_i - c_i g_i t_i) / (1 - c_i g_i)`` with ``g_i`` the ``i``-th diagonal entry of the
        inverse: ``k`` more solves, no new factorisation.

        Args:
            cells: ``(k,)`` flat indices of targeted cells.
            targets: ``(k, f)`` their targets, as given to :meth:`solve`.
            solution: What :meth:`solve` returned for those targets.
        """
        cells = np.asarray(cells)
        units = np.zeros((self.confidence.size, cells.size))
        units[cells, np.arange(cells.size)] = 1.0
        inverse_diagonal = self._factor.solve(units)[cells, np.arange(cells.size)]
        pull = (self.confidence[cells] * inverse_diagonal)[:, None]
        return (solution[cells] - pull * np.asarray(targets, np.float64)) / (1.0 - pull)


def propagate(lightness: np.ndarray, targets: np.ndarray, confidence: np.ndarray, *,
              prior_weight: float = DEFAULT_PRIOR_WEIGHT) -> np.ndarray:
    """Spreads ``targets`` from the cells where ``confidence > 0``, edge-aware.

    Every cell ``i`` satisfies ``d_i - sum_j w_ij d_j + prior_weight d_i + c_i (d_i - t_i) = 0``:
    it is the affinity-weighted mean of its neighbours, pulled towards its target with weight
    ``c_i`` and towards 0 with ``prior_weight``.

    Args:
        lightness: ``(h, w)`` L of the grid (0-100).
        targets: ``(h, w, c)`` values wanted where ``confidence`` is positive.
        confidence: ``(h, w)`` weight of each target (0: none; 100: nearly exact).
        prior_weight: Pull towards 0 (kept at least 1e-9, so a grid without targets is
            still solvable).

    Returns:
        ``(h, w, c)`` float32.
    """
    height, width = lightness.shape
    system = Propagation(neighbour_weights(lightness), confidence, prior_weight)
    solution = system.solve(np.asarray(targets, np.float64).reshape(height * width, -1))
    return solution.reshape(height, width, -1).astype(np.float32)
