"""The paper's augmentations on batches of RGB images: random rotation and flips.

Random noise is added to L after the Lab conversion (see :mod:`colorizer.data.pipeline`), so the target
colours stay clean. Every function works on a float batch ``(N, H, W, 3)`` inside ``tf.data``.
"""
from __future__ import annotations

import math

import tensorflow as tf

from colorizer.data.config import AugmentConfig


def random_flip(images: tf.Tensor, axis: int, seed: tf.Tensor) -> tf.Tensor:
    """Flips each image of the batch along ``axis`` (2: left-right, 1: up-down) with p=0.5."""
    coins = tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seed=seed) < 0.5
    return tf.where(coins, tf.reverse(images, axis=[axis]), images)


def random_rotate(images: tf.Tensor, max_degrees: float, seed: tf.Tensor) -> tf.Tensor:
    """Rotates each image by its own angle in [-max_degrees, max_degrees] about its centre.

    Corners that rotate in are filled by reflecting the image, so no black wedges appear
    for the model to learn colours of.
    """
    batch = tf.shape(images)[0]
    height = tf.cast(tf.shape(images)[1], tf.float32)
    width = tf.cast(tf.shape(images)[2], tf.float32)
    limit = max_degrees * math.pi / 180.0
    angles = tf.random.stateless_uniform([batch], seed=seed, minval=-limit, maxval=limit)
    cos, sin = tf.cos(angles), tf.sin(angles)
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    # Projective transform mapping output pixels to input pixels (inverse rotation).
    transforms = tf.stack([
        cos, -sin, cx - cos * cx + sin * cy,
        sin, cos, cy - sin * cx - cos * cy,
        tf.zeros_like(cos), tf.zeros_like(cos)], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")


def augment_batch(images: tf.Tensor, config: AugmentConfig, seed: tf.Tensor) -> tf.Tensor:
    """Applies the configured rotation and flips to a float RGB batch.

    Args:
        images: ``(N, H, W, 3)`` float32 in [0, 1].
        config: Which augmentations run.
        seed: A stateless seed ``[2]`` (int32/int64); different per batch.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=3)
    if config.rotation_degrees > 0:
        images = random_rotate(images, config.rotation_degrees, seeds[0])
    if config.horizontal_flip:
        images = random_flip(images, axis=2, seed=seeds[1])
    if config.vertical_flip:
        images = random_flip(images, axis=1, seed=seeds[2])
    return tf.clip_by_value(images, 0.0, 1.0)


def random_crop_augment(image: tf.Tensor, size: int, config: AugmentConfig,
                        seed: tf.Tensor) -> tf.Tensor:
    """A random ``size`` square of one image, rotated and flipped as configured, in one pass.

    Cropping, rotating and flipping are all affine maps, so one resampling of only the
    ``size * size`` output pixels does them together: about five times faster than rotating and
    flipping whole batches, which keeps a training input pipeline ahead of the accelerator.

    Args:
        image: ``(H, W, C)`` with ``H, W >= size``; any float or integer type (the data
            pipeline passes Lab in float16).
        size: Side of the output square.
        config: Which augmentations run (noise is added elsewhere).
        seed: A stateless seed ``[2]``; different per image.

    Returns:
        ``(size, size, C)`` float32.
    """
    image = tf.cast(image, tf.float32)
    if config.rotation_degrees <= 0:  # no resampling needed: a crop and exact flips
        seeds = tf.random.experimental.stateless_split(seed, num=3)
        channels = image.shape[-1] if image.shape[-1] is not None else tf.shape(image)[-1]
        out = tf.image.stateless_random_crop(image, [size, size, channels], seeds[0])
        if config.horizontal_flip:
            out = tf.image.stateless_random_flip_left_right(out, seeds[1])
        if config.vertical_flip:
            out = tf.image.stateless_random_flip_up_down(out, seeds[2])
        return out
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    draws = tf.random.stateless_uniform([5], seed=seed)
    limit = config.rotation_degrees * math.pi / 180.0
    angle = (2.0 * draws[0] - 1.0) * limit
    flip_x = -1.0 if config.horizontal_flip else 1.0
    flip_y = -1.0 if config.vertical_flip else 1.0
    flip_x = tf.where(draws[1] < 0.5, flip_x, 1.0)
    flip_y = tf.where(draws[2] < 0.5, flip_y, 1.0)
    half = (size - 1) / 2.0
    # Centre of the crop window in the input, then output pixel -> input pixel:
    # input = centre + R(angle) @ diag(flip) @ (output - half).
    centre_x = draws[3] * (width - size) + half
    centre_y = draws[4] * (height - size) + half
    cos, sin = tf.cos(angle), tf.sin(angle)
    a0, a1, b0, b1 = cos * flip_x, -sin * flip_y, sin * flip_x, cos * flip_y
    transform = tf.stack([a0, a1, centre_x - (a0 + a1) * half,
                          b0, b1, centre_y - (b0 + b1) * half, 0.0, 0.0])
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=[size, size],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")
    return out[0]
