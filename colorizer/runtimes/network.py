"""Any colorizer, Keras or exported: load it, ask what it takes, feed it.

The stages above call these, never Keras, so that an exported file runs through the very
same photo, guided-colour and film code with no Keras, TensorFlow or JAX imported. For a
Keras model each call defers to :mod:`colorizer.model.network` (Keras is imported already
then: the model is one of its objects).

Example:
    >>> model = load_colorizer("best.onnx")          # or "best.keras", "best.tflite"
    >>> takes_hints(model), head_of(model)
    (False, 'regression')
    >>> ab = model.predict_on_batch(model_inputs(model, lightness))
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from colorizer.model.hint_encoding import no_hints_array
from colorizer.runtimes.exported import ExportedColorizer
from colorizer.runtimes.files import KERAS, LITERT, ONNX, SAVED_MODEL, model_kind


def load_colorizer(path: str | os.PathLike):
    """Loads a colorizer from a ``.keras`` file or an exported one, told by its bytes.

    Args:
        path: A ``.keras`` file (Keras on the process's backend), a ``.onnx`` file (ONNX
            Runtime), a ``.tflite`` file (LiteRT) or a SavedModel folder (TensorFlow).

    Returns:
        A ``keras.Model`` or an :class:`~colorizer.runtimes.exported.ExportedColorizer`;
        both answer ``predict_on_batch`` and every function of this module.

    Raises:
        FileNotFoundError: Nothing at ``path``.
        ValueError: Not a model, a damaged one, or a model that is not a colorizer (the
            message says what the file is and what was expected).
        ModuleNotFoundError: The runtime the file needs is not installed (the message says
            what to install).
    """
    path = os.fspath(path)
    kind = model_kind(path)
    if kind == KERAS:
        from colorizer.model.network import load_colorizer as load_keras

        return load_keras(path)
    if kind == ONNX:
        from colorizer.runtimes.onnx_runtime import OnnxColorizer

        return OnnxColorizer.load(path)
    if kind == LITERT:
        from colorizer.runtimes.litert_runtime import LiteRTColorizer

        return LiteRTColorizer.load(path)
    assert kind == SAVED_MODEL
    from colorizer.runtimes.saved_model_runtime import SavedModelColorizer

    return SavedModelColorizer.load(path)


def is_exported(model) -> bool:
    """Whether ``model`` is an exported file's runtime (no Keras behind it)."""
    return isinstance(model, ExportedColorizer)


def takes_hints(model) -> bool:
    """Whether a colorizer takes colour hints as a second input."""
    if is_exported(model):
        return model.info.takes_hints
    from colorizer.model.network import takes_hints as keras_takes_hints

    return keras_takes_hints(model)


def head_of(model) -> str:
    """``"classification"`` or ``"regression"``: which head a colorizer has."""
    if is_exported(model):
        return model.info.head
    from colorizer.model.network import head_of as keras_head_of

    return keras_head_of(model)


def temperature_of(model) -> float | None:
    """A classification colorizer's annealed-mean temperature; ``None`` for regression."""
    if head_of(model) != "classification":
        return None
    if is_exported(model):
        return model.info.temperature
    from colorizer.model.network import temperature_of as keras_temperature_of

    return keras_temperature_of(model)


def set_temperature(model, temperature: float) -> None:
    """Sets a classification colorizer's temperature (a Keras model's; an export's is fixed).

    Raises:
        ValueError: A regression model, a bad value, or an exported file (its temperature
            was fixed when it was written: the message says how to choose another).
    """
    if is_exported(model):
        if model.info.head != "classification":
            raise ValueError("only a colorizer with the classification head has a "
                             "temperature; this one is a regression model")
        raise ValueError(f"{model.name} was exported with temperature "
                         f"{model.info.temperature:.2f}, fixed in the file: export the .keras "
                         "model again with `colorizer export --temperature T`")
    from colorizer.model.network import set_temperature as keras_set_temperature

    keras_set_temperature(model, temperature)


def model_inputs(model, lightness, hints=None):
    """What to feed ``model`` to colour ``lightness``: the L batch, or ``[L, hints]``.

    The one place that knows a colorizer's inputs, for Keras models and exported files alike
    (see :func:`colorizer.model.network.model_inputs`).

    Raises:
        ValueError: Hints were given to a model that takes none.
    """
    if not is_exported(model):
        from colorizer.model.network import model_inputs as keras_model_inputs

        return keras_model_inputs(model, lightness, hints)
    if not model.info.takes_hints:
        if hints is not None:
            raise ValueError("this model takes no hints (it was built without hint_inputs); "
                             "propagate them on top of its colour instead")
        return lightness
    return [lightness, no_hints_array(lightness) if hints is None else hints]


def model_fingerprint(model) -> str:
    """A short digest of a colorizer's weights (a Keras model) or of its file (an export):
    a film's resume state names the model it was started with."""
    if is_exported(model):
        return model.fingerprint()
    digest = hashlib.sha1()
    for weight in model.weights:
        digest.update(np.asarray(weight).tobytes())
    return digest.hexdigest()[:16]


def predict_ab(model, lightness: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
    """ab ``(N, h, w, 2)`` float32 for a batch of L ``(N, h, w, 1)`` (and hints)."""
    feed = model_inputs(model, np.asarray(lightness, np.float32),
                        None if hints is None else np.asarray(hints, np.float32))
    return np.asarray(model.predict_on_batch(feed), np.float32)
