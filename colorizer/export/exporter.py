"""``export_colorizer``: one Keras colorizer in, one checked file for another runtime out.

    best.keras -> Keras model (temperature set, if asked) -> network written to a temporary
      name beside the output -> metadata kept in it -> loaded by its runtime -> ab compared
      with Keras' on a test photo -> renamed onto the output (never half a file)

The check refuses a file whose colour differs from the Keras model's by more than
:data:`MAX_AB_DIFFERENCE` (ab units, over every pixel of the test photo), and the measured
difference is kept in the file's metadata.

Example:
    >>> result = export_colorizer("runs/pets/best.keras", "litert")
    >>> result.path
    'runs/pets/best.tflite'
"""
from __future__ import annotations

import dataclasses
import os
import secrets

import numpy as np

from colorizer import __version__
from colorizer.export.formats import WRITERS, remove
from colorizer.model.hint_encoding import encode_hints
from colorizer.runtimes.files import KERAS, NotAModelError, model_kind
from colorizer.runtimes.metadata import FORMATS, LIGHTNESS_INPUT, ExportInfo
from colorizer.runtimes.network import load_colorizer, predict_ab

MAX_AB_DIFFERENCE = {"float32": 1.0, "float16": 1.0, "int8": None}
"""The largest ab difference from the Keras model an export may show on the test photo (int8:
no pixel bound, its rounding moves a few pixels far; see :data:`MAX_INT8_AB_RMSE`)."""
MAX_INT8_AB_RMSE = 3.0
"""An int8 file's ab RMSE from the Keras model on its calibration photos may be at most this
(the cats and dogs' held-out photos: see ``benchmarks/runtimes.json``)."""
PRECISIONS = ("float32", "float16", "int8")
PRECISION_FORMATS = {"float32": ("onnx", "litert", "saved_model"), "float16": ("litert",),
                     "int8": ("onnx",)}
"""Which formats each precision is offered for."""
CHECK_SIZE = (224, 288)
"""The test photo's (height, width): a working size, not square, so free sizes are tried."""
SUFFIXES = {"onnx": ".onnx", "litert": ".tflite", "saved_model": "_saved_model"}


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What :func:`export_colorizer` wrote: its path and its metadata."""

    path: str
    info: ExportInfo


def default_output(model_path: str, fmt: str) -> str:
    """``best.keras`` -> ``best.onnx``, ``best.tflite`` or the folder ``best_saved_model``."""
    return os.path.splitext(os.fspath(model_path))[0] + SUFFIXES[fmt]


def export_colorizer(model, fmt: str, out: str | os.PathLike | None = None, *,
                     temperature: float | None = None, precision: str = "float32",
                     calibration=None, check: bool = True) -> ExportResult:
    """Exports a Keras colorizer to ONNX, LiteRT or a SavedModel, checked against Keras.

    Args:
        model: A ``.keras`` file or a loaded Keras colorizer (either head, hints or not).
        fmt: ``"onnx"``, ``"litert"`` or ``"saved_model"``.
        out: The file (or folder, for a SavedModel) to write; by default beside the ``.keras``
            file (see :func:`default_output`). An existing one is replaced, atomically.
        temperature: A classification model's temperature to bake in (default: its own).
        precision: ``"float16"`` halves a LiteRT file's weights; ``"int8"`` quantizes an
            ONNX file's weights and activations to 8 bits (:mod:`colorizer.export.quantize`),
            calibrated on ``calibration``; float32 otherwise.
        calibration: For int8: photo files and folders like those the model will colour (a
            few dozen are enough).
        check: Load the file with its runtime and compare its colour with Keras' (the
            runtime must be installed).

    Returns:
        The path written and the metadata kept in it.

    Raises:
        ValueError: A bad format or precision, a model that is not a colorizer, or a file
            whose colour strays from Keras' beyond :data:`MAX_AB_DIFFERENCE`.
        ModuleNotFoundError: An exporter or runtime is missing (the message says what to
            install).
    """
    from colorizer.model.network import (
        AB_LAYER, head_of, load_colorizer as load_keras, set_temperature, takes_hints,
        temperature_of)

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if precision not in PRECISIONS or fmt not in PRECISION_FORMATS[precision]:
        raise ValueError(f"precision {precision!r}: float32 for every format, float16 for "
                         "litert only, int8 for onnx only")
    photos = None
    if precision == "int8":
        from colorizer.export.quantize import calibration_photos

        if not calibration:
            raise ValueError("int8 needs calibration photos like those the model will colour "
                             "(--calibration FOLDER; a few dozen are enough)")
        photos = calibration_photos([calibration] if isinstance(calibration, (str, os.PathLike))
                                    else calibration)
    elif calibration:
        raise ValueError("calibration photos are for --precision int8 only")
    source = None
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        kind = model_kind(source)  # says what a wrong file is, in one line
        if kind != KERAS:
            raise NotAModelError(f"{source} is an exported {kind} model already; export the "
                                 ".keras file it came from")
        model = load_keras(source)
    if out is None:
        if source is None:
            raise ValueError("give `out` when exporting a model held in memory")
        out = default_output(source, fmt)
    out = os.path.abspath(os.fspath(out))
    head, hints = head_of(model), takes_hints(model)
    restore = None
    if temperature is not None:
        restore = temperature_of(model)  # a regression model is refused here, clearly
        set_temperature(model, temperature)
    try:
        if keras_backend() != "tensorflow":
            # Keras traces a JAX model for export with symbolic sizes its ops refuse: the same
            # model, saved, exports on TensorFlow instead, in a process of its own.
            return _export_on_tensorflow(model, source if restore is None else None, fmt, out,
                                         precision, photos, check)
        info = ExportInfo(
            format=fmt, head=head, takes_hints=hints,
            inputs=(LIGHTNESS_INPUT, "hints") if hints else (LIGHTNESS_INPUT,),
            colour_gain=_colour_gain(model, AB_LAYER) if head == "regression" else None,
            temperature=round(temperature_of(model), 6) if head == "classification" else None,
            precision=precision, source=os.path.basename(source) if source else None,
            versions=_versions())
        return _write_checked(model, fmt, out, info, check, photos)
    finally:
        if restore is not None:
            set_temperature(model, restore)


def _write_checked(model, fmt: str, out: str, info: ExportInfo, check: bool,
                   photos: list[str] | None = None) -> ExportResult:
    write, keep_metadata = WRITERS[fmt]
    check_inputs = None  # the drawn test photo
    # Keras' exporters trace a model that has run once; a freshly loaded one has not.
    predict_ab(model, np.zeros((1, 32, 32, 1), np.float32))
    folder, name = os.path.split(out)
    os.makedirs(folder, exist_ok=True)
    extension = SUFFIXES[fmt] if fmt != "saved_model" else ""  # a folder needs none
    temporary = os.path.join(folder, f".tmp-{secrets.token_hex(6)}-{name}{extension}")
    try:
        if fmt == "litert":
            write(model, temporary, info.precision)
        elif info.precision == "int8":
            from colorizer.export.quantize import quantize_onnx

            float_file = os.path.join(folder, f".tmp-{secrets.token_hex(6)}-float.onnx")
            try:
                write(model, float_file)
                check_inputs = quantize_onnx(float_file, temporary, photos, info)
            finally:
                remove(float_file)
            info = dataclasses.replace(info, calibration_photos=len(check_inputs))
        else:
            write(model, temporary)
        keep_metadata(temporary, info.to_json())
        if check:
            difference, rmse = check_difference(model, load_colorizer(temporary),
                                                with_rmse=True, inputs=check_inputs)
            info = dataclasses.replace(info, max_ab_difference=round(difference, 4),
                                       ab_rmse_difference=round(rmse, 4))
            _refuse_strays(fmt, info.precision, difference, rmse, "it was not written")
            keep_metadata(temporary, info.to_json())
        _replace(temporary, out)
    finally:
        remove(temporary)
    return ExportResult(out, info)


def _refuse_strays(fmt: str, precision: str, difference: float, rmse: float,
                   consequence: str) -> None:
    """Raises when an export's colour strays from the Keras model's beyond its bound."""
    bound = MAX_AB_DIFFERENCE[precision]
    if bound is not None and difference > bound:
        raise ValueError(f"the {fmt} file colours the test photo up to {difference:.2f} ab "
                         f"away from the Keras model (at most {bound} allowed); {consequence}")
    if precision == "int8" and rmse > MAX_INT8_AB_RMSE:
        raise ValueError(f"the int8 file colours its calibration photos {rmse:.2f} ab (RMSE) "
                         "away from "
                         f"the Keras model (at most {MAX_INT8_AB_RMSE} allowed); {consequence}: "
                         "calibrate it on more photos like those it will colour, or keep "
                         "float32")


def _export_on_tensorflow(model, source, fmt, out, precision, photos, check):
    import subprocess
    import sys
    import tempfile

    from colorizer.fileio import save_model

    with tempfile.TemporaryDirectory(prefix="colorizer-export-") as folder:
        if source is None:  # what is in memory, as it is now (its temperature set)
            source = os.path.join(folder, "model.keras")
            save_model(model, source)
        command = [sys.executable, "-m", "colorizer", "--backend", "tensorflow", "export",
                   "--model", source, "--format", fmt, "--out", out, "--precision", precision]
        if photos:
            command += ["--calibration", *photos]
        if not check:
            command.append("--no-check")
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        reason = [line for line in done.stderr.splitlines() if line.startswith("colorizer")]
        raise ValueError(f"exporting on TensorFlow failed: "
                         f"{reason[-1] if reason else done.stderr[-500:]}")
    exported = load_colorizer(out)
    if check:  # and against the model of this process, on its own backend
        inputs = None
        if precision == "int8":  # on its calibration photos, as the export checked it
            from colorizer.export.quantize import calibration_feeds

            inputs = calibration_feeds(photos[:MAX_CHECK_PHOTOS], exported.info)
        difference, rmse = check_difference(model, exported, with_rmse=True, inputs=inputs)
        _refuse_strays(fmt, precision, difference, rmse,
                       f"(written on TensorFlow, compared with this {keras_backend()} model)")
    return ExportResult(out, exported.info)


def keras_backend() -> str:
    import keras

    return keras.backend.backend()


def check_lightness(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like L ``(1, h, w, 1)``: smooth shapes, edges and grain, all of L's range."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    lightness = 50 + 30 * np.sin(x / 17.0) * np.cos(y / 23.0)
    for _ in range(6):  # discs with hard edges, as objects have
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(10, 60)
        lightness = np.where((y - cy) ** 2 + (x - cx) ** 2 < r * r, rng.uniform(0, 100), lightness)
    lightness = lightness + rng.normal(0, 3, lightness.shape)
    return np.clip(lightness, 0, 100).astype(np.float32)[None, ..., None]


def check_hints(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Five 5x5 colour hints ``(1, h, w, 3)`` for the test photo."""
    rng = np.random.default_rng(seed + 1)
    ab, mask = np.zeros((height, width, 2), np.float32), np.zeros((height, width, 1), np.float32)
    for _ in range(5):
        row, col = rng.integers(0, height - 5), rng.integers(0, width - 5)
        ab[row:row + 5, col:col + 5] = rng.uniform(-60, 60, 2)
        mask[row:row + 5, col:col + 5] = 1
    return encode_hints(ab, mask)[None]


MAX_CHECK_PHOTOS = 16
"""An int8 file is checked on at most this many of its calibration photos."""


def check_difference(keras_model, exported, with_rmse: bool = False, inputs=None):
    """The largest ab difference between two colorizers on the test photo (with hints, for
    a model that takes them), and with ``with_rmse`` the RMSE of the difference too.

    Args:
        inputs: ``[(L, hints or None), ...]`` to compare on instead (an int8 file's
            calibration photos: at most :data:`MAX_CHECK_PHOTOS`).
    """
    if inputs is None:
        inputs = [(check_lightness(*CHECK_SIZE),
                   check_hints(*CHECK_SIZE) if exported.info.takes_hints else None)]
    largest, squares, count = 0.0, 0.0, 0
    for lightness, hints in inputs[:MAX_CHECK_PHOTOS]:
        difference = (predict_ab(exported, lightness, hints)
                      - predict_ab(keras_model, lightness, hints))
        largest = max(largest, float(np.max(np.abs(difference))))
        squares, count = squares + float(np.sum(difference ** 2)), count + difference.size
    return (largest, float(np.sqrt(squares / count))) if with_rmse else largest


def _colour_gain(model, layer_name: str) -> float:
    from colorizer.color import AB_RANGE

    return round(float(model.get_layer(layer_name).get_config()["scale"]) / AB_RANGE, 6)


def _versions() -> dict:
    import keras

    return {"colorizer": __version__, "keras": keras.__version__,
            "backend": keras.backend.backend()}


def _replace(temporary: str, out: str) -> None:
    """Puts ``temporary`` at ``out``: a rename for a file; for a folder, the old one moved
    aside first and removed after, so ``out`` is never half-written."""
    if os.path.isdir(temporary) and os.path.exists(out):
        aside = f"{out}.old-{secrets.token_hex(4)}"
        os.replace(out, aside)
        os.replace(temporary, out)
        remove(aside)
    else:
        os.replace(temporary, out)
