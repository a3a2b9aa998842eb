"""Settings of the optimisation, and the named presets (data + model + training).

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

from colorizer.data.config import DataConfig
from colorizer.model.config import ModelConfig


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
        max_minutes: Stop after this many minutes of training (``None``: no limit). An
            epoch the limit cuts short is not counted: the run resumed after it trains that
            epoch again in full.
        lr_scaling: How ``learning_rate`` (tuned for one replica's batch) grows with the
            replicas of a ``tf.distribute`` strategy: ``"linear"``, ``"sqrt"`` or ``"none"``
            (see :func:`colorizer.training.distribute.scaled_learning_rate`).
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
