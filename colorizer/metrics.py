"""The paper's per-image metrics on ab, PSNR on RGB, and the gray baseline (ab = 0).

All distances are in CIE Lab units. For one image with predicted ``p`` and true ``t`` ab maps
of ``N`` pixels:

* ``l2_distance`` (the paper's L2 distance): ``sqrt(sum over pixels and both channels
  (p - t)^2)``. It grows with image size; the paper reports it at 224x224.
* ``ab_rmse``: ``l2_distance / sqrt(N)``, the root-mean-square per-pixel ab error, comparable
  across sizes.
* ``pixel_accuracy``: the share of pixels whose ab error ``||p - t||`` is at most
  ``threshold`` (the paper's pixel-by-pixel comparison; the paper counts the complement,
  ``pixel_errors``).
* ``psnr``: on sRGB in [0, 1] after joining each ab with the image's true L.

Example:
    >>> import numpy as np
    >>> true = np.ones((4, 4, 2), np.float32) * 3.0
    >>> float(ab_rmse(np.zeros_like(true), true))  # sqrt(3^2 + 3^2)
    4.242640...
"""
from __future__ import annotations

import numpy as np

from colorizer.color import l_ab_to_rgb

DEFAULT_THRESHOLD = 10.0
"""Pixel-by-pixel threshold in Lab units (the paper does not state its value)."""


def _pixel_errors(pred_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean ab error, shape ``(..., H, W)``."""
    pred_ab, true_ab = np.asarray(pred_ab, np.float64), np.asarray(true_ab, np.float64)
    if pred_ab.shape != true_ab.shape or pred_ab.shape[-1] != 2:
        raise ValueError(f"ab shapes differ or lack 2 channels: {pred_ab.shape} vs {true_ab.shape}")
    return np.sqrt(np.sum((pred_ab - true_ab) ** 2, axis=-1))


def l2_distance(pred_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    """The paper's L2 distance per image: ``sqrt(sum (p - t)^2)`` over pixels and channels.

    Args:
        pred_ab: ``(H, W, 2)`` or a batch ``(B, H, W, 2)``.
        true_ab: Same shape.

    Returns:
        A scalar per image (shape ``()`` or ``(B,)``).
    """
    errors = _pixel_errors(pred_ab, true_ab)
    return np.sqrt(np.sum(errors**2, axis=(-2, -1)))


def ab_rmse(pred_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    """Root-mean-square per-pixel ab error per image (size-independent L2)."""
    errors = _pixel_errors(pred_ab, true_ab)
    return np.sqrt(np.mean(errors**2, axis=(-2, -1)))


def pixel_errors(pred_ab, true_ab, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """The paper's pixel-by-pixel count: pixels whose ab error exceeds ``threshold``."""
    return np.sum(_pixel_errors(pred_ab, true_ab) > threshold, axis=(-2, -1))


def pixel_accuracy(pred_ab, true_ab, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Share of pixels whose ab error is at most ``threshold`` (in [0, 1], per image)."""
    return np.mean(_pixel_errors(pred_ab, true_ab) <= threshold, axis=(-2, -1))


def psnr(pred_rgb: np.ndarray, true_rgb: np.ndarray, max_value: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio per image in dB (``inf`` for identical images)."""
    diff = np.asarray(pred_rgb, np.float64) - np.asarray(true_rgb, np.float64)
    mse = np.mean(diff**2, axis=(-3, -2, -1))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(max_value**2 / mse)


def image_metrics(lightness: np.ndarray, pred_ab: np.ndarray, true_ab: np.ndarray,
                  threshold: float = DEFAULT_THRESHOLD) -> dict[str, np.ndarray]:
    """Every per-image metric of a batch of predictions.

    Args:
        lightness: ``(B, H, W, 1)`` true L.
        pred_ab: ``(B, H, W, 2)`` predicted ab.
        true_ab: ``(B, H, W, 2)`` true ab.
        threshold: Pixel-by-pixel threshold in Lab units.

    Returns:
        ``{"l2_distance", "ab_rmse", "pixel_accuracy", "pixel_errors", "psnr"}``, each ``(B,)``.
    """
    lightness = np.asarray(lightness, np.float32)
    true_rgb = l_ab_to_rgb(lightness, np.asarray(true_ab, np.float32))
    pred_rgb = l_ab_to_rgb(lightness, np.asarray(pred_ab, np.float32))
    return {
        "l2_distance": l2_distance(pred_ab, true_ab),
        "ab_rmse": ab_rmse(pred_ab, true_ab),
        "pixel_accuracy": pixel_accuracy(pred_ab, true_ab, threshold),
        "pixel_errors": pixel_errors(pred_ab, true_ab, threshold),
        "psnr": psnr(pred_rgb, true_rgb),
    }


def evaluate_batches(model, dataset, threshold: float = DEFAULT_THRESHOLD,
                     progress: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Per-image metrics of ``model`` and of the gray baseline over a dataset of (L, ab).

    Returns:
        ``{"model": {metric: values}, "gray": {metric: values}}``, values per image in order.
    """
    from tqdm.auto import tqdm

    results: dict[str, dict[str, list]] = {"model": {}, "gray": {}}
    for lightness, true_ab in tqdm(dataset, desc="evaluate", unit="batch", disable=not progress):
        lightness, true_ab = lightness.numpy(), true_ab.numpy()
        predictions = {"model": np.asarray(model.predict_on_batch(lightness)),
                       "gray": np.zeros_like(true_ab)}
        for name, pred_ab in predictions.items():
            for metric, values in image_metrics(lightness, pred_ab, true_ab, threshold).items():
                results[name].setdefault(metric, []).extend(np.atleast_1d(values).tolist())
    return {name: {m: np.asarray(v) for m, v in metrics.items()}
            for name, metrics in results.items()}


def summarize(per_image: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Mean of each metric for each row (``model``, ``gray``); PSNR averages finite values."""
    summary = {}
    for name, metrics in per_image.items():
        row = {}
        for metric, values in metrics.items():
            finite = values[np.isfinite(values)]
            row[metric] = float(np.mean(finite)) if finite.size else float("nan")
        row["images"] = int(len(next(iter(metrics.values()), [])))
        summary[name] = row
    return summary


HIGHER_IS_BETTER = {"pixel_accuracy": True, "psnr": True, "l2_distance": False,
                    "ab_rmse": False, "pixel_errors": False}


def summary_markdown(summary: dict[str, dict[str, float]], threshold: float = DEFAULT_THRESHOLD) -> str:
    """A Markdown table of the summary, model beside gray, with the better value in bold."""
    metrics = [m for m in HIGHER_IS_BETTER if m in summary["model"]]
    labels = {"l2_distance": "L2 distance (paper) ↓", "ab_rmse": "ab RMSE ↓",
              "pixel_accuracy": f"pixel accuracy @{threshold:g} ↑",
              "pixel_errors": f"pixels off by >{threshold:g} ↓", "psnr": "PSNR dB ↑"}
    lines = ["| metric | model | gray baseline (ab = 0) |", "|---|---|---|"]
    for metric in metrics:
        ours, gray = summary["model"][metric], summary["gray"][metric]
        better = ours > gray if HIGHER_IS_BETTER[metric] else ours < gray
        cells = [f"{ours:.4g}", f"{gray:.4g}"]
        cells[0 if better else 1] = f"**{cells[0 if better else 1]}**"
        lines.append(f"| {labels[metric]} | {cells[0]} | {cells[1]} |")
    lines.append(f"\nImages: {summary['model']['images']}. Bold: the better of the two.")
    return "\n".join(lines) + "\n"
