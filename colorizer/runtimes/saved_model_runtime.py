"""An exported colorizer kept as a TensorFlow SavedModel folder, run by TensorFlow alone.

For TF Serving and TensorFlow programs: the folder serves a ``serving_default`` signature (L,
and hints for a hint-taking model, in; ab out) and holds ``colorizer.json`` beside it. Loading
it imports TensorFlow but not Keras.

Example:
    >>> model = SavedModelColorizer.load("best_saved_model")
    >>> ab = model.predict_on_batch(lightness)
"""
from __future__ import annotations

import os

import numpy as np

from colorizer.runtimes.exported import ExportedColorizer, check_signature
from colorizer.runtimes.metadata import SAVED_MODEL_METADATA, ExportInfo, NotAColorizerError

SIGNATURE = "serving_default"


class SavedModelColorizer(ExportedColorizer):
    """A SavedModel folder's ``serving_default`` signature, run by TensorFlow."""

    runtime = "TensorFlow (SavedModel)"

    def __init__(self, path: str, info: ExportInfo, loaded, function):
        super().__init__(path, info)
        self._loaded, self.function = loaded, function  # the function needs its object alive

    @classmethod
    def load(cls, path: str) -> "SavedModelColorizer":
        """Opens the folder ``path``.

        Raises:
            ModuleNotFoundError: TensorFlow is missing.
            NotAColorizerError: A SavedModel that is not a colorizer export.
            ValueError: A folder TensorFlow cannot load.
        """
        metadata = os.path.join(path, SAVED_MODEL_METADATA)
        text = None
        if os.path.isfile(metadata):
            with open(metadata, encoding="utf-8") as f:
                text = f.read()
        info = ExportInfo.from_json(text, path)
        if info.format != "saved_model":
            raise NotAColorizerError(f"{path} is a SavedModel but says it is a {info.format} "
                                     "export")
        try:
            import tensorflow as tf
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError("a SavedModel needs TensorFlow: pip install tensorflow "
                                      '(or export ONNX and pip install "colorizer[onnx]")',
                                      name="tensorflow") from error
        try:
            loaded = tf.saved_model.load(path)
            function = loaded.signatures[SIGNATURE]
        except Exception as error:  # TensorFlow raises many types for a bad folder
            raise ValueError(f"{path} is not a loadable SavedModel: "
                             f"{' '.join(str(error).split())[:200]}") from error
        _, specs = function.structured_input_signature
        outputs = function.structured_outputs
        check_signature(path, info, [(name, spec.shape.as_list()) for name, spec in specs.items()],
                        [(name, spec.shape.as_list()) for name, spec in outputs.items()])
        return cls(path, info, loaded, function)

    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        outputs = self.function(**inputs)
        return next(iter(outputs.values())).numpy()
