"""How colourful a colorization is: the Hasler and Suesstrunk (2003) colourfulness metric.

Per-pixel error metrics reward the washed-out average colour a regression predicts; the
colourfulness of the result beside that of the true photo shows what they miss. For an sRGB
image on a 0-255 scale, with the opponent channels ``rg = R - G`` and ``yb = (R + G) / 2 - B``::

    M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)

A gray image scores 0; Hasler and Suesstrunk found about 15 "slightly", 33 "moderately", 45
"averagely", 59 "quite" and 82 "highly" colourful in their user study.

Example:
    >>> import numpy as np
    >>> float(colorfulness(np.full((8, 8, 3), 0.5)))
    0.0
"""
from __future__ import annotations

import numpy as np

from colorizer.evaluation.rendering import render_rgb


def colorfulness(rgb: np.ndarray) -> np.ndarray:
    """Colourfulness of each image.

    Args:
        rgb: ``(H, W, 3)`` or a batch ``(B, H, W, 3)``; uint8, or float in [0, 1].

    Returns:
        One value per image (shape ``()`` or ``(B,)``), on the 0-255 scale of the metric.
    """
    rgb = np.asarray(rgb)
    if rgb.shape[-1] != 3 or rgb.ndim < 3:
        raise ValueError(f"expected (..., H, W, 3) RGB, got shape {rgb.shape}")
    scale = 1.0 if rgb.dtype == np.uint8 else 255.0
    rgb = rgb.astype(np.float64) * scale
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = red - green, 0.5 * (red + green) - blue
    axes = (-2, -1)
    spread = np.sqrt(np.var(rg, axis=axes) + np.var(yb, axis=axes))
    mean = np.sqrt(np.mean(rg, axis=axes) ** 2 + np.mean(yb, axis=axes) ** 2)
    return spread + 0.3 * mean


def colorfulness_batches(model, dataset, progress: bool = True) -> dict[str, np.ndarray]:
    """Colourfulness of a model's colorizations and of the true photos over (L, ab) batches,
    rendered as ``colorize`` renders them (:func:`colorizer.evaluation.rendering.render_rgb`).

    Args:
        model: A colorizer (L -> ab).
        dataset: ``(L, ab)`` batches, e.g. from :func:`colorizer.data.pipeline.make_dataset`.
        progress: Show a progress bar.

    Returns:
        ``{"model": values, "truth": values}``, one value per image, in order.
    """
    from tqdm.auto import tqdm

    from colorizer.runtimes.network import model_inputs

    values: dict[str, list] = {"model": [], "truth": []}
    for lightness, true_ab in tqdm(dataset, desc="colourfulness", unit="batch",
                                   disable=not progress):
        lightness = np.asarray(lightness, np.float32)
        pred_ab = np.asarray(model.predict_on_batch(model_inputs(model, lightness)), np.float32)
        for name, ab in (("model", pred_ab), ("truth", np.asarray(true_ab, np.float32))):
            values[name].extend(np.atleast_1d(colorfulness(render_rgb(lightness, ab))).tolist())
    return {name: np.asarray(v) for name, v in values.items()}
