"""An ONNX colorizer with 8-bit weights and activations, calibrated on the user's own photos.

    float ONNX file -> ONNX Runtime's shape pre-processing -> the network run on the
      calibration photos (their L at the working size; hints from their own colour for a
      model that takes them) to find each activation's range -> QDQ int8 file (weights per
      channel, activations per tensor)

ONNX Runtime runs the 8-bit convolutions with integer kernels (VNNI where the processor has
it), so the file runs faster and is a third of the float file's size; its colour strays a
little from the float model's (``benchmarks/runtimes.json``: ``int8`` rows). The activations'
ranges come from photos like those it will colour: a few dozen of the user's own are enough,
and the file is checked on them (a drawn test photo unlike any photo would be coloured far
off by ranges set on photos, and says little about the user's).

Example:
    >>> checked_on = quantize_onnx("best-float.onnx", "best.onnx", photos, info)
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterable

import numpy as np

from colorizer.color import rgb_to_lab
from colorizer.data.images import (
    ImageReadError, center_crop, list_images, read_rgb, resize_short_side)
from colorizer.model.hint_encoding import encode_hints
from colorizer.runtimes.metadata import ExportInfo

CALIBRATION_SIZE = 224
"""Side of the square the calibration photos are brought to: the working size's pixels."""
MAX_CALIBRATION_PHOTOS = 64
"""At most this many photos are run (spread over those given): ranges settle within dozens."""
MIN_CALIBRATION_PHOTOS = 4
CALIBRATION_PERCENTILE = 99.99
"""Activation ranges cover this percentile of the calibration values, not their extremes:
finer steps for the values that matter (ab RMSE from the float file 0.86 against 1.22)."""
FLOAT_INPUT_LAYER = "to_imagenet_rgb"
FLOAT_HINT_SPREAD = "hints_spread"
LAST_BLOCK_RELU = "decoder3_relu"
"""Keras layer names, which the exported graph's node names carry."""
CALIBRATION_HINTS = 5
"""Hints per calibration photo for a model that takes them (5 x 5 patches of its own colour);
every other photo gets none, as a user's automatic colour does."""


def float_nodes(path: str) -> list[str]:
    """The nodes left in float32: L's conversion to the encoder's input, the hints' spread
    (ratios of sums, some of them small, and a few cells' work), and everything from the last
    decoder block's convolution on (the head, the hints' mix).

    Measured on the cats and dogs (the 30-minute budget model, 24 held-out photos, ab RMSE from
    the float file): all quantized 3.96, the last block and head kept float 1.22, the input's
    conversion too 1.22, with percentile ranges 0.86; the kept nodes are a small part of the
    work, so the speed stays (1.5x to 1.65x the float file's photos per second).
    """
    import onnx

    nodes = list(onnx.load(path, load_external_data=False).graph.node)  # topological order
    kept = [node.name for node in nodes
            if FLOAT_INPUT_LAYER in node.name or FLOAT_HINT_SPREAD in node.name]
    blocks = [i for i, node in enumerate(nodes) if LAST_BLOCK_RELU in node.name]
    if blocks:
        # The convolution feeding the last block's activation (its BatchNorm folded in), on.
        kept += [node.name for node in nodes[max(0, blocks[-1] - 1):]]
    return kept


def calibration_photos(paths: Iterable[str | os.PathLike]) -> list[str]:
    """The photo files among ``paths`` (files and folders, folders searched below), spread
    evenly to at most :data:`MAX_CALIBRATION_PHOTOS`.

    Raises:
        ValueError: Fewer than :data:`MIN_CALIBRATION_PHOTOS` photos were found.
    """
    found: list[str] = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            found += list_images(path)
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise FileNotFoundError(f"calibration photos: {path} does not exist")
    if len(found) < MIN_CALIBRATION_PHOTOS:
        raise ValueError(f"int8 needs at least {MIN_CALIBRATION_PHOTOS} calibration photos like "
                         f"those the model will colour (found {len(found)}); give a folder "
                         "of them with --calibration")
    step = max(1, len(found) // MAX_CALIBRATION_PHOTOS)
    return found[::step][:MAX_CALIBRATION_PHOTOS]


def calibration_feeds(paths: list[str], info: ExportInfo,
                      seed: int = 0) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The network's inputs, ``(L, hints or None)`` each ``(1, h, w, c)``, for each readable
    calibration photo (unreadable ones skipped).

    Each photo is brought to a :data:`CALIBRATION_SIZE` square (short side resized, centre
    cropped); its L is what the network reads, and a model that takes hints gets, on every
    other photo, :data:`CALIBRATION_HINTS` patches of the photo's own colour.
    """
    rng = np.random.default_rng(seed)
    feeds = []
    for index, path in enumerate(paths):
        try:
            rgb = read_rgb(path)
        except ImageReadError:
            continue
        square = center_crop(resize_short_side(rgb, CALIBRATION_SIZE), CALIBRATION_SIZE)
        lab = np.asarray(rgb_to_lab(square.astype(np.float32) / 255.0), np.float32)
        hints = None
        if info.takes_hints:
            mask = np.zeros(lab.shape[:2], np.float32)
            if index % 2:
                for _ in range(CALIBRATION_HINTS):
                    row, col = rng.integers(0, CALIBRATION_SIZE - 5, 2)
                    mask[row:row + 5, col:col + 5] = 1.0
            hints = encode_hints(lab[..., 1:], mask)[None]
        feeds.append((lab[None, ..., :1], hints))
    if len(feeds) < MIN_CALIBRATION_PHOTOS:
        raise ValueError(f"only {len(feeds)} of the {len(paths)} calibration photos could be "
                         f"read; int8 needs at least {MIN_CALIBRATION_PHOTOS}")
    return feeds


def quantize_onnx(float_path: str, out_path: str, photos: list[str],
                  info: ExportInfo) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Writes ``out_path``, the int8 version of the float ONNX file ``float_path``.

    Returns:
        The calibration photos' inputs, ``(L, hints or None)`` each, ``(1, h, w, c)``: the
        photos that set the activations' ranges, on which the file is then checked.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    feeds = calibration_feeds(photos, info)

    class Photos(CalibrationDataReader):
        def __init__(self):
            # The graph's inputs carry the names the metadata lists (the export checks it).
            self.remaining = (dict(zip(info.inputs, (x for x in feed if x is not None)))
                              for feed in feeds)

        def get_next(self):
            return next(self.remaining, None)

    with tempfile.TemporaryDirectory(prefix="colorizer-int8-") as folder:
        prepared = os.path.join(folder, "prepared.onnx")
        # Shapes and folded constants first, as ONNX Runtime advises before quantizing.
        quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
        with contextlib.redirect_stdout(io.StringIO()):  # it prints its percentile
            quantize_static(prepared, out_path, Photos(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.Percentile,
                            extra_options={"CalibPercentile": CALIBRATION_PERCENTILE},
                            nodes_to_exclude=float_nodes(prepared))
    return feeds
