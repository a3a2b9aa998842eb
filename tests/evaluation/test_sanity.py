"""The evaluation's sanity checks catch what no correct run can produce."""
import numpy as np
import pytest

from colorizer.color import rgb_to_lab
from colorizer.evaluation import metrics, sanity
from colorizer.evaluation.sanity import summary_problems, truth_problems


def _stats(mean):
    return {"mean": mean, "median": mean, "std": 0.0, "p10": mean, "p90": mean, "n": 4}


def test_summary_problems_flag_impossible_values_only():
    sane = {"metrics": {"model": {"pixel_accuracy": _stats(0.4), "auc": _stats(0.8),
                                  "ab_rmse": _stats(12.0), "breed_hit": _stats(float("nan"))},
                        "gray": {"pixel_accuracy": _stats(0.3), "colorfulness": _stats(0.0)}},
            "accuracy_curve": {"auc": {"model": 0.8, "gray": 0.7}}}
    assert summary_problems(sane) == []
    sane["metrics"]["model"]["pixel_accuracy"] = _stats(1.2)
    sane["metrics"]["gray"]["colorfulness"] = _stats(3.5)
    sane["accuracy_curve"]["auc"]["gray"] = -0.1
    problems = summary_problems(sane)
    assert len(problems) == 4 + 1 + 1  # mean, median, p10, p90; gray colour; curve AuC
    assert any("gray baseline colourfulness" in p for p in problems)


def test_ground_truth_scores_perfectly_against_itself(photos):
    lab = np.stack([rgb_to_lab(p[:64, :64] / 255.0) for p in photos[:2]]).astype(np.float32)
    assert truth_problems(lab[..., :1], lab[..., 1:]) == []


def _truth(photos):
    lab = np.stack([rgb_to_lab(p[:64, :64] / 255.0) for p in photos[:2]]).astype(np.float32)
    return lab[..., :1], lab[..., 1:]


@pytest.mark.parametrize("bug, flagged", [
    # Prediction and target one pixel apart (a crop or resize that shifts one of them).
    (lambda ab: np.roll(ab, 1, axis=2),
     {"ab_rmse", "l2_distance", "pixel_accuracy", "auc", "pixel_errors", "psnr", "ssim"}),
    # a and b swapped: every hue turned.
    (lambda ab: ab[..., ::-1], {"ab_rmse", "l2_distance", "psnr", "ssim"}),
    # ab scaled to the model's [-1, 1] range but compared in Lab units.
    (lambda ab: ab / 128.0, {"ab_rmse", "pixel_accuracy", "colorfulness_gap", "psnr"}),
])
def test_ground_truth_check_flags_a_broken_metric_pipeline(photos, monkeypatch, bug, flagged):
    """Each bug sits where the predictions meet the metrics: the check must name it."""
    def broken(lightness, pred_ab, true_ab, threshold=10.0, **kwargs):
        return metrics.image_metrics(lightness, bug(pred_ab), true_ab, threshold, **kwargs)

    lightness, ab = _truth(photos)
    monkeypatch.setattr(sanity, "image_metrics", broken)
    problems = truth_problems(lightness, ab)
    named = {line.split()[2] for line in problems}
    assert flagged <= named, problems
    monkeypatch.undo()
    assert truth_problems(lightness, ab) == []  # the real pipeline stays clean
