"""Sanity checks of an evaluation: values that no correct run can produce.

Used by the evaluation notebook (as asserts under CI) and by tests: every accuracy and area
under a curve lies in [0, 1], the gray baseline (ab = 0) has no colourfulness, and the ground
truth scored against itself is perfect.

Example:
    >>> problems = summary_problems(summary)
    >>> assert not problems, problems
"""
from __future__ import annotations

import math

import numpy as np

from colorizer.evaluation.metrics import PSNR_CAP_DB, image_metrics

GRAY_COLORFULNESS_TOLERANCE = 1e-3
"""Colourfulness is in 0..255 RGB units; gray pixels may differ by float rounding only."""


def _is_fraction_metric(name: str) -> bool:
    """Accuracies, areas under accuracy curves, and the semantic hits and agreement."""
    return ("accuracy" in name or name.startswith("auc") or name.endswith("_hit")
            or name == "agreement")


def summary_problems(summary: dict) -> list[str]:
    """What is impossible in an evaluation ``summary`` (``summary.json``); empty when sane.

    Args:
        summary: The dictionary :func:`colorizer.evaluation.evaluate.evaluate` returns.

    Returns:
        One line per problem, e.g. ``"model pixel_accuracy mean 1.2 outside [0, 1]"``.
    """
    problems = []
    for row, metrics in summary["metrics"].items():
        for name, stats in metrics.items():
            if not _is_fraction_metric(name):
                continue
            for key in ("mean", "median", "p10", "p90"):
                value = stats.get(key)
                if value is not None and math.isfinite(value) and not 0.0 <= value <= 1.0:
                    problems.append(f"{row} {name} {key} {value:.4g} outside [0, 1]")
    for name, value in summary.get("accuracy_curve", {}).get("auc", {}).items():
        if not 0.0 <= value <= 1.0:
            problems.append(f"accuracy curve AuC of {name} {value:.4g} outside [0, 1]")
    gray = summary["metrics"].get("gray", {}).get("colorfulness", {}).get("mean")
    if gray is not None and abs(gray) > GRAY_COLORFULNESS_TOLERANCE:
        problems.append(f"gray baseline colourfulness {gray:.4g}, not 0")
    return problems


def truth_problems(lightness: np.ndarray, true_ab: np.ndarray, threshold: float = 10.0
                   ) -> list[str]:
    """Scores the ground truth against itself; a correct metric finds it perfect.

    Args:
        lightness: ``(B, H, W, 1)`` L of real images.
        true_ab: ``(B, H, W, 2)`` their ab.
        threshold: The pixel-by-pixel threshold.

    Returns:
        One line per metric that is not perfect: ab RMSE, L2, pixels off and the colourfulness
        gap 0; accuracies, AuC and SSIM 1; PSNR at its cap. (SSIM is skipped for images
        smaller than its window, where it is NaN.)
    """
    perfect = {"ab_rmse": 0.0, "l2_distance": 0.0, "pixel_accuracy": 1.0, "auc": 1.0,
               "pixel_errors": 0.0, "psnr": PSNR_CAP_DB, "ssim": 1.0,
               "colorfulness_gap": 0.0}
    scores = image_metrics(lightness, true_ab, true_ab, threshold)
    problems = []
    for name, want in perfect.items():
        values = np.asarray(scores[name], np.float64)
        if name == "ssim":
            values = values[~np.isnan(values)]
        if not np.allclose(values, want, atol=1e-6):
            problems.append(f"ground truth {name} {values.tolist()}, expected {want}")
    return problems
