"""colorizer: turn grayscale photos into colour ones with a DenseNet121-based network.

The package is imported by the notebooks and the ``colorizer`` command line. Modules, one job
each: ``color`` (sRGB <-> Lab), ``model`` (the network), ``data`` (tf.data pipelines), ``train``
(resumable training), ``infer`` (full-resolution colorization), ``batch_colorize`` (files,
folders and URLs in, photos and a manifest out), ``metrics`` (the paper's metrics and
baselines), ``demo`` (the offline end-to-end job).

Example:
    >>> import colorizer
    >>> model = colorizer.load_colorizer("runs/demo/model.keras")
    >>> rgb = colorizer.colorize(model, colorizer.read_rgb("photo.jpg"))
"""
from __future__ import annotations

__version__ = "0.1.0"

# Common entry points, imported on first use so `import colorizer` stays cheap and the
# command line's --help never waits for TensorFlow.
_LAZY = {
    "build_colorizer": "colorizer.model",
    "load_colorizer": "colorizer.model",
    "make_dataset": "colorizer.data",
    "train": "colorizer.train",
    "colorize": "colorizer.infer",
    "colorize_inputs": "colorizer.batch_colorize",
    "read_rgb": "colorizer.images",
    "rgb_to_lab": "colorizer.color",
    "lab_to_rgb": "colorizer.color",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'colorizer' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
