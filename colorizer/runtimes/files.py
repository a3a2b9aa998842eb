"""Which kind of model a path holds, told from its first bytes, not trusted from its name.

A user points ``--model`` at whatever is at hand: a ``.keras`` file, an exported one, a photo
by mistake, a download cut short. :func:`model_kind` names what the path holds, so a wrong
file fails in one line that says what it is and what was expected.

Example:
    >>> model_kind("runs/pets/best.onnx")
    'onnx'
"""
from __future__ import annotations

import os
import zipfile

KERAS, ONNX, LITERT, SAVED_MODEL = "keras", "onnx", "litert", "saved_model"
EXPECTED = ("a colorizer model: a .keras file (from `colorizer train`), or a .onnx or .tflite "
            "file or a SavedModel folder (from `colorizer export`)")
"""What ``--model`` takes, for error messages."""
EXTENSIONS = {".keras": KERAS, ".h5": KERAS, ".onnx": ONNX, ".tflite": LITERT}
_SIGNATURES = (  # (offset, bytes, what the file is): files people mistake for a model
    (0, b"\xff\xd8\xff", "a JPEG image"), (0, b"\x89PNG", "a PNG image"),
    (0, b"GIF8", "a GIF image"), (0, b"%PDF", "a PDF document"),
    (0, b"\x1f\x8b", "a gzip archive"), (0, b"RIFF", "a RIFF file (WebP, WAV or AVI)"),
    (4, b"ftyp", "an MP4/MOV film"), (0, b"{", "a JSON/text file"),
)


class NotAModelError(ValueError):
    """A path that holds no model a runtime can read; the message says what it holds."""


def model_kind(path: str | os.PathLike) -> str:
    """``"keras"``, ``"onnx"``, ``"litert"`` or ``"saved_model"``: what ``path`` holds.

    Raises:
        FileNotFoundError: Nothing at ``path``.
        NotAModelError: It holds something else (an image, an archive, an empty file, a folder
            without ``saved_model.pb``); the message says what and what was expected.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return SAVED_MODEL
        raise NotAModelError(f"{path} is a folder without saved_model.pb; expected {EXPECTED}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path} (train one with `colorizer "
                                "train`, or run `colorizer demo` for a small one)")
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise NotAModelError(f"{path} is empty; expected {EXPECTED}")
    if head[4:8] == b"TFL3":
        return LITERT
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return KERAS  # a legacy .h5 Keras model (Keras says so if it holds weights only)
    if head.startswith(b"PK\x03\x04"):
        if path.lower().endswith(".keras") or _is_keras_archive(path):  # Keras names damage
            return KERAS
        raise NotAModelError(f"{path} is a ZIP archive but not a Keras model (no config.json "
                             f"inside); expected {EXPECTED}")
    for offset, signature, what in _SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            raise NotAModelError(f"{path} is {what}, not a model; expected {EXPECTED}")
    kind = EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if kind == ONNX:
        return ONNX  # protobuf has no signature: ONNX Runtime itself checks the rest
    if kind is not None:  # a .keras or .tflite name on bytes of neither
        raise NotAModelError(f"{path} is named like a {kind} model but does not hold one "
                             f"(damaged, or another kind of file); expected {EXPECTED}")
    raise NotAModelError(f"{path} is not a model file this package knows; expected {EXPECTED}")


def runs_without_keras(path: str | os.PathLike) -> bool:
    """Whether the model at ``path`` is an exported file whose runtime needs no Keras,
    TensorFlow or JAX (ONNX, LiteRT); ``False`` for anything else, unreadable paths too (their
    loading names the problem)."""
    try:
        return model_kind(path) in (ONNX, LITERT)
    except (OSError, NotAModelError):
        return False


def _is_keras_archive(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
