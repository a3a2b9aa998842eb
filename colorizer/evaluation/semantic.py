"""Semantic interpretability: does an ImageNet classifier still recognise the colorized photo?

An off-the-shelf classifier (VGG16 by default) labels three versions of every image: the
ground truth, the grayscale input (the gray baseline) and the colorization. Colour that helps
recognition raises top-1 accuracy above the grayscale's; implausible colour lowers it.

* With breed labels (Oxford-IIIT Pet): a **breed hit** is top-1 == the breed's ImageNet class,
  for breeds that have one (:mod:`colorizer.evaluation.imagenet_pets`); a **species hit** is top-1 in
  ImageNet's dog range (151-268) for a dog, or cat range (281-285) for a cat.
* Always: **agreement**, whether the top-1 equals the classifier's own top-1 on the ground
  truth. It needs no labels.

Example:
    >>> classifier = load_classifier("vgg16", weights="imagenet")
    >>> classifier.top1(rgb_batch)          # float RGB in [0, 1], any size
    array([285, 162])
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Callable, Sequence

import numpy as np

from colorizer.errors import WeightsUnavailableError
from colorizer.evaluation.imagenet_pets import breed_species, imagenet_class, species_of_class
from colorizer.model.pretrained import (
    imagenet_weights, imagenet_weights_if_available, pretrained_weights)

CLASSIFIER_WEIGHTS_HINT = ("pass a local VGG16 .h5 weights file as --classifier-weights FILE, "
                           "or --classifier auto or none to evaluate without the semantic metric")

log = logging.getLogger(__name__)


def caffe_preprocess(rgb: np.ndarray) -> np.ndarray:
    """VGG16's input: BGR in 0..255 minus the ImageNet mean (``vgg16.preprocess_input``)."""
    import keras

    return keras.applications.vgg16.preprocess_input(np.asarray(rgb, np.float32) * 255.0)


def unit_preprocess(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1], unchanged: for classifiers that normalise inside themselves."""
    return np.asarray(rgb, np.float32)


PREPROCESSORS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "caffe": caffe_preprocess, "vgg16": caffe_preprocess, "unit": unit_preprocess,
}
"""Named input preprocessings; a classifier may also take any callable."""


@dataclasses.dataclass
class Classifier:
    """An ImageNet classifier with its input size and preprocessing.

    Attributes:
        model: A Keras model from images to 1000 class scores.
        input_size: ``(height, width)`` images are resized to.
        preprocess: Maps float RGB in [0, 1] ``(B, H, W, 3)`` to the model's input.
        name: Shown in reports.
        weights: Description of the weights, shown in reports.
        labels: The label of each output, for a classifier of its own labels (such as
            ``("cat", "dog")``, see :mod:`colorizer.evaluation.stand_in`); ``None`` for
            ImageNet's 1000 classes.
    """

    model: object
    input_size: tuple[int, int] = (224, 224)
    preprocess: Callable[[np.ndarray], np.ndarray] = caffe_preprocess
    name: str = "vgg16"
    weights: str = "imagenet"
    labels: tuple[str, ...] | None = None

    def top1(self, rgb: np.ndarray) -> np.ndarray:
        """Top-1 class index of each image of a batch of float RGB in [0, 1]."""
        import tensorflow as tf

        rgb = np.asarray(rgb, np.float32)
        if rgb.shape[1:3] != tuple(self.input_size):
            rgb = tf.image.resize(rgb, self.input_size, method="bilinear",
                                  antialias=True).numpy()
        scores = np.asarray(self.model.predict_on_batch(self.preprocess(np.clip(rgb, 0, 1))))
        return np.argmax(scores.reshape(len(rgb), -1), axis=-1).astype(np.int64)


def _model_input_size(model, default: int) -> tuple[int, int]:
    shape = getattr(model, "input_shape", None)
    if shape and len(shape) == 4 and shape[1] and shape[2]:
        return int(shape[1]), int(shape[2])
    return default, default


SKIP_HINT = ("pass --classifier-weights FILE (a VGG16 .h5 weights file; classifier_weights= "
             "in Python) to include it")
"""How to get the semantic metric on a machine that cannot download VGG16's weights."""


def load_classifier(classifier="auto", weights: str | None = "imagenet", *,
                    preprocess: str | Callable | None = None,
                    image_size: int = 224) -> Classifier | None:
    """Builds the classifier of the semantic metric.

    Args:
        classifier: ``"auto"`` (VGG16 when its weights can be had, else no semantic metric,
            with one warning), ``"vgg16"``, ``"none"``/``None`` (no semantic metric), a
            Keras model (1000 outputs), or a ready :class:`Classifier`.
        weights: For ``"vgg16"``/``"auto"``: ``"imagenet"`` (Keras's cache, else downloaded;
            see :mod:`colorizer.model.pretrained`), ``None``/``"none"`` (random: the pipeline
            runs, the numbers mean nothing), or the path of a VGG16 weights file.
        preprocess: ``"caffe"`` (VGG16's), ``"unit"`` (RGB in [0, 1]) or a callable; defaults
            to ``"caffe"``.
        image_size: Input side for a model without a fixed input size.

    Returns:
        A :class:`Classifier`, or ``None`` when ``classifier`` is ``"none"``/``None``, or
        ``"auto"`` without weights to be had.

    Raises:
        FileNotFoundError: ``weights`` names a file that does not exist.
        WeightsUnavailableError: ``"vgg16"`` with ImageNet weights that are neither cached
            nor downloadable, or a weights file that cannot be read.
        ValueError: An unknown classifier or preprocessing name.
    """
    if classifier is None or (isinstance(classifier, str) and classifier.lower() == "none"):
        return None
    if isinstance(classifier, Classifier):
        return classifier
    step = preprocess or "caffe"
    if isinstance(step, str):
        if step not in PREPROCESSORS:
            raise ValueError(f"unknown preprocessing {step!r}; use one of {sorted(PREPROCESSORS)}")
        step = PREPROCESSORS[step]
    if isinstance(classifier, str):
        name = classifier.lower()
        if name not in ("auto", "vgg16"):
            raise ValueError(f"unknown classifier {classifier!r}; use auto, vgg16 or none")
        if isinstance(weights, str) and weights.lower() == "none":
            weights = None
        if weights not in (None, "imagenet") and not os.path.isfile(os.fspath(weights)):
            raise FileNotFoundError(f"classifier weights file not found: {weights} (use "
                                    "imagenet, none, or the path of a VGG16 .h5 weights file)")
        source = weights
        if weights == "imagenet":
            try:
                if name == "auto":
                    source, reason = imagenet_weights_if_available("vgg16")
                    if source is None:
                        log.warning("semantic metric skipped: VGG16's ImageNet weights are "
                                    "%s; %s", reason, SKIP_HINT)
                        return None
                else:
                    source = imagenet_weights("vgg16")
            except WeightsUnavailableError as error:
                raise WeightsUnavailableError(f"{error}; {CLASSIFIER_WEIGHTS_HINT}") from None
        import keras

        with pretrained_weights("VGG16", source, hint=CLASSIFIER_WEIGHTS_HINT):
            model = keras.applications.VGG16(weights=source, include_top=True)
        return Classifier(model, (224, 224), step, "vgg16", str(weights or "none (random)"))
    return Classifier(classifier, _model_input_size(classifier, image_size), step,
                      getattr(classifier, "name", "classifier"), "given")


def semantic_hits(top1: np.ndarray, truth_top1: np.ndarray, breeds, species,
                  labels: Sequence[str] | None = None) -> dict:
    """Per-image semantic scores of one version of the images (model, gray or truth).

    With ``labels`` (a classifier of its own labels), a species hit is a top-1 label equal to
    the photo's species and a breed hit one equal to its breed.

    Args:
        top1: Its top-1 ImageNet classes, ``(B,)``.
        truth_top1: The top-1 classes of the ground-truth images, ``(B,)``.
        breeds: Breed label per image (``""`` when unknown).
        species: ``"cat"``/``"dog"`` per image (``""`` when unknown: then taken from the
            breed when it is an Oxford-IIIT Pet breed).
        labels: The classifier's label of each output, or ``None`` for ImageNet classes.

    Returns:
        ``{"top1", "breed_hit", "species_hit", "agreement"}`` arrays ``(B,)``; hits are 1.0
        or 0.0, and NaN where the label (or the breed's ImageNet class) is missing.
    """
    top1 = np.asarray(top1, np.int64)
    breed_hit = np.full(len(top1), np.nan)
    species_hit = np.full(len(top1), np.nan)
    for i, (predicted, breed, kind) in enumerate(zip(top1, breeds, species)):
        kind = kind or (breed_species(breed) if breed else "")
        if labels is not None:
            said = labels[int(predicted)].strip().lower()
            if breed and breed.lower() in {name.lower() for name in labels}:
                breed_hit[i] = float(said == breed.lower())
            if kind:
                species_hit[i] = float(said == kind)
            continue
        target = imagenet_class(breed) if breed else None
        if target is not None:
            breed_hit[i] = float(predicted == target)
        if kind in ("cat", "dog"):
            species_hit[i] = float(species_of_class(int(predicted)) == kind)
    return {"top1": top1.astype(np.float64), "breed_hit": breed_hit,
            "species_hit": species_hit,
            "agreement": (top1 == np.asarray(truth_top1, np.int64)).astype(np.float64)}
