"""Settings of the data stage: how photos become (L, ab) batches, and their augmentation.

Example:
    >>> AugmentConfig.none().rotation_degrees
    0.0
"""
from __future__ import annotations

import dataclasses


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
        augment_on: Where they run: ``"device"`` (inside the training step, on the
            accelerator; the CPU only decodes, caches and crops) or ``"host"`` (in the
            ``tf.data`` pipeline, on the CPU).
        seed: Seed for shuffling, cropping and augmentation.
    """

    image_size: int = 224
    batch_size: int = 32
    resize_ratio: float = 8.0 / 7.0
    shuffle_buffer: int = 2048
    cache: bool | str = True
    augment: AugmentConfig = AugmentConfig()
    augment_on: str = "device"
    seed: int = 0

    def __post_init__(self):
        if self.augment_on not in ("device", "host"):
            raise ValueError(f"augment_on must be device or host, got {self.augment_on!r}")

    @property
    def host_augment(self) -> AugmentConfig:
        """What ``make_dataset`` does on the CPU: all of ``augment``, or nothing but crops."""
        return self.augment if self.augment_on == "host" else AugmentConfig.none()

    @property
    def device_augment(self) -> AugmentConfig | None:
        """What ``train(augment=...)`` does in the training step (``None``: nothing there)."""
        return self.augment if self.augment_on == "device" else None
