"""Evaluation figures: accuracy vs threshold, per-image histograms, best and worst examples."""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from colorizer.plots import plot_before_after, plt, save_figure

_STYLES = {"model": ("tab:blue", "-"), "gray": ("tab:gray", "-"),
           "model_rebalanced": ("tab:blue", "--"), "gray_rebalanced": ("tab:gray", "--")}


def plot_accuracy_curves(thresholds: np.ndarray, curves: Mapping[str, np.ndarray],
                         out_png: str | os.PathLike | None = None, *,
                         threshold: float | None = None, aucs: Mapping[str, float] | None = None):
    """Mean accuracy as the ab threshold sweeps, one line per version (Zhang et al.'s Fig. 5).

    Args:
        thresholds: The x values (Lab units).
        curves: ``{label: accuracies}``; ``model``/``gray`` (and ``*_rebalanced``) get fixed
            colours, dashed when rebalanced.
        out_png: Where to save the figure, or ``None``.
        threshold: Marks the pixel-by-pixel threshold with a vertical line.
        aucs: AuC per label, shown in the legend.

    Returns:
        The matplotlib figure.
    """
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for label, values in curves.items():
        colour, style = _STYLES.get(label, (None, "-"))
        name = label.replace("_", ", ")
        if aucs and label in aucs:
            name += f" (AuC {aucs[label]:.3f})"
        axes.plot(thresholds, values, style, color=colour, lw=1.6, label=name)
    if threshold is not None:
        axes.axvline(threshold, color="tab:red", lw=0.8, alpha=0.6)
        axes.text(threshold + 1, 0.03, f"threshold {threshold:g}", color="tab:red", fontsize=8)
    axes.set_xlabel("threshold on the ab error (Lab units)")
    axes.set_ylabel("share of pixels within threshold")
    axes.set_xlim(thresholds[0], thresholds[-1])
    axes.set_ylim(0, 1.01)
    axes.set_title("Accuracy vs threshold: model and gray baseline")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    save_figure(figure, out_png)
    return figure


def plot_histograms(values: Mapping[str, np.ndarray], xlabel: str,
                    out_png: str | os.PathLike | None = None, *, bins: int = 30):
    """Overlaid histograms of a per-image metric, one per version (model, gray)."""
    figure, axes = plt.subplots(figsize=(7, 4))
    finite = {k: np.asarray(v, np.float64)[np.isfinite(v)] for k, v in values.items()}
    pooled = np.concatenate([v for v in finite.values() if v.size] or [np.zeros(1)])
    edges = np.histogram_bin_edges(pooled, bins=bins)
    for label, data in finite.items():
        colour = _STYLES.get(label, (None, "-"))[0]
        median = np.median(data) if data.size else float("nan")
        axes.hist(data, bins=edges, alpha=0.55, color=colour,
                  label=f"{label} (median {median:.4g})")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("images")
    axes.set_title(f"Per-image {xlabel}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, out_png)
    return figure


def pick_best_worst(values: np.ndarray, count: int, higher_is_better: bool
                    ) -> tuple[list[int], list[int]]:
    """Indices of the ``count`` best and ``count`` worst finite values (ties by index).

    Args:
        values: One value per image.
        count: How many of each; fewer when there are not enough images.
        higher_is_better: Direction of the metric.

    Returns:
        ``(best, worst)``, best first in each list.
    """
    values = np.asarray(values, np.float64)
    valid = np.flatnonzero(np.isfinite(values))
    keys = -values[valid] if higher_is_better else values[valid]
    ordered = valid[np.lexsort((valid, keys))].tolist()  # stable: same input, same pick
    count = max(0, min(count, len(ordered) // 2))
    return ordered[:count], ordered[::-1][:count]


def plot_examples(images: Sequence[Sequence[np.ndarray]], labels: Sequence[str],
                  out_png: str | os.PathLike | None = None):
    """Rows of (gray input, colorized, ground truth), each labelled, like the paper's
    Figures 7-12."""
    return plot_before_after(images, ["input (gray)", "colorized", "ground truth"], out_png,
                             row_labels=list(labels))
