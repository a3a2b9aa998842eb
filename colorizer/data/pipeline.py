"""``tf.data`` pipelines that turn photos into (L, ab) training batches.

    files | folder | TFRecord shards (read in parallel)
      -> decode, make RGB, resize the short side, (centre crop,) -> Lab   (once: cached)
      -> shuffle -> random crop, rotation, flips in one resampling (training)
      -> batch -> noise on L (training)
      -> (L, ab) -> prefetch

The colour conversion runs once per photo, before the cache, instead of once per epoch: it is
the most expensive step after decoding, and crops, flips and rotations commute with it (a
rotation interpolates Lab instead of sRGB values, a difference too small to matter for
training). The cache holds Lab in float16, twice the size of the 8-bit photos (about 0.5 MB per
photo at the default sizes); pass ``cache=`` a file path when that does not fit in memory.

Under a multi-worker ``tf.distribute`` strategy each worker reads its own shards (or, for a
folder of photos, its own share of the batches): the dataset carries the auto-shard policy,
chosen from the ``workers`` the caller passes in.

A file that cannot be decoded is logged, counted in :class:`DecodeStats` and skipped; the epoch
goes on.

Example:
    >>> ds = make_dataset("photos/", batch_size=16, image_size=224, training=True)
    >>> lightness, ab = next(iter(ds))   # (16, 224, 224, 1), (16, 224, 224, 2)
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from typing import Sequence

import numpy as np
import tensorflow as tf

from colorizer.color import srgb8_to_lab
from colorizer.data import records
from colorizer.data.augment import random_crop_augment
from colorizer.data.config import AugmentConfig
from colorizer.data.images import (
    ImageReadError, decode_rgb, list_images, read_rgb, resize_short_side)
from colorizer.data.label_maps import MAX_LABELS, without_label_maps
from colorizer.data.splits import DEFAULT_FRACTIONS, assign_split

log = logging.getLogger(__name__)
AUTOTUNE = tf.data.AUTOTUNE
CACHE_DTYPE = tf.float16
"""Decoded photos are cached as Lab in this type (L and ab to within 0.03)."""


@dataclasses.dataclass
class DecodeStats:
    """Counts the images a pipeline decoded and skipped; thread-safe.

    Attributes:
        decoded: Images decoded successfully.
        skipped: Files that could not be decoded.
        failures: ``(path, reason)`` of the first ``keep`` failures.
    """

    decoded: int = 0
    skipped: int = 0
    failures: list = dataclasses.field(default_factory=list)
    keep: int = 100
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def ok(self) -> None:
        with self._lock:
            self.decoded += 1

    def fail(self, path: str, reason: str) -> None:
        with self._lock:
            self.skipped += 1
            if len(self.failures) < self.keep:
                self.failures.append((path, reason))


def resolve_files(source, split: str | None = None, fractions=DEFAULT_FRACTIONS,
                  seed: int = 0) -> list[str]:
    """The image files of ``source`` (a folder, a file, or a list of either), one split only
    when ``split`` is given (assigned from each file's path relative to its folder). Label
    maps found in folders (:mod:`colorizer.data.label_maps`) are left out."""
    sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if split is None:
        return [p for item in map(os.fspath, sources)
                for p in (_folder_photos(item) if os.path.isdir(item) else [item])]
    chosen = []
    for item in map(os.fspath, sources):
        if os.path.isdir(item) or tf.io.gfile.isdir(item):
            chosen += [p for p in _folder_photos(item)
                       if assign_split(os.path.relpath(p, item), fractions, seed) == split]
        elif assign_split(os.path.basename(item), fractions, seed) == split:
            chosen.append(item)
    return chosen


def _folder_photos(folder: str) -> list[str]:
    """The images of a folder, without the label maps (masks, trimaps) datasets keep there."""
    photos, label_maps = without_label_maps(list_images(folder))
    if label_maps:
        log.info("%s: left out %d label maps (single-channel images of at most %d values), "
                 "e.g. %s", folder, len(label_maps), MAX_LABELS, label_maps[0])
    return photos


def resolve_source(source, split: str | None = None, *,
                   seed: int = 0) -> tuple[bool, list[str]]:
    """The files a dataset source stands for: ``(True, shard files)`` for TFRecord shards, or
    ``(False, image files)`` for folders and images, of one split when ``split`` is given.

    Raises:
        FileNotFoundError: The source holds no shard or image (of that split).
    """
    if records.is_shard_source(source):
        files = (list(map(os.fspath, source)) if isinstance(source, (list, tuple))
                 else records.find_shards(os.fspath(source), split))
        if not files:
            raise FileNotFoundError(f"no {split or ''} shards found in {source}")
        return True, files
    files = resolve_files(source, split, seed=seed)
    if not files and split is not None:
        every = resolve_files(source, None)
        if every:  # a folder of photos, none of which the path hash puts in this split
            raise FileNotFoundError(
                f"none of the {len(every)} images in {source} falls in split {split!r} (a "
                f"folder is split by a hash of each file's path, as `colorizer train` splits "
                f"it): to use them all, pass split=None (`--split all` on the command line)")
    if not files:
        raise FileNotFoundError(f"no images found in {source}" + (
            f" for split {split!r}" if split else ""))
    return False, files


def source_length(source, split: str | None, from_shards: bool,
                  files: Sequence[str], training_epoch: bool = False) -> int | None:
    """How many images ``source`` holds (of ``split``), or ``None`` when it does not say.

    Shards are counted by the ``index.json`` that ``colorizer prepare`` wrote beside them (every
    record in them was decoded once already), trusted only when it lists exactly the shard
    files found. A folder of photos says how many files it holds, not how many of them are
    readable: its count is only given for a training epoch (``training_epoch``), which repeats
    the photos and takes that many from the stream.
    """
    if not from_shards:
        # A training epoch repeats the photos and takes this many, so one that turns out
        # unreadable is made up for by the next ones rather than shortening the epoch.
        return len(files) if training_epoch else None
    if isinstance(source, (list, tuple)) or not tf.io.gfile.isdir(os.fspath(source)):
        return None
    try:
        with tf.io.gfile.GFile(os.path.join(os.fspath(source), "index.json")) as f:
            index = json.load(f)
        splits = [index["splits"][split]] if split else list(index["splits"].values())
        listed = {shard["file"] for info in splits for shard in info["shards"]}
        total = sum(int(info["images"]) for info in splits)
    except (OSError, ValueError, KeyError, TypeError, tf.errors.OpError):
        return None
    return total if listed == {os.path.basename(f) for f in files} else None


def read_resized_or_skip(path: str, short_side: int,
                         stats: DecodeStats) -> tuple[np.ndarray, bool]:
    """Reads ``path`` resized to ``short_side``; an unreadable file is logged, counted in
    ``stats`` and answered with ``(placeholder, False)`` so a pipeline can filter it out."""
    try:
        rgb = resize_short_side(read_rgb(path, max_side=short_side), short_side)
    except ImageReadError as error:
        log.warning("skipping %s", error)
        stats.fail(path, str(error).removeprefix(f"{path}: "))
        return np.zeros((1, 1, 3), np.uint8), False
    stats.ok()
    return rgb, True


def _no_labels(count: int) -> dict[str, list[str]]:
    return {"breed": [""] * count, "species": [""] * count}


def decode_files(paths: Sequence[str], short_side: int, stats: DecodeStats, *,
                 names: Sequence[str] | None = None,
                 labels: dict[str, Sequence[str]] | None = None) -> tf.data.Dataset:
    """Decodes image files in parallel with Pillow, in order, skipping unreadable ones.

    Args:
        paths: Image files.
        short_side: Each image is resized to this short side.
        stats: Counts decoded and skipped files.
        names: A name per file for reports; the paths by default.
        labels: ``{"breed": [...], "species": [...]}``, one entry per file; empty by default.

    Returns:
        A dataset of ``(uint8 image (H, W, 3), info)``, ``info`` a dict of string scalars
        ``name``, ``breed`` and ``species``.
    """
    paths = list(paths)
    labels = labels or _no_labels(len(paths))
    info = {"name": list(names) if names is not None else paths,
            "breed": list(labels["breed"]), "species": list(labels["species"])}

    def load(path_bytes, side):
        return read_resized_or_skip(path_bytes.decode("utf-8"), int(side), stats)

    def load_tf(path, info):
        image, ok = tf.numpy_function(load, [path, short_side], [tf.uint8, tf.bool],
                                      stateful=False)
        image.set_shape([None, None, 3])
        ok.set_shape([])
        return image, info, ok

    ds = tf.data.Dataset.from_tensor_slices((paths, info))
    ds = ds.map(load_tf, num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.filter(_is_ok).map(_drop_ok)


def _is_ok(image, info, ok):
    return ok


def _drop_ok(image, info, ok):
    # Named functions, not two lambdas on one line: AutoGraph cannot tell those apart and
    # warns on every pipeline built.
    return image, info


def read_record_or_skip(serialized: bytes, where: str, short_side: int,
                        stats: DecodeStats) -> tuple[np.ndarray, bytes, bytes, bytes, bool]:
    """Parses one shard record and decodes its photo resized to ``short_side``.

    A record that is not a ``tf.train.Example`` or whose image does not decode is logged,
    counted in ``stats`` under ``where`` (``shard#record``) and answered with ``ok`` False,
    as :func:`read_resized_or_skip` does for files.

    Returns:
        ``(uint8 image, name, breed, species, ok)``.
    """
    try:
        features = tf.train.Example.FromString(serialized).features.feature
        encoded = features["image/encoded"].bytes_list.value[0]
        rgb = resize_short_side(decode_rgb(encoded, name=where, max_side=short_side),
                                short_side)
    except ImageReadError as error:
        reason = str(error).removeprefix(f"{where}: ")
    except Exception as error:  # a damaged record: protobuf DecodeError, missing image
        reason = f"not a readable record ({type(error).__name__}: {error})"
    else:
        stats.ok()

        def text(key: str) -> bytes:
            values = features[key].bytes_list.value if key in features else []
            return bytes(values[0]) if values else b""

        return rgb, text("image/name"), text("label/class"), text("label/species"), True
    log.warning("skipping %s: %s", where, reason)
    stats.fail(where, reason)
    return np.zeros((1, 1, 3), np.uint8), b"", b"", b"", False


def _raw_records_in_order(files: Sequence[str], stats: DecodeStats):
    """``(shard, index, record)`` of each shard in turn; a shard damaged mid-way (bad
    length or checksum) is reported and read up to the damage."""
    for path in files:
        index = 0
        try:
            for record in tf.data.TFRecordDataset(path):
                yield path, index, record.numpy()
                index += 1
        except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as error:
            reason = f"damaged shard after record {index} ({error.message.splitlines()[0]})"
            log.warning("%s: %s", path, reason)
            stats.fail(path, reason)


def decode_shards(files: Sequence[str], short_side: int, stats: DecodeStats | None = None, *,
                  interleave: bool = True) -> tf.data.Dataset:
    """Reads prepared TFRecord shards and decodes their images, with their labels.

    A record that cannot be parsed or decoded is counted in ``stats`` as
    ``SHARD#RECORD`` with its reason, like an unreadable file, and skipped.

    Args:
        files: Shard files.
        short_side: Each image is resized to this short side.
        stats: Counts decoded and skipped records.
        interleave: Read the shards in parallel (training; a damaged shard is read up to
            the damage, which TensorFlow logs); ``False`` reads them one after the other, so
            records keep the order ``prepare`` wrote, and a damaged shard is counted in
            ``stats`` too (evaluation).

    Returns:
        A dataset of ``(uint8 image (H, W, 3), info)``, ``info`` a dict of string scalars
        ``name`` (``record-N`` where a record has none), ``breed`` and ``species``.
    """
    stats = stats if stats is not None else DecodeStats()
    files = list(files)

    def records_of(path):
        raw = tf.data.TFRecordDataset(path).ignore_errors(log_warning=True)
        return raw.enumerate().map(lambda index, record: (path, index, record))

    if interleave:
        ds = tf.data.Dataset.from_tensor_slices(files).interleave(
            records_of, cycle_length=min(len(files), 16), num_parallel_calls=AUTOTUNE)
    else:
        ds = tf.data.Dataset.from_generator(
            lambda: _raw_records_in_order(files, stats),
            output_signature=(tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int64),
                              tf.TensorSpec([], tf.string)))

    def load(path, index, record, side):
        where = f"{path.decode('utf-8')}#{int(index)}"
        return read_record_or_skip(record, where, int(side), stats)

    def decode(path, index, record):
        image, name, breed, species, ok = tf.numpy_function(
            load, [path, index, record, short_side],
            [tf.uint8, tf.string, tf.string, tf.string, tf.bool], stateful=False)
        image.set_shape([None, None, 3])
        name = tf.where(tf.strings.length(name) > 0, name,
                        tf.strings.join(["record-", tf.strings.as_string(index)]))
        info = {"name": tf.reshape(name, []), "breed": tf.reshape(breed, []),
                "species": tf.strings.lower(tf.reshape(species, []))}
        return image, info, tf.reshape(ok, [])

    ds = ds.map(decode, num_parallel_calls=AUTOTUNE, deterministic=not interleave)
    return ds.filter(_is_ok).map(_drop_ok)


def _seed_pairs(seed: int) -> tf.data.Dataset:
    """An endless stream of stateless seeds, different every epoch."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)


def make_dataset(
    source,
    *,
    batch_size: int,
    image_size: int = 224,
    training: bool = False,
    split: str | None = None,
    augment: AugmentConfig | None = None,
    cache: bool | str = True,
    shuffle_buffer: int = 2048,
    resize_ratio: float = 8.0 / 7.0,
    repeat: bool = False,
    drop_remainder: bool | None = None,
    seed: int = 0,
    stats: DecodeStats | None = None,
    workers: int = 1,
) -> tf.data.Dataset:
    """Builds a dataset of ``(L, ab)`` batches.

    Args:
        source: A folder (searched recursively), an image file, a list of files or folders,
            or TFRecord shards (a folder of them, a glob, or a list of ``.tfrecord`` files).
            ``gs://`` paths work.
        batch_size: Images per batch.
        image_size: Side of the square crops, a multiple of 8.
        training: Shuffle, crop at random and augment; otherwise centre crops in file order.
        split: ``"train"``, ``"val"`` or ``"test"``: a prepared dataset's shards of that split,
            or the images of a folder that fall in that split by hash of their path.
        augment: Augmentations in training; defaults to the paper's (all on). Ignored when
            ``training`` is False.
        cache: ``True`` caches decoded images in memory, a path caches them on disk.
        shuffle_buffer: Shuffle buffer size (training).
        resize_ratio: Training images are resized to ``image_size * resize_ratio`` on the short
            side before the random crop.
        repeat: Repeat forever (training with ``steps_per_epoch``). Otherwise training
            batches from prepared shards (with their ``index.json``) have a known length:
            one pass's worth of full batches per epoch.
        drop_remainder: Drop the last short batch; defaults to ``training`` (static shapes,
            which TPUs need).
        seed: Seed for shuffling, crops and augmentation.
        stats: Receives decode counts and the names of skipped files.
        workers: Workers of a multi-worker strategy that will each read a part of this
            dataset (:func:`colorizer.training.distribute.num_workers`): shards are split
            between them by file when there are at least as many shards as workers.

    Returns:
        A ``tf.data.Dataset`` of ``(L, ab)``: float32 ``(B, S, S, 1)`` in [0, 100] and
        ``(B, S, S, 2)``, with ``S = image_size``.
    """
    if image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
    stats = stats if stats is not None else DecodeStats()
    augment = (augment or AugmentConfig()) if training else AugmentConfig.none()
    short_side = int(round(image_size * resize_ratio)) if training else image_size
    drop_remainder = training if drop_remainder is None else drop_remainder

    from_shards, files = resolve_source(source, split, seed=seed)
    # A training epoch of known length: Keras then numbers its batches and shows its progress,
    # and an epoch's end never depends on a skipped record. The data repeats, so the images
    # a short last batch would drop start the next epoch instead.
    epoch_batches = 0
    if training and not repeat and workers == 1:
        count = source_length(source, split, from_shards, files, training_epoch=True)
        epoch_batches = (count // batch_size if drop_remainder
                         else -(-count // batch_size)) if count else 0
    if from_shards:
        ds = decode_shards(files, short_side, stats)
        use_file_sharding = len(files) >= workers > 1
    else:
        ds = decode_files(files, short_side, stats)
        use_file_sharding = False
    ds = ds.map(lambda image, info: image)  # training needs no names or labels

    def lab_once(image):
        if not training:  # evaluation crops are fixed: cache only what is used
            image = tf.image.resize_with_crop_or_pad(image, image_size, image_size)
        return tf.cast(srgb8_to_lab(image), CACHE_DTYPE)

    ds = ds.map(lab_once, num_parallel_calls=AUTOTUNE, deterministic=True)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat or epoch_batches:
        ds = ds.repeat()

    if training:
        def crop(lab, seed_pair):
            return random_crop_augment(lab, image_size, augment, seed_pair)

        ds = tf.data.Dataset.zip(ds, _seed_pairs(seed)).map(crop, num_parallel_calls=AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder or bool(epoch_batches))
    if epoch_batches:
        ds = ds.take(epoch_batches)

    def to_l_ab(lab, seed_pair):
        lab = tf.cast(lab, tf.float32)
        lightness, ab = lab[..., :1], lab[..., 1:]
        if training and augment.noise_stddev > 0:
            noise = tf.random.stateless_normal(tf.shape(lightness), seed_pair[::-1],
                                               stddev=augment.noise_stddev)
            lightness = tf.clip_by_value(lightness + noise, 0.0, 100.0)
        return lightness, ab

    ds = tf.data.Dataset.zip(ds, _seed_pairs(seed + 1)).map(to_l_ab, num_parallel_calls=AUTOTUNE)
    options = tf.data.Options()
    # Shards split by file across workers; anything else by batch (each worker keeps 1/N).
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.FILE if use_file_sharding
        else tf.data.experimental.AutoShardPolicy.DATA)
    ds = ds.with_options(options)
    return ds.prefetch(AUTOTUNE)


def pairs_as_inputs(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``(L, ab)`` batches as model inputs without targets: ``((L, ab),)``.

    Training with augmentation on the device needs both at the model's input (the target is
    rotated and flipped with the photo): see :mod:`colorizer.training.augmentation`.
    """
    return dataset.map(lambda lightness, ab: ((lightness, ab),),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

