"""An exported colorizer run by ONNX Runtime (``pip install "colorizer[onnx]"``).

Example:
    >>> model = OnnxColorizer.load("best.onnx")
    >>> ab = model.predict_on_batch(lightness)     # (N, H, W, 1) -> (N, H, W, 2)
"""
from __future__ import annotations

import numpy as np

from colorizer.runtimes.exported import ExportedColorizer, check_signature
from colorizer.runtimes.metadata import METADATA_KEY, ExportInfo, NotAColorizerError

INSTALL = 'ONNX Runtime is not installed: pip install "colorizer[onnx]"'


class OnnxColorizer(ExportedColorizer):
    """A ``.onnx`` file on ONNX Runtime's CPU provider (every core, one session per file)."""

    runtime = "ONNX Runtime"

    def __init__(self, path: str, info: ExportInfo, session):
        super().__init__(path, info)
        self.session = session

    @classmethod
    def load(cls, path: str) -> "OnnxColorizer":
        """Opens ``path``; a damaged file or a foreign graph fails in one line.

        Raises:
            ModuleNotFoundError: ONNX Runtime is missing (the message says how to install it).
            NotAColorizerError: An ONNX file that is not a colorizer export.
            ValueError: A file ONNX Runtime cannot read (damaged, cut short, not ONNX).
        """
        try:
            import onnxruntime
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(INSTALL, name="onnxruntime") from error
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its warnings are about graph rewrites, not the user's
        # Its threads wait for work by spinning, after every run: the full-size merge that
        # follows the network (NumPy and OpenCV on every core) would share the cores with them.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = onnxruntime.InferenceSession(path, options,
                                                   providers=["CPUExecutionProvider"])
        except Exception as error:  # ONNX Runtime raises its own types for a bad file
            raise ValueError(f"{path} is not a readable ONNX model (damaged or cut short?): "
                             f"{' '.join(str(error).split())[:200]}") from error
        text = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        info = ExportInfo.from_json(text, path)
        if info.format != "onnx":
            raise NotAColorizerError(f"{path} holds ONNX but says it is a {info.format} export")
        check_signature(path, info, [(i.name, i.shape) for i in session.get_inputs()],
                        [(o.name, o.shape) for o in session.get_outputs()])
        return cls(path, info, session)

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, inputs)[0]  # a session runs calls from many threads
