"""An ONNX colorizer with 8-bit weights and activations, calibrated on the user's own photos.

    float ONNX file -> ONNX Runtime's shape pre-processing -> the network run on the
      calibration photos (their L at the working size; hints from their own colour for a
      model that takes them) to find each activation's range -> QDQ int8 file (weights per
      channel, activations per tensor)

ONNX Runtime runs the 8-bit convolutions with integer kernels (VNNI where the processor has
it), so the file runs faster and is a third of the float file's size; its colour strays a
little from the float model's (``benchmarks/runtimes.json``: ``int8`` rows). The activations'
ranges come from photos like those it will colour: a few dozen of the user's own are enough.

Example:
    >>> quantize_onnx("best-float.onnx", "best.onnx", calibration_feeds(paths, info))
"""
from __future__ import annotations

import os
import tempfile
from typing import Iterable

import numpy as np

from colorizer.color import rgb_to_lab
from colorizer.data.images import ImageReadError, list_images, read_rgb
from colorizer.model.hint_encoding import encode_hints
from colorizer.runtimes.metadata import ExportInfo

CALIBRATION_SIZE = 224
"""Side of the square the calibration photos are brought to: the working size's pixels."""
MAX_CALIBRATION_PHOTOS = 64
"""At most this many photos are run (spread over those given): ranges settle within dozens."""
MIN_CALIBRATION_PHOTOS = 4
CALIBRATION_HINTS = 5
"""Hints per calibration photo for a model that takes them (5 x 5 patches of its own colour);
every other photo gets none, as a user's automatic colour does."""


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


def calibration_feeds(paths: list[str], info: ExportInfo, input_names: list[str],
                      seed: int = 0) -> list[dict[str, np.ndarray]]:
    """The network's inputs for each readable calibration photo (unreadable ones skipped).

    Each photo is centre-cropped to a square and resized to :data:`CALIBRATION_SIZE`; its L
    is what the network reads, and a model that takes hints gets, on every other photo,
    :data:`CALIBRATION_HINTS` patches of the photo's own colour.
    """
    import cv2

    rng = np.random.default_rng(seed)
    feeds = []
    for index, path in enumerate(paths):
        try:
            rgb = read_rgb(path)
        except ImageReadError:
            continue
        height, width = rgb.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = cv2.resize(rgb[top:top + side, left:left + side],
                            (CALIBRATION_SIZE, CALIBRATION_SIZE), interpolation=cv2.INTER_AREA)
        lab = np.asarray(rgb_to_lab(square.astype(np.float32) / 255.0), np.float32)
        feed = {input_names[0]: lab[None, ..., :1]}
        if info.takes_hints:
            mask = np.zeros(lab.shape[:2], np.float32)
            if index % 2:
                for _ in range(CALIBRATION_HINTS):
                    row, col = rng.integers(0, CALIBRATION_SIZE - 5, 2)
                    mask[row:row + 5, col:col + 5] = 1.0
            feed[input_names[1]] = encode_hints(lab[..., 1:], mask)[None]
        feeds.append(feed)
    if len(feeds) < MIN_CALIBRATION_PHOTOS:
        raise ValueError(f"only {len(feeds)} of the {len(paths)} calibration photos could be "
                         f"read; int8 needs at least {MIN_CALIBRATION_PHOTOS}")
    return feeds


def quantize_onnx(float_path: str, out_path: str, photos: list[str], info: ExportInfo) -> int:
    """Writes ``out_path``, the int8 version of the float ONNX file ``float_path``.

    Returns:
        How many calibration photos set the activations' ranges.
    """
    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationDataReader, QuantFormat, QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    session = onnxruntime.InferenceSession(float_path, providers=["CPUExecutionProvider"])
    names = [tensor.name for tensor in session.get_inputs()]
    feeds = calibration_feeds(photos, info, names)

    class Photos(CalibrationDataReader):
        def __init__(self):
            self.remaining = iter(feeds)

        def get_next(self):
            return next(self.remaining, None)

    with tempfile.TemporaryDirectory(prefix="colorizer-int8-") as folder:
        prepared = os.path.join(folder, "prepared.onnx")
        # Shapes and folded constants first, as ONNX Runtime advises before quantizing.
        quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
        quantize_static(prepared, out_path, Photos(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    return len(feeds)
