"""The colour gain of a regression colorizer, chosen on validation data.

A colorizer trained with MSE predicts, for every pixel, about the mean of the colours it could
be: right on average, and sepia, since the mean of a red and a green is a gray-brown. Scaling
its ab by a gain ``g`` spends part of its lead over gray on colour. For a model whose
predictions ``p`` are calibrated (``E[t | p] = p``), the mean squared error grows only by
``(g - 1)**2 * E|p|**2``: a small gain costs little error and buys a lot of colour.

How much is measured rather than fixed: every candidate rescales the same validation
predictions, and the largest gain that keeps at least half of gain 1's lead over gray on
both ab RMSE and PSNR wins. A model that does not beat gray at gain 1 is toned down instead:
the gain of the lowest ab RMSE at or below 1 (a weak model's colour, shrunk towards gray,
errs less).

Example:
    >>> choice = choose_gain(model, val_batches)
    >>> model = scale_colour(model, choice["gain"])
"""
from __future__ import annotations

import keras
import numpy as np

from colorizer.color import l_ab_to_rgb, lightness_to_gray_rgb
from colorizer.gamut_mapping import lab_to_rgb_in_gamut
from colorizer.model.network import model_inputs

GAINS = (0.25, 0.5, 0.75, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.65, 1.8, 2.0)
"""Candidates, in increasing order."""
KEEP_OF_LEAD = 0.5
"""The share of gain 1's lead over gray (in ab RMSE and in PSNR) a gain above 1 must keep."""
PSNR_FLOOR = 1e-10
"""Mean squared error floor of the PSNR (identical images)."""


def _image_rmse(pred_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.sum((pred_ab - true_ab) ** 2, axis=-1), axis=(1, 2)))


def _image_psnr(pred_rgb: np.ndarray, true_rgb: np.ndarray) -> np.ndarray:
    mse = np.mean((np.asarray(pred_rgb, np.float64) - true_rgb) ** 2, axis=(1, 2, 3))
    return 10.0 * np.log10(1.0 / np.maximum(mse, PSNR_FLOOR))


def _mean_chroma(ab: np.ndarray) -> float:
    """Summed over images: each image's mean chroma (the length of ab, in Lab units)."""
    return float(np.sum(np.mean(np.hypot(ab[..., 0], ab[..., 1]), axis=(1, 2))))


def gain_table(model: keras.Model, batches, gains=GAINS) -> list[dict]:
    """Mean ab RMSE, PSNR and chroma of every gain (and of gray) on ``(L, ab)`` batches.

    The model runs once per batch; only the scaling is repeated per gain.

    Args:
        model: A colorizer (either head: the gain scales whatever ab it predicts).
        batches: An iterable of ``(L, ab)`` batches, e.g. a validation ``tf.data.Dataset``.
        gains: Candidates.

    Returns:
        One row per gain, ``{"gain", "ab_rmse", "psnr", "chroma", "gray_ab_rmse",
        "gray_psnr", "truth_chroma", "images"}``; PSNR on the sRGB rendering outputs get
        (out-of-gamut colours mapped in at constant L and hue, gray exactly gray).
    """
    sums = {g: np.zeros(3) for g in gains}
    gray, truth_chroma, images = np.zeros(2), 0.0, 0
    for lightness, true_ab in batches:
        lightness, true_ab = np.asarray(lightness), np.asarray(true_ab, np.float64)
        predicted = np.asarray(model.predict_on_batch(model_inputs(model, lightness)), np.float64)
        true_rgb = np.asarray(l_ab_to_rgb(lightness, true_ab), np.float64)
        zero = np.zeros_like(true_ab)
        gray += [_image_rmse(zero, true_ab).sum(),
                 _image_psnr(lightness_to_gray_rgb(lightness), true_rgb).sum()]
        truth_chroma += _mean_chroma(true_ab)
        images += len(lightness)
        for g in gains:
            ab = g * predicted
            # Scored as outputs are rendered (gamut-mapped), as `colorizer evaluate` does.
            rgb = lab_to_rgb_in_gamut(np.concatenate([lightness, ab], -1).astype(np.float32))
            sums[g] += [_image_rmse(ab, true_ab).sum(), _image_psnr(rgb, true_rgb).sum(),
                        _mean_chroma(ab)]
    if not images:
        raise ValueError("no validation images to choose a colour gain on")
    return [{"gain": float(g), "ab_rmse": sums[g][0] / images, "psnr": sums[g][1] / images,
             "chroma": sums[g][2] / images, "gray_ab_rmse": gray[0] / images,
             "gray_psnr": gray[1] / images, "truth_chroma": truth_chroma / images,
             "images": images} for g in gains]


def _beats_gray(row: dict) -> bool:
    return row["ab_rmse"] < row["gray_ab_rmse"] and row["psnr"] > row["gray_psnr"]


def pick_gain(table: list[dict], keep: float = KEEP_OF_LEAD) -> float:
    """The gain to use, from a :func:`gain_table` (see the module docstring).

    Example:
        >>> rows = [{"gain": g, "ab_rmse": r, "psnr": p, "gray_ab_rmse": 10.0,
        ...          "gray_psnr": 30.0} for g, r, p in
        ...         [(0.5, 9.0, 30.6), (1.0, 8.0, 31.0), (1.5, 8.9, 30.6), (2.0, 9.8, 30.1)]]
        >>> pick_gain(rows)
        1.5
    """
    unit = next((row for row in table if row["gain"] == 1.0), None)
    if unit is None:
        raise ValueError("the table needs gain 1.0, the model as trained")
    if not _beats_gray(unit):
        shrunk = [row for row in table if row["gain"] <= 1.0]
        return min(shrunk, key=lambda row: (row["ab_rmse"], -row["gain"]))["gain"]
    rmse_limit = unit["ab_rmse"] + (1 - keep) * (unit["gray_ab_rmse"] - unit["ab_rmse"])
    psnr_limit = unit["psnr"] - (1 - keep) * (unit["psnr"] - unit["gray_psnr"])
    kept = [row["gain"] for row in table if row["gain"] >= 1.0
            and row["ab_rmse"] <= rmse_limit and row["psnr"] >= psnr_limit]
    return max(kept)


def choose_gain(model: keras.Model, batches, gains=GAINS) -> dict:
    """Measures every candidate gain on ``batches`` and picks one.

    Returns:
        ``{"gain": chosen, "beats_gray": bool, "table": gain_table(...)}``; the model is left
        unchanged (apply the gain with :func:`colorizer.model.network.scale_colour`).
    """
    table = gain_table(model, batches, gains)
    chosen = pick_gain(table)
    row = next(r for r in table if r["gain"] == chosen)
    return {"gain": chosen, "beats_gray": _beats_gray(row), "table": table}
