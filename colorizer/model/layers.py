"""Serializable Keras layers that live inside the colorizer model.

They replace ``Lambda`` layers on purpose: Keras refuses to deserialize a ``Lambda`` from a
``.keras`` file unless unsafe mode is on, and a registered layer with ``get_config`` reloads
safely everywhere.
"""
from __future__ import annotations

import keras
from keras import ops

from colorizer.color import lightness_to_gray_rgb

# Channel statistics of ImageNet that DenseNet's "torch" preprocessing normalises with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="colorizer")
class LightnessToImageNetRGB(keras.layers.Layer):
    """Turns CIE L (0-100) into the 3-channel input a pretrained DenseNet expects.

    The gray photo is rebuilt exactly (the sRGB gray level with that lightness), repeated to
    three channels and normalised with ImageNet's per-channel mean and standard deviation,
    which is what ``keras.applications.densenet.preprocess_input`` does to an RGB photo.
    """

    def call(self, lightness):
        gray = lightness_to_gray_rgb(ops.cast(lightness, "float32"), xp=ops)
        rgb = ops.concatenate([gray, gray, gray], axis=-1)
        mean = ops.convert_to_tensor(IMAGENET_MEAN, dtype="float32")
        std = ops.convert_to_tensor(IMAGENET_STD, dtype="float32")
        return ops.cast((rgb - mean) / std, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)


def upsample_bilinear(x, factor: int):
    """``x`` ``(N, H, W, C)`` resized to ``(N, factor H, factor W, C)`` by bilinear interpolation
    (half-pixel centres, edges clamped), on any Keras backend.

    JAX always knows the shapes it traces, so the public ``keras.ops.image.resize`` serves. A
    TensorFlow graph of a fully convolutional model does not know H and W, and that op wants
    them as Python ints: TensorFlow's own resize takes them as a tensor. The two agree to float
    rounding (tested).
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        size = tf.shape(x)[1:3] * factor
        return tf.cast(tf.image.resize(x, size, method="bilinear"), x.dtype)
    height, width = ops.shape(x)[1:3]
    resized = ops.image.resize(x, (height * factor, width * factor), interpolation="bilinear",
                               antialias=False, data_format="channels_last")
    return ops.cast(resized, x.dtype)


@keras.saving.register_keras_serializable(package="colorizer")
class BilinearUpsampling(keras.layers.Layer):
    """Doubles height and width by bilinear interpolation, for inputs of any (dynamic) size.

    ``keras.layers.UpSampling2D(interpolation="bilinear")`` cannot trace a graph when the
    spatial dimensions are unknown, which a fully convolutional model needs.

    Args:
        factor: Integer upscaling factor for both sides.
    """

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return upsample_bilinear(x, self.factor)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = lambda n: None if n is None else n * self.factor  # noqa: E731
        return (batch, scale(height), scale(width), channels)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
