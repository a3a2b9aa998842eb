"""Colour hints simulated from the true colour, inside the training step (Zhang et al. 2017).

A hint-taking colorizer learns where a colour given at one pixel belongs from hints revealed
out of the photo's own ab. :class:`HintSimulation` makes them on the device, after the
augmentation, from the augmented ab, per image:

* the number of hints is geometric with ``probability`` p = 1/8 (P(k) = (1 - p)^k p, mean 7),
  capped at ``max_hints``: about one image in eight gets none, and so keeps learning the
  automatic colour;
* each hint is a square patch of side 1 to ``max_size`` (uniform), placed uniformly inside
  the image (every place a user may click is trained, edges included; Zhang et al. drew
  positions from a Gaussian around the centre);
* the patch's pixels receive the patch's mean true ab (divided by 128, as the model's output
  is scaled) and the mask; where patches overlap, the mean of their means.

Its random numbers come from the counter-based hash of (seed, step, image, draw) that
:mod:`colorizer.training.augmentation` uses: TensorFlow and JAX draw the same hints, a resumed
run continues the sequence (the step is a weight), and replicas draw apart. In training the
step advances every batch; outside it (validation), every batch gets the draws of one fixed
step, so validation losses of two epochs compare.

Example:
    >>> simulate = HintSimulation(seed=0)
    >>> hints = simulate(ab, training=True)  # (N, H, W, 3): hinted ab / 128, mask
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from colorizer.model.hints import HINT_CHANNELS, encode_hints
from colorizer.training.augmentation import (
    draw_keys, hash32, image_keys, uniform_from_keys, uniforms)

HINT_PROBABILITY = 1.0 / 8.0
"""p of the geometric number of hints (Zhang et al.): 1/8 of the images get none."""
MAX_HINTS = 64
"""Cap on hints per image: (7/8)^65, about 1 image in 6,000, would draw more."""
MAX_PATCH = 9
"""Largest side of a hint's square patch, in pixels (the smallest is 1)."""
VALIDATION_STEP = -1
"""The step whose draws every batch gets outside training (training steps count from 0)."""
# Draw numbers of the simulator's random choices (the augmentation uses 1 to 4).
_COUNT, _SIZE, _ROW, _COLUMN = 8, 9, 10, 11
_SLOT_MIX = 0x5BD1E995  # spreads the hint slots of one image over the keys


@keras.saving.register_keras_serializable(package="colorizer")
class HintSimulation(keras.layers.Layer):
    """Colour hints drawn from a batch's true ab: ``(N, H, W, 2)`` ab -> ``(N, H, W, 3)``.

    Args:
        seed: Integer seed; the same seed gives the same hints on every backend.
        probability: p of the geometric number of hints per image.
        max_hints: Cap on the number of hints per image.
        max_size: Largest patch side in pixels.
        count: Every image gets exactly this many hints instead (for measuring a model with
            a fixed number of hints); ``None``: geometric.

    Call arguments:
        ab: ``(N, H, W, 2)`` true ab (after augmentation).
        training: Advance the draws every call (else: the fixed validation draws).

    Returns:
        Hints as the model reads them (:func:`colorizer.model.hints.encode_hints`), float32.
    """

    def __init__(self, seed: int = 0, probability: float = HINT_PROBABILITY,
                 max_hints: int = MAX_HINTS, max_size: int = MAX_PATCH,
                 count: int | None = None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"probability must be in (0, 1], got {probability}")
        if count is not None and not 0 <= count <= max_hints:
            raise ValueError(f"count must be in [0, max_hints={max_hints}], got {count}")
        self.seed, self.probability = int(seed), float(probability)
        self.max_hints, self.max_size = int(max_hints), int(max_size)
        self.count = None if count is None else int(count)
        # Batches simulated so far: the key of each step's draws, saved with the backups.
        self.step = self.add_weight(shape=(), dtype="int32", trainable=False, name="step",
                                    initializer="zeros", aggregation="only_first_replica")
        self.built = True

    def call(self, ab, training=None):
        ab = ops.cast(ab, "float32")
        step = ops.add(self.step, 0) if training else ops.convert_to_tensor(
            VALIDATION_STEP, "int32")
        batch, height, width = ops.shape(ab)[0], ops.shape(ab)[1], ops.shape(ab)[2]
        hints = self.paint(ab, *self.draw(step, batch, height, width))
        if training:
            self.step.assign(step + 1)
        return hints

    def draw(self, step, batch, height, width):
        """The hints of one step: ``(active, size, top, left)``, each ``(N, max_hints)``.

        ``active`` (bool) marks the image's first k slots, k its geometric count; hint ``j``
        covers rows ``top .. top + size - 1`` and columns ``left .. left + size - 1``.
        """
        keys = image_keys(self.seed, ops.cast(step, "int32"), batch)
        slots = ops.arange(self.max_hints, dtype="int32")

        def per_slot(draw):  # one uniform per (image, slot)
            return uniform_from_keys(hash32(draw_keys(keys, draw))[:, None]
                                     + slots[None, :] * _SLOT_MIX)

        if self.count is None:
            # k >= j exactly when 1 - u <= (1 - p)^j: a geometric count, capped, no logarithm.
            survive = (1.0 - self.probability) ** np.arange(1, self.max_hints + 1)
            thresholds = ops.convert_to_tensor(survive.astype(np.float32))
            active = (1.0 - uniforms(keys, _COUNT))[:, None] <= thresholds[None, :]
        else:
            active = ops.broadcast_to(slots[None, :] < self.count, (batch, self.max_hints))
        largest = ops.minimum(ops.minimum(height, width), self.max_size)
        size = 1 + _below(per_slot(_SIZE), largest)
        top = _below(per_slot(_ROW), height - size + 1)
        left = _below(per_slot(_COLUMN), width - size + 1)
        return active, size, top, left

    def paint(self, ab, active, size, top, left):
        """Hints from the drawn patches: each one's mean ab over its pixels, and the mask."""
        batch, height, width = ops.shape(ab)[0], ops.shape(ab)[1], ops.shape(ab)[2]
        window = (batch, self.max_hints, self.max_size, self.max_size)
        offsets = ops.arange(self.max_size, dtype="int32")
        inside = ((offsets[:, None] < size[..., None, None])
                  & (offsets[None, :] < size[..., None, None]) & active[..., None, None])
        weight = ops.cast(inside, "float32")[..., None]
        # Each hint's window of max_size^2 pixels: its patch, which lies inside the image, and
        # a rest of weight 0 clamped onto the image.
        rows = ops.minimum(top[..., None, None] + offsets[:, None], height - 1)
        columns = ops.minimum(left[..., None, None] + offsets[None, :], width - 1)
        pixels = ops.broadcast_to(rows * width + columns, window)
        flat_ab = ops.reshape(ab, (batch, height * width, 2))
        values = ops.take_along_axis(flat_ab, ops.reshape(pixels, (batch, -1, 1)), axis=1)
        values = ops.reshape(values, (*window, 2))
        area = ops.cast(size * size, "float32")[..., None]
        means = ops.sum(values * weight, axis=(2, 3)) / area  # (N, max_hints, 2)
        # Every pixel sums the means of the patches over it, and counts them.
        paint = ops.concatenate([means, ops.ones_like(means[..., :1])], axis=-1)
        updates = ops.reshape(weight * paint[:, :, None, None, :], (-1, HINT_CHANNELS))
        images = ops.cast(ops.arange(batch), "int32")[:, None, None, None]
        ids = ops.reshape(images * (height * width) + pixels, (-1,))
        summed = ops.segment_sum(updates, ids, num_segments=batch * height * width)
        summed = ops.reshape(summed, (batch, height, width, HINT_CHANNELS))
        count = summed[..., 2:]
        return encode_hints(summed[..., :2] / ops.maximum(count, 1.0), count, xp=ops)

    def compute_output_spec(self, ab, training=None):
        return keras.KerasTensor(tuple(ab.shape[:-1]) + (HINT_CHANNELS,), "float32")

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "probability": self.probability,
                "max_hints": self.max_hints, "max_size": self.max_size, "count": self.count}


def hint_settings(seed: int) -> dict:
    """The simulation's parameters, as a run's ``config.json`` records them."""
    return {"probability": HINT_PROBABILITY, "max_hints": MAX_HINTS, "max_size": MAX_PATCH,
            "positions": "uniform", "seed": int(seed)}


def _below(uniform, limit):
    """``floor(uniform * limit)`` as int32, kept below ``limit`` (float32 may round up)."""
    limit = ops.cast(limit, "int32")
    drawn = ops.cast(ops.floor(uniform * ops.cast(limit, "float32")), "int32")
    return ops.minimum(drawn, limit - 1)
