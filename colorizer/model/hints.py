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

A convolution sees a few cells around a hint; a cat spans the photo. So at the encoder's
stride the branch also gets each hint spread far (:class:`HintSpread`, normalised convolution,
Knutsson and Westin 1993): the mean hinted colour and how much of it there is, over windows of
1, 5 and 13 cells and the whole photo, once plainly and once with each hint weighted by how
close its L is to the cell's (a bilateral grid over :data:`SPREAD_LIGHTNESS_BINS` bins); and
once over the whole photo by how alike the cells' learned keys are (:class:`HintAffinity`:
what the encoder found, not distance or lightness, says where a hint belongs). The decoder,
which sees what the encoder found, reads them at H/8, and the regression head mixes them into
its colour by weights it learns per pixel (:class:`HintMix`): the spread alone barely helps,
the mix lowers the error at 1 to 20 hints by far, and the affinity further at 5 and 20
(``benchmarks/hint_join.json``: the ``spread``, ``spread-mix`` and ``affinity-spread-mix``
rows).

The joins start at zero, so a freshly built hint model colours exactly as the automatic model
with the same weights, and training grows the hints' influence from there. The coarse joins
let three decoder blocks spread a hint over the region it belongs to; the full-resolution one
keeps the hinted colour sharp on its pixels (measured against other joins in
``docs/training.md``).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from colorizer.model.hint_encoding import (  # noqa: F401 - the names this module always had
    HINT_CHANNELS, HINTS_INPUT, encode_hints, no_hints_array)
from colorizer.model.layers import upsample_bilinear

HINT_BRANCH = {1: 16, 2: 32, 4: 64, 8: 64}
"""Filters of the hint branch at each stride (1: full resolution, 8: the encoder's output)."""
JOIN_STRIDES = (8, 4, 2, 1)
"""Strides at which the hint features join the decoder (those a head reaches)."""
SPREAD_RADII = (0, 2, 6, None)
"""Half-sides, in cells of the encoder's stride, of the windows :class:`HintSpread` averages
over (``None``: the whole photo). Empty: no spread (hint models built before it had none)."""
SPREAD_STRIDE = 8
"""The spread is computed on cells of this many pixels: the encoder's stride, where it joins."""
SPREAD_LIGHTNESS_BINS = 6
"""Lightness bins of the spread's second half, which weighs each hint by how close its L is to
the cell's (0: no second half, as hint models built before it)."""
MIX_SPREAD = True
"""Whether a regression head mixes the spread hints into its colour (:class:`HintMix`)."""
AFFINITY_KEYS = 16
"""Size of the learned keys by which :class:`HintAffinity` spreads each hint to the cells that
look like its own (0: no such spread, as hint models built before it)."""


def no_hints(lightness):
    """All-zero hints for a batch of L ``(..., H, W, 1)``: the automatic colour."""
    if isinstance(lightness, np.ndarray):
        return no_hints_array(lightness)
    shape = keras.ops.shape(lightness)
    return keras.ops.zeros(tuple(shape[:-1]) + (HINT_CHANNELS,), "float32")


def cell_sums(payload, stride: int):
    """Per cell of ``stride`` pixels, the sum of ``payload`` (hinted ab sums and counts)."""
    cells = ops.average_pool(payload, stride, stride, padding="valid")
    return cells * float(stride * stride)


def colour_and_amount(sums, threshold: float):
    """From summed ``[ab, count]``: the mean hinted ab and ``n / (n + 1)`` for the count ``n``,
    both 0 where the count is not above ``threshold``."""
    count = sums[..., 2:]
    # Average pooling leaves float rounding in a count: below the threshold is none.
    hinted = ops.cast(count > threshold, "float32")
    colour = sums[..., :2] / ops.maximum(count, threshold) * hinted
    return ops.concatenate([colour, count * hinted / (count + 1.0)], axis=-1)


@keras.saving.register_keras_serializable(package="colorizer")
class HintSpread(keras.layers.Layer):
    """Hints spread over growing windows: ``(N, H, W, 3)`` -> ``(N, H/s, W/s, 3 * len(radii))``,
    or twice as many channels with ``lightness_bins``.

    On cells of ``stride`` pixels, for each window (a square of ``2 r + 1`` cells, or the
    whole photo for ``r = None``): the mean hinted ab over the hinted pixels in it (0 where it
    holds none), and ``n / (n + 1)`` for its ``n`` hinted pixels (0: none, 0.5: one, near 1:
    a patch), so the nested windows tell the decoder how far the nearest hint is. Sums are box
    convolutions with zeros outside the photo, the same on every backend.

    With ``lightness_bins`` the layer takes ``[hints, L]`` and adds, after those, the same
    windows with each hinted pixel counted in a cell by how close its L is to the cell's mean L
    (a bilateral grid: the hints are split over lightness bins by tent weights, each bin
    spread alone, and each cell reads the bins at its own L). A window holding a dark hint on
    the cat and a light one on the wall then gives the cat's cells the dark hint's colour and
    the wall's the light one's, where the plain mean gives both their blend.

    Args:
        radii: Window half-sides in cells; ``None`` for the whole photo.
        stride: Cell side in pixels (input sides must be multiples of it).
        lightness_bins: Bins over L 0-100 for the lightness-weighted half (at least 2); 0
            for none (the layer then takes the hints alone).
    """

    def __init__(self, radii=SPREAD_RADII, stride: int = SPREAD_STRIDE,
                 lightness_bins: int = 0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.radii = tuple(None if r is None else int(r) for r in radii)
        self.stride = int(stride)
        self.lightness_bins = int(lightness_bins)
        if self.lightness_bins == 1 or self.lightness_bins < 0:
            raise ValueError(f"lightness_bins must be 0 or at least 2, got {lightness_bins}")

    def call(self, inputs):
        hints, lightness = inputs if self.lightness_bins else (inputs, None)
        # The input holds ab under the mask and 0 elsewhere, then the mask: per cell, the sum
        # of hinted ab and the number of hinted pixels (means times the cell's area).
        hints = ops.cast(hints, "float32")
        outputs = self._windows(cell_sums(hints, self.stride), threshold=0.5)
        if self.lightness_bins:
            level = ops.clip(ops.cast(lightness, "float32") / 100.0, 0.0, 1.0)
            cell_level = ops.average_pool(level, self.stride, self.stride, padding="valid")
            read = None
            for centre in range(self.lightness_bins):
                # Each bin spread alone, then read at the cell's own L: a hint of the cell's L
                # counts half to whole (the tents overlap), one 2/(bins-1) away not at all.
                spread = self._windows(cell_sums(hints * self._tent(level, centre), self.stride),
                                       threshold=None)
                term = [self._tent(cell_level, centre) * sums for sums in spread]
                read = term if read is None else [a + b for a, b in zip(read, term)]
            outputs += [colour_and_amount(sums, threshold=1e-3) for sums in read]
        return ops.concatenate(outputs, axis=-1)

    def _tent(self, level, centre: int):
        steps = float(self.lightness_bins - 1)
        return ops.relu(1.0 - ops.abs(level * steps - float(centre)))

    def _window_sums(self, cells, radius):
        if radius is None:
            return ops.sum(cells, axis=(1, 2), keepdims=True) + ops.zeros_like(cells)
        side = 2 * radius + 1
        kernel = ops.ones((side, side, cells.shape[-1], 1), "float32")
        return ops.depthwise_conv(cells, kernel, 1, padding="same")

    def _windows(self, cells, threshold):
        """Each window's sums, or (``threshold`` given) its colour and amount."""
        sums = [self._window_sums(cells, radius) for radius in self.radii]
        if threshold is None:
            return sums
        return [colour_and_amount(x, threshold) for x in sums]

    def compute_output_shape(self, input_shape):
        if self.lightness_bins:
            input_shape = input_shape[0]
        batch, height, width, _ = input_shape
        cell = lambda n: None if n is None else n // self.stride  # noqa: E731
        halves = 2 if self.lightness_bins else 1
        return (batch, cell(height), cell(width), 3 * len(self.radii) * halves)

    def get_config(self):
        return {**super().get_config(), "radii": list(self.radii), "stride": self.stride,
                "lightness_bins": self.lightness_bins}


@keras.saving.register_keras_serializable(package="colorizer")
class HintMix(keras.layers.Layer):
    """The head's colour moved towards the spread hints, by weights the network learns.

    ``[ab, spread, weights]`` -> ``ab + sum_r weights_r * hinted_r * (colour_r - ab)``: ``ab``
    ``(N, H, W, 2)`` the head's colour (over 128), ``spread`` :class:`HintSpread`'s output at
    stride ``stride``, brought to full size bilinearly, ``weights`` ``(N, H, W, len(radii))``.
    Where a window holds no hint its term is 0, so without hints the colour is the head's.
    Copying a nearby hint's colour over the region it belongs to is then one weight the decoder
    learns per pixel, not a function its convolutions must find.
    """

    def __init__(self, stride: int = SPREAD_STRIDE, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.stride = int(stride)

    def call(self, inputs):
        ab, spread, weights = (ops.cast(x, "float32") for x in inputs)
        spread = upsample_bilinear(spread, self.stride)
        for scale in range(weights.shape[-1]):
            colour = spread[..., 3 * scale:3 * scale + 2]
            hinted = spread[..., 3 * scale + 2:3 * scale + 3]
            # The window's colour where it holds a hint; the head's own colour where not.
            weight = weights[..., scale:scale + 1] * ops.cast(hinted > 0, "float32")
            ab = ab + weight * (colour - ab)
        # Weights in [0, 1] keep the colour between the head's and the hints'; beyond, the
        # output stays inside the range the head's tanh gives.
        return ops.clip(ab, -1.0, 1.0)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="colorizer")
class HintAffinity(keras.layers.Layer):
    """Hints spread to the cells that look alike, by keys the network learns.

    ``[features, hints, L]`` -> ``(N, h, w, 3)`` on cells of ``stride`` pixels: ``features``
    the encoder's output at that stride, ``hints`` and ``L`` at full size. Each cell gets a key
    (a learned projection of its features and mean L, less the photo's mean key, scaled to unit
    length); cell ``i`` then receives the hinted pixels of every cell ``j`` of the photo,
    wherever it lies, weighted by ``exp(sharpness * (k_i . k_j - 1))`` (1 for an identical key,
    towards 0 for unlike ones; the sharpness is learned too), and returns, as
    :class:`HintSpread` does per window, their mean colour and ``n / (n + 1)`` for their
    weighted number ``n``.

    The windows of :class:`HintSpread` know how far a hint is and how alike its lightness; not
    whether it lies on the same thing. The keys learn that from the colour loss alone: a hint
    on a cat's back reaches its tail across the room, not the wall of equal lightness beside it.
    A photo of ``c`` cells costs about ``c^2 * (keys + 3)`` multiply-adds and ``c^2`` floats of
    memory: 784 cells at the default working size (13 M, 2.5 MB).

    The keys read the encoder, so they need its BatchNorm statistics settled: a model trained
    from scratch for under about 200 steps may colour worse with hints than without in
    inference mode (``docs/training.md``).

    Args:
        stride: Cell side in pixels: the stride of ``features``.
        keys: Length of the learned keys.
    """

    def __init__(self, stride: int = SPREAD_STRIDE, keys: int = AFFINITY_KEYS, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.stride = int(stride)
        self.keys = int(keys)

    def build(self, input_shapes):
        channels = int(input_shapes[0][-1]) + 1  # the features, then the cell's mean L
        self.projection = self.add_weight(name="projection", shape=(channels, self.keys),
                                          initializer=keras.initializers.GlorotUniform(seed=7))
        # Starts sharp: a cell unlike the hint's (keys at right angles) weighs e^-10.
        self.log_sharpness = self.add_weight(
            name="log_sharpness", shape=(),
            initializer=keras.initializers.Constant(float(np.log(10.0))))

    def call(self, inputs):
        features, hints, lightness = (ops.cast(x, "float32") for x in inputs)
        cells = cell_sums(hints, self.stride)
        level = ops.average_pool(lightness / 100.0, self.stride, self.stride, padding="valid")
        keys = ops.matmul(ops.concatenate([features, level], axis=-1), self.projection)
        # Centred on the photo's mean key: what sets a region apart within this photo counts,
        # not what all of its cells share (with random features, all keys would point alike).
        keys = keys - ops.mean(keys, axis=(1, 2), keepdims=True)
        keys = keys / ops.sqrt(ops.sum(keys * keys, axis=-1, keepdims=True) + 1e-6)
        shape = ops.shape(cells)
        batch = shape[0]
        keys = ops.reshape(keys, (batch, -1, self.keys))
        likeness = ops.matmul(keys, ops.transpose(keys, (0, 2, 1)))  # (N, cells, cells)
        weights = ops.exp(ops.exp(self.log_sharpness) * (likeness - 1.0))
        sums = ops.matmul(weights, ops.reshape(cells, (batch, -1, HINT_CHANNELS)))
        sums = ops.reshape(sums, shape)
        return colour_and_amount(sums, threshold=1e-3)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0][:-1]) + (HINT_CHANNELS,)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride, "keys": self.keys}


def hint_features(hints, lightness, encoded=None) -> tuple[dict[int, object], object | None]:
    """The hint branch: ``({stride: features}, spread)``, features at strides 1, 2, 4 and 8.

    It sees L too (scaled to [0, 1]), so its features can follow the photo's edges from full
    resolution on, as the first layer of Zhang et al.'s network does. At stride 8 the hints
    spread far (:class:`HintSpread`) join the branch's own features; ``spread`` is that spread
    for the head to mix in (:data:`MIX_SPREAD`), else ``None``.
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
    if not SPREAD_RADII:
        return features, None
    spread_layer = HintSpread(SPREAD_RADII, SPREAD_STRIDE, SPREAD_LIGHTNESS_BINS,
                              name="hints_spread")
    spread = spread_layer([hints, lightness] if SPREAD_LIGHTNESS_BINS else hints)
    if AFFINITY_KEYS and encoded is not None:
        # Named under hints_spread: the int8 export keeps it in float32 as the spread.
        affinity = HintAffinity(SPREAD_STRIDE, AFFINITY_KEYS, name="hints_spread_affinity")(
            [encoded, hints, lightness])
        spread = keras.layers.Concatenate(name="hints_spread_all")([spread, affinity])
    features[SPREAD_STRIDE] = keras.layers.Concatenate(name="hints_spread_features")(
        [features[SPREAD_STRIDE], spread])
    return features, spread if MIX_SPREAD else None


def join_hints(x, features, name: str):
    """``x + Conv1x1(features)``, the convolution zero-initialised: at first, exactly ``x``."""
    if features is None:
        return x
    joined = keras.layers.Conv2D(x.shape[-1], 1, kernel_initializer="zeros",
                                 bias_initializer="zeros", name=f"{name}_hint_join")(features)
    return keras.layers.Add(name=f"{name}_hinted")([x, joined])
