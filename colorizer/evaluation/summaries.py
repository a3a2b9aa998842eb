"""Summaries of per-image metrics: statistics, the model-vs-gray verdict, Markdown tables.

Per-image metrics come as ``{row: {metric: values}}`` with rows ``model``, ``gray`` (the gray
baseline, ab = 0) and ``truth`` (the ground truth, for metrics it has, such as colorfulness).

Example:
    >>> stats = aggregate(per_image)                   # {row: {metric: {mean, median, ...}}}
    >>> print(summary_markdown(stats))                  # model | gray | truth | verdict
"""
from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLD = 10.0
"""Pixel-by-pixel threshold in Lab units (the paper does not state its value)."""


def describe(values: np.ndarray) -> dict[str, float]:
    """Mean, median, standard deviation, 10th and 90th percentiles and count of the finite
    values (semantic hits are NaN where undefined; ``n`` says how many values were counted)."""
    values = np.asarray(values, np.float64)
    finite = values[np.isfinite(values)]
    if not finite.size:
        nan = float("nan")
        return {"mean": nan, "median": nan, "std": nan, "p10": nan, "p90": nan, "n": 0}
    p10, median, p90 = np.percentile(finite, [10, 50, 90])
    return {"mean": float(np.mean(finite)), "median": float(median),
            "std": float(np.std(finite)), "p10": float(p10), "p90": float(p90),
            "n": int(finite.size)}


def aggregate(per_image: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, dict]]:
    """:func:`describe` of every metric of every row (``model``, ``gray``, ``truth``)."""
    return {name: {metric: describe(values) for metric, values in metrics.items()}
            for name, metrics in per_image.items()}


def summarize(per_image: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Mean of each metric for each row (``model``, ``gray``, ``truth``) over finite values,
    with ``images``: the number of images of the row."""
    summary = {}
    for name, metrics in per_image.items():
        row = {metric: describe(values)["mean"] for metric, values in metrics.items()}
        row["images"] = int(len(next(iter(metrics.values()), [])))
        summary[name] = row
    return summary


HIGHER_IS_BETTER = {
    "l2_distance": False, "ab_rmse": False, "pixel_accuracy": True, "pixel_errors": False,
    "auc": True, "auc_rebalanced": True, "psnr": True, "ssim": True, "colorfulness": None,
    "colorfulness_gap": False, "out_of_gamut": False,
    "breed_hit": True, "species_hit": True, "agreement": True,
}
"""Direction of each metric (``None``: neither; compared through another metric)."""


def metric_label(metric: str, threshold: float = DEFAULT_THRESHOLD) -> str:
    """A short human label with an arrow for the better direction."""
    labels = {
        "l2_distance": "L2 distance (paper)", "ab_rmse": "ab RMSE",
        "pixel_accuracy": f"pixel accuracy @{threshold:g}",
        "pixel_errors": f"pixels off by >{threshold:g}", "auc": "AuC 0-150",
        "auc_rebalanced": "AuC 0-150, rebalanced", "psnr": "PSNR dB", "ssim": "SSIM",
        "colorfulness": "colorfulness", "colorfulness_gap": "colorfulness gap to truth",
        "out_of_gamut": "out-of-gamut pixels", "breed_hit": "breed top-1 accuracy",
        "species_hit": "cat-vs-dog accuracy", "agreement": "same top-1 as on ground truth",
    }
    arrow = {True: " ↑", False: " ↓", None: ""}[HIGHER_IS_BETTER.get(metric)]
    return labels.get(metric, metric.replace("_", " ")) + arrow


def format_value(value: float) -> str:
    """4 significant digits; whole numbers with thousands separators from 1000 up; "—" for
    a missing value."""
    value = float(value)
    if not np.isfinite(value):
        return "—" if np.isnan(value) else str(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _mean(cell) -> float:
    return float(cell["mean"] if isinstance(cell, dict) else cell)


def verdict(summary: dict, metric: str) -> str:
    """``"beats gray"``, ``"loses to gray"``, ``"tie"`` or ``""`` (no direction or no data)
    for the model's mean of ``metric`` against the gray baseline's."""
    direction = HIGHER_IS_BETTER.get(metric)
    if direction is None or metric not in summary["model"] or metric not in summary["gray"]:
        return ""
    ours, base = _mean(summary["model"][metric]), _mean(summary["gray"][metric])
    if not (np.isfinite(ours) and np.isfinite(base)):
        return ""
    if ours == base:
        return "tie"
    return "beats gray" if (ours > base) == direction else "loses to gray"


def summary_markdown(summary: dict, threshold: float = DEFAULT_THRESHOLD,
                     metrics=None) -> str:
    """A Markdown table: model, gray baseline and ground truth side by side, better in bold.

    Args:
        summary: :func:`summarize` (means) or :func:`aggregate` (statistics; means shown).
        threshold: The pixel-by-pixel threshold, for the labels.
        metrics: Metrics to show, in order; defaults to every known one present.

    Returns:
        The table, one row per metric, with a last column saying whether the model beats
        the gray baseline: a model that loses to gray is shown as such.
    """
    model, gray, truth = summary["model"], summary["gray"], summary.get("truth", {})
    metrics = metrics or [m for m in HIGHER_IS_BETTER if m in model]
    lines = ["| metric | model | gray baseline (ab = 0) | ground truth | model vs gray |",
             "|---|---|---|---|---|"]
    for metric in metrics:
        cells = [format_value(_mean(model[metric])), format_value(_mean(gray[metric]))]
        outcome = verdict(summary, metric)
        if outcome in ("beats gray", "loses to gray"):
            winner = 0 if outcome == "beats gray" else 1
            cells[winner] = f"**{cells[winner]}**"
        shown = {"beats gray": "beats gray", "loses to gray": "**loses to gray**",
                 "tie": "tie"}.get(outcome, "—")
        reference = format_value(_mean(truth[metric])) if metric in truth else "—"
        lines.append(f"| {metric_label(metric, threshold)} | {cells[0]} | {cells[1]} | "
                     f"{reference} | {shown} |")
    footer = f"Images: {model['images']}. " if "images" in model else ""
    lines.append(f"\n{footer}Bold: the better of model and gray; ↑/↓: higher/lower is better.")
    return "\n".join(lines) + "\n"
