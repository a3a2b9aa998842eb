"""An exported colorizer run by LiteRT, the TensorFlow Lite runtime (``colorizer[litert]``).

LiteRT's ``ai-edge-litert`` package runs the file with no TensorFlow; where only TensorFlow is
installed its bundled ``tf.lite`` interpreter serves instead. The input sizes are free: the
interpreter is resized to each batch.

Example:
    >>> model = LiteRTColorizer.load("best.tflite")
    >>> ab = model.predict_on_batch(lightness)
"""
from __future__ import annotations

import os
import threading

import numpy as np

from colorizer.runtimes.exported import ExportedColorizer, check_signature
from colorizer.runtimes.metadata import METADATA_KEY, ExportInfo, NotAColorizerError

INSTALL = 'LiteRT is not installed: pip install "colorizer[litert]"'
SIGNATURE = "serving_default"


def interpreter_class():
    """LiteRT's ``Interpreter``: from ``ai-edge-litert``, else TensorFlow's ``tf.lite``."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ModuleNotFoundError:
        try:
            from tensorflow.lite.python.interpreter import Interpreter
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(INSTALL, name="ai_edge_litert") from error
    return Interpreter


def schema():
    """The LiteRT flatbuffer schema's Python classes (shipped with either runtime)."""
    try:
        from ai_edge_litert import schema_py_generated
    except ModuleNotFoundError:
        from tensorflow.lite.python import schema_py_generated
    return schema_py_generated


def read_metadata(content: bytes, name: str = METADATA_KEY) -> bytes | None:
    """The bytes a LiteRT file keeps under metadata ``name``, or ``None``."""
    model = schema().Model.GetRootAs(content, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if (entry.Name() or b"").decode("utf-8", "replace") == name:
            return model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return None


class LiteRTColorizer(ExportedColorizer):
    """A ``.tflite`` file on LiteRT's CPU kernels, with every core."""

    runtime = "LiteRT"

    def __init__(self, path: str, info: ExportInfo, interpreter, runner):
        super().__init__(path, info)
        self.interpreter, self.runner = interpreter, runner  # the runner needs its interpreter
        self._lock = threading.Lock()  # an interpreter runs one call at a time

    @classmethod
    def load(cls, path: str) -> "LiteRTColorizer":
        """Opens ``path``; a damaged file or a foreign model fails in one line.

        Raises:
            ModuleNotFoundError: No LiteRT (the message says how to install it).
            NotAColorizerError: A LiteRT file that is not a colorizer export.
            ValueError: A file LiteRT cannot read.
        """
        Interpreter = interpreter_class()
        with open(path, "rb") as f:
            content = f.read()
        try:
            text = read_metadata(content)
            interpreter = Interpreter(model_content=content, num_threads=os.cpu_count() or 1)
            signatures = interpreter.get_signature_list()
        except Exception as error:  # flatbuffers and LiteRT raise many types for a bad file
            raise ValueError(f"{path} is not a readable LiteRT model (damaged or cut short?): "
                             f"{' '.join(str(error).split())[:200]}") from error
        info = ExportInfo.from_json(text, path)
        if info.format != "litert":
            raise NotAColorizerError(f"{path} holds LiteRT but says it is a {info.format} "
                                     "export")
        if SIGNATURE not in signatures:
            raise NotAColorizerError(f"{path} has no {SIGNATURE!r} signature; export it again")
        runner = interpreter.get_signature_runner(SIGNATURE)
        details = runner.get_input_details()
        check_signature(path, info,
                        [(name, list(d["shape_signature"])) for name, d in details.items()],
                        [(name, list(d["shape_signature"]))
                         for name, d in runner.get_output_details().items()])
        return cls(path, info, interpreter, runner)

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        with self._lock:
            outputs = self.runner(**inputs)  # resizes the interpreter to these shapes
        return next(iter(outputs.values()))
