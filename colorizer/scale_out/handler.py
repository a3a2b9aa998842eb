"""The colorizer as a Beam model handler: loaded once per worker, run on batches of photos.

RunInference keeps one model per worker process and hands it to every thread of that
process; each batch it forms may mix working sizes, so the handler runs one network call per
size (the photos of one size stacked, as ``colorize`` stacks them). Any file
``load_colorizer`` reads is a model here: an ONNX or LiteRT export needs no TensorFlow on the
workers, a ``.keras`` file needs the Keras extra there. A model on a remote file system
(``gs://...``) is copied to the worker's local disk once, then loaded.

Example:
    >>> handler = KeyedModelHandler(ColorizerModelHandler("gs://bucket/best.onnx"))
    >>> results = keyed_photos | RunInference(handler)
"""
from __future__ import annotations

import collections
import inspect
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from apache_beam.transforms.util import BatchElements

from colorizer.inference.full_resolution import predict_ab_batch
from colorizer.scale_out.storage import is_local

MAX_BATCH_PIXELS = 48_000_000
"""Full-size pixels one batch may hold (the L its photos keep for the merge), as ``colorize``
bounds what it holds: a worker's memory stays bounded however large the photos are."""


class WorkingInput(NamedTuple):
    """One photo's example: its working-size L, and the full-size pixels its key holds."""

    lightness: np.ndarray
    """``(h, w, 1)`` float32."""
    pixels: int


class ColorizerModelHandler(ModelHandler[WorkingInput, PredictionResult, Any]):
    """Runs photos' working-size L through a colorizer; each result's ``inference`` is
    ``(ab (h, w, 2), seconds)``, the seconds being this photo's share of its network call.
    Batches stay under :data:`MAX_BATCH_PIXELS` full-size pixels, and ``batch_size`` photos.

    Args:
        model_path: A model file (``.onnx``, ``.tflite``, ``.keras``) or a local SavedModel
            folder, on any Beam file system.
        batch_size: Most photos in one batch.
        temperature: For a ``.keras`` model with the classification head, the annealed mean's
            temperature (an exported file carries its own).
    """

    def __init__(self, model_path: str, *, batch_size: int = 8,
                 temperature: float | None = None):
        super().__init__()
        self.batch_size = batch_size
        self.model_path = model_path
        self.temperature = temperature

    def batch_elements_kwargs(self) -> dict[str, Any]:
        limits: dict[str, Any] = {"min_batch_size": 1, "max_batch_size": self.batch_size}
        if _WEIGHED_BATCHES:  # newer Beam; with an older one batch_size x the pixel cap bounds it
            limits.update(max_batch_weight=MAX_BATCH_PIXELS, element_size_fn=_pixels)
        return limits

    def load_model(self):
        from colorizer.runtimes.network import load_colorizer, set_temperature

        model = load_colorizer(_local_copy(self.model_path))
        if self.temperature is not None:
            set_temperature(model, self.temperature)
        return model

    def run_inference(self, batch: Sequence[WorkingInput], model,
                      inference_args: dict | None = None) -> Iterable[PredictionResult]:
        by_size: dict[tuple, list[int]] = collections.defaultdict(list)
        for index, example in enumerate(batch):
            by_size[example.lightness.shape].append(index)
        results: list[PredictionResult | None] = [None] * len(batch)
        for indices in by_size.values():
            start = time.perf_counter()
            ab = predict_ab_batch(model, np.stack([batch[i].lightness for i in indices]))
            share = (time.perf_counter() - start) / len(indices)
            for i, ab_small in zip(indices, ab):
                results[i] = PredictionResult(batch[i], (ab_small, share))
        return results

    def get_num_bytes(self, batch: Sequence[WorkingInput]) -> int:
        return sum(example.lightness.nbytes for example in batch)

    def get_metrics_namespace(self) -> str:
        return "colorizer"


_WEIGHED_BATCHES = "max_batch_weight" in inspect.signature(BatchElements).parameters
"""Whether this Beam's batches can be bounded by a weight beside their count."""


def _pixels(example: WorkingInput) -> int:
    return example.pixels


def _local_copy(path: str) -> str:
    """``path`` itself when local; else a copy on this worker's disk, made once per process."""
    if is_local(path):
        return path
    name = path.rstrip("/").rsplit("/", 1)[-1]
    local = os.path.join(tempfile.gettempdir(), f"colorizer-model-{os.getpid()}-{name}")
    if not os.path.exists(local):
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as source, \
                open(local + ".part", "wb") as target:
            while chunk := source.read(16 * 2**20):
                target.write(chunk)
        os.replace(local + ".part", local)
    return local
