"""Accuracy as the ab threshold sweeps, its area (AuC), and class rebalancing (Zhang et al. 2016).

For one image, the accuracy at threshold ``t`` is the share of pixels whose ab error
``||p - t||`` (Lab units) is at most ``t``. Sweeping ``t`` over 0, 1, ..., 150 traces a
cumulative curve; its area, divided by 150, is the **AuC**: 1 for a perfect prediction, and
about ``(150 - s) / 150`` for a prediction off by ``s`` everywhere.

Natural photos are dominated by grays and browns, so a model that paints everything beige
scores well on plain accuracy. The **rebalanced** variant weighs each pixel by the inverse of
how common its true colour is: ab space is cut into ``AB_BIN``-unit squares, the share of each
square among the evaluated set's true pixels is counted (:class:`AbHistogram`), and a pixel's
weight is ``1 / share`` of its square. Rare, saturated colours then count as much as common
ones.

Example:
    >>> import numpy as np
    >>> true = np.zeros((1, 4, 4, 2))
    >>> curves = accuracy_curves(true + [6.0, 8.0], true)   # everything off by 10
    >>> round(float(area_under_curve(curves)[0]), 3)        # (150 - 10 + 0.5) / 150
    0.937
"""
from __future__ import annotations

import numpy as np

MAX_THRESHOLD = 150
"""The sweep ends at 150 Lab units, as in Zhang et al."""
THRESHOLDS = np.arange(MAX_THRESHOLD + 1, dtype=np.float64)
"""The thresholds of the sweep: 0, 1, ..., 150."""
AB_BIN = 10.0
"""Side of the ab squares that define a colour class for rebalancing (Lab units)."""
AB_LIMIT = 130.0
"""ab values are clipped to +-AB_LIMIT before binning (sRGB stays inside +-128)."""
_BINS_PER_AXIS = int(2 * AB_LIMIT / AB_BIN)


def ab_bins(ab: np.ndarray) -> np.ndarray:
    """The colour class of each pixel: the index of its ``AB_BIN`` square, shape ``(...)``."""
    ab = np.clip(np.asarray(ab, np.float64), -AB_LIMIT, AB_LIMIT - 1e-6)
    cells = np.floor((ab + AB_LIMIT) / AB_BIN).astype(np.int64)
    return cells[..., 0] * _BINS_PER_AXIS + cells[..., 1]


class AbHistogram:
    """Counts true pixels per ab square over a data set, then gives rebalancing weights.

    Example:
        >>> histogram = AbHistogram()
        >>> histogram.add(true_ab_batch)            # once per batch, over the whole set
        >>> weights = histogram.pixel_weights(true_ab_batch)
    """

    def __init__(self) -> None:
        self.counts = np.zeros(_BINS_PER_AXIS**2, np.int64)

    def add(self, true_ab: np.ndarray) -> None:
        """Adds the pixels of a batch (or one image) of true ab values."""
        self.counts += np.bincount(ab_bins(true_ab).ravel(), minlength=self.counts.size)

    @property
    def occupied(self) -> int:
        """How many ab squares hold at least one pixel."""
        return int(np.count_nonzero(self.counts))

    def class_weights(self) -> np.ndarray:
        """``1 / share`` of each square among all counted pixels (0 for empty squares)."""
        total = self.counts.sum()
        if total == 0:
            raise ValueError("the histogram is empty: add the data set's true ab first")
        share = self.counts / total
        with np.errstate(divide="ignore"):
            return np.where(self.counts > 0, 1.0 / share, 0.0)

    def pixel_weights(self, true_ab: np.ndarray) -> np.ndarray:
        """Each pixel's rebalancing weight, shape ``true_ab.shape[:-1]``."""
        return self.class_weights()[ab_bins(true_ab)]


def accuracy_curves(pred_ab: np.ndarray, true_ab: np.ndarray,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """Per-image accuracy at each threshold of :data:`THRESHOLDS`.

    Args:
        pred_ab: ``(B, H, W, 2)`` predicted ab (one image ``(H, W, 2)`` works too).
        true_ab: Same shape.
        weights: Optional per-pixel weights ``(B, H, W)`` (e.g. from
            :meth:`AbHistogram.pixel_weights`); accuracy is then the weighted share.

    Returns:
        ``(B, 151)`` accuracies in [0, 1] (``(151,)`` for one image).
    """
    pred_ab, true_ab = np.asarray(pred_ab, np.float64), np.asarray(true_ab, np.float64)
    if pred_ab.shape != true_ab.shape or pred_ab.shape[-1] != 2:
        raise ValueError(f"ab shapes differ or lack 2 channels: {pred_ab.shape} vs {true_ab.shape}")
    single = pred_ab.ndim == 3
    if single:
        pred_ab, true_ab = pred_ab[None], true_ab[None]
        weights = None if weights is None else np.asarray(weights)[None]
    errors = np.sqrt(np.sum((pred_ab - true_ab) ** 2, axis=-1))
    batch = errors.shape[0]
    # A pixel is within threshold t (an integer) exactly when ceil(error) <= t, so one
    # histogram of ceil(error) per image, cumulated, gives the whole curve at once.
    steps = np.minimum(np.ceil(errors - 1e-9), MAX_THRESHOLD + 1).astype(np.int64)
    width = MAX_THRESHOLD + 2
    index = (steps + width * np.arange(batch)[:, None, None]).ravel()
    pixel_weights = (np.ones_like(errors) if weights is None
                     else np.broadcast_to(np.asarray(weights, np.float64), errors.shape))
    counts = np.bincount(index, weights=pixel_weights.ravel(), minlength=batch * width)
    cumulative = np.cumsum(counts.reshape(batch, width), axis=1)[:, :MAX_THRESHOLD + 1]
    totals = pixel_weights.reshape(batch, -1).sum(axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        curves = cumulative / totals
    return curves[0] if single else curves


def area_under_curve(curves: np.ndarray) -> np.ndarray:
    """Area under accuracy curves over 0..150 (trapezoids), divided by 150: in [0, 1]."""
    curves = np.asarray(curves, np.float64)
    widths = np.diff(THRESHOLDS)
    area = np.sum((curves[..., 1:] + curves[..., :-1]) * 0.5 * widths, axis=-1)
    return area / MAX_THRESHOLD
