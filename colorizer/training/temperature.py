"""The annealed-mean temperature of a classification colorizer, chosen on validation data.

The temperature trades faithfulness for colour: near 1 the annealed mean is the mean of the
predicted distribution (safe, washed out), towards 0 its mode (vivid, and wrong by a whole
colour where the mode is). Which value a trained model can afford depends on how sure it is,
so it is measured rather than fixed: every candidate decodes the same validation logits, and
the lowest temperature (the most vivid) whose mean ab RMSE and mean PSNR both beat the gray
baseline (ab = 0) wins. When none does, the one of the lowest ab RMSE is kept. (Not the
highest: trained with rebalancing, the mean of the predicted distribution leans to rare,
saturated colours, so on these photos the error grew with the temperature from 0.3 to 1.)

Example:
    >>> choice = choose_temperature(model, val_batches)
    >>> set_temperature(model, choice["temperature"])
"""
from __future__ import annotations

import keras
import numpy as np

from colorizer.color import l_ab_to_rgb
from colorizer.model.network import DECODE_LAYER, LOGITS_LAYER, model_inputs

TEMPERATURES = (0.2, 0.3, 0.38, 0.45, 0.55, 0.65, 0.75, 0.85, 1.0)
"""Candidates, most vivid first."""
PSNR_FLOOR = 1e-10
"""Mean squared error floor of the PSNR (identical images)."""


def _image_rmse(pred_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.sum((pred_ab - true_ab) ** 2, axis=-1), axis=(1, 2)))


def _image_psnr(lightness: np.ndarray, pred_ab: np.ndarray, true_rgb: np.ndarray) -> np.ndarray:
    diff = np.asarray(l_ab_to_rgb(lightness, pred_ab), np.float64) - true_rgb
    mse = np.mean(diff**2, axis=(1, 2, 3))
    return 10.0 * np.log10(1.0 / np.maximum(mse, PSNR_FLOOR))


def _decoder(model: keras.Model):
    """``(model input -> logits, logits -> ab at the input's size)`` of a classification model."""
    logits = keras.Model(model.input, model.get_layer(LOGITS_LAYER).output)
    decode, upsample = model.get_layer(DECODE_LAYER), model.get_layer("ab")
    return logits, lambda z: np.asarray(upsample(decode(z)))


def temperature_table(model: keras.Model, batches, temperatures=TEMPERATURES) -> list[dict]:
    """Mean ab RMSE and PSNR of every temperature (and of gray) on ``(L, ab)`` batches.

    The network runs once per batch; only the decoding is repeated per temperature.

    Args:
        model: A colorizer with the classification head (its temperature is restored).
        batches: An iterable of ``(L, ab)`` batches, e.g. a validation ``tf.data.Dataset``.
        temperatures: Candidates.

    Returns:
        One row per temperature, ``{"temperature", "ab_rmse", "psnr", "gray_ab_rmse",
        "gray_psnr", "images"}``.
    """
    logits_of, decode = _decoder(model)
    layer = model.get_layer(DECODE_LAYER)
    saved = float(keras.ops.convert_to_numpy(layer.temperature))
    sums = {t: [0.0, 0.0] for t in temperatures}
    gray, images = [0.0, 0.0], 0
    try:
        for lightness, true_ab in batches:
            lightness, true_ab = np.asarray(lightness), np.asarray(true_ab, np.float64)
            logits = logits_of.predict_on_batch(model_inputs(logits_of, lightness))
            zero = np.zeros_like(true_ab)
            true_rgb = np.asarray(l_ab_to_rgb(lightness, true_ab), np.float64)
            gray[0] += _image_rmse(zero, true_ab).sum()
            gray[1] += _image_psnr(lightness, zero, true_rgb).sum()
            images += len(lightness)
            for t in temperatures:
                layer.temperature.assign(float(t))
                ab = decode(logits).astype(np.float64)
                sums[t][0] += _image_rmse(ab, true_ab).sum()
                sums[t][1] += _image_psnr(lightness, ab, true_rgb).sum()
    finally:
        layer.temperature.assign(saved)
    if not images:
        raise ValueError("no validation images to choose a temperature on")
    return [{"temperature": float(t), "ab_rmse": sums[t][0] / images,
             "psnr": sums[t][1] / images, "gray_ab_rmse": gray[0] / images,
             "gray_psnr": gray[1] / images, "images": images} for t in temperatures]


def pick_temperature(table: list[dict]) -> float:
    """The lowest temperature of ``table`` that beats gray on both ab RMSE and PSNR, else the
    one of the lowest ab RMSE."""
    beating = [row["temperature"] for row in table
               if row["ab_rmse"] < row["gray_ab_rmse"] and row["psnr"] > row["gray_psnr"]]
    if beating:
        return min(beating)
    return min(table, key=lambda row: (row["ab_rmse"], row["temperature"]))["temperature"]


def choose_temperature(model: keras.Model, batches, temperatures=TEMPERATURES) -> dict:
    """Measures every candidate on ``batches`` and picks one (see the module docstring).

    Returns:
        ``{"temperature": chosen, "beats_gray": bool, "table": temperature_table(...)}``;
        the model is left unchanged (set it with
        :func:`colorizer.model.network.set_temperature`).
    """
    table = temperature_table(model, batches, temperatures)
    chosen = pick_temperature(table)
    row = next(r for r in table if r["temperature"] == chosen)
    return {"temperature": chosen,
            "beats_gray": bool(row["ab_rmse"] < row["gray_ab_rmse"]
                               and row["psnr"] > row["gray_psnr"]),
            "table": table}
