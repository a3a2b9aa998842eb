import numpy as np
import pytest

from colorizer.color import rgb_to_l_ab
from colorizer.evaluation.metrics import (
    ab_rmse, image_metrics, l2_distance, pixel_accuracy, pixel_errors, psnr, summarize,
    summary_markdown)


def test_perfect_prediction():
    ab = np.random.default_rng(0).normal(0, 20, (2, 8, 8, 2))
    assert np.all(l2_distance(ab, ab) == 0)
    assert np.all(pixel_accuracy(ab, ab) == 1)
    assert np.all(np.isinf(psnr(np.ones((8, 8, 3)), np.ones((8, 8, 3)))))


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
