import numpy as np
import pytest
import tensorflow as tf

from colorizer.color import rgb_to_lab
from colorizer.data.ab_distribution import (
    AB_DISTRIBUTION_FILE, ab_distribution_from_dataset, bin_histogram, find_ab_distribution,
    load_ab_distribution, nearest_bins, save_ab_distribution, smooth_distribution)
from colorizer.gamut import load_gamut_bins
from colorizer.model.classification import (
    AnnealedMeanDecoding, RebalancedCrossEntropy, annealed_mean, rebalancing_weights, soft_encode,
    soft_encode_dense)
from tests.backends import to_numpy

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)


@pytest.fixture(scope="module")
def bins():
    return load_gamut_bins()


@pytest.fixture(scope="module")
def photo_ab(photos):
    """True ab of real photos, (N, 2)."""
    return np.concatenate([rgb_to_lab(p[::4, ::4].astype(np.float32) / 255)[..., 1:].reshape(-1, 2)
                           for p in photos[:3]])


def _brute_nearest(ab, bins):
    return ((ab[:, None, :] - bins[None]) ** 2).sum(-1).argmin(axis=1)


def test_nearest_bins_is_exact_everywhere(bins):
    ab = np.random.default_rng(0).uniform(-128, 128, (5000, 2))
    np.testing.assert_array_equal(nearest_bins(ab, bins), _brute_nearest(ab, bins))
    assert nearest_bins(ab.reshape(50, 100, 2), bins).shape == (50, 100)


def test_soft_encoding_sums_to_one_and_favours_the_nearest_bin(bins, photo_ab):
    indices, weights = (to_numpy(t) for t in soft_encode(photo_ab, bins))
    assert indices.shape == weights.shape == (len(photo_ab), 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(indices[:, 0], nearest_bins(photo_ab, bins))
    assert np.all(weights[:, 0] >= weights.max(-1) - 1e-6) and np.all(weights[:, 0] >= 0.2)
    # On a bin's centre (4 neighbours 10 away) the bin itself holds 1 / (1 + 4 e^-2) of it.
    _, at_centres = soft_encode(bins, bins)
    assert np.all(to_numpy(at_centres)[:, 0] > 0.6)
    dense = to_numpy(soft_encode_dense(photo_ab[:100], bins))
    assert dense.shape == (100, len(bins)) and np.count_nonzero(dense[0]) == 5
    np.testing.assert_allclose(dense.sum(-1), 1.0, atol=1e-5)


def test_loss_is_the_weighted_cross_entropy_at_the_logits_resolution(bins):
    rng = np.random.default_rng(1)
    true_ab = rng.uniform(-40, 40, (2, 8, 8, 2)).astype(np.float32)
    logits = rng.normal(size=(2, 2, 2, len(bins))).astype(np.float32)
    class_weights = rng.uniform(0.5, 2.0, len(bins)).astype(np.float32)
    pooled = true_ab.reshape(2, 2, 4, 2, 4, 2).mean(axis=(2, 4))  # 4x4 area average
    target = to_numpy(soft_encode_dense(pooled, bins))
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))  # NumPy log-softmax
    per_pixel = -(target * log_p).sum(-1) * class_weights[nearest_bins(pooled, bins)]
    loss = RebalancedCrossEntropy(bins, class_weights)(true_ab, logits)
    np.testing.assert_allclose(float(loss), per_pixel.mean(), rtol=1e-4)
    # Predicting the soft target itself beats predicting anything else.
    unweighted = RebalancedCrossEntropy(bins)
    best = float(unweighted(pooled, np.log(target + 1e-12)))
    assert best < float(unweighted(pooled, logits))
    with pytest.raises(ValueError, match="class weights"):
        RebalancedCrossEntropy(bins, class_weights[:-1])


def test_rebalancing_weights_have_expected_value_one(bins):
    rng = np.random.default_rng(2)
    distribution = rng.dirichlet(np.full(len(bins), 0.1))
    weights = rebalancing_weights(distribution, bins)
    assert weights.shape == (len(bins),) and np.all(weights > 0)
    assert float(np.sum(distribution * weights)) == pytest.approx(1.0, abs=1e-5)
    # The most common colour weighs less than the rarest one.
    assert weights[distribution.argmax()] < weights[distribution.argmin()]
    np.testing.assert_allclose(rebalancing_weights(np.full(len(bins), 1 / len(bins)), bins),
                               1.0, rtol=0.05)
    with pytest.raises(ValueError):
        rebalancing_weights(np.zeros(len(bins)), bins)


def test_smoothing_spreads_mass_to_neighbours_and_keeps_it(bins):
    one = np.zeros(len(bins))
    centre = int(np.flatnonzero((bins == [0, 0]).all(-1))[0])
    one[centre] = 1.0
    smoothed = smooth_distribution(one, bins)
    assert smoothed.sum() == pytest.approx(1.0)
    assert smoothed.argmax() == centre and 0.3 < smoothed[centre] < 0.9
    neighbour = int(np.flatnonzero((bins == [10, 0]).all(-1))[0])
    assert smoothed[neighbour] == pytest.approx(smoothed[centre] * np.exp(-2), rel=1e-6)


def test_annealed_mean_of_one_hot_mean_and_mode(bins):
    rng = np.random.default_rng(3)
    one_hot = np.eye(len(bins))[[0, 57, len(bins) - 1]]
    for temperature in (0.38, 1.0, 0.05):
        np.testing.assert_allclose(annealed_mean(one_hot, bins, temperature), bins[[0, 57, -1]],
                                   atol=1e-9)
    probabilities = rng.dirichlet(np.ones(len(bins)), size=4)
    np.testing.assert_allclose(annealed_mean(probabilities, bins, 1.0), probabilities @ bins,
                               rtol=1e-9)
    mode = bins[probabilities.argmax(-1)]
    np.testing.assert_allclose(annealed_mean(probabilities, bins, 1e-3), mode, atol=1e-3)
    with pytest.raises(ValueError):
        annealed_mean(probabilities, bins, 0.0)


def test_decoding_layer_matches_annealed_mean_and_serializes(bins):
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=3.0, size=(2, 3, 5, len(bins))).astype(np.float32)
    for temperature in (1.0, 0.38):
        layer = AnnealedMeanDecoding(bins, temperature)
        # NumPy, from the definition: softmax(logits / T), then the mean of the bins under it.
        scaled = logits.astype(np.float64) / temperature
        weights = np.exp(scaled - scaled.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        np.testing.assert_allclose(to_numpy(layer(logits)), weights @ bins, atol=1e-3)
    peaked = np.full((1, len(bins)), -1e4, np.float32)
    peaked[0, 42] = 0.0
    np.testing.assert_allclose(to_numpy(AnnealedMeanDecoding(bins)(peaked))[0], bins[42])
    layer.temperature.assign(0.5)
    clone = AnnealedMeanDecoding.from_config(layer.get_config())
    assert clone.get_config()["temperature"] == pytest.approx(0.5)
    np.testing.assert_array_equal(clone.bins, bins)
    with pytest.raises(ValueError, match="positive"):
        AnnealedMeanDecoding(bins, 0.0)


def test_distribution_from_batches_images_and_files(bins, photo_ab, tmp_path):
    ab = photo_ab[: 6 * 400].reshape(6, 20, 20, 2).astype(np.float32)
    lightness = np.zeros((6, 20, 20, 1), np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((lightness, ab)).batch(2)
    distribution = ab_distribution_from_dataset(dataset, bins, progress=False)
    expected = bin_histogram(ab, bins)
    np.testing.assert_allclose(distribution, expected / expected.sum())
    first = ab_distribution_from_dataset(dataset, bins, max_batches=1, progress=False)
    np.testing.assert_allclose(first, bin_histogram(ab[:2], bins) / 800)
    rgb = [np.random.default_rng(5).uniform(0, 1, (10, 10, 3)).astype(np.float32)]
    from_images = ab_distribution_from_dataset(rgb, bins, progress=False)
    np.testing.assert_allclose(from_images, bin_histogram(rgb_to_lab(rgb[0])[..., 1:], bins) / 100)

    assert find_ab_distribution(tmp_path) is None
    save_ab_distribution(tmp_path / AB_DISTRIBUTION_FILE, distribution)
    np.testing.assert_array_equal(find_ab_distribution(tmp_path), distribution)
    save_ab_distribution(tmp_path / "short.npy", distribution[:10])
    with pytest.raises(ValueError, match="recompute"):
        load_ab_distribution(tmp_path / "short.npy")
    with pytest.raises(ValueError, match="no pixel"):
        ab_distribution_from_dataset([], bins, progress=False)
