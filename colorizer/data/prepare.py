"""Turning a folder of photos into TFRecord shards with a fixed train/validation/test split.

Each photo is decoded once, shrunk so its short side is ``short_side`` (never enlarged),
encoded as JPEG (quality 95, no chroma subsampling: colour is what the model learns), and
written to shards of about ``shard_mb`` MB named by :func:`colorizer.data.records.shard_name`. Its
split comes from :func:`colorizer.data.splits.assign_split` on its path relative to the folder, so
adding photos never moves old ones between splits. Unreadable files are reported and skipped.

``index.json`` beside the shards records the settings, the counts and shard files per split,
the labels seen, and the files skipped. Shards are written under temporary names and renamed
only when complete; running the same preparation again finds it done and returns at once.

Example:
    >>> index = prepare_dataset("data/pets/images", "data/pets/shards")
    >>> index["splits"]["train"]["images"]
    5879
"""
from __future__ import annotations

import concurrent.futures
import csv
import glob
import hashlib
import json
import logging
import os
import random
from typing import Mapping

import numpy as np

from colorizer.data import records
from colorizer.data.config import AugmentConfig
from colorizer.data.images import ImageReadError, list_images, read_rgb, resize_short_side
from colorizer.data.splits import DEFAULT_FRACTIONS, assign_split
from colorizer.fileio import read_json, write_json

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
LABELS_NAME = "labels.csv"
INDEX_VERSION = 1


def load_labels(path: str | os.PathLike) -> dict[str, tuple[str, str]]:
    """Reads a labels CSV: a ``file`` column, a class column (``breed``, ``label`` or
    ``class``) and optionally ``species``.

    Returns:
        ``{file: (class, species)}``; ``file`` as written (a name or a relative path).
    """
    labels = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            label = row.get("breed") or row.get("label") or row.get("class") or ""
            labels[row["file"]] = (label, row.get("species") or "")
    return labels


def augment_copy(rgb: np.ndarray, rng: np.random.Generator,
                 config: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """One augmented version of a uint8 RGB photo, as in the paper's enlarged training set:
    a random rotation (borders reflected), random horizontal and vertical flips, and
    Gaussian noise on the lightness (the same on all three channels)."""
    import cv2

    image = rgb
    if config.rotation_degrees > 0:
        angle = rng.uniform(-config.rotation_degrees, config.rotation_degrees)
        height, width = image.shape[:2]
        matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
        image = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
    if config.horizontal_flip and rng.random() < 0.5:
        image = image[:, ::-1]
    if config.vertical_flip and rng.random() < 0.5:
        image = image[::-1]
    if config.noise_stddev > 0:
        # noise_stddev is in L units (0-100); 2.55 maps it to 8-bit levels.
        noise = rng.normal(0.0, config.noise_stddev * 2.55, image.shape[:2] + (1,))
        image = np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def _encode(rgb: np.ndarray) -> bytes:
    import tensorflow as tf

    return tf.io.encode_jpeg(rgb, quality=95, chroma_downsampling=False).numpy()


class _ShardWriter:
    """Writes one split's records into temporary shards of at most ``max_bytes`` each."""

    def __init__(self, folder: str, split: str, max_bytes: int):
        self.folder, self.split, self.max_bytes = folder, split, max_bytes
        self.shards: list[dict] = []  # {"temp", "images", "bytes"}
        self._writer = None

    def write(self, record: bytes) -> None:
        import tensorflow as tf

        if self._writer is None or self.shards[-1]["bytes"] >= self.max_bytes:
            self.close()
            # Not ending in .tfrecord: readers globbing for shards never see a partial one.
            temp = os.path.join(self.folder, f".tmp-{self.split}-{len(self.shards):05d}.part")
            self._writer = tf.io.TFRecordWriter(temp)
            self.shards.append({"temp": temp, "images": 0, "bytes": 0})
        self._writer.write(record)
        self.shards[-1]["images"] += 1
        self.shards[-1]["bytes"] += len(record) + 16  # TFRecord framing per record

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def publish(self) -> list[dict]:
        """Renames the finished shards to their final names; returns their index entries."""
        self.close()
        entries = []
        for i, shard in enumerate(self.shards):
            name = records.shard_name(self.split, i, len(self.shards))
            os.replace(shard["temp"], os.path.join(self.folder, name))
            entries.append({"file": name, "images": shard["images"],
                            "bytes": os.path.getsize(os.path.join(self.folder, name))})
        return entries


def _settings(images_dir, short_side, shard_mb, seed, fractions, augment_copies, keys) -> dict:
    digest = hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()
    return {"version": INDEX_VERSION, "source": os.path.abspath(images_dir),
            "short_side": short_side, "shard_mb": shard_mb, "seed": seed,
            "fractions": dict(fractions), "augment_copies": augment_copies,
            "files_digest": digest}


def prepared_index(out_dir: str | os.PathLike, **settings) -> dict | None:
    """The index of a finished preparation in ``out_dir``, or ``None``.

    Finished means ``index.json`` is there and every shard it lists has its recorded size;
    ``settings`` (e.g. ``short_side=256``) must match the index's too. The notebooks use it
    to skip downloading photos again whose shards are already on Drive.
    """
    return _is_done(os.fspath(out_dir), settings)


def _is_done(out_dir: str, settings: dict) -> dict | None:
    index = read_json(os.path.join(out_dir, INDEX_NAME))
    if not index or any(index.get(k) != v for k, v in settings.items()):
        return None
    for split in index["splits"].values():
        for shard in split["shards"]:
            path = os.path.join(out_dir, shard["file"])
            if not os.path.isfile(path) or os.path.getsize(path) != shard["bytes"]:
                return None
    return index


def prepare_dataset(images_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
                    short_side: int = 256, shard_mb: float = 100, seed: int = 0,
                    fractions: Mapping[str, float] | None = None,
                    labels: str | os.PathLike | Mapping[str, tuple[str, str]] | None = None,
                    augment_copies: int = 0, workers: int | None = None,
                    progress: bool = True) -> dict:
    """Writes the photos of ``images_dir`` as split TFRecord shards plus ``index.json``.

    Args:
        images_dir: A folder of photos (searched recursively).
        out_dir: The folder for the shards and the index.
        short_side: Photos larger than this are shrunk so their short side is this.
        shard_mb: Target shard size in MB.
        seed: Fixes the split (and the augmented copies).
        fractions: Split shares, ``{"train": 0.8, "val": 0.1, "test": 0.1}`` by default.
        labels: ``{file: (class, species)}`` or a labels CSV (see :func:`load_labels`);
            by default ``labels.csv`` in ``images_dir`` when there is one.
        augment_copies: Extra augmented versions of each training photo (3 gives the paper's
            4x training set); 0 leaves augmentation to the training pipeline.
        workers: Threads decoding and encoding (default: up to 8).
        progress: Show a tqdm progress bar.

    Returns:
        The index (also written to ``out_dir/index.json``); ``index["splits"][name]`` holds
        ``images``, ``bytes`` and ``shards`` for each split.

    Raises:
        FileNotFoundError: ``images_dir`` is not a folder.
        ValueError: It holds no readable images.
    """
    from tqdm.auto import tqdm

    images_dir, out_dir = os.fspath(images_dir), os.fspath(out_dir)
    fractions = dict(fractions or DEFAULT_FRACTIONS)
    paths = list_images(images_dir)
    if not paths:
        raise ValueError(f"no images found in {images_dir}")
    keys = [os.path.relpath(p, images_dir).replace(os.sep, "/") for p in paths]
    settings = _settings(images_dir, short_side, shard_mb, seed, fractions, augment_copies, keys)
    os.makedirs(out_dir, exist_ok=True)
    if (index := _is_done(out_dir, settings)) is not None:
        log.info("%s already holds this preparation; nothing to do", out_dir)
        ensure_ab_distribution(out_dir, index, progress=progress)
        return index

    if labels is None and os.path.isfile(os.path.join(images_dir, LABELS_NAME)):
        labels = os.path.join(images_dir, LABELS_NAME)
    if isinstance(labels, (str, os.PathLike)):
        labels = load_labels(labels)
    labels = labels or {}
    for stale in glob.glob(os.path.join(out_dir, ".tmp-*")):
        os.remove(stale)  # left by an interrupted run
    from colorizer.data.ab_distribution import AB_DISTRIBUTION_FILE

    if os.path.exists(os.path.join(out_dir, AB_DISTRIBUTION_FILE)):
        os.remove(os.path.join(out_dir, AB_DISTRIBUTION_FILE))  # belongs to the old images

    order = list(zip(keys, paths))
    random.Random(seed).shuffle(order)  # mix classes across shards (files sort by class)
    split_of = {key: assign_split(key, fractions, seed) for key in keys}
    writers = {s: _ShardWriter(out_dir, s, int(shard_mb * 1e6)) for s in fractions}
    skipped, originals = [], dict.fromkeys(fractions, 0)
    species_counts: dict[str, int] = {}
    class_counts: dict[str, int] = {}

    def process(item):
        key, path = item
        try:
            rgb = read_rgb(path, max_side=short_side)
        except ImageReadError as error:
            return key, None, str(error)
        if min(rgb.shape[:2]) > short_side:
            rgb = resize_short_side(rgb, short_side)
        versions = [rgb]
        if split_of[key] == "train" and augment_copies:
            rng = np.random.default_rng([seed, int(hashlib.sha256(key.encode()).hexdigest()[:8],
                                                   16)])
            versions += [augment_copy(rgb, rng) for _ in range(augment_copies)]
        return key, [(_encode(v), v.shape) for v in versions], ""

    with concurrent.futures.ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool, \
            tqdm(total=len(order), desc="prepare", unit="img", disable=not progress) as bar:
        chunk = 256  # bounded look-ahead: memory stays flat for any dataset size
        for start in range(0, len(order), chunk):
            for key, encoded, error in pool.map(process, order[start:start + chunk]):
                bar.update(1)
                if encoded is None:
                    log.warning("skipping %s", error)
                    skipped.append({"file": key, "reason": error})
                    continue
                label, species = labels.get(key) or labels.get(os.path.basename(key)) or ("", "")
                split = split_of[key]
                originals[split] += 1
                if species:
                    species_counts[species] = species_counts.get(species, 0) + 1
                if label:
                    class_counts[label] = class_counts.get(label, 0) + 1
                for copy, (data, shape) in enumerate(encoded):
                    name = key if copy == 0 else f"{key}#aug{copy}"
                    writers[split].write(records.serialize_example(
                        data, name=name, height=shape[0], width=shape[1], label=label,
                        species=species))

    if not sum(originals.values()):
        raise ValueError(f"none of the {len(paths)} files in {images_dir} could be read")
    old = set(records.find_shards(out_dir))
    splits = {}
    for split, writer in writers.items():
        shards = writer.publish()
        splits[split] = {"images": sum(s["images"] for s in shards), "originals": originals[split],
                         "bytes": sum(s["bytes"] for s in shards), "shards": shards}
    new = {os.path.join(out_dir, s["file"]) for info in splits.values() for s in info["shards"]}
    for path in old - new:
        os.remove(path)  # shards of an earlier preparation with a different count
    index = {**settings, "splits": splits, "images": sum(originals.values()),
             "labels": {"species": species_counts, "classes": class_counts},
             "skipped": skipped}
    write_json(os.path.join(out_dir, INDEX_NAME), index)
    log.info("prepared %s", {s: info["images"] for s, info in splits.items()})
    ensure_ab_distribution(out_dir, index, progress=progress)
    return index


def ensure_ab_distribution(out_dir: str, index: dict, *, progress: bool = True) -> str | None:
    """Writes the training split's ab bin distribution beside the shards, if it is missing.

    The classification head's class rebalancing needs it; computing it here, once, spares
    every training run a pass over the data.

    Returns:
        The distribution file's path, or ``None`` when there is no training split.
    """
    from colorizer.data.ab_distribution import (
        AB_DISTRIBUTION_FILE, ab_distribution_from_dataset, save_ab_distribution)
    from colorizer.data.pipeline import make_dataset

    path = os.path.join(out_dir, AB_DISTRIBUTION_FILE)
    if os.path.isfile(path) or not index["splits"].get("train", {}).get("images"):
        return path if os.path.isfile(path) else None
    size = max(8, index.get("short_side", 256) // 8 * 8)
    dataset = make_dataset(out_dir, split="train", batch_size=16, image_size=size, cache=False)
    save_ab_distribution(path, ab_distribution_from_dataset(dataset, progress=progress))
    return path


def _listed_shards(src: str) -> list[str]:
    """The shard files a prepared dataset's ``index.json`` lists; every shard in the folder
    when there is no index (a hand-made or older dataset)."""
    import tensorflow as tf

    index_path = os.path.join(src, INDEX_NAME)
    if tf.io.gfile.exists(index_path):
        with tf.io.gfile.GFile(index_path, "r") as f:
            index = json.load(f)
        return [os.path.join(src, shard["file"]) for split in index["splits"].values()
                for shard in split["shards"]]
    return records.find_shards(src)


def copy_shards(src: str, dst: str | os.PathLike, *, progress: bool = True) -> list[str]:
    """Copies a prepared dataset (shards, ``index.json``, the ab distribution), e.g. from Drive
    to local disk.

    The shards copied are those ``src/index.json`` lists, and shards at ``dst`` that it does
    not list (left by an older preparation) are removed: a ``train-*`` pattern must not read
    two preparations at once. Files already at ``dst`` with the same size are kept, so an
    interrupted copy resumes; the index is copied last. ``src`` may be any path TensorFlow
    reads (local, mounted Drive, ``gs://``).

    Returns:
        The local shard paths.
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    dst = os.fspath(dst)
    os.makedirs(dst, exist_ok=True)
    files = _listed_shards(src)
    if not files:
        raise FileNotFoundError(f"no shards in {src}; run `colorizer prepare` first")
    missing = [path for path in files if not tf.io.gfile.exists(path)]
    if missing:
        raise FileNotFoundError(f"{src} is incomplete: {len(missing)} shard(s) its index lists "
                                f"are missing, e.g. {missing[0]}; run `colorizer prepare` again")
    from colorizer.data.ab_distribution import AB_DISTRIBUTION_FILE

    wanted = {os.path.basename(path) for path in files}
    for stale in records.find_shards(dst) + glob.glob(os.path.join(dst, ".tmp-*")):
        if os.path.basename(stale) not in wanted:
            log.info("removing %s: not part of the dataset in %s", stale, src)
            os.remove(stale)
    extras = [os.path.join(src, name) for name in (AB_DISTRIBUTION_FILE, INDEX_NAME)]
    copied = []
    for path in tqdm(files + [p for p in extras if tf.io.gfile.exists(p)], desc="copy",
                     unit="file", disable=not progress):
        target = os.path.join(dst, os.path.basename(path))
        size = tf.io.gfile.stat(path).length
        if not (os.path.isfile(target) and os.path.getsize(target) == size):
            temporary = os.path.join(dst, ".tmp-" + os.path.basename(path))
            tf.io.gfile.copy(path, temporary, overwrite=True)
            os.replace(temporary, target)
        if target.endswith(records.SHARD_SUFFIX):
            copied.append(target)
    return copied
