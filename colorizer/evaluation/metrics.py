"""Per-image colorization metrics: the paper's, the field's standard ones, and the baselines.

All distances are in CIE Lab units. For one image with predicted ``p`` and true ``t`` ab maps
of ``N`` pixels:

* ``l2_distance`` (the paper's L2 distance): ``sqrt(sum over pixels and both channels
  (p - t)^2)``. It grows with image size; the paper reports it at 224x224.
* ``ab_rmse``: ``l2_distance / sqrt(N)``, the root-mean-square per-pixel ab error, comparable
  across sizes.
* ``pixel_accuracy``: the share of pixels whose ab error ``||p - t||`` is at most
  ``threshold`` (the paper's pixel-by-pixel comparison; the paper counts the complement,
  ``pixel_errors``).
* ``auc`` / ``auc_rebalanced``: area under accuracy-vs-threshold over 0..150, plain and
  class-rebalanced (Zhang et al. 2016; see :mod:`colorizer.evaluation.auc`).
* ``psnr``: on sRGB in [0, 1] after joining each ab with the image's true L and mapping
  colours outside sRGB into it at constant L and hue, as ``colorizer colorize`` does (see
  :mod:`colorizer.evaluation.rendering`), capped at
  :data:`PSNR_CAP_DB` (the PSNR of 8-bit rounding noise), so a perfect image counts in every
  mean instead of being an infinite value that averages drop.
* ``ssim``: structural similarity on the same sRGB images (Wang et al. 2004: Gaussian window
  of sigma 1.5, computed per channel and averaged).
* ``colorfulness``: Hasler and Suesstrunk's (2003) measure on sRGB in 0..255, with
  ``rg = R - G`` and ``yb = (R + G) / 2 - B``: ``sqrt(std(rg)^2 + std(yb)^2) + 0.3 *
  sqrt(mean(rg)^2 + mean(yb)^2)``. 0 for any gray image; ``colorfulness_gap`` is its absolute
  difference to the ground truth's.
* ``out_of_gamut``: the share of pixels whose Lab colour (true L, predicted ab) has no sRGB
  equivalent: some channel of the unclipped sRGB lies outside [0, 1] by more than
  :data:`GAMUT_EPSILON`. Such pixels are rendered (and scored) with less chroma than
  predicted.

Every summary sets the model beside the **gray baseline** (ab = 0 everywhere, which is the
grayscale input itself) and, where a metric has one, the **ground truth**.

Example:
    >>> import numpy as np
    >>> true = np.ones((4, 4, 2), np.float32) * 3.0
    >>> float(ab_rmse(np.zeros_like(true), true))  # sqrt(3^2 + 3^2)
    4.242640...
"""
from __future__ import annotations

import numpy as np

from colorizer.color import lab_to_rgb
from colorizer.evaluation.auc import accuracy_curves, area_under_curve
from colorizer.evaluation.colorfulness import colorfulness  # noqa: F401  (part of this module's API)
from colorizer.evaluation.rendering import render_rgb  # noqa: F401  (this module's API too)
# Summaries live in their own module; these names are part of this module's interface too.
from colorizer.evaluation.summaries import (  # noqa: F401
    DEFAULT_THRESHOLD, HIGHER_IS_BETTER, aggregate, describe, metric_label, summarize,
    summary_markdown, verdict)

GAMUT_EPSILON = 1e-3
"""Tolerance on unclipped sRGB in [0, 1] before a pixel counts as out of gamut."""
SSIM_MIN_SIDE = 11
"""SSIM's Gaussian window is 11 pixels wide; smaller images get NaN."""


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


PSNR_CAP_DB = float(10.0 * np.log10(12.0 * 255.0**2))
"""Highest PSNR reported, 58.92 dB: that of rounding to 8 bits (uniform error of one level,
mean square ``1 / (12 * 255^2)`` of the range). Smaller differences cannot be seen in an 8-bit
photo, so a perfect image scores this instead of infinity."""


def psnr(pred_rgb: np.ndarray, true_rgb: np.ndarray, max_value: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio per image in dB, at most :data:`PSNR_CAP_DB` (finite, so
    identical images count in means like every other image)."""
    diff = np.asarray(pred_rgb, np.float64) - np.asarray(true_rgb, np.float64)
    mse = np.mean(diff**2, axis=(-3, -2, -1))
    floor = max_value**2 / 10.0 ** (PSNR_CAP_DB / 10.0)
    return 10.0 * np.log10(max_value**2 / np.maximum(mse, floor))


def ssim(pred_rgb: np.ndarray, true_rgb: np.ndarray) -> np.ndarray:
    """Structural similarity per image on RGB in [0, 1] (1 for identical images).

    Uses Wang et al.'s settings (Gaussian window, sigma 1.5, population covariances), which
    agree with ``tf.image.ssim``. Images with a side under 11 pixels give NaN.

    Args:
        pred_rgb: ``(H, W, 3)`` or ``(B, H, W, 3)`` floats in [0, 1].
        true_rgb: Same shape.

    Returns:
        A scalar per image.
    """
    from skimage.metrics import structural_similarity

    pred_rgb, true_rgb = np.asarray(pred_rgb, np.float64), np.asarray(true_rgb, np.float64)
    if pred_rgb.shape != true_rgb.shape:
        raise ValueError(f"image shapes differ: {pred_rgb.shape} vs {true_rgb.shape}")
    batch_p, batch_t = pred_rgb.reshape((-1,) + pred_rgb.shape[-3:]), true_rgb.reshape(
        (-1,) + true_rgb.shape[-3:])
    if min(batch_p.shape[1:3]) < SSIM_MIN_SIDE:
        return np.full(pred_rgb.shape[:-3], np.nan)
    values = [structural_similarity(p, t, channel_axis=-1, data_range=1.0,
                                    gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
              for p, t in zip(batch_p, batch_t)]
    return np.asarray(values, np.float64).reshape(pred_rgb.shape[:-3])


def out_of_gamut(lightness: np.ndarray, ab: np.ndarray,
                 epsilon: float = GAMUT_EPSILON) -> np.ndarray:
    """Share of pixels whose Lab colour falls outside the sRGB gamut, per image.

    Args:
        lightness: ``(..., H, W, 1)`` L in [0, 100].
        ab: ``(..., H, W, 2)`` ab, before any clipping.
        epsilon: Tolerance around [0, 1] on each unclipped sRGB channel.

    Returns:
        A share in [0, 1] per image.
    """
    lab = np.concatenate([np.asarray(lightness, np.float64), np.asarray(ab, np.float64)], -1)
    rgb = lab_to_rgb(lab, clip=False)
    outside = np.any((rgb < -epsilon) | (rgb > 1.0 + epsilon), axis=-1)
    return np.mean(outside, axis=(-2, -1))


def image_metrics(lightness: np.ndarray, pred_ab: np.ndarray, true_ab: np.ndarray,
                  threshold: float = DEFAULT_THRESHOLD, *,
                  pixel_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every per-image metric of a batch of predictions.

    Args:
        lightness: ``(B, H, W, 1)`` true L.
        pred_ab: ``(B, H, W, 2)`` predicted ab.
        true_ab: ``(B, H, W, 2)`` true ab.
        threshold: Pixel-by-pixel threshold in Lab units.
        pixel_weights: Rebalancing weights ``(B, H, W)`` of the true pixels
            (:meth:`colorizer.evaluation.auc.AbHistogram.pixel_weights`); adds ``auc_rebalanced``.

    Returns:
        ``{"l2_distance", "ab_rmse", "pixel_accuracy", "pixel_errors", "auc", "psnr", "ssim",
        "colorfulness", "colorfulness_gap", "out_of_gamut"}`` (and ``"auc_rebalanced"``),
        each ``(B,)``.
    """
    true_rgb = render_rgb(lightness, true_ab)
    pred_rgb = render_rgb(lightness, pred_ab)
    pred_colorfulness = colorfulness(pred_rgb)
    metrics = {
        "l2_distance": l2_distance(pred_ab, true_ab),
        "ab_rmse": ab_rmse(pred_ab, true_ab),
        "pixel_accuracy": pixel_accuracy(pred_ab, true_ab, threshold),
        "pixel_errors": pixel_errors(pred_ab, true_ab, threshold),
        "auc": area_under_curve(accuracy_curves(pred_ab, true_ab)),
        "psnr": psnr(pred_rgb, true_rgb),
        "ssim": ssim(pred_rgb, true_rgb),
        "colorfulness": pred_colorfulness,
        "colorfulness_gap": np.abs(pred_colorfulness - colorfulness(true_rgb)),
        "out_of_gamut": out_of_gamut(lightness, pred_ab),
    }
    if pixel_weights is not None:
        metrics["auc_rebalanced"] = area_under_curve(
            accuracy_curves(pred_ab, true_ab, pixel_weights))
    return metrics


def truth_metrics(lightness: np.ndarray, true_ab: np.ndarray) -> dict[str, np.ndarray]:
    """The metrics the ground truth itself has: ``colorfulness`` and ``out_of_gamut``."""
    true_rgb = render_rgb(lightness, true_ab)
    return {"colorfulness": colorfulness(true_rgb), "out_of_gamut": out_of_gamut(lightness, true_ab)}


def evaluate_batches(model, dataset, threshold: float = DEFAULT_THRESHOLD,
                     progress: bool = True, with_truth: bool = False
                     ) -> dict[str, dict[str, np.ndarray]]:
    """Per-image metrics of ``model`` and of the gray baseline over a dataset of (L, ab).

    A quick, single-pass evaluation (no rebalancing, no classifier, no files); the full
    report with figures is :func:`colorizer.evaluation.evaluate.evaluate`.

    Args:
        model: The colorizer.
        dataset: Batches of ``(L, ab)`` (extra elements, such as labels, are ignored).
        threshold: Pixel-by-pixel threshold in Lab units.
        progress: Show a tqdm progress bar.
        with_truth: Add a ``truth`` row with the ground truth's own metrics (colorfulness,
            out-of-gamut share).

    Returns:
        ``{"model": {metric: values}, "gray": {metric: values}}`` (and ``"truth"``), values
        per image in dataset order.
    """
    from tqdm.auto import tqdm

    from colorizer.runtimes.network import model_inputs

    results: dict[str, dict[str, list]] = {"model": {}, "gray": {}}
    if with_truth:
        results["truth"] = {}
    for batch in tqdm(dataset, desc="evaluate", unit="batch", disable=not progress):
        lightness, true_ab = np.asarray(batch[0]), np.asarray(batch[1])
        predictions = {"model": np.asarray(model.predict_on_batch(model_inputs(model, lightness))),
                       "gray": np.zeros_like(true_ab)}
        rows = {name: image_metrics(lightness, pred_ab, true_ab, threshold)
                for name, pred_ab in predictions.items()}
        if with_truth:
            rows["truth"] = truth_metrics(lightness, true_ab)
        for name, metrics in rows.items():
            for metric, values in metrics.items():
                results[name].setdefault(metric, []).extend(np.atleast_1d(values).tolist())
    return {name: {m: np.asarray(v, np.float64) for m, v in metrics.items()}
            for name, metrics in results.items()}
