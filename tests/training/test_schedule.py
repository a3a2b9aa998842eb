import json
import math
import time

import numpy as np
import pytest
import tensorflow as tf

from colorizer.data.config import AugmentConfig
from colorizer.data.pipeline import make_dataset
from colorizer.model.config import ModelConfig
from colorizer.training.config import TrainConfig
from colorizer.training.schedule import BudgetSchedule, budget_learning_rate
from colorizer.training.train import train
from tests.backends import to_numpy

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)


def test_rate_warms_up_then_follows_a_cosine_to_the_final_fraction():
    peak = 1e-3
    assert budget_learning_rate(0, 0.0, peak, warmup_steps=4) == pytest.approx(peak / 4)
    assert budget_learning_rate(3, 0.0, peak, warmup_steps=4) == pytest.approx(peak)
    assert budget_learning_rate(100, 0.5, peak, warmup_steps=4) == pytest.approx(
        peak * (0.02 + 0.98 * 0.5))
    assert budget_learning_rate(100, 1.0, peak, warmup_steps=4) == pytest.approx(0.02 * peak)
    # Past the budget (the last batch, the validation after it) the rate stays at its floor.
    assert budget_learning_rate(100, 1.7, peak) == pytest.approx(0.02 * peak)
    rates = [budget_learning_rate(10, p, peak) for p in np.linspace(0, 1, 11)]
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_a_time_budget_is_measured_by_the_clock():
    schedule = BudgetSchedule(1e-3, minutes=1.0)
    schedule.start = time.monotonic() - 30.0  # half of the minute spent
    assert schedule.progress() == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="budget"):
        BudgetSchedule(1e-3)


def test_a_photo_folder_gives_epochs_of_known_length(image_folder):
    # 4 photos in batches of 2: Keras numbers the batches 1/2, 2/2 instead of "Unknown".
    data = make_dataset(image_folder, batch_size=2, image_size=32, training=True,
                        augment=AugmentConfig.none(), seed=1)
    assert int(data.cardinality()) == 2
    assert sum(1 for _ in data) == 2


def test_a_cosine_run_ends_annealed(image_folder, tmp_path):
    data = make_dataset(image_folder, batch_size=2, image_size=32, training=True,
                        augment=AugmentConfig.none(), seed=1)
    config = TrainConfig(epochs=2, learning_rate=1e-3, schedule="cosine", warmup_steps=1)
    result = train(data, tmp_path / "run", model_config=ModelConfig(weights=None),
                   train_config=config, verbose=0)
    # 4 steps in all: the last one ran at 3/4 of the budget, on the way to the floor.
    last = 1e-3 * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * 3 / 4)))
    assert float(to_numpy(result.fit_model.optimizer.learning_rate)) == pytest.approx(
        last, rel=1e-4)


def test_a_run_stopped_by_its_minutes_validates_what_it_stopped_with(image_folder, tmp_path):
    train_data = make_dataset(image_folder, batch_size=2, image_size=32, training=True,
                              augment=AugmentConfig.none(), seed=1)
    val_data = make_dataset(image_folder, batch_size=2, image_size=32)
    # Stopped after the first batch (building the step alone outlasts 60 ms).
    config = TrainConfig(epochs=3, max_minutes=0.001, schedule="cosine")
    result = train(train_data, tmp_path / "run", val_data=val_data, train_config=config,
                   model_config=ModelConfig(weights=None), verbose=0)
    assert result.stopped_early and result.history == []
    best = json.loads((tmp_path / "run" / "best.keras.json").read_text())
    assert best["epoch"] == 1 and best["partial"] is True and math.isfinite(best["best"])
    assert tf.io.gfile.exists(str(tmp_path / "run" / "best.keras"))
