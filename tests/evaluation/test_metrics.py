import numpy as np
import pytest

from colorizer.color import rgb_to_l_ab
from colorizer.evaluation.metrics import (
    ab_rmse, aggregate, image_metrics, l2_distance, pixel_accuracy, pixel_errors, psnr, summarize,
    summary_markdown)


def test_perfect_prediction():
    ab = np.random.default_rng(0).normal(0, 20, (2, 8, 8, 2))
    assert np.all(l2_distance(ab, ab) == 0)
    assert np.all(pixel_accuracy(ab, ab) == 1)
    # Capped at the PSNR of 8-bit rounding noise, 10 log10(12 * 255^2), not infinite.
    assert np.all(psnr(np.ones((2, 8, 8, 3)), np.ones((2, 8, 8, 3))) == pytest.approx(58.9226, abs=1e-4))


def test_known_shift_by_hand():
    true = np.zeros((4, 5, 2))
    pred = true.copy()
    pred[..., 0] = 3.0
    pred[..., 1] = 4.0  # every pixel off by exactly 5 Lab units
    assert l2_distance(pred, true) == pytest.approx(np.sqrt(20 * 25))
    assert ab_rmse(pred, true) == pytest.approx(5.0)
    assert pixel_accuracy(pred, true, threshold=5.0) == 1.0
    assert pixel_accuracy(pred, true, threshold=4.99) == 0.0
    pred[0, 0] = (30.0, 40.0)  # one pixel off by 50
    assert pixel_errors(pred, true, threshold=10) == 1
    assert pixel_accuracy(pred, true, threshold=10) == pytest.approx(19 / 20)


def test_psnr_by_hand():
    a = np.zeros((4, 4, 3))
    b = np.full((4, 4, 3), 0.1)  # mse 0.01 -> 20 dB
    assert psnr(a, b) == pytest.approx(20.0)


def test_psnr_cap_is_the_psnr_of_8_bit_rounding():
    from skimage.metrics import peak_signal_noise_ratio

    true = np.random.default_rng(3).random((64, 64, 3))
    rounded = np.round(true * 255.0) / 255.0  # uniform rounding error: about the cap
    assert peak_signal_noise_ratio(true, rounded, data_range=1.0) == pytest.approx(58.92, abs=0.1)
    assert psnr(true, true) == pytest.approx(10 * np.log10(12 * 255**2))
    coarse = np.round(true * 63.0) / 63.0  # 6-bit rounding, far below the cap: unchanged
    assert psnr(coarse, true) == pytest.approx(
        peak_signal_noise_ratio(true, coarse, data_range=1.0))


def test_a_perfect_image_counts_in_the_model_and_gray_means():
    rng = np.random.default_rng(4)
    rgb = rng.random((3, 16, 16, 3)).astype(np.float32)
    lightness, ab = rgb_to_l_ab(rgb)
    pred = ab.copy()
    pred[:2] += 5.0  # images 0 and 1 imperfect, image 2 perfect
    per_image = {"model": image_metrics(lightness, pred, ab),
                 "gray": image_metrics(lightness, np.zeros_like(ab), ab)}
    assert np.all(np.isfinite(per_image["model"]["psnr"]))
    stats = aggregate(per_image)
    assert stats["model"]["psnr"]["n"] == stats["gray"]["psnr"]["n"] == 3
    expected = np.mean(list(per_image["model"]["psnr"][:2]) + [10 * np.log10(12 * 255**2)])
    assert summarize(per_image)["model"]["psnr"] == pytest.approx(expected)


def test_gray_baseline_is_what_the_truth_implies():
    rng = np.random.default_rng(1)
    rgb = rng.random((3, 16, 16, 3)).astype(np.float32)
    lightness, ab = rgb_to_l_ab(rgb)
    gray = image_metrics(lightness, np.zeros_like(ab), ab)
    expected_rmse = np.sqrt(np.mean(np.sum(ab.astype(np.float64) ** 2, -1), axis=(1, 2)))
    np.testing.assert_allclose(gray["ab_rmse"], expected_rmse, rtol=1e-6)
    perfect = image_metrics(lightness, ab, ab)
    assert np.all(perfect["pixel_accuracy"] == 1) and np.all(perfect["psnr"] > 40)


def test_summary_table_marks_the_better_row():
    per_image = {"model": {"ab_rmse": np.array([5.0, 7.0]), "psnr": np.array([20.0, np.inf])},
                 "gray": {"ab_rmse": np.array([4.0, 4.0]), "psnr": np.array([18.0, 19.0])}}
    summary = summarize(per_image)
    assert summary["model"]["ab_rmse"] == 6.0 and summary["model"]["psnr"] == 20.0
    table = summary_markdown(summary)
    assert "| ab RMSE ↓ | 6 | **4** |" in table  # the model loses to gray here, and says so
    assert "| PSNR dB ↑ | **20** | 18.5 |" in table


def test_scores_are_computed_on_the_rendering_colorize_writes():
    """Saturated predictions lie outside sRGB: colorize maps them at constant L and hue, and
    PSNR, SSIM and colourfulness must score that image, not a channel-clipped one."""
    from colorizer.color import lab_to_rgb, rgb_to_lab
    from colorizer.evaluation.colorfulness import colorfulness
    from colorizer.evaluation.metrics import render_rgb, ssim
    from colorizer.inference.full_resolution import merge_lightness_ab

    rng = np.random.default_rng(3)
    lightness = np.repeat(np.linspace(15, 90, 32, dtype=np.float32)[None, :, None], 24, 0)[None]
    pred_ab = np.stack(np.broadcast_arrays(np.float32(85.0), rng.normal(-60, 10, (1, 24, 32))),
                       -1).astype(np.float32)
    true_ab = rng.normal(0, 15, (1, 24, 32, 2)).astype(np.float32)
    written = merge_lightness_ab(lightness[0], pred_ab[0])  # what the user's file holds
    scored = render_rgb(lightness, pred_ab)
    assert np.abs(scored[0] * 255.0 - written.astype(np.float32)).max() <= 1.0
    # That rendering keeps L; clipping the channels (the old scoring) does not.
    clipped = lab_to_rgb(np.concatenate([lightness, pred_ab], -1))
    assert np.abs(rgb_to_lab(scored)[..., 0] - lightness[..., 0]).max() < 0.1
    assert np.abs(rgb_to_lab(clipped)[..., 0] - lightness[..., 0]).max() > 3.0
    metrics = image_metrics(lightness, pred_ab, true_ab)
    truth = render_rgb(lightness, true_ab)
    assert metrics["psnr"] == pytest.approx(psnr(written / 255.0, truth), abs=0.05)
    assert metrics["psnr"] != pytest.approx(psnr(clipped, truth), abs=0.05)
    assert metrics["ssim"] == pytest.approx(ssim(scored, truth))
    assert metrics["colorfulness"] == pytest.approx(colorfulness(written[None]), rel=1e-2)
    assert metrics["out_of_gamut"][0] > 0.5  # the raw prediction is still counted as outside
