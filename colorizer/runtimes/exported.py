"""An exported colorizer: a network another runtime runs, answering as a Keras model does.

The rest of the package calls ``model.predict_on_batch(model_inputs(model, L, hints))`` on
whatever colorizer it holds; :class:`ExportedColorizer` answers that call, with NumPy in and
out, for ONNX Runtime (:mod:`.onnx_runtime`), LiteRT (:mod:`.litert_runtime`) and TensorFlow
SavedModels (:mod:`.saved_model_runtime`). Each checks at load time that the file's inputs
and output are a colorizer's, so a foreign graph fails in one line, not at the first photo.
"""
from __future__ import annotations

import hashlib
import os
from typing import Sequence

import numpy as np

from colorizer.runtimes.metadata import ExportInfo, NotAColorizerError

INPUT_CHANNELS = {"L": 1, "hints": 3}
"""Channels (the last axis) of each input a colorizer may have."""


class ExportedColorizer:
    """Base of the runtimes: ``predict_on_batch`` over NumPy, and what the file says it is.

    Attributes:
        path: The file (or SavedModel folder).
        info: Its :class:`~colorizer.runtimes.metadata.ExportInfo`.
        name: The file's name, for display.
    """

    runtime = "exported"
    """The runtime's name, for messages (``"ONNX Runtime"``, ``"LiteRT"`` ...)."""

    def __init__(self, path: str, info: ExportInfo):
        self.path, self.info = os.fspath(path), info
        self.name = os.path.basename(os.path.normpath(self.path))
        self._fingerprint: str | None = None

    def predict_on_batch(self, feed) -> np.ndarray:
        """ab ``(N, H, W, 2)`` float32 for ``L`` ``(N, H, W, 1)`` or ``[L, hints]``."""
        arrays = list(feed) if isinstance(feed, (list, tuple)) else [feed]
        if len(arrays) != len(self.info.inputs):
            raise ValueError(f"{self.name} takes {len(self.info.inputs)} inputs "
                             f"({', '.join(self.info.inputs)}), got {len(arrays)}")
        arrays = [np.ascontiguousarray(array, np.float32) for array in arrays]
        for name, array in zip(self.info.inputs, arrays):
            if array.ndim != 4 or array.shape[-1] != INPUT_CHANNELS[name]:
                raise ValueError(f"{self.name}: input {name} must be (N, H, W, "
                                 f"{INPUT_CHANNELS[name]}), got {array.shape}")
        return np.asarray(self._run(dict(zip(self.info.inputs, arrays))), np.float32)

    def fingerprint(self) -> str:
        """A short digest of the file's bytes (every file of a folder), computed once."""
        if self._fingerprint is None:
            digest = hashlib.sha1()
            paths = [self.path] if os.path.isfile(self.path) else sorted(
                os.path.join(root, name) for root, _, names in os.walk(self.path)
                for name in names)
            for path in paths:
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name}: {self.info.head}"
                f"{', takes hints' if self.info.takes_hints else ''}, {self.runtime}>")


def check_signature(path: str, info: ExportInfo, inputs: Sequence[tuple[str, Sequence]],
                    outputs: Sequence[tuple[str, Sequence]]) -> None:
    """Refuses a graph whose inputs or output are not the colorizer its metadata describes.

    Args:
        path: For the message.
        info: What the file's metadata says.
        inputs: ``(name, shape)`` of each graph input (a shape's entries may be ``None``,
            ``-1`` or a symbol where the size is free).
        outputs: ``(name, shape)`` of each graph output.

    Raises:
        NotAColorizerError: The graph does not take L (and hints) of the right channels, or
            does not give ab; the message says what it has and what was expected.
    """
    expected = ", ".join(f"{name} (N, H, W, {INPUT_CHANNELS[name]})" for name in info.inputs)
    have = ", ".join(f"{name} {_shape(shape)}" for name, shape in inputs)
    names = [_plain(name) for name, _ in inputs]
    ok = sorted(names) == sorted(info.inputs) and all(
        len(shape) == 4 and shape[-1] == INPUT_CHANNELS[_plain(name)] for name, shape in inputs)
    if not ok:
        raise NotAColorizerError(f"{path} takes {have or 'no inputs'}; a colorizer takes "
                                 f"{expected}")
    if len(outputs) != 1 or len(outputs[0][1]) != 4 or outputs[0][1][-1] != 2:
        have = ", ".join(_shape(shape) for _, shape in outputs)
        raise NotAColorizerError(f"{path} gives {have or 'no output'}; a colorizer gives one "
                                 "ab output (N, H, W, 2)")


def _plain(name: str) -> str:
    """``serving_default_hints:0`` -> ``hints``: the input's name as Keras gave it."""
    name = name.split(":")[0]
    return name[len("serving_default_"):] if name.startswith("serving_default_") else name


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) if isinstance(s, int) and s >= 0 else "?" for s in shape) + ")"
