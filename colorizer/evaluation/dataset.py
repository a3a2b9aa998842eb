"""Evaluation data: (L, ab) batches together with each image's name and labels, in a fixed order.

Evaluation must know which image each number belongs to, and what it shows. Labels come from:

* prepared TFRecord shards: the ``image/name``, ``label/class`` and ``label/species`` features
  of :data:`colorizer.data.records.FEATURES`;
* an image folder: a ``labels.csv`` beside or inside it, with columns ``file,breed,species``
  (``file`` relative to the folder, or a bare file name); failing that, Oxford-IIIT Pet file
  names (``Bengal_12.jpg``) give the breed, and the breed gives the species.

Images are resized on their short side to ``image_size`` and centre-cropped, exactly as
:func:`colorizer.data.pipeline.make_dataset` does outside training.

Example:
    >>> ds = make_eval_dataset("pets/", split="test", batch_size=16)
    >>> lightness, ab, info = next(iter(ds))   # info: {"name", "breed", "species"}, (B,) strings
"""
from __future__ import annotations

import csv
import logging
import os

import tensorflow as tf

from colorizer.color import rgb_to_l_ab
from colorizer.data import records
from colorizer.data.pipeline import DecodeStats, decode_files, decode_shards, resolve_source
from colorizer.data.prepare import INDEX_NAME
from colorizer.evaluation.imagenet_pets import breed_from_filename, breed_species, normalize_breed

log = logging.getLogger(__name__)
LABELS_FILE = "labels.csv"
"""Name of the labels file looked for beside or inside an image folder."""


def read_labels(path: str | os.PathLike) -> dict[str, tuple[str, str]]:
    """Reads a ``file,breed,species`` CSV (header required) into ``{file: (breed, species)}``.

    A missing species is filled in from the breed when it is an Oxford-IIIT Pet breed.
    """
    labels = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "file" not in reader.fieldnames:
            raise ValueError(f"{path}: a labels CSV needs a header with file,breed,species")
        for row in reader:
            breed = normalize_breed(row.get("breed") or "")
            species = (row.get("species") or "").strip().lower() or breed_species(breed)
            labels[row["file"].strip().replace("\\", "/")] = (breed, species)
    return labels


def find_labels(source) -> str | None:
    """The ``labels.csv`` inside a folder, or beside a folder or file, if there is one."""
    if isinstance(source, (list, tuple)):
        return None
    source = os.fspath(source)
    for folder in (source, os.path.dirname(os.path.abspath(source))):
        candidate = os.path.join(folder, LABELS_FILE)
        if os.path.isdir(folder) and os.path.isfile(candidate):
            return candidate
    return None


def find_prepared(source) -> str | None:
    """The prepared dataset a folder stands for: the folder itself when it holds shards, or
    its one subfolder that holds an ``index.json`` and shards (``data/pets`` for
    ``data/pets/shards``, the layout ``colorizer download`` + ``prepare`` make)."""
    if isinstance(source, (list, tuple)):
        return None
    source = os.fspath(source)
    if records.is_shard_source(source):
        return source
    if not os.path.isdir(source):
        return None
    found = [os.path.join(source, name) for name in sorted(os.listdir(source))
             if os.path.isfile(os.path.join(source, name, INDEX_NAME))
             and records.find_shards(os.path.join(source, name))]
    return found[0] if len(found) == 1 else None


def resolve_split(source, split: str | None) -> str | None:
    """``"auto"`` is ``"test"``: a folder is split by the hash of each image's path, as
    training splits it, and evaluation takes the part training holds out."""
    return "test" if split == "auto" else split


def _file_labels(files: list[str], source, labels) -> tuple[list[str], list[str], list[str]]:
    """Names (relative to the folder), breeds and species of image files."""
    root = os.fspath(source) if isinstance(source, (str, os.PathLike)) and os.path.isdir(
        source) else None
    table = read_labels(labels) if labels else {}
    names, breeds, species = [], [], []
    for path in files:
        name = os.path.relpath(path, root).replace(os.sep, "/") if root else os.path.basename(path)
        breed, kind = table.get(name) or table.get(os.path.basename(path)) or ("", "")
        if not breed and not kind:
            breed = breed_from_filename(path)
            kind = breed_species(breed)
        names.append(name)
        breeds.append(breed)
        species.append(kind)
    return names, breeds, species


def make_eval_dataset(source, *, image_size: int = 224, batch_size: int = 16,
                      split: str | None = "test", labels: str | os.PathLike | None = None,
                      limit: int | None = None, stats: DecodeStats | None = None,
                      used: dict | None = None) -> tf.data.Dataset:
    """Builds the evaluation dataset: ``(L, ab, info)`` batches in a fixed order.

    Args:
        source: An image folder (searched recursively), image files, or TFRecord shards (a
            prepared dataset's folder, a glob, or a list of ``.tfrecord`` files).
        image_size: Side of the centre crops (a multiple of 8).
        batch_size: Images per batch.
        split: ``"test"`` (the default; ``"auto"`` is the same), ``"train"``, ``"val"``:
            the shards of that split, or the folder's images that fall in it by the hash of
            their path relative to the folder, as training assigns them; ``None``: everything.
            Label maps in folders are never taken (:mod:`colorizer.data.label_maps`).
        labels: A ``file,breed,species`` CSV for image folders; defaults to ``labels.csv``
            inside or beside ``source``.
        limit: Evaluate at most this many images (the first ones in order).
        stats: Receives decode counts and the names of unreadable files.
        used: Receives what was read: ``split``, ``source``, ``shards``, ``files`` and a
            one-line ``description``.

    Returns:
        A dataset of float32 L ``(B, S, S, 1)``, ab ``(B, S, S, 2)``, and ``info``: a dict of
        string tensors ``(B,)``: ``name``, ``breed`` and ``species`` (``""`` where unknown).

    Raises:
        FileNotFoundError: No image or shard was found.
    """
    if image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8, got {image_size}")
    stats = stats if stats is not None else DecodeStats()
    split = resolve_split(source, split)
    prepared = find_prepared(source)
    if prepared is not None and prepared != source:
        log.info("%s holds the prepared dataset %s: evaluating its shards", source, prepared)
        source = prepared
    from_shards, files = resolve_source(source, split)
    if used is not None:
        part = f"the {split} split" if split else "every image"
        kind = (f"{len(files)} shard files" if from_shards else f"{len(files)} images" + (
            ", chosen by the hash of their path in the folder" if split else ""))
        used.update(split=split, source=str(source), shards=from_shards, files=len(files),
                    description=f"{part} of {source} ({kind})")
    if from_shards:
        ds = decode_shards(files, image_size, stats, interleave=False)
    else:
        names, breeds, species = _file_labels(files, source, labels or find_labels(source))
        ds = decode_files(files, image_size, stats, names=names,
                          labels={"breed": breeds, "species": species})
    if limit is not None:
        ds = ds.take(int(limit))

    def crop(image, info):
        return tf.image.resize_with_crop_or_pad(image, image_size, image_size), info

    def to_lab(images, info):
        lightness, ab = rgb_to_l_ab(tf.cast(images, tf.float32) / 255.0)
        return lightness, ab, info

    ds = ds.map(crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size).map(to_lab, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
