"""Colour hints as a second input of the colorizer (Zhang et al. 2017, "learned hints").

A hint-taking colorizer (``build_colorizer(..., hint_inputs=True)``) reads, beside L, a
hints tensor ``(H, W, 3)``: the hinted ab divided by :data:`~colorizer.color.AB_RANGE` (the
scale of the model's own ab output) where a hint is given and 0 elsewhere, then a 0/1 mask.
No hint at all (all zeros) asks for the automatic colour.

The hints never enter the pretrained encoder (its stem sees L, as DenseNet121's ImageNet
weights expect). A small branch reads them, with L, and joins the decoder at every scale::

    [hints, L / 100] (H, W, 4) -> Conv3x3 16 (H) -> Conv3x3/2 32 (H/2) -> Conv3x3/2 64 (H/4)
                               -> Conv3x3/2 64 (H/8)
    each added to the decoder's input at its scale through a zero-initialised Conv1x1

The joins start at zero, so a freshly built hint model colours exactly as the automatic model
with the same weights, and training grows the hints' influence from there. The coarse joins
let three decoder blocks spread a hint over the region it belongs to; the full-resolution one
keeps the hinted colour sharp on its pixels (measured against other joins in
``docs/training.md``).
"""
from __future__ import annotations

import keras
import numpy as np

from colorizer.model.hint_encoding import (  # noqa: F401 - the names this module always had
    HINT_CHANNELS, HINTS_INPUT, encode_hints, no_hints_array)

HINT_BRANCH = {1: 16, 2: 32, 4: 64, 8: 64}
"""Filters of the hint branch at each stride (1: full resolution, 8: the encoder's output)."""
JOIN_STRIDES = (8, 4, 2, 1)
"""Strides at which the hint features join the decoder (those a head reaches)."""


def no_hints(lightness):
    """All-zero hints for a batch of L ``(..., H, W, 1)``: the automatic colour."""
    if isinstance(lightness, np.ndarray):
        return no_hints_array(lightness)
    shape = keras.ops.shape(lightness)
    return keras.ops.zeros(tuple(shape[:-1]) + (HINT_CHANNELS,), "float32")


def hint_features(hints, lightness) -> dict[int, object]:
    """The hint branch: ``{stride: features}`` at strides 1, 2, 4 and 8.

    It sees L too (scaled to [0, 1]), so its features can follow the photo's edges from full
    resolution on, as the first layer of Zhang et al.'s network does.
    """
    scaled = keras.layers.Rescaling(1.0 / 100.0, name="hints_lightness")(lightness)
    x = keras.layers.Concatenate(name="hints_in")([hints, scaled])
    features = {}
    for stride, filters in HINT_BRANCH.items():
        # A seed of its own: the branch draws nothing from the global generator, so a hint
        # model built under a seed has the very weights of the automatic model built under it.
        seeded = keras.initializers.GlorotUniform(seed=stride)
        x = keras.layers.Conv2D(filters, 3, strides=1 if stride == 1 else 2, padding="same",
                                activation="relu", kernel_initializer=seeded,
                                name=f"hints_conv{stride}")(x)
        features[stride] = x
    return features


def join_hints(x, features, name: str):
    """``x + Conv1x1(features)``, the convolution zero-initialised: at first, exactly ``x``."""
    if features is None:
        return x
    joined = keras.layers.Conv2D(x.shape[-1], 1, kernel_initializer="zeros",
                                 bias_initializer="zeros", name=f"{name}_hint_join")(features)
    return keras.layers.Add(name=f"{name}_hinted")([x, joined])
