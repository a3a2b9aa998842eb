"""Stage 4, export: a trained Keras colorizer written for other runtimes.

``colorizer export --model best.keras --format onnx|litert|saved_model`` writes the network
(its colour gain or temperature baked in) with what :mod:`colorizer.runtimes` needs beside it
(:class:`~colorizer.runtimes.metadata.ExportInfo`), then loads the file with its own runtime
and checks that it colours a test photo as the Keras model does. Needs TensorFlow (Keras'
exporters trace the model with it) and, for ONNX, ``pip install "colorizer[export]"``.

Example:
    >>> from colorizer.export import export_colorizer
    >>> result = export_colorizer("runs/pets/best.keras", "onnx")
    >>> result.path, result.info.max_ab_difference
    ('runs/pets/best.onnx', 0.0001)
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "export_colorizer": "colorizer.export.exporter",
    "default_output": "colorizer.export.exporter",
    "ExportResult": "colorizer.export.exporter",
})
