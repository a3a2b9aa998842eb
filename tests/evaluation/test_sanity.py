"""The evaluation's sanity checks catch what no correct run can produce."""
import numpy as np

from colorizer.color import rgb_to_lab
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
