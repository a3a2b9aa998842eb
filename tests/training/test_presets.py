import pytest

from colorizer.training.config import PRESETS, form_preset, get_preset


def test_budget_preset_trains_from_scratch_on_a_time_budget():
    budget = get_preset("budget")
    assert budget.model.weights is None and budget.model.head == "regression"
    assert budget.train.schedule == "cosine" and budget.train.max_minutes == 30.0
    assert budget.train.tune_colour and budget.data.image_size == 128
    # The paper's setting is unchanged.
    paper = get_preset("paper")
    assert (paper.data.image_size, paper.model.weights, paper.model.head) == (
        224, "imagenet", "regression")
    assert paper.train.schedule == "constant" and paper.train.epochs == 40
    assert set(PRESETS) >= {"paper", "budget", "smoke"}


def test_a_form_field_left_at_the_paper_value_takes_the_preset_and_a_changed_one_wins():
    form = dict(head="regression", epochs=40, batch_size=32, image_size=224,
                learning_rate=1e-3, weights="imagenet", freeze_encoder_epochs=2)
    assert form_preset("paper", **form) == get_preset("paper")
    assert form_preset("budget", **form) == get_preset("budget")
    changed = form_preset("budget", **{**form, "image_size": 96, "weights": "none"})
    assert changed.data.image_size == 96 and changed.model.weights is None
    assert changed.model.head == "regression"
    assert form_preset("budget", **{**form, "head": "classification"}).model.head == (
        "classification")
    assert form_preset("paper", weights="none").model.weights is None
    with pytest.raises(ValueError, match="unknown form field"):
        form_preset("budget", colour="red")
