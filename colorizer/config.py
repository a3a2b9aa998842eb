"""Frozen configuration dataclasses, one per concern, and the named presets.

``paper`` is the set-up of the paper (224x224, DenseNet121 with ImageNet weights, MSE, the four
augmentations, about forty epochs); ``smoke`` is the same code path shrunk for CI and CPUs.

Example:
    >>> preset = get_preset("smoke")
    >>> preset.data.image_size
    64
"""
from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """The paper's augmentations, each switchable.

    Attributes:
        noise_stddev: Gaussian noise added to the input L, in L units (0-100); 0 turns it off.
            The target ab stays clean so the model learns to see through grain, not to paint it.
        rotation_degrees: Maximum absolute random rotation; 0 turns it off.
        horizontal_flip: Randomly mirror left-right.
        vertical_flip: Randomly flip upside-down (the paper does; photos rarely need it).
    """

    noise_stddev: float = 2.0
    rotation_degrees: float = 15.0
    horizontal_flip: bool = True
    vertical_flip: bool = True

    @classmethod
    def none(cls) -> "AugmentConfig":
        """No augmentation at all."""
        return cls(noise_stddev=0.0, rotation_degrees=0.0, horizontal_flip=False,
                   vertical_flip=False)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """How images become (L, ab) batches.

    Attributes:
        image_size: Side of the square crops the model trains on (a multiple of 8).
        batch_size: Global batch size.
        resize_ratio: Training crops come from images whose short side is
            ``image_size * resize_ratio`` (a little larger, so random crops also move);
            evaluation uses a centre crop of the image resized to ``image_size``.
        shuffle_buffer: Elements in the shuffle buffer.
        cache: ``True`` caches decoded images in memory, a path caches them on disk,
            ``False`` decodes every epoch.
        augment: The augmentations applied in training.
        seed: Seed for shuffling, cropping and augmentation.
    """

    image_size: int = 224
    batch_size: int = 32
    resize_ratio: float = 8.0 / 7.0
    shuffle_buffer: int = 2048
    cache: bool | str = True
    augment: AugmentConfig = AugmentConfig()
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The network.

    Attributes:
        weights: ``"imagenet"``, ``None`` or a weights file (see ``build_colorizer``).
        decoder_filters: Filters of the three decoder blocks.
        head: ``"regression"`` (the paper) or ``"classification"`` (colour as
            classification over the quantised ab gamut, see ``colorizer.classification``).
        temperature: Annealed-mean temperature of the classification head.
    """

    weights: str | None = "imagenet"
    decoder_filters: tuple[int, int, int] = (128, 64, 32)
    head: str = "regression"
    temperature: float = 0.38


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The optimisation.

    Attributes:
        epochs: Total epochs, counting the frozen-encoder ones.
        learning_rate: Adam's learning rate.
        freeze_encoder_epochs: Epochs at the start with the encoder frozen (useful with
            pretrained weights: the random decoder's first gradients would wreck them).
        batch_log_every: The batch-loss log (the paper's Figure 6) records every N batches.
        steps_per_epoch: Cap on batches per epoch, ``None`` for a full pass.
        max_minutes: Stop after this many minutes of training (``None``: no limit).
        lr_scaling: How ``learning_rate`` (tuned for one replica's batch) grows with the
            replicas of a ``tf.distribute`` strategy: ``"linear"``, ``"sqrt"`` or ``"none"``
            (see :func:`colorizer.distribute.scaled_learning_rate`).
    """

    epochs: int = 40
    learning_rate: float = 1e-3
    freeze_encoder_epochs: int = 0
    batch_log_every: int = 100
    steps_per_epoch: int | None = None
    max_minutes: float | None = None
    lr_scaling: str = "linear"


@dataclasses.dataclass(frozen=True)
class Preset:
    """A complete set-up: data, model and training."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PRESETS: dict[str, Preset] = {
    "paper": Preset(DataConfig(), ModelConfig(), TrainConfig(epochs=40, freeze_encoder_epochs=2)),
    "smoke": Preset(
        DataConfig(image_size=64, batch_size=8, shuffle_buffer=64),
        ModelConfig(weights=None),
        TrainConfig(epochs=2, batch_log_every=5, steps_per_epoch=4),
    ),
}


def get_preset(name: str) -> Preset:
    """Returns the preset called ``name`` (``paper`` or ``smoke``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
