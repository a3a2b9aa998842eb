"""The paper's augmentation inside the training step: rotation, flips and L-noise on the device.

On a Colab runtime two CPU cores feed the accelerator. Resampling every crop for a rotation
there is the slowest part of the input pipeline, while the accelerator would do it in a
fraction of a millisecond. :class:`LabAugmentation` is a Keras layer that does that work on
whatever device the training step runs on, under either backend:

* one bilinear resampling per image applies its rotation (uniform in +-``rotation_degrees``,
  about the centre, corners filled by reflection) and both flips (each with p = 1/2) to L and
  ab together, so the colours stay on their pixels;
* Gaussian noise of ``noise_stddev`` is added to L only, clipped to [0, 100], so the model
  learns to see through grain while its target stays clean;
* it runs only when ``training`` is true: validation and prediction see the photo as it is.

Its random numbers come from a counter-based hash of (seed, step, image, draw) computed with
32-bit integer ``keras.ops``, not from the backend's random generator: TensorFlow and JAX
draw the same rotations, flips and noise for the same seed, a resumed run continues the
sequence where the backup left it (the step counter is a weight of the layer), and no random
state has to be threaded through a JAX step. The image is its index in the global batch:
under a ``tf.distribute`` strategy each replica offsets its slice by its replica id, so the
replicas draw different augmentations, the same ones one device would draw for the whole
batch.

Example:
    >>> augment = LabAugmentation(AugmentConfig(), seed=0)
    >>> lightness, ab = augment(lightness, ab, training=True)
"""
from __future__ import annotations

import dataclasses
import math

import keras
from keras import ops

from colorizer.data.config import AugmentConfig

# Multipliers that spread the fields of a key over 32 bits before hashing (odd, large).
_SEED_MIX, _STEP_MIX, _IMAGE_MIX, _DRAW_MIX = 0x3C6EF372, 0x1B873593, 0x2545F491, 0x68E31DA4
# The two multipliers of Wellons' "lowbias32" integer hash, as signed 32-bit values.
_HASH_1, _HASH_2 = 0x7FEB352D, 0x846CA68B - (1 << 32)
_UNIT = 1.0 / (1 << 24)


def augments(config: AugmentConfig | None) -> bool:
    """Whether ``config`` switches any augmentation on (``None``: none)."""
    return config is not None and bool(
        config.rotation_degrees > 0 or config.horizontal_flip or config.vertical_flip
        or config.noise_stddev > 0)


def _wrap32(value: int) -> int:
    """A Python int as the signed 32-bit integer with the same low 32 bits."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


def _shift_right(x, bits: int):
    """Logical right shift of int32 values (the arithmetic shift, masked)."""
    return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)


def hash32(x):
    """Wellons' lowbias32 hash of int32 values: every input bit flips about half the output
    bits. Integer products wrap modulo 2^32 on every backend, so results are identical."""
    x = ops.bitwise_xor(x, _shift_right(x, 16))
    x = x * _HASH_1
    x = ops.bitwise_xor(x, _shift_right(x, 15))
    x = x * _HASH_2
    return ops.bitwise_xor(x, _shift_right(x, 16))


def uniform_from_keys(keys):
    """Uniform floats in [0, 1) from int32 keys: the top 24 bits of their hash."""
    return ops.cast(_shift_right(hash32(keys), 8), "float32") * _UNIT


def draw_keys(keys, draw: int):
    """The keys of the ``draw``-th random choice made from ``keys``."""
    return keys + _wrap32(draw * _DRAW_MIX)


def uniforms(keys, draw: int):
    """Uniform floats in [0, 1), one per key, for the ``draw``-th random choice."""
    return uniform_from_keys(draw_keys(keys, draw))


def image_keys(seed: int, step, batch):
    """One int32 key per image of a batch, from (seed, step, the image's global index).

    The keys of every on-device random draw (augmentation, simulated hints): hashing them
    with a draw number gives the same numbers on every backend and replica layout.
    """
    images = ops.cast(ops.arange(batch), "int32") + _first_image_index(batch)
    return images * _IMAGE_MIX + step * _STEP_MIX + _wrap32(seed * _SEED_MIX)


def resample(images, transforms):
    """Bilinear resampling of ``(N, H, W, C)`` images by per-image affine maps, edges reflected.

    ``transforms`` is ``(N, 8)``: ``[a0, a1, a2, b0, b1, b2, 0, 0]`` maps an output pixel
    ``(x, y)`` to the input point ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``.

    On TensorFlow this is ``keras.ops.image.affine_transform``, TensorFlow's fused kernel. On
    JAX that op goes through ``map_coordinates``, about 7x slower on a CPU than
    :func:`_gather_bilinear`, which computes the same thing with one gather per corner: input
    points reflected into the image as TensorFlow's ``REFLECT`` does, then clamped, then
    interpolated. The two agree to float rounding (tested).
    """
    if keras.backend.backend() == "tensorflow":
        return ops.image.affine_transform(images, transforms, interpolation="bilinear",
                                          fill_mode="reflect", data_format="channels_last")
    return _gather_bilinear(images, transforms)


def _reflect_into(coordinate, size: int):
    """A continuous input coordinate reflected into ``[0, size - 1]`` ("d c b a | a b c d |
    d c b a"), with TensorFlow's arithmetic, then clamped."""
    period = 2.0 * size
    below = coordinate < 0
    # Mirror negatives first (-1 <-> 0, -2 <-> 1 ...), then fold by the period.
    folded = ops.where(below, -coordinate - 1.0, coordinate)
    folded = folded - period * ops.floor(folded / period)
    folded = ops.where(folded > size - 1, period - folded - 1.0, folded)
    return ops.clip(folded, 0.0, size - 1.0)


def _gather_bilinear(images, transforms):
    batch, height, width, channels = ops.shape(images)
    rows = ops.cast(ops.arange(height), "float32")[None, :, None]
    columns = ops.cast(ops.arange(width), "float32")[None, None, :]
    t = [transforms[:, i][:, None, None] for i in range(6)]
    x = _reflect_into(t[0] * columns + t[1] * rows + t[2], width)
    y = _reflect_into(t[3] * columns + t[4] * rows + t[5], height)
    x0, y0 = ops.floor(x), ops.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    # A clamped far corner has weight 0 whenever it is clamped (the point is on the edge).
    x1, y1 = ops.minimum(x0 + 1, width - 1), ops.minimum(y0 + 1, height - 1)
    flat = ops.reshape(images, (batch, height * width, channels))

    def corner(yi, xi):
        index = ops.reshape(yi * width + xi, (batch, height * width, 1))
        return ops.reshape(ops.take_along_axis(flat, index, axis=1),
                           (batch, height, width, channels))

    top = corner(y0, x0) * (1.0 - fx) + corner(y0, x1) * fx
    bottom = corner(y1, x0) * (1.0 - fx) + corner(y1, x1) * fx
    return top * (1.0 - fy) + bottom * fy


def _first_image_index(batch):
    """Where this replica's images start in the global batch.

    Under a ``tf.distribute`` strategy each replica runs the step on its own slice of the
    global batch, in replica order, so replica ``r`` holds images ``r * batch`` onwards. JAX's
    data parallelism (``keras.distribution``) runs the step on the global batch itself, as
    does one device.
    """
    if keras.backend.backend() != "tensorflow":
        return 0
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: the whole batch is here
        return 0
    return ops.cast(context.replica_id_in_sync_group, "int32") * ops.cast(batch, "int32")


@keras.saving.register_keras_serializable(package="colorizer")
class LabAugmentation(keras.layers.Layer):
    """Random rotation, flips and L-noise of ``(L, ab)`` batches, in training only.

    Args:
        config: Which augmentations run (:class:`~colorizer.data.config.AugmentConfig`).
        seed: Integer seed; the same seed gives the same augmentations on every backend.

    Call arguments:
        lightness: ``(N, H, W, 1)`` L in [0, 100].
        ab: ``(N, H, W, 2)`` target ab.
        training: Augment only when true.

    Returns:
        ``(lightness, ab)``, float32, same shapes.
    """

    def __init__(self, config: AugmentConfig = AugmentConfig(), seed: int = 0, **kwargs):
        kwargs.setdefault("dtype", "float32")  # geometry and noise in full precision
        super().__init__(**kwargs)
        self.config = config
        self.seed = int(seed)
        # Counts the batches augmented so far: the key of each step's draws. A weight, so a
        # backup saves it and a resumed run goes on with new draws.
        self.step = self.add_weight(shape=(), dtype="int32", trainable=False, name="step",
                                    initializer="zeros",
                                    aggregation="only_first_replica")  # replicas agree
        self.built = True  # its only weight exists already, whatever the input shapes

    @property
    def active(self) -> bool:
        """Whether any augmentation is switched on."""
        return augments(self.config)

    def call(self, lightness, ab, training=None):
        lightness, ab = ops.cast(lightness, "float32"), ops.cast(ab, "float32")
        if not training or not self.active:
            return lightness, ab
        step = ops.add(self.step, 0)  # read now: the variable is advanced below
        batch = ops.shape(lightness)[0]
        # Each image is keyed by its place in the global batch: replicas draw apart, and a
        # run on R replicas draws what one device would draw for the same global batch.
        keys = image_keys(self.seed, step, batch)
        if self.config.rotation_degrees > 0 or self.config.horizontal_flip \
                or self.config.vertical_flip:
            lab = ops.concatenate([lightness, ab], axis=-1)
            lab = resample(lab, self._transforms(keys, ops.shape(lab)))
            lightness, ab = lab[..., :1], lab[..., 1:]
        if self.config.noise_stddev > 0:
            lightness = ops.clip(lightness + self._noise(keys, ops.shape(lightness)),
                                 0.0, 100.0)
        self.step.assign(step + 1)
        return lightness, ab

    def _draw(self, image_keys, draw: int):
        """One uniform number per image for the ``draw``-th random choice."""
        return uniforms(image_keys, draw)

    def _transforms(self, image_keys, shape):
        """``(N, 8)`` projective transforms mapping output pixels to input pixels:
        ``input = centre + R(angle) @ diag(flip_x, flip_y) @ (output - centre)``."""
        limit = self.config.rotation_degrees * math.pi / 180.0
        angle = (2.0 * self._draw(image_keys, 1) - 1.0) * limit
        flip_x = (ops.where(self._draw(image_keys, 2) < 0.5, -1.0, 1.0)
                  if self.config.horizontal_flip else ops.ones_like(angle))
        flip_y = (ops.where(self._draw(image_keys, 3) < 0.5, -1.0, 1.0)
                  if self.config.vertical_flip else ops.ones_like(angle))
        centre_y = (ops.cast(shape[1], "float32") - 1.0) / 2.0
        centre_x = (ops.cast(shape[2], "float32") - 1.0) / 2.0
        cos, sin = ops.cos(angle), ops.sin(angle)
        a0, a1, b0, b1 = cos * flip_x, -sin * flip_y, sin * flip_x, cos * flip_y
        zeros = ops.zeros_like(angle)
        return ops.stack([a0, a1, centre_x - a0 * centre_x - a1 * centre_y,
                          b0, b1, centre_y - b0 * centre_x - b1 * centre_y, zeros, zeros],
                         axis=1)

    def _noise(self, image_keys, shape):
        """Gaussian noise of ``noise_stddev`` per pixel (Box-Muller on two hashed uniforms)."""
        pixels = ops.cast(ops.arange(shape[1] * shape[2]), "int32")
        pixels = ops.reshape(pixels, (1, shape[1], shape[2], 1))
        keys = (hash32(ops.reshape(image_keys, (-1, 1, 1, 1)) + _wrap32(4 * _DRAW_MIX))
                + pixels * _DRAW_MIX)
        radius_draw = 1.0 - uniform_from_keys(keys)  # (0, 1]: the logarithm stays finite
        angle_draw = uniform_from_keys(keys + _IMAGE_MIX)
        normal = ops.sqrt(-2.0 * ops.log(radius_draw)) * ops.cos(2.0 * math.pi * angle_draw)
        return self.config.noise_stddev * normal

    def compute_output_spec(self, lightness, ab, training=None):
        return (keras.KerasTensor(lightness.shape, "float32"),
                keras.KerasTensor(ab.shape, "float32"))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed,
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["config"] = AugmentConfig(**config.get("config", {}))
        return cls(**config)


class AugmentedTraining(keras.Model):
    """What ``fit`` trains when the training step makes its own inputs: ``network`` behind a
    :class:`LabAugmentation` and, for a hint-taking network, a
    :class:`~colorizer.training.hint_simulation.HintSimulation`.

    It takes ``(L, ab)`` pairs as its input (the target must be rotated and flipped with the
    photo, so the augmentation needs both, and the hints are drawn from the augmented ab),
    and returns the network's prediction together with the augmented target;
    :meth:`compute_loss` and :meth:`compute_metrics` hand those to the compiled loss and
    metrics as ``y_pred`` and ``y``. Keras' public hooks do it all, so the same model trains
    on TensorFlow and JAX. Only its weights are ever saved (backups): the trained colorizer
    is ``network``, without the augmentation or the hint simulation.

    Args:
        network: The model being fit (a colorizer or its logits view).
        augmentation: The augmentation layer, or ``None`` (augmented on the CPU, or not).
        hints: The hint simulation feeding a hint-taking network its second input, or
            ``None``.
    """

    def __init__(self, network: keras.Model, augmentation: LabAugmentation | None = None,
                 hints: keras.layers.Layer | None = None, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.augmentation = augmentation
        self.hints = hints
        # Every part holds its weights already: a backup can be restored into this model
        # before it has seen a batch.
        self.built = network.built and all(
            part.built for part in (augmentation, hints) if part is not None)

    def call(self, inputs, training=False):
        lightness, ab = inputs
        if self.augmentation is not None:
            lightness, ab = self.augmentation(lightness, ab, training=training)
        network_inputs = lightness
        if self.hints is not None:  # drawn from the colours the network must predict
            network_inputs = [lightness, self.hints(ab, training=training)]
        return {"prediction": self.network(network_inputs, training=training), "target": ab}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
        return super().compute_loss(x, y_pred["target"], y_pred["prediction"], sample_weight,
                                    **kwargs)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y_pred["target"], y_pred["prediction"],
                                       sample_weight)
