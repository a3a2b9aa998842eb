"""The TFRecord format of prepared datasets: one encoded photo per record, with its labels.

Shards are named ``{split}-{index:05d}-of-{count:05d}.tfrecord`` inside one folder, beside an
``index.json`` written by ``colorizer prepare``. Images are stored encoded (JPEG without chroma
subsampling, or PNG), already resized, so reading them is one decode.
"""
from __future__ import annotations

import os

import tensorflow as tf

SHARD_SUFFIX = ".tfrecord"

FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/name": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "image/height": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "image/width": tf.io.FixedLenFeature([], tf.int64, default_value=0),
    "label/class": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "label/species": tf.io.FixedLenFeature([], tf.string, default_value=""),
}
"""Feature spec of one record; labels are empty strings where unknown."""


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def serialize_example(encoded: bytes, *, name: str = "", height: int = 0, width: int = 0,
                      label: str = "", species: str = "") -> bytes:
    """Builds one serialized record.

    Args:
        encoded: The encoded image (JPEG or PNG bytes).
        name: The image's file name, for reports.
        height: Its height in pixels.
        width: Its width in pixels.
        label: Fine class (a breed, for Oxford-IIIT Pet), or ``""``.
        species: Coarse class (``"cat"`` or ``"dog"``), or ``""``.
    """
    feature = {
        "image/encoded": _bytes(encoded),
        "image/name": _bytes(name.encode("utf-8")),
        "image/height": _int(height),
        "image/width": _int(width),
        "label/class": _bytes(label.encode("utf-8")),
        "label/species": _bytes(species.encode("utf-8")),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses one serialized record into the tensors of :data:`FEATURES`."""
    return tf.io.parse_single_example(serialized, FEATURES)


def shard_name(split: str, index: int, count: int) -> str:
    """The file name of shard ``index`` of ``count`` in ``split``."""
    return f"{split}-{index:05d}-of-{count:05d}{SHARD_SUFFIX}"


def find_shards(folder_or_pattern: str, split: str | None = None) -> list[str]:
    """The shard files of a prepared dataset, optionally of one split only.

    Args:
        folder_or_pattern: A folder holding shards, or a glob such as ``gs://b/train-*``.
        split: ``"train"``, ``"val"``, ``"test"`` or ``None`` for every shard.
    """
    if tf.io.gfile.isdir(folder_or_pattern):
        prefix = f"{split}-" if split else ""
        pattern = os.path.join(folder_or_pattern, f"{prefix}*{SHARD_SUFFIX}")
    else:
        pattern = folder_or_pattern
    return sorted(tf.io.gfile.glob(pattern))


def is_shard_source(source) -> bool:
    """True for a shard file, a shard glob, or a folder that holds shards."""
    if isinstance(source, (list, tuple)):
        return bool(source) and all(os.fspath(s).endswith(SHARD_SUFFIX) for s in source)
    source = os.fspath(source)
    if source.endswith(SHARD_SUFFIX) or "*" in source:
        return True
    return tf.io.gfile.isdir(source) and bool(find_shards(source))
