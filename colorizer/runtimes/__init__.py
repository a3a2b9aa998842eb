"""Stage 3, runtimes: run the network, "L (and hints) in, ab out", from any model file.

A colorizer is either a Keras model (``.keras``, run by Keras on TensorFlow or JAX) or a file
``colorizer export`` wrote (:mod:`colorizer.export`): ONNX (run by ONNX Runtime), LiteRT
(``.tflite``, run by LiteRT) or a TensorFlow SavedModel folder. Each exported file carries what
``colorize`` needs to treat it exactly as the Keras model it came from (its head, whether it
takes hints, the working size rule, its colour setting: :mod:`.metadata`), so the file alone
is enough.

Everything above this stage (photos, guided colour, films, batches, the web app) asks this
stage, not Keras, what a model takes (:func:`.network.takes_hints`, :func:`.network.head_of`)
and how to feed it (:func:`.network.model_inputs`); both kinds answer ``predict_on_batch``.
Importing this stage imports neither Keras, TensorFlow nor JAX: an exported file runs where
only ``pip install "colorizer[onnx]"`` (or ``[litert]``) was installed.

Example:
    >>> from colorizer.runtimes import load_colorizer
    >>> model = load_colorizer("runs/pets/best.onnx")     # or best.keras, best.tflite
    >>> rgb = colorizer.colorize(model, colorizer.read_rgb("grandma.jpg"))
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "load_colorizer": "colorizer.runtimes.network",
    "takes_hints": "colorizer.runtimes.network",
    "head_of": "colorizer.runtimes.network",
    "model_inputs": "colorizer.runtimes.network",
    "ExportedColorizer": "colorizer.runtimes.exported",
    "ExportInfo": "colorizer.runtimes.metadata",
})
