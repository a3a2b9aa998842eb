"""The exported files the runtime tests read, made with Keras (TensorFlow) here, or in a step
before a test run in an environment without Keras:

    python -m tests.runtimes.exported_models FOLDER
    COLORIZER_EXPORTED_MODELS=FOLDER pytest -m runtime tests/runtimes

Seeded, untrained colorizers of each kind (their colour toned down as the app's tests do, so
sRGB clipping never moves L), each saved as ``.keras`` and exported; and the wrong files a
user may pass: a classifier exported by Keras itself (no colorizer metadata), a classifier
given colorizer metadata (a graph with other inputs), an ONNX file cut short.
"""
from __future__ import annotations

import os
import sys

import numpy as np

KINDS = {"regression": {}, "hints": {"hint_inputs": True},
         "classification": {"head": "classification"}}
"""Name of each colorizer made, and how it is built."""
FORMATS = {"onnx": ".onnx", "litert": ".tflite"}


def make_all(folder: str) -> dict[str, str]:
    """Writes every file into ``folder``; returns ``{name: path}``."""
    import keras

    from colorizer.export.exporter import export_colorizer
    from colorizer.export.formats import set_onnx_metadata
    from colorizer.fileio import save_model
    from colorizer.model.network import build_colorizer
    from colorizer.runtimes.metadata import ExportInfo

    os.makedirs(folder, exist_ok=True)
    paths = {}
    for name, build in KINDS.items():
        keras.utils.set_random_seed(6)
        model = build_colorizer(weights=None, **build)
        if "ab_conv" in {layer.name for layer in model.layers}:
            kernel, bias = model.get_layer("ab_conv").get_weights()
            model.get_layer("ab_conv").set_weights([kernel * 0.25, bias * 0.25])
        for layer in model.layers:  # untrained joins are zeros: give the hints a say
            if layer.name.endswith("_hint_join") or layer.name == "hints_mix_weights":
                kernel, bias = layer.get_weights()
                rng = np.random.default_rng(len(layer.name))
                layer.set_weights([rng.normal(0, 0.05, kernel.shape).astype(np.float32), bias])
        paths[f"{name}.keras"] = os.path.join(folder, f"{name}.keras")
        save_model(model, paths[f"{name}.keras"])
        for fmt, suffix in FORMATS.items():
            paths[name + suffix] = export_colorizer(
                paths[f"{name}.keras"], fmt, os.path.join(folder, name + suffix)).path
    # An int8 file, its ranges set on the shipped photos (each twice: four are needed).
    from colorizer.data.samples import HOLDOUT_PHOTOS, available

    paths["hints-int8.onnx"] = export_colorizer(
        paths["hints.keras"], "onnx", os.path.join(folder, "hints-int8.onnx"), precision="int8",
        calibration=available(HOLDOUT_PHOTOS) * 2).path
    paths["regression_saved_model"] = export_colorizer(
        paths["regression.keras"], "saved_model",
        os.path.join(folder, "regression_saved_model")).path

    inputs = keras.Input((64, 64, 3), name="image")
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs))
    classifier = keras.Model(inputs, outputs)
    classifier.predict_on_batch(np.zeros((1, 64, 64, 3), np.float32))  # exported once run
    paths["classifier.onnx"] = os.path.join(folder, "classifier.onnx")
    classifier.export(paths["classifier.onnx"], format="onnx", verbose=False)
    paths["other_inputs.onnx"] = os.path.join(folder, "other_inputs.onnx")
    classifier.export(paths["other_inputs.onnx"], format="onnx", verbose=False)
    set_onnx_metadata(paths["other_inputs.onnx"], ExportInfo(
        format="onnx", head="regression", takes_hints=False).to_json())
    with open(paths["regression.onnx"], "rb") as f:
        content = f.read()
    paths["truncated.onnx"] = os.path.join(folder, "truncated.onnx")
    with open(paths["truncated.onnx"], "wb") as f:
        f.write(content[:len(content) // 2])
    return paths


def existing(folder: str) -> dict[str, str]:
    """``{name: path}`` of a folder :func:`make_all` filled."""
    return {name: os.path.join(folder, name) for name in sorted(os.listdir(folder))
            if not name.startswith(".")}


if __name__ == "__main__":
    for name, path in make_all(sys.argv[1]).items():
        print(name, path)
