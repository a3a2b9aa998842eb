"""colorizer: turn grayscale photos into colour ones with a DenseNet121-based network.

The package follows the data flow, one subpackage per stage; imports run one way, from the
command line down to the base modules:

* ``colorizer.data``: photos in (folders, URLs, Oxford-IIIT Pet, Drive archives), checked,
  split, written to TFRecord shards, and read back as ``tf.data`` (L, ab) batches;
* ``colorizer.model``: the network (DenseNet121 up to ``pool2_pool``, then a decoder), its
  layers and its two heads (regression, classification over ab bins);
* ``colorizer.training``: resumable training, augmentation inside the training step,
  callbacks, crash-safe backups, strategies;
* ``colorizer.evaluation``: per-image metrics beside gray and ground truth, reports, figures;
* ``colorizer.runtimes``: the network run from a ``.keras`` file by Keras, or from an exported
  file (ONNX, LiteRT, SavedModel) with no Keras imported;
* ``colorizer.export``: a ``.keras`` colorizer written as ONNX, LiteRT or a SavedModel, checked;
* ``colorizer.inference``: photos: one photo at full resolution, its L kept, written;
* ``colorizer.guided``: guided colour: hints and a reference photo steer a photo's colour,
  and ``colorize``, the one front door for a photo;
* ``colorizer.films``: films: frames through the photo path, colour steadied along the
  motion, hints that follow it, sound kept;
* ``colorizer.batches``: files, folders and links in (photos, guided photos, films), files and
  a manifest out;
* ``colorizer.app``: the web app (``colorizer app``; Gradio, from the ``app`` extra);
* ``colorizer.cli``: the ``colorizer`` command and the offline demo;
* base modules every stage may use: ``backend`` (TensorFlow or JAX, chosen before Keras
  loads), ``color`` (sRGB <-> Lab), ``gamut`` (the ab bins),
  ``fileio`` (atomic writes), ``plots``, ``notebook`` (Colab helpers), ``lazy``.

Example:
    >>> import colorizer
    >>> model = colorizer.load_colorizer("runs/demo/model.keras")
    >>> rgb = colorizer.colorize(model, colorizer.read_rgb("photo.jpg"))
"""
from __future__ import annotations

from colorizer.lazy import lazy_exports

__version__ = "0.1.0"

# Common entry points, imported on first use so `import colorizer` stays cheap and the
# command line's --help never waits for TensorFlow.
__getattr__, __dir__ = lazy_exports(__name__, {
    "build_colorizer": "colorizer.model.network",
    "load_colorizer": "colorizer.runtimes.network",  # .keras or exported files alike
    "make_dataset": "colorizer.data.pipeline",
    "train": "colorizer.training.train",
    "colorize": "colorizer.guided.guided",
    "colorize_inputs": "colorizer.batches.batch",
    "read_rgb": "colorizer.data.images",
    "rgb_to_lab": "colorizer.color",
    "lab_to_rgb": "colorizer.color",
    "use_backend": "colorizer.backend",
})
