"""The empirical distribution of a dataset's colours over the quantised ab gamut.

:mod:`colorizer.data.prepare` saves it beside the shards (``ab_distribution.npy``) and the
classification head's rebalanced loss (:mod:`colorizer.model.classification`) reads it: rare,
saturated colours weigh more there.

Example:
    >>> from colorizer.gamut import load_gamut_bins
    >>> bins = load_gamut_bins()
    >>> histogram = bin_histogram(np.zeros((4, 4, 2)), bins)
    >>> int(histogram.sum())
    16
"""
from __future__ import annotations

import itertools
import os

import numpy as np

from colorizer.fileio import atomic_path
from colorizer.gamut import ab_cells, load_gamut_bins

SMOOTHING_SIGMA = 5.0
"""Width (Lab units) of the Gaussian that smooths a distribution before rebalancing."""
AB_DISTRIBUTION_FILE = "ab_distribution.npy"
"""File name of a dataset's empirical bin distribution, saved beside its shards."""


def nearest_bins(ab: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Index of the nearest bin of each ab value (NumPy, exact), shape ``ab.shape[:-1]``.

    On a square grid a value's nearest grid point is its own cell's centre, so a lookup table
    answers almost every value; the few outside every bin's cell get a full search.
    """
    ab = np.asarray(ab, np.float64)
    flat = ab.reshape(-1, 2)
    bins = np.asarray(bins, np.float64)
    bin_cells = ab_cells(bins)
    low = bin_cells.min(axis=0)
    table = np.full(tuple(bin_cells.max(axis=0) - low + 1), -1, np.int64)
    table[tuple((bin_cells - low).T)] = np.arange(len(bins))
    cells = ab_cells(flat) - low
    inside = np.all((cells >= 0) & (cells < table.shape), axis=1)
    result = np.full(len(flat), -1, np.int64)
    result[inside] = table[tuple(cells[inside].T)]
    missing = np.flatnonzero(result < 0)
    for chunk in np.array_split(missing, max(1, len(missing) // 65536)):
        if chunk.size:
            distances = ((flat[chunk, None, :] - bins[None]) ** 2).sum(-1)
            result[chunk] = distances.argmin(axis=1)
    return result.reshape(ab.shape[:-1])


def bin_histogram(ab: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Counts of the nearest bin of every ab value, ``(Q,)`` float64."""
    return np.bincount(nearest_bins(ab, bins).ravel(), minlength=len(bins)).astype(np.float64)


def ab_distribution_from_dataset(dataset, bins: np.ndarray | None = None,
                                 max_batches: int | None = None,
                                 progress: bool = True) -> np.ndarray:
    """The empirical distribution of the nearest bins of all ab pixels of a dataset.

    Args:
        dataset: An iterable of ``(L, ab)`` batches (e.g. :func:`colorizer.data.make_dataset`),
            of ab arrays ``(..., 2)``, or of sRGB images in [0, 1] ``(..., 3)``.
        bins: ``(Q, 2)`` bin centres; the stored gamut by default.
        max_batches: Read at most this many elements (needed for a repeating dataset).
        progress: Show a progress bar.

    Returns:
        ``(Q,)`` probabilities summing to 1.

    Raises:
        ValueError: The dataset held no pixel.
    """
    from tqdm.auto import tqdm

    from colorizer.color import rgb_to_lab

    bins = load_gamut_bins() if bins is None else np.asarray(bins, np.float32)
    counts = np.zeros(len(bins))
    elements = itertools.islice(dataset, max_batches)  # never reads one batch too many
    for element in tqdm(elements, desc="ab distribution", unit="batch", disable=not progress,
                        total=max_batches):
        values = np.asarray(element[1] if isinstance(element, (tuple, list)) else element)
        if values.shape[-1] == 3:
            values = rgb_to_lab(values.astype(np.float32))[..., 1:]
        counts += bin_histogram(values, bins)
    if counts.sum() == 0:
        raise ValueError("the dataset held no pixel to count colours from")
    return counts / counts.sum()


def smooth_distribution(distribution: np.ndarray, bins: np.ndarray,
                        sigma: float = SMOOTHING_SIGMA) -> np.ndarray:
    """Convolves a bin distribution with a Gaussian in ab space; the result sums to 1."""
    bins = np.asarray(bins, np.float64)
    squared = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-squared / (2.0 * sigma * sigma))
    # Normalise each source bin's kernel on the grid, so the smoothing only moves mass around.
    smoothed = kernel @ (np.asarray(distribution, np.float64) / kernel.sum(axis=0))
    return smoothed / smoothed.sum()


def save_ab_distribution(path: str | os.PathLike, distribution: np.ndarray) -> None:
    """Saves a bin distribution as ``.npy``, atomically."""
    with atomic_path(path, suffix=".npy") as temporary:
        np.save(temporary, np.asarray(distribution, np.float64))


def load_ab_distribution(path: str | os.PathLike) -> np.ndarray:
    """Loads a distribution written by :func:`save_ab_distribution` (checked against the bins)."""
    distribution = np.load(os.fspath(path), allow_pickle=False)
    expected = len(load_gamut_bins())
    if distribution.shape != (expected,):
        raise ValueError(f"{path} holds a {distribution.shape} distribution; expected "
                         f"({expected},): recompute it with this version of colorizer")
    return distribution


def find_ab_distribution(data: str | os.PathLike) -> np.ndarray | None:
    """The distribution saved beside a dataset's shards (``data/ab_distribution.npy``), if any."""
    path = os.path.join(os.fspath(data), AB_DISTRIBUTION_FILE)
    return load_ab_distribution(path) if os.path.isfile(path) else None
