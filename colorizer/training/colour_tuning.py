"""After training: the saved models' colour, tuned on the validation data.

Which knob depends on the head. A classification colorizer decodes a distribution over colours
with an annealed mean, whose temperature sets how vivid it is
(:mod:`colorizer.training.temperature`); a regression colorizer predicts about the mean colour,
which a gain on its ab makes more or less saturated (:mod:`colorizer.training.colour_gain`).
Either way every candidate is measured against the gray baseline on the validation photos,
the choice is written into ``model.keras`` and ``best.keras`` (each chosen on its own), and
the whole table is recorded in the run folder's ``colour_tuning.json``.

Example:
    >>> results, model = tune_saved_models("runs/pets", model, val_batches)
    >>> results["best.keras"]["gain"]  # a regression run
    1.3
"""
from __future__ import annotations

import os

import keras
import numpy as np

from colorizer.fileio import save_model, write_json
from colorizer.model.network import head_of, load_colorizer, scale_colour, set_temperature

TUNING_FILE = "colour_tuning.json"
"""Where a run folder records each saved model's tuning, with the table it was chosen from."""


def _same_weights(a: keras.Model, b: keras.Model) -> bool:
    first, second = a.get_weights(), b.get_weights()
    return len(first) == len(second) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(first, second))


def tune_model(model: keras.Model, batches) -> tuple[dict, keras.Model]:
    """Chooses the colour setting of one model on ``batches``.

    Returns:
        The choice (``{"temperature", ...}`` or ``{"gain", ...}``, with ``"beats_gray"`` and
        ``"table"``) and the tuned model: ``model`` itself with its temperature set, or a
        colour-scaled copy of it.
    """
    if head_of(model) == "classification":
        from colorizer.training.temperature import choose_temperature

        choice = choose_temperature(model, batches)
        set_temperature(model, choice["temperature"])
        return choice, model
    from colorizer.training.colour_gain import choose_gain

    choice = choose_gain(model, batches)
    return choice, (model if choice["gain"] == 1.0 else scale_colour(model, choice["gain"]))


def tune_saved_models(run_dir: str, model: keras.Model, batches) -> tuple[dict, keras.Model]:
    """Tunes and saves again a run's ``model.keras`` (``model``, in memory) and ``best.keras``
    (loaded), and records the choices in ``run_dir/colour_tuning.json``.

    Args:
        run_dir: The run folder.
        model: The model just saved as ``model.keras``.
        batches: Validation ``(L, ab)`` batches.

    Returns:
        ``{file name: choice}`` for each model found, and the tuned ``model.keras``.
    """
    best_path = os.path.join(run_dir, "best.keras")
    best = load_colorizer(best_path) if os.path.exists(best_path) else None
    # Compared before anything is tuned: a best.keras saved at the stop is the model itself.
    same = best is not None and _same_weights(best, model)
    results, tuned = {}, {}
    for name, target in (("model.keras", model), ("best.keras", best)):
        if target is None:
            continue
        if name == "best.keras" and same:
            results[name], tuned[name] = results["model.keras"], tuned["model.keras"]
        else:
            results[name], tuned[name] = tune_model(target, batches)
        save_model(tuned[name], os.path.join(run_dir, name))
    write_json(os.path.join(run_dir, TUNING_FILE), results)
    return results, tuned["model.keras"]
