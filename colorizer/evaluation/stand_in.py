"""A stand-in judge for the semantic metric where ImageNet weights cannot be had: a small
classifier trained on the colour training photos, or any Keras classifier with its labels.

The paper asks whether a classifier trained on colour photos recognises colorized ones better
than gray ones. VGG16's ImageNet weights need a download; offline, :func:`train_label_classifier`
trains a small convolutional network from scratch on the *training* split of a photo folder
(the same hash split ``colorizer train`` uses, so the test photos stay unseen) to tell the
labels of its ``labels.csv`` apart (species by default: cat or dog). It sees colour photos only,
so gray ones are foreign to it, as they are to VGG16. :func:`load_label_classifier` turns it, or
any Keras model with one output per label, into the
:class:`~colorizer.evaluation.semantic.Classifier` that ``evaluate`` scores the ground truth,
gray and colorized photos with (``species_hit``: top-1 label == the photo's species).

Its labels and input size are kept beside the model in ``<model>.labels.json``.

Example:
    >>> train_label_classifier("photos/", "judge.keras", max_minutes=5)
    >>> judge = load_label_classifier("judge.keras")
    >>> evaluate("runs/pets/best.keras", "photos/", "eval", classifier=judge)
"""
from __future__ import annotations

import logging
import os
from typing import Sequence

import keras
import numpy as np

from colorizer.evaluation.semantic import Classifier, unit_preprocess

LABELS_SUFFIX = ".labels.json"
"""Beside ``judge.keras``: ``judge.keras.labels.json``, ``{"labels", "image_size", ...}``."""
FILTERS = (32, 64, 128, 256)
"""Channels of the classifier's four convolution blocks (each halves the image)."""

log = logging.getLogger(__name__)


def build_label_classifier(labels: int, image_size: int = 64) -> keras.Model:
    """A small CNN from RGB in [0, 1] ``(S, S, 3)`` to ``labels`` logits.

    Args:
        labels: How many labels (outputs).
        image_size: Side of its square input.
    """
    inputs = keras.Input((image_size, image_size, 3), name="rgb")
    x = keras.layers.RandomFlip("horizontal", name="flip")(inputs)
    for i, filters in enumerate(FILTERS):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    outputs = keras.layers.Dense(labels, name="logits")(x)
    return keras.Model(inputs, outputs, name="label_classifier")


def labelled_photos(source, *, split: str | None = "train", image_size: int = 64,
                    labels: str | None = None, column: str = "species",
                    progress: bool = True) -> tuple[np.ndarray, list[str]]:
    """Centre crops (uint8 RGB) and labels of the photos of ``source`` that have a label.

    Args:
        source: An image folder with a ``labels.csv`` (or ``labels``), or prepared shards.
        split: Which split (by the same hash as training), ``None`` for all.
        image_size: Side of the crops.
        labels: A ``file,breed,species`` CSV.
        column: ``"species"`` or ``"breed"``.
        progress: Show a progress bar.

    Returns:
        ``(images (N, S, S, 3) uint8, labels)``.
    """
    from tqdm.auto import tqdm

    from colorizer.color import l_ab_to_rgb
    from colorizer.evaluation.dataset import make_eval_dataset

    dataset = make_eval_dataset(source, image_size=image_size, batch_size=64, split=split,
                                labels=labels)
    images, names = [], []
    for lightness, ab, info in tqdm(dataset, desc="photos", unit="batch", disable=not progress):
        found = [v.decode("utf-8") for v in np.asarray(info[column]).tolist()]
        keep = [i for i, name in enumerate(found) if name]
        if not keep:
            continue
        rgb = l_ab_to_rgb(np.asarray(lightness)[keep], np.asarray(ab)[keep])
        images.append(np.clip(np.asarray(rgb) * 255.0 + 0.5, 0, 255).astype(np.uint8))
        names.extend(found[i] for i in keep)
    if not names:
        raise ValueError(f"no photo of {source} (split {split}) has a {column} label")
    return np.concatenate(images), names


def train_label_classifier(source, out_path: str | os.PathLike, *, image_size: int = 64,
                           epochs: int = 30, max_minutes: float | None = None,
                           labels: str | None = None, column: str = "species",
                           batch_size: int = 32, seed: int = 0, verbose: int | str = "auto",
                           progress: bool = True) -> dict:
    """Trains :func:`build_label_classifier` on the training split and saves it.

    The validation split picks the best epoch; the model and its ``.labels.json`` are written
    atomically.

    Args:
        source: An image folder with ``labels.csv`` (or ``labels``), or prepared shards.
        out_path: The ``.keras`` file to write.
        image_size: Side of its input.
        epochs: Most epochs.
        max_minutes: Stop after this many minutes (the best validated epoch is kept).
        labels: A ``file,breed,species`` CSV.
        column: What to tell apart: ``"species"`` or ``"breed"``.
        batch_size: Photos per step.
        seed: Seed of the weights and the shuffling.
        verbose: Passed to ``fit``.
        progress: Progress bars while reading photos.

    Returns:
        ``{"labels", "image_size", "train_photos", "val_photos", "val_accuracy", "epochs"}``
        (also in the ``.labels.json``).
    """
    from colorizer.fileio import save_model, write_json
    from colorizer.training.callbacks import TimeLimit

    keras.utils.set_random_seed(seed)
    x_train, names_train = labelled_photos(source, split="train", image_size=image_size,
                                           labels=labels, column=column, progress=progress)
    x_val, names_val = labelled_photos(source, split="val", image_size=image_size,
                                       labels=labels, column=column, progress=progress)
    classes = sorted(set(names_train))
    index = {name: i for i, name in enumerate(classes)}
    keep = [i for i, name in enumerate(names_val) if name in index]
    x_val, y_val = x_val[keep], np.array([index[names_val[i]] for i in keep])
    y_train = np.array([index[name] for name in names_train])

    model = build_label_classifier(len(classes), image_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    best = _BestWeights()
    callbacks = [best, *([TimeLimit(max_minutes)] if max_minutes else [])]
    model.fit(x_train.astype(np.float32) / 255.0, y_train, batch_size=batch_size, epochs=epochs,
              validation_data=(x_val.astype(np.float32) / 255.0, y_val), shuffle=True,
              callbacks=callbacks, verbose=verbose)
    if best.weights is not None:
        model.set_weights(best.weights)
    report = {"labels": classes, "image_size": image_size, "column": column,
              "preprocess": "unit", "train_photos": int(len(y_train)),
              "val_photos": int(len(y_val)), "val_accuracy": best.accuracy,
              "epochs": best.epochs}
    save_model(model, out_path)
    write_json(os.fspath(out_path) + LABELS_SUFFIX, report)
    return report


class _BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best validation accuracy."""

    def __init__(self):
        super().__init__()
        self.weights, self.accuracy, self.epochs = None, -1.0, 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs = epoch + 1
        value = float((logs or {}).get("val_accuracy", -1.0))
        if value > self.accuracy:
            self.accuracy, self.weights = value, self.model.get_weights()


def parse_labels(text: str) -> list[str]:
    """Labels given as ``"cat,dog"`` or as a text file with one label per line."""
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as f:
            found = [line.strip() for line in f if line.strip()]
    else:
        found = [part.strip() for part in text.split(",") if part.strip()]
    if not found:
        raise ValueError(f"no labels in {text!r}: give them as cat,dog or a file, one a line")
    return found


def load_label_classifier(path: str | os.PathLike,
                          labels: Sequence[str] | None = None) -> Classifier:
    """A saved Keras classifier as the judge of the semantic metric.

    Args:
        path: A ``.keras`` file: one output per label, input RGB in [0, 1].
        labels: Its labels in output order; by default those of its ``.labels.json``.

    Raises:
        FileNotFoundError: No such model file.
        ValueError: Unreadable model, no labels, or as many labels as outputs not given.
    """
    from colorizer.fileio import read_json

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"classifier model not found: {path}")
    saved = read_json(path + LABELS_SUFFIX) or {}
    labels = list(labels or saved.get("labels") or [])
    if not labels:
        raise ValueError(f"{path}: no labels (give --classifier-labels cat,dog, or keep its "
                         f"{os.path.basename(path)}{LABELS_SUFFIX} beside it)")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a damaged or foreign file
        raise ValueError(f"{path} is not a readable Keras model: {error}") from error
    outputs = model.output_shape[-1]
    if outputs != len(labels):
        raise ValueError(f"{path}: {outputs} outputs but {len(labels)} labels ({labels})")
    size = saved.get("image_size")
    input_size = (int(size), int(size)) if size else (
        int(model.input_shape[1] or 224), int(model.input_shape[2] or 224))
    return Classifier(model, input_size, unit_preprocess, os.path.basename(path),
                      "trained here" if saved else "given", labels=tuple(labels))
