"""Figures: the batch-loss curve (the paper's Figure 6) and before/after grids."""
from __future__ import annotations

import csv
import os
from typing import Sequence

import matplotlib

matplotlib.use("Agg", force=False)  # no display needed; notebooks keep their inline backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from colorizer.fileio import atomic_path  # noqa: E402


def read_batch_losses(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Reads ``batch_loss.csv``: (global step, loss), later rows winning on repeated steps."""
    by_step: dict[int, float] = {}
    if os.path.exists(path):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                by_step[int(row["step"])] = float(row["loss"])
    steps = np.array(sorted(by_step), dtype=np.int64)
    return steps, np.array([by_step[s] for s in steps], dtype=np.float64)


def plot_loss(batch_loss_csv: str | os.PathLike, out_png: str | os.PathLike,
              every: int | None = None):
    """Plots the training loss logged every N batches, like the paper's Figure 6.

    Returns:
        The matplotlib figure (closed after saving when ``out_png`` is given).
    """
    steps, losses = read_batch_losses(batch_loss_csv)
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(steps, losses, lw=1.2, color="tab:blue")
    axes.set_xlabel("batch")
    axes.set_ylabel("MSE on ab (Lab units squared)")
    title = "Training loss"
    axes.set_title(f"{title}, logged every {every} batches" if every else title)
    axes.grid(alpha=0.3)
    if len(losses) and losses.min() > 0 and losses.max() / losses.min() > 20:
        axes.set_yscale("log")
    figure.tight_layout()
    save_figure(figure, out_png)
    return figure


def plot_before_after(rows: Sequence[Sequence[np.ndarray]], titles: Sequence[str],
                      out_png: str | os.PathLike | None = None, row_labels=None):
    """A grid of images: one row per photo, one column per version (e.g. gray, ours, truth).

    Args:
        rows: For each photo, the images of its columns (uint8 or float RGB, or gray).
        titles: One title per column.
        out_png: Where to save the figure, or ``None``.
        row_labels: Optional text under each row's first image.
    """
    n_rows, n_cols = len(rows), len(titles)
    figure, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 3.0 * n_rows),
                                squeeze=False)
    for r, images in enumerate(rows):
        for c, image in enumerate(images):
            ax = axes[r][c]
            ax.imshow(image, cmap="gray" if np.ndim(image) == 2 else None, vmin=0,
                      vmax=255 if np.asarray(image).dtype == np.uint8 else 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c])
            if c == 0 and row_labels is not None:
                ax.set_xlabel(row_labels[r], fontsize=8)
    figure.tight_layout()
    save_figure(figure, out_png)
    return figure


def save_figure(figure, out_png) -> None:
    """Saves ``figure`` atomically and closes it (left open when ``out_png`` is ``None``)."""
    if out_png is None:
        return
    with atomic_path(out_png, suffix=".png") as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)


def plot_image_grid(images: Sequence[np.ndarray], titles: Sequence[str] | None = None,
                    columns: int = 4, out_png: str | os.PathLike | None = None):
    """Shows images in a grid of ``columns`` columns, each with an optional title."""
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 3.0 * rows),
                                squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap="gray" if np.ndim(images[i]) == 2 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    figure.tight_layout()
    save_figure(figure, out_png)
    return figure
