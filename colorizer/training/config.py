"""Settings of the optimisation, and the named presets (data + model + training).

``paper`` is the set-up of the paper (224x224, DenseNet121 with ImageNet weights, MSE, the four
augmentations, about forty epochs); ``budget`` the best colour found for a fixed time without
pretrained weights (128x128, regression, cosine schedule over ``max_minutes``, colour
gain chosen on validation); ``budget-hints`` the same recipe for a model that takes colour
hints, trained on hints simulated from the true colour; ``smoke`` is the same code path shrunk
for CI and CPUs.

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
        schedule: ``"constant"`` (Adam at ``learning_rate`` throughout, the paper) or
            ``"cosine"``: a warm-up, then a cosine decay that ends with the budget, the
            minutes of ``max_minutes`` when set, else the epochs (see
            :mod:`colorizer.training.schedule`).
        warmup_steps: Steps of the cosine schedule's linear warm-up.
        tune_colour: After training, tune the saved models' colour on the validation data
            (see :mod:`colorizer.training.colour_tuning`): the classification head's
            temperature (the most vivid that beats gray on ab RMSE and PSNR), or the
            regression head's colour gain (the largest that keeps half its lead over gray).
        hints: ``"none"`` (the automatic colorizer, L in) or ``"simulated"``: a colorizer
            that also takes colour hints (Zhang et al. 2017), trained on hints drawn from
            the true colour in every step (see :mod:`colorizer.training.hint_simulation`).
    """

    epochs: int = 40
    learning_rate: float = 1e-3
    freeze_encoder_epochs: int = 0
    batch_log_every: int = 100
    steps_per_epoch: int | None = None
    max_minutes: float | None = None
    lr_scaling: str = "linear"
    schedule: str = "constant"
    warmup_steps: int = 0
    tune_colour: bool = False
    hints: str = "none"

    def __post_init__(self):
        from colorizer.training.schedule import SCHEDULES

        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.hints not in HINT_MODES:
            raise ValueError(f"hints must be one of {HINT_MODES}, got {self.hints!r}")


HINT_MODES = ("none", "simulated")
"""``TrainConfig.hints``: no hint inputs, or hint inputs trained on simulated hints."""


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
    # The best colour for a fixed time on a CPU, without pretrained weights (measured in
    # benchmarks/learned_colour.py): small crops for many steps, the paper's regression (on a
    # short budget, classification's vivid mistakes cost more than gray), a schedule that ends
    # annealed when the minutes run out, then a colour gain chosen on validation, which buys
    # back the saturation that MSE's averaging takes.
    "budget": Preset(
        DataConfig(image_size=128, batch_size=32),
        ModelConfig(weights=None, head="regression"),
        TrainConfig(epochs=200, learning_rate=1e-3, freeze_encoder_epochs=0, max_minutes=30.0,
                    schedule="cosine", warmup_steps=50, tune_colour=True),
    ),
    # The budget recipe for a colorizer that takes colour hints. Its colour gain stays 1: a
    # gain tuned for the automatic colour would also scale the colours a user gives it.
    "budget-hints": Preset(
        DataConfig(image_size=128, batch_size=32),
        ModelConfig(weights=None, head="regression"),
        TrainConfig(epochs=200, learning_rate=1e-3, freeze_encoder_epochs=0, max_minutes=30.0,
                    schedule="cosine", warmup_steps=50, hints="simulated"),
    ),
    "smoke": Preset(
        DataConfig(image_size=64, batch_size=8, shuffle_buffer=64),
        ModelConfig(weights=None),
        TrainConfig(epochs=2, batch_log_every=5, steps_per_epoch=4),
    ),
}


def get_preset(name: str) -> Preset:
    """Returns the preset called ``name`` (``paper``, ``budget``, ``budget-hints``, ``smoke``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None


FORM_FIELDS = {
    "head": ("model", "head"), "weights": ("model", "weights"),
    "image_size": ("data", "image_size"), "batch_size": ("data", "batch_size"),
    "epochs": ("train", "epochs"), "learning_rate": ("train", "learning_rate"),
    "freeze_encoder_epochs": ("train", "freeze_encoder_epochs"), "hints": ("train", "hints"),
}
"""The settings a notebook's form shows, and where each lives in a :class:`Preset`."""


def form_preset(name: str, **form: Any) -> Preset:
    """The preset ``name`` under a notebook form whose fields show the ``paper`` preset.

    A field left at the paper's value takes the preset's own; a field the user changed wins,
    as an option given on the command line does. ``weights="none"`` means no weights.

    Args:
        name: The preset (``paper``, ``budget``, ``budget-hints``, ``smoke``).
        **form: Values of :data:`FORM_FIELDS` from the form.

    Returns:
        The preset with the changed fields in.

    Example:
        >>> form_preset("budget", image_size=224, head="regression").model.head
        'regression'
        >>> form_preset("budget", image_size=224, head="regression").data.image_size
        128
    """
    paper, chosen = get_preset("paper"), get_preset(name)
    sections = {"data": chosen.data, "model": chosen.model, "train": chosen.train}
    for key, value in form.items():
        if key not in FORM_FIELDS:
            raise ValueError(f"unknown form field {key!r}; use one of {sorted(FORM_FIELDS)}")
        section, field = FORM_FIELDS[key]
        if key == "weights" and isinstance(value, str) and value.lower() == "none":
            value = None
        if value != getattr(getattr(paper, section), field):
            sections[section] = dataclasses.replace(sections[section], **{field: value})
    return Preset(sections["data"], sections["model"], sections["train"])
