"""Each evaluation metric against values worked out by hand or by an independent library."""
import numpy as np
import pytest
import tensorflow as tf
from skimage.color import lab2rgb
from skimage.metrics import peak_signal_noise_ratio

from colorizer.color import lab_to_rgb, rgb_to_l_ab, rgb_to_lab
from colorizer.evaluation.auc import (
    MAX_THRESHOLD, THRESHOLDS, AbHistogram, ab_bins, accuracy_curves, area_under_curve)
from colorizer.evaluation.imagenet_pets import (
    BREED_TO_IMAGENET, CAT_BREEDS, DOG_BREEDS, breed_from_filename, imagenet_class,
    species_of_class)
from colorizer.evaluation.metrics import (
    aggregate, colorfulness, describe, image_metrics, out_of_gamut, psnr, ssim,
    summary_markdown, truth_metrics)
from colorizer.evaluation.semantic import semantic_hits


def _brute_force_curve(pred, true, weights=None):
    errors = np.sqrt(((pred - true) ** 2).sum(-1)).ravel()
    w = np.ones_like(errors) if weights is None else np.asarray(weights, float).ravel()
    return np.array([w[errors <= t].sum() / w.sum() for t in THRESHOLDS])


def test_auc_of_perfect_and_shifted_predictions():
    true = np.random.default_rng(0).normal(0, 30, (2, 6, 7, 2))
    assert np.allclose(area_under_curve(accuracy_curves(true, true)), 1.0)
    shifted = true + np.array([6.0, 8.0])  # every pixel off by exactly 10
    curve = accuracy_curves(shifted, true)
    assert np.all(curve[:, :10] == 0) and np.all(curve[:, 10:] == 1)
    auc = area_under_curve(curve)
    assert auc == pytest.approx((MAX_THRESHOLD - 10) / MAX_THRESHOLD, abs=0.005)
    assert auc == pytest.approx((MAX_THRESHOLD - 10 + 0.5) / MAX_THRESHOLD)  # trapezoids


def test_accuracy_curves_match_a_brute_force_loop():
    rng = np.random.default_rng(1)
    true, pred = rng.normal(0, 40, (3, 9, 5, 2)), rng.normal(0, 40, (3, 9, 5, 2))
    weights = rng.random((3, 9, 5))
    fast, fast_weighted = accuracy_curves(pred, true), accuracy_curves(pred, true, weights)
    for i in range(3):
        np.testing.assert_allclose(fast[i], _brute_force_curve(pred[i], true[i]))
        np.testing.assert_allclose(fast_weighted[i],
                                   _brute_force_curve(pred[i], true[i], weights[i]))
    np.testing.assert_allclose(accuracy_curves(pred[0], true[0]), fast[0])  # one image


def test_rebalancing_weights_by_hand():
    # Three pixels of a common colour (ab near 0) and one rare one (a = 55, b = -42).
    true = np.array([[[[1.0, 1.0], [2.0, 3.0], [4.0, 0.5], [55.0, -42.0]]]])  # 1 image, 1x4
    assert len(set(ab_bins(true).ravel().tolist())) == 2
    histogram = AbHistogram()
    histogram.add(true)
    assert histogram.occupied == 2
    weights = histogram.pixel_weights(true)
    np.testing.assert_allclose(weights, [[[4 / 3, 4 / 3, 4 / 3, 4.0]]])  # 1 / share
    pred = true.copy()
    pred[0, 0, :3] += 50.0  # the common pixels off by ~70, the rare one exact
    plain = accuracy_curves(pred, true)[0, 10]
    rebalanced = accuracy_curves(pred, true, weights)[0, 10]
    assert plain == pytest.approx(1 / 4)
    assert rebalanced == pytest.approx(4 / (3 * 4 / 3 + 4))  # one half: rare counts 3x more
    with pytest.raises(ValueError, match="empty"):
        AbHistogram().class_weights()


def test_colorfulness_by_hand():
    gray = np.repeat(np.random.default_rng(2).random((5, 6, 1)), 3, axis=-1)
    assert colorfulness(gray) == 0.0
    red = np.zeros((4, 4, 3))
    red[..., 0] = 1.0  # rg = 255, yb = 127.5 everywhere, no spread
    assert colorfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))
    half = np.zeros((1, 2, 3))
    half[0, 0, 0] = 1.0  # rg = (255, 0), yb = (127.5, 0): std and mean are both half
    assert colorfulness(half) == pytest.approx(1.3 * np.hypot(127.5, 63.75))
    assert colorfulness(np.stack([gray[:4, :4], red])).shape == (2,)


def test_ssim_agrees_with_tensorflow():
    rng = np.random.default_rng(3)
    a = rng.random((2, 24, 20, 3))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    ours = ssim(b, a)
    theirs = tf.image.ssim(tf.constant(b, tf.float32), tf.constant(a, tf.float32), 1.0).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert np.allclose(ssim(a, a), 1.0)
    assert np.isnan(ssim(a[:, :8, :8], a[:, :8, :8])).all()  # smaller than the window


def test_psnr_agrees_with_scikit_image():
    rng = np.random.default_rng(4)
    a, b = rng.random((8, 8, 3)), rng.random((8, 8, 3))
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=1.0))


def test_out_of_gamut_share_and_unclipped_conversion():
    rng = np.random.default_rng(5)
    lightness, ab = rgb_to_l_ab(rng.random((6, 6, 3)).astype(np.float32))
    assert out_of_gamut(lightness, ab) == 0.0  # real sRGB colours are in gamut
    assert out_of_gamut(lightness, np.zeros_like(ab)) == 0.0  # grays are in gamut
    wild = ab.copy()
    wild[:3] = (100.0, -100.0)  # far too saturated for sRGB at any lightness
    assert out_of_gamut(lightness, wild) == pytest.approx(0.5)
    lab = np.array([[50.0, 100.0, -100.0]], np.float32)
    raw = lab_to_rgb(lab, clip=False)
    assert raw.min() < 0 and raw.max() > 1
    np.testing.assert_allclose(lab_to_rgb(lab), np.clip(raw, 0, 1), atol=1e-6)
    inside = rgb_to_lab(rng.random((4, 3)).astype(np.float32))
    np.testing.assert_allclose(lab_to_rgb(inside, clip=False), lab_to_rgb(inside), atol=1e-6)


def test_gray_row_is_what_the_truth_alone_implies():
    rgb = np.random.default_rng(6).random((3, 16, 16, 3)).astype(np.float32)
    lightness, ab = rgb_to_l_ab(rgb)
    histogram = AbHistogram()
    histogram.add(ab)
    gray = image_metrics(lightness, np.zeros_like(ab), ab, threshold=10,
                         pixel_weights=histogram.pixel_weights(ab))
    chroma = np.hypot(ab[..., 0], ab[..., 1]).astype(np.float64)  # the gray error is |ab|
    np.testing.assert_allclose(gray["ab_rmse"], np.sqrt((chroma**2).mean((1, 2))), rtol=1e-6)
    np.testing.assert_allclose(gray["pixel_accuracy"], (chroma <= 10).mean((1, 2)))
    auc = [np.trapezoid([(c <= t).mean() for t in THRESHOLDS], THRESHOLDS) / 150 for c in chroma]
    np.testing.assert_allclose(gray["auc"], auc, rtol=1e-9)
    truth = truth_metrics(lightness, ab)
    assert np.all(gray["colorfulness"] == 0) and np.all(gray["out_of_gamut"] == 0)
    np.testing.assert_allclose(gray["colorfulness_gap"], truth["colorfulness"])
    assert np.all(truth["out_of_gamut"] == 0)
    # SSIM of gray vs truth, from independent parts: scikit-image renders the gray image,
    # TensorFlow's own SSIM (Wang et al.'s 11x11 Gaussian window) scores it against the photo.
    gray_rgb = lab2rgb(np.concatenate([lightness, np.zeros_like(ab)], -1).astype(np.float64))
    expected = tf.image.ssim(tf.constant(gray_rgb, tf.float32), tf.constant(rgb), max_val=1.0)
    np.testing.assert_allclose(gray["ssim"], expected.numpy(), atol=2e-3)
    assert np.all(gray["ssim"] < 0.99)
    perfect = image_metrics(lightness, ab, ab, pixel_weights=histogram.pixel_weights(ab))
    assert np.allclose(perfect["auc"], 1) and np.allclose(perfect["auc_rebalanced"], 1)
    assert np.allclose(perfect["ssim"], 1) and np.all(perfect["colorfulness_gap"] < 1e-9)


def test_describe_and_the_table():
    values = np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.inf])
    stats = describe(values)
    assert stats["n"] == 4 and stats["mean"] == 2.5 and stats["median"] == 2.5
    assert stats["p10"] == pytest.approx(np.percentile([1, 2, 3, 4], 10))
    assert stats["std"] == pytest.approx(np.std([1, 2, 3, 4]))
    per_image = {"model": {"ab_rmse": np.array([5.0, 7.0]), "ssim": np.array([0.9, 0.8]),
                           "colorfulness": np.array([10.0, 12.0])},
                 "gray": {"ab_rmse": np.array([4.0, 4.0]), "ssim": np.array([0.7, 0.8]),
                          "colorfulness": np.array([0.0, 0.0])},
                 "truth": {"colorfulness": np.array([20.0, 30.0])}}
    table = summary_markdown(aggregate(per_image))
    assert "| ab RMSE ↓ | 6 | **4** | — | **loses to gray** |" in table
    assert "| SSIM ↑ | **0.85** | 0.75 | — | beats gray |" in table
    assert "| colorfulness | 11 | 0 | 25 | — |" in table


def test_semantic_hits_by_hand():
    truth_top1 = np.array([283, 162, 5, 281])
    top1 = np.array([283, 170, 5, 7])  # Persian right; a dog, wrong breed; no label; not a cat
    hits = semantic_hits(top1, truth_top1, ["Persian", "beagle", "", "Bengal"],
                         ["cat", "dog", "", ""])  # Bengal's species follows from the breed
    np.testing.assert_array_equal(hits["breed_hit"], [1.0, 0.0, np.nan, np.nan])
    np.testing.assert_array_equal(hits["species_hit"], [1.0, 1.0, np.nan, 0.0])
    np.testing.assert_array_equal(hits["agreement"], [1.0, 0.0, 1.0, 0.0])


def test_breed_table_is_consistent():
    assert len(CAT_BREEDS) == 12 and len(DOG_BREEDS) == 25
    for breed, index in BREED_TO_IMAGENET.items():
        expected = "cat" if breed in CAT_BREEDS else "dog"
        assert breed in CAT_BREEDS + DOG_BREEDS and species_of_class(index) == expected
    assert imagenet_class("Egyptian Mau") == 285 and imagenet_class("Yorkshire-Terrier") == 187
    assert imagenet_class("havanese") is None
    assert breed_from_filename("pets/British_Shorthair_101.jpg") == "british_shorthair"
    assert breed_from_filename("Sunset_01.jpg") == "" and breed_from_filename("beagle.jpg") == ""
