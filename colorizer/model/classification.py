"""Colour as classification (Zhang, Isola and Efros, ECCV 2016): targets, loss, rebalancing, decoding.

Instead of regressing ab (whose MSE optimum is the mean of all plausible colours, a brownish
gray), the network predicts a distribution over the quantised ab gamut
(:mod:`colorizer.gamut`) for every pixel:

* **soft encoding**: a true ab becomes a distribution over its 5 nearest bins, weighted by a
  Gaussian of their distance (sigma 5), summing to 1;
* **loss**: the multinomial cross-entropy between that target and the predicted softmax,
  each pixel weighted by the rebalancing weight of its nearest bin;
* **rebalancing**: rare (saturated) colours weigh more. The empirical bin distribution of the
  training set is smoothed by a Gaussian (sigma 5 in ab), mixed with the uniform distribution
  (lambda 0.5), inverted and scaled so that the expected weight over training pixels is 1;
* **decoding**: the annealed mean ``sum_q softmax(logits / T)_q * bin_q``: ``T = 1`` is the
  mean (washed out), ``T -> 0`` the mode (vivid but patchy), ``T = 0.38`` between the two.

Example:
    >>> bins = load_gamut_bins()
    >>> weights = rebalancing_weights(np.full(len(bins), 1.0 / len(bins)), bins)
    >>> bool(np.allclose(weights, 1.0))
    True
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from colorizer.data.ab_distribution import smooth_distribution
from colorizer.gamut import BIN_SIZE, load_gamut_bins

NEIGHBOURS = 5
"""Bins a target ab is spread over."""
SIGMA = 5.0
"""Width (Lab units) of the soft-encoding Gaussian and of the smoothing of the distribution."""
UNIFORM_MIX = 0.5
"""Weight of the uniform distribution mixed into the smoothed one (lambda in Zhang et al.)."""
DEFAULT_TEMPERATURE = 0.38
"""Annealed-mean temperature of Zhang et al."""
LOGITS_STRIDE = 4
"""The classification head predicts at 1/4 of the input's resolution, as Zhang et al. do;
colour is smooth, and full-resolution logits would cost Q (262) channels per pixel."""


def _squared_distances(ab, bins):
    """``|ab - bin|^2`` for every bin, ``(..., Q)``, as a matrix product (no (..., Q, 2) copy)."""
    ab = ops.cast(ab, "float32")
    centres = ops.convert_to_tensor(np.asarray(bins, np.float32))
    cross = ops.matmul(ab, ops.transpose(centres))
    squared = (ops.sum(ab * ab, axis=-1, keepdims=True) - 2.0 * cross
               + ops.sum(centres * centres, axis=-1))
    return ops.maximum(squared, 0.0)  # rounding can dip a hair below 0 at a bin's centre


def soft_encode(ab, bins, neighbours: int = NEIGHBOURS, sigma: float = SIGMA):
    """The ``neighbours`` nearest bins of each ab and their Gaussian weights.

    Runs on any Keras backend (``keras.ops``).

    Args:
        ab: ``(..., 2)`` array or tensor of ab values.
        bins: ``(Q, 2)`` bin centres.
        neighbours: How many bins share each target.
        sigma: Standard deviation of the Gaussian, in Lab units.

    Returns:
        ``(indices, weights)``, both ``(..., neighbours)`` tensors, nearest bin first; the
        weights are ``exp(-d^2 / (2 sigma^2))`` normalised to sum to 1.
    """
    negative, indices = ops.top_k(-_squared_distances(ab, bins), k=neighbours)
    weights = ops.softmax(negative / (2.0 * sigma * sigma), axis=-1)
    return indices, weights


def soft_encode_dense(ab, bins, neighbours: int = NEIGHBOURS, sigma: float = SIGMA):
    """:func:`soft_encode` as a full distribution over the bins, ``(..., Q)``."""
    indices, weights = soft_encode(ab, bins, neighbours, sigma)
    return ops.sum(ops.one_hot(indices, len(bins)) * weights[..., None], axis=-2)


def area_downsample(images, factor: int):
    """Averages ``factor x factor`` blocks of ``(N, H, W, C)`` images (H, W multiples of
    ``factor``): an area resize by an integer factor, on any Keras backend."""
    if factor == 1:
        return images
    return ops.average_pool(images, pool_size=factor, strides=factor, padding="valid",
                            data_format="channels_last")


@keras.saving.register_keras_serializable(package="colorizer")
class RebalancedCrossEntropy(keras.losses.Loss):
    """Cross-entropy of predicted logits against soft-encoded true ab, class-rebalanced.

    ``y_true`` is the batch's ab at full resolution, as the data pipeline yields it;
    ``y_pred`` holds the logits, possibly at a lower resolution (the classification head
    predicts at 1/4): the true ab is area-averaged down to the logits' size first. It runs on
    any Keras backend.

    Args:
        bins: ``(Q, 2)`` bin centres.
        class_weights: ``(Q,)`` rebalancing weights (:func:`rebalancing_weights`), or
            ``None`` for no rebalancing.
        neighbours: Bins each target is spread over.
        sigma: Width of the soft-encoding Gaussian.
    """

    def __init__(self, bins, class_weights=None, neighbours: int = NEIGHBOURS,
                 sigma: float = SIGMA, name: str = "rebalanced_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.bins = np.asarray(bins, np.float32).reshape(-1, 2)
        self.class_weights = (None if class_weights is None
                              else np.asarray(class_weights, np.float32).reshape(-1))
        if self.class_weights is not None and len(self.class_weights) != len(self.bins):
            raise ValueError(f"{len(self.class_weights)} class weights for {len(self.bins)} bins")
        self.neighbours, self.sigma = int(neighbours), float(sigma)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        true_ab = ops.cast(y_true, "float32")
        factor = _downsampling_factor(true_ab.shape, logits.shape)
        true_ab = area_downsample(true_ab, factor)
        indices, weights = soft_encode(true_ab, self.bins, self.neighbours, self.sigma)
        log_probabilities = ops.log_softmax(logits, axis=-1)
        picked = ops.take_along_axis(log_probabilities, indices, axis=-1)
        loss = -ops.sum(weights * picked, axis=-1)
        if self.class_weights is not None:
            loss = loss * ops.take(ops.convert_to_tensor(self.class_weights), indices[..., 0])
        return loss

    def get_config(self):
        return {**super().get_config(), "bins": self.bins.tolist(),
                "class_weights": None if self.class_weights is None
                else self.class_weights.tolist(),
                "neighbours": self.neighbours, "sigma": self.sigma}


def _downsampling_factor(ab_shape, logits_shape) -> int:
    """How many times smaller the logits are than the true ab: from the static shapes where
    they are known, else the classification head's stride."""
    ab_height, logits_height = ab_shape[1], logits_shape[1]
    if ab_height is not None and logits_height is not None:
        if ab_height % logits_height:
            raise ValueError(f"true ab of height {ab_height} cannot be averaged down to "
                             f"logits of height {logits_height}")
        return ab_height // logits_height
    return LOGITS_STRIDE


def rebalancing_weights(distribution: np.ndarray, bins: np.ndarray | None = None,
                        sigma: float = SIGMA, mix: float = UNIFORM_MIX) -> np.ndarray:
    """Class weights that make rare colours count: ``w ~ 1 / ((1 - mix) p_smooth + mix / Q)``.

    Args:
        distribution: ``(Q,)`` empirical bin distribution of the training set.
        bins: ``(Q, 2)`` bin centres; the stored gamut by default.
        sigma: Smoothing width in Lab units.
        mix: Share of the uniform distribution (lambda).

    Returns:
        ``(Q,)`` float32 weights with ``sum(distribution * weights) == 1``: on average over
        the training pixels a weight is 1, so the loss keeps its scale. (Zhang et al. take
        this expectation under the smoothed distribution; the raw one is what the pixels
        actually follow.)
    """
    bins = load_gamut_bins() if bins is None else bins
    distribution = np.asarray(distribution, np.float64)
    if distribution.shape != (len(bins),) or distribution.sum() <= 0:
        raise ValueError(f"expected a ({len(bins)},) distribution with positive mass")
    distribution = distribution / distribution.sum()
    mixed = (1.0 - mix) * smooth_distribution(distribution, bins, sigma) + mix / len(bins)
    weights = 1.0 / mixed
    return (weights / np.sum(distribution * weights)).astype(np.float32)


def annealed_mean(probabilities: np.ndarray, bins: np.ndarray,
                  temperature: float = DEFAULT_TEMPERATURE) -> np.ndarray:
    """Decodes bin distributions ``(..., Q)`` into ab ``(..., 2)`` by the annealed mean (NumPy).

    ``f_T(z) = exp(log z / T) / sum exp(log z / T)``, then the expectation of the bin centres.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    with np.errstate(divide="ignore"):
        scaled = np.log(np.asarray(probabilities, np.float64)) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    annealed = np.exp(scaled)
    annealed /= annealed.sum(axis=-1, keepdims=True)
    return annealed @ np.asarray(bins, np.float64)


@keras.saving.register_keras_serializable(package="colorizer")
class AnnealedMeanDecoding(keras.layers.Layer):
    """Logits over the ab bins ``(..., Q)`` -> ab ``(..., 2)`` by the annealed mean.

    ``softmax(logits / T) @ bins`` is exactly the annealed mean of ``softmax(logits)``. The
    temperature is a (non-trainable) weight, so it is saved with the model and can be changed
    on a loaded model with :func:`colorizer.model.network.set_temperature`.

    Args:
        bins: ``(Q, 2)`` bin centres.
        temperature: Positive; 1 is the mean, towards 0 the mode.
    """

    def __init__(self, bins, temperature: float = DEFAULT_TEMPERATURE, **kwargs):
        super().__init__(**kwargs)
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.bins = np.asarray(bins, np.float32).reshape(-1, 2)
        self._initial_temperature = float(temperature)
        self.temperature = None

    def build(self, input_shape):
        self.temperature = self.add_weight(
            shape=(), name="temperature", trainable=False, dtype="float32",
            initializer=keras.initializers.Constant(self._initial_temperature))

    def call(self, logits):
        logits = ops.cast(logits, "float32")
        annealed = ops.softmax(logits / self.temperature, axis=-1)
        return ops.matmul(annealed, ops.convert_to_tensor(self.bins))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2,)

    def get_config(self):
        temperature = (self._initial_temperature if self.temperature is None
                       else float(ops.convert_to_numpy(self.temperature)))
        return {**super().get_config(), "bins": self.bins.tolist(), "temperature": temperature}


__all__ = ["AnnealedMeanDecoding", "BIN_SIZE", "DEFAULT_TEMPERATURE", "RebalancedCrossEntropy",
           "annealed_mean", "rebalancing_weights", "soft_encode", "soft_encode_dense"]
