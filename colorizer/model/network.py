"""The paper's colorizer: DenseNet121 up to ``pool2_pool``, then an upsampling decoder to ab.

    L (H, W, 1) -> gray RGB, ImageNet-normalised -> DenseNet121[:pool2_pool] (H/8, W/8, 128)
      -> [Conv3x3 + BN + ReLU, bilinear upsampling x2] x 3 -> Conv3x3 -> tanh * 128 -> ab (H, W, 2)

The network is fully convolutional (spatial dimensions are ``None``), so it trains at 224x224
and predicts at any size whose sides are multiples of :data:`MODEL_STRIDE`.

``head="classification"`` swaps the regression head for colour as classification
(:mod:`colorizer.model.classification`): the same encoder and decoder blocks, the last two without
their upsampling, then per-pixel logits over the quantised ab gamut at 1/4 resolution::

    ... -> decoder1 (up x2) -> decoder2 -> decoder3 -> Conv1x1 -> logits (H/4, W/4, Q)
        -> annealed mean (temperature T) -> ab (H/4, W/4, 2) -> bilinear x4 -> ab (H, W, 2)

Both heads therefore map L to ab, so ``colorize`` and ``evaluate`` treat them alike; training
fits :func:`logits_model`, a view of the same layers that ends at the logits.

``hint_inputs=True`` adds a second input, colour hints ``(H, W, 3)`` (see
:mod:`colorizer.model.hints`): a small branch reads them and joins the decoder at strides 8, 4,
2 and 1 through zero-initialised convolutions, and the regression head mixes the hints, spread
far, into its colour by learned weights (zero at first). :func:`takes_hints` tells such a model, and
:func:`model_inputs` builds what to feed any colorizer (all-zero hints when none are given).

Example:
    >>> model = build_colorizer(weights=None)
    >>> model.output_shape
    (None, None, None, 2)
"""
from __future__ import annotations

import os
from typing import Sequence

import keras
import numpy as np

from colorizer.color import AB_RANGE
from colorizer.gamut import load_gamut_bins
from colorizer.model.classification import (
    DEFAULT_TEMPERATURE, LOGITS_STRIDE, AnnealedMeanDecoding)
from colorizer.model.hint_encoding import HINT_CHANNELS, HINTS_INPUT
from colorizer.model.hints import (
    JOIN_STRIDES, SPREAD_STRIDE, HintAffinity, HintMix, hint_features, join_hints, no_hints)
from colorizer.model.layers import BilinearUpsampling, LightnessToImageNetRGB
from colorizer.model.pretrained import DENSENET_NOTOP_FILE, pretrained_weights

ENCODER_CUT = "pool2_pool"
"""DenseNet121 layer the encoder ends at: layer 52, 28x28x128 for a 224x224 input."""
MODEL_STRIDE = 8
"""The encoder downsamples by 8, so input sides must be multiples of 8."""
DECODER_FILTERS = (128, 64, 32)
"""Filters of the three decoder blocks, one per x2 upsampling back to full size."""
HEADS = ("regression", "classification")
"""``regression``: the paper's tanh ab output, MSE. ``classification``: Zhang et al.'s bins."""
LOGITS_LAYER = "ab_logits"
"""The classification head's logits layer; its presence tells a model's head."""
AB_LAYER = "ab"
"""The last layer, ab out (the regression head's ``Rescaling``: ``tanh * 128 * colour gain``)."""
DECODE_LAYER = "ab_decode"
"""The classification head's annealed-mean layer (holds the temperature)."""
ENCODER_WEIGHTS_HINT = (
    "train from scratch (--weights none; WEIGHTS = \"none\" in the notebook), or copy Keras' "
    f"{DENSENET_NOTOP_FILE} onto this machine and pass its path (--weights FILE)")
"""What to do when the encoder's pretrained weights cannot be had."""
CLASSIFICATION_STRIDE = LOGITS_STRIDE
"""The classification head predicts at 1/4 resolution (see :data:`LOGITS_STRIDE`)."""


def build_encoder(weights: str | None = "imagenet", image_size: int | None = None) -> keras.Model:
    """DenseNet121 from its input to ``pool2_pool``, as one nested model named ``encoder``.

    Args:
        weights: ``"imagenet"``, ``None`` (random init) or the path of a Keras
            DenseNet121 weights file (``*_notop.h5``) for machines without internet.
        image_size: Fixed square input size, or ``None`` for any size.

    Raises:
        WeightsUnavailableError: The ImageNet weights could not be downloaded (offline, a
            firewall) or the weights file could not be read; the message says what to do.
    """
    with pretrained_weights("DenseNet121", weights, hint=ENCODER_WEIGHTS_HINT):
        densenet = keras.applications.DenseNet121(
            include_top=False, weights=weights, input_shape=(image_size, image_size, 3))
    cut = densenet.get_layer(ENCODER_CUT).output
    return keras.Model(densenet.input, cut, name="encoder")


def _decoder_block(x, filters: int, name: str, upsample: bool = True):
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return BilinearUpsampling(2, name=f"{name}_up")(x) if upsample else x


def _regression_head(x, spread=None):
    features = x
    x = keras.layers.Conv2D(2, 3, padding="same", name="ab_conv")(x)
    # tanh and the scale run in float32 so mixed precision never rounds the colours.
    x = keras.layers.Activation("tanh", dtype="float32", name="ab_tanh")(x)
    if spread is not None:
        # Zero-initialised: a fresh hint model colours as the automatic one.
        weights = keras.layers.Conv2D(spread.shape[-1] // 3, 3, padding="same",
                                      kernel_initializer="zeros", dtype="float32",
                                      name="hints_mix_weights")(features)
        x = HintMix(SPREAD_STRIDE, name="hints_mix")([x, spread, weights])
    return keras.layers.Rescaling(AB_RANGE, dtype="float32", name=AB_LAYER)(x)


def _classification_head(x, bins: np.ndarray, temperature: float):
    # Logits and their softmax in float32: 262 classes in float16 would lose the small ones.
    logits = keras.layers.Conv2D(len(bins), 1, dtype="float32", name=LOGITS_LAYER)(x)
    ab = AnnealedMeanDecoding(bins, temperature, dtype="float32", name=DECODE_LAYER)(logits)
    return BilinearUpsampling(CLASSIFICATION_STRIDE, dtype="float32", name=AB_LAYER)(ab)


def build_colorizer(
    weights: str | os.PathLike | None = "imagenet",
    *,
    decoder_filters: Sequence[int] = DECODER_FILTERS,
    freeze_encoder: bool = False,
    image_size: int | None = None,
    name: str = "colorizer",
    head: str = "regression",
    temperature: float = DEFAULT_TEMPERATURE,
    hint_inputs: bool = False,
) -> keras.Model:
    """Builds the L -> ab model: the paper's regression, or colour as classification.

    Args:
        weights: ``"imagenet"`` (pretrained encoder, downloaded by Keras), ``None`` (random
            init), or a path: a colorizer ``.keras`` or ``.weights.h5`` file restores the
            whole model, any other ``.h5`` is read as DenseNet121 encoder weights.
        decoder_filters: Filters of the decoder blocks; one x2 upsampling each, and
            ``len(decoder_filters)`` must be 3 to undo the encoder's stride of 8.
        freeze_encoder: Build with the encoder's weights frozen (its BatchNorms then run in
            inference mode), as for the first epochs of fine-tuning a pretrained encoder.
        image_size: Fix the input to an ``image_size`` square; ``None`` (the default) keeps
            the model fully convolutional.
        name: Model name.
        head: ``"regression"`` (the paper: tanh ab, trained with MSE) or
            ``"classification"`` (logits over the ab gamut bins, decoded by annealed mean;
            train it through :func:`logits_model`).
        temperature: Annealed-mean temperature of the classification head (1: the mean,
            towards 0: the mode); change it later with :func:`set_temperature`.
        hint_inputs: Add a second input, colour hints ``(batch, H, W, 3)`` (hinted ab over
            128 and a 0/1 mask, see :func:`colorizer.model.hints.encode_hints`), joined to
            the decoder through zero-initialised convolutions: built fresh (or from an
            automatic model's file) it colours as the automatic model does.

    Returns:
        An uncompiled ``keras.Model`` mapping L ``(batch, H, W, 1)`` in [0, 100] (and, with
        ``hint_inputs``, the hints) to ab ``(batch, H, W, 2)`` in [-128, 128], float32
        whatever the dtype policy.

    Example:
        >>> model = build_colorizer(weights=None, head="classification")
        >>> head_of(model), model.output_shape
        ('classification', (None, None, None, 2))
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}")
    if len(decoder_filters) != 3:
        raise ValueError("decoder_filters needs 3 entries, one per x2 upsampling (stride 8)")
    path = os.fspath(weights) if weights is not None else None
    whole_model_file = path is not None and path.endswith((".keras", ".weights.h5"))
    if path is not None and path != "imagenet" and not os.path.exists(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    encoder_weights = None if whole_model_file else path

    if image_size is not None and image_size % MODEL_STRIDE:
        raise ValueError(f"image_size must be a multiple of {MODEL_STRIDE}, got {image_size}")
    lightness = keras.Input(shape=(image_size, image_size, 1), name="L")
    x = LightnessToImageNetRGB(name="to_imagenet_rgb")(lightness)
    encoder = build_encoder(encoder_weights, image_size)
    encoder.trainable = not freeze_encoder
    x = encoder(x)
    hints, joins, spread = None, {}, None
    if hint_inputs:
        hints = keras.Input(shape=(image_size, image_size, HINT_CHANNELS), name=HINTS_INPUT)
        features, spread = hint_features(hints, lightness, encoded=x)
        joins = {stride: features[stride] for stride in JOIN_STRIDES}
    regression = head == "regression"
    stride = MODEL_STRIDE
    for i, filters in enumerate(decoder_filters, start=1):
        x = join_hints(x, joins.pop(stride, None), name=f"decoder{i}")
        upsample = regression or i == 1
        x = _decoder_block(x, filters, name=f"decoder{i}", upsample=upsample)
        stride //= 2 if upsample else 1
    x = join_hints(x, joins.pop(stride, None), name="head")
    ab = (_regression_head(x, spread) if regression
          else _classification_head(x, load_gamut_bins(), temperature))
    model = keras.Model([lightness, hints] if hint_inputs else lightness, ab, name=name)

    if whole_model_file:
        load_weights_into(model, path)
    return model


def load_weights_into(model: keras.Model, path: str) -> None:
    """Copies weights from a saved colorizer (``.keras`` or ``.weights.h5``) into ``model``.

    An automatic model's file may fill a hint-taking ``model``: every layer they share, by
    name; the hint branch keeps its initialisation, so ``model`` colours as the file does
    until training teaches it the hints.
    """
    if path.endswith(".weights.h5"):
        model.load_weights(path)
        return
    source = load_colorizer(path)
    if head_of(source) != head_of(model):
        raise ValueError(f"{path} holds a {head_of(source)} model; build it with "
                         f"head={head_of(source)!r}")
    if takes_hints(source) == takes_hints(model):
        model.set_weights(source.get_weights())
    elif takes_hints(source):
        raise ValueError(f"{path} holds a model that takes hints; build it with "
                         "hint_inputs=True")
    else:
        for layer in source.layers:
            if layer.weights:
                model.get_layer(layer.name).set_weights(layer.get_weights())


def load_colorizer(path: str | os.PathLike) -> keras.Model:
    """Loads a saved colorizer safely (no arbitrary code), with a clear error when it fails.

    Args:
        path: A ``.keras`` file written by ``colorizer train`` or ``colorizer demo``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not a readable Keras model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"model file not found: {path} (train one with `colorizer train`, or run "
            "`colorizer demo` for a small one)")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a damaged or foreign file
        raise ValueError(f"{path} is not a readable colorizer model: {error}") from error


def head_of(model: keras.Model) -> str:
    """``"classification"`` or ``"regression"``: which head a (loaded) colorizer has."""
    names = {layer.name for layer in model.layers}
    return "classification" if LOGITS_LAYER in names else "regression"


def takes_hints(model: keras.Model) -> bool:
    """Whether a (loaded) colorizer takes colour hints as a second input."""
    inputs = getattr(model, "inputs", None) or []  # a stand-in with no Keras inputs: none
    return any(getattr(tensor, "name", None) == HINTS_INPUT for tensor in inputs)


def model_inputs(model: keras.Model, lightness, hints=None):
    """What to feed ``model`` to colour ``lightness``: the L batch, or ``[L, hints]``.

    The one place that knows a colorizer's inputs: wherever the package predicts with a model,
    it calls ``model.predict_on_batch(model_inputs(model, lightness))``.

    Args:
        model: A colorizer (either head), its logits view, or a model built like them.
        lightness: ``(N, H, W, 1)`` L, a NumPy array or a backend tensor.
        hints: ``(N, H, W, 3)`` hints (see :func:`colorizer.model.hints.encode_hints`) for a
            hint-taking model; ``None`` gives it all-zero hints, the automatic colour.

    Returns:
        ``lightness`` for a model without hint inputs, else ``[lightness, hints]``.

    Raises:
        ValueError: Hints were given to a model that takes none.

    Example:
        >>> ab = model.predict_on_batch(model_inputs(model, lightness))  # doctest: +SKIP
    """
    if not takes_hints(model):
        if hints is not None:
            raise ValueError("this model takes no hints (it was built without hint_inputs); "
                             "propagate them on top of its colour instead")
        return lightness
    return [lightness, no_hints(lightness) if hints is None else hints]


def logits_model(model: keras.Model) -> keras.Model:
    """The classification colorizer's training view: L -> logits ``(B, H/4, W/4, Q)``.

    It shares every layer (and so every weight) with ``model``: training it trains ``model``.

    Raises:
        ValueError: ``model`` has the regression head.
    """
    if head_of(model) != "classification":
        raise ValueError("logits_model needs a colorizer built with head='classification'")
    return keras.Model(model.inputs, model.get_layer(LOGITS_LAYER).output,
                       name=f"{model.name}_logits")


def set_temperature(model: keras.Model, temperature: float) -> None:
    """Sets the annealed-mean temperature of a classification colorizer (takes effect at once).

    Args:
        model: A colorizer with the classification head.
        temperature: Positive; 0.38 by default, 1 is the mean, small values near the mode.
    """
    if head_of(model) != "classification":
        raise ValueError("only a colorizer with the classification head has a temperature; "
                         "this one is a regression model")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    model.get_layer(DECODE_LAYER).temperature.assign(float(temperature))


def temperature_of(model: keras.Model) -> float:
    """A classification colorizer's annealed-mean temperature."""
    if head_of(model) != "classification":
        raise ValueError("only a colorizer with the classification head has a temperature; "
                         "this one is a regression model")
    return float(keras.ops.convert_to_numpy(model.get_layer(DECODE_LAYER).temperature))


def set_encoder_trainable(model: keras.Model, trainable: bool) -> None:
    """Freezes or unfreezes the encoder; recompile the model afterwards."""
    model.get_layer("encoder").trainable = trainable


def count_macs(image_size: int = 224, **build_kwargs) -> int:
    """Multiply-accumulates of one forward pass over an ``image_size`` square (convolutions,
    and the products of a hint model's :class:`~colorizer.model.hints.HintAffinity`).

    Builds an untrained copy at a fixed input size so every layer's output shape is known.
    """
    model = build_colorizer(weights=None, image_size=image_size, **build_kwargs)
    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, _ = layer.output.shape
            kh, kw, cin, cout = layer.kernel.shape
            total += height * width * kh * kw * cin * cout
        elif isinstance(layer, HintAffinity):
            _, height, width, _ = layer.output.shape
            projection_rows, keys = layer.projection.shape
            cells = height * width
            # Keys from the features; every pair of cells' likeness; the hints they carry.
            total += cells * projection_rows * keys + cells * cells * (keys + HINT_CHANNELS)
    return int(total)


def _leaf_layers(model: keras.Model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def scale_colour(model: keras.Model, factor: float) -> keras.Model:
    """A copy of a regression colorizer whose ab output is multiplied by ``factor``.

    The final ``Rescaling`` layer (named ``ab``: ``tanh * 128``) takes the factor into its
    scale, so the saved copy carries it and loads like any other colorizer. Below 1 the
    colour is toned down towards gray, above 1 made more saturated.

    Args:
        model: A colorizer with the regression head.
        factor: Positive.

    Returns:
        A new model sharing nothing with ``model`` (its weights copied).

    Example:
        >>> vivid = scale_colour(model, 1.3)  # doctest: +SKIP
    """
    if not factor > 0:
        raise ValueError(f"the colour factor must be positive, got {factor}")
    config = model.get_config()
    scaled = [layer for layer in config["layers"] if layer["name"] == AB_LAYER]
    if not scaled or scaled[0]["class_name"] != "Rescaling":
        raise ValueError("only a regression colorizer (final Rescaling layer 'ab') can be scaled")
    scaled[0]["config"]["scale"] = float(scaled[0]["config"]["scale"]) * factor
    copy = keras.Model.from_config(config)
    copy.set_weights(model.get_weights())
    return copy
