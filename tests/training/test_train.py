import csv
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorizer.data.config import AugmentConfig
from colorizer.data.pipeline import make_dataset
from colorizer.model.config import ModelConfig
from colorizer.training.backup import saved_epoch
from colorizer.training.config import TrainConfig
from colorizer.training.run_settings import RunSettingsError
from colorizer.training.train import read_history, train
from tests.backends import to_numpy

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)

RUN_FILES = {"config.json", "model.keras", "best.keras", "history.csv", "batch_loss.csv",
             "loss.png", "tensorboard", "backup"}


@pytest.fixture()
def tiny_data(image_folder):
    return make_dataset(image_folder, batch_size=2, image_size=32, training=True, repeat=True,
                        augment=AugmentConfig.none(), seed=1)


def test_loss_goes_down_and_run_folder_has_every_artefact(tiny_data, tmp_path):
    run = tmp_path / "run"
    result = train(tiny_data, run, model_config=ModelConfig(weights=None),
                   train_config=TrainConfig(epochs=4, steps_per_epoch=6, batch_log_every=3,
                                            learning_rate=3e-3), verbose=0)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 4
    assert losses[-1] < losses[0] * 0.7, losses
    assert RUN_FILES <= set(os.listdir(run))
    assert os.listdir(run / "tensorboard")
    with open(run / "batch_loss.csv") as f:
        assert len(f.readlines()) == 1 + 4 * 2  # header + 2 rows per epoch of 6 batches


class BatchCounter(keras.callbacks.Callback):
    """Counts the training batches a fit really runs."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1


def test_second_fit_resumes_from_backup(tiny_data, tmp_path):
    run = tmp_path / "run"
    config = dict(model_config=ModelConfig(weights=None), verbose=0)
    first = train(tiny_data, run, train_config=TrainConfig(epochs=2, steps_per_epoch=3),
                  **config)
    weights_after_first = first.model.get_weights()
    batches = BatchCounter()
    second = train(tiny_data, run, train_config=TrainConfig(epochs=3, steps_per_epoch=3),
                   extra_callbacks=[batches], **config)
    # The new model started from the backup, not from scratch: it trained one more epoch
    # (3 batches, not 9), and history.csv holds each epoch once, the first two as logged.
    assert batches.count == 3
    with open(run / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    assert [float(row["loss"]) for row in rows[:2]] == pytest.approx(
        [r["loss"] for r in first.history], rel=1e-6)
    drift = max(np.abs(a - b).max() for a, b in zip(weights_after_first,
                                                    second.model.get_weights()))
    assert 0 < drift < 1.0
    # Running a finished run again trains nothing more.
    third = train(tiny_data, run, train_config=TrainConfig(epochs=3, steps_per_epoch=3),
                  **config)
    assert len(third.history) == 3


def test_frozen_encoder_phase_keeps_encoder_weights(tiny_data, tmp_path):
    from colorizer.model.network import build_colorizer

    keras.utils.set_random_seed(0)
    model = build_colorizer(weights=None)
    encoder_before = [np.copy(w) for w in model.get_layer("encoder").get_weights()]
    in_encoder = {id(w) for w in model.get_layer("encoder").weights}
    others_before = [np.copy(to_numpy(w)) for w in model.weights if id(w) not in in_encoder]
    result = train(tiny_data, tmp_path / "run", model=model,
                   train_config=TrainConfig(epochs=1, freeze_encoder_epochs=1,
                                            steps_per_epoch=2, learning_rate=1e-2), verbose=0)
    encoder = result.model.get_layer("encoder")
    assert not encoder.trainable
    assert os.path.isdir(tmp_path / "run" / "backup" / "frozen")
    # Every encoder weight, its BatchNorm statistics included, is exactly as it was...
    after = encoder.get_weights()
    assert len(after) == len(encoder_before) > 50
    for before, now in zip(encoder_before, after):
        np.testing.assert_array_equal(before, now)
    # ...while the decoder did train in the same steps.
    others_after = [to_numpy(w) for w in result.model.weights if id(w) not in in_encoder]
    assert any(not np.array_equal(a, b) for a, b in zip(others_before, others_after))


def test_history_reader_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,5.0,NA\n1,4.0,NA\n1,3.5,NA\n")
    rows = read_history(str(path))
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["loss"] == 3.5
    assert np.isnan(rows[0]["val_loss"])


def _steps_and_epochs(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [int(r["step"]) for r in rows], [int(r["epoch"]) for r in rows]


def test_classification_run_of_unknown_length_draws_samples_and_logs_global_steps(
        image_folder, tmp_path):
    from colorizer.gamut import load_gamut_bins
    from colorizer.training.callbacks import LiveLossPlot, SampleColorizations

    # 4 photos in batches of 2: 2 batches per epoch; the filter hides that from Keras, as a
    # TFRecord dataset without a known length does.
    data = make_dataset(image_folder, batch_size=2, image_size=32, training=True,
                        augment=AugmentConfig.none(), seed=1).filter(lambda lightness, ab: True)
    assert data.cardinality() == tf.data.UNKNOWN_CARDINALITY
    lightness, ab = next(iter(data))
    run = tmp_path / "run"
    live = LiveLossPlot(str(run / "batch_loss.csv"))
    lightness, ab = lightness.numpy(), ab.numpy()
    samples = SampleColorizations(lightness, ab, str(tmp_path / "samples"))
    bins = len(load_gamut_bins())
    result = train(data, run, model_config=ModelConfig(weights=None, head="classification"),
                   train_config=TrainConfig(epochs=2, batch_log_every=1), verbose=0,
                   extra_callbacks=[live, samples], ab_distribution=np.full(bins, 1 / bins))
    # The samples were predicted by the ab model at full resolution, every epoch.
    assert sorted(os.listdir(tmp_path / "samples")) == ["epoch_001.png", "epoch_002.png"]
    assert samples.ab_model is result.model
    assert result.model.predict_on_batch(lightness).shape == ab.shape
    # Both epochs are in the batch log, numbered 1..4 across epochs, and in the backup.
    steps, epochs = _steps_and_epochs(run / "batch_loss.csv")
    assert steps == [1, 2, 3, 4] and epochs == [1, 1, 2, 2]
    assert live.steps == steps and np.all(np.isfinite(live.losses))
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert saved_epoch(str(run / "backup" / "full")) == 2


def test_a_cut_epoch_is_trained_again_and_the_folder_refuses_other_settings(
        tiny_data, image_folder, tmp_path):
    from colorizer.training.callbacks import SampleColorizations

    run = tmp_path / "run"
    config = dict(model_config=ModelConfig(weights=None), verbose=0)
    # Stopped after the first batch of epoch 1 (building the step alone outlasts 60 ms).
    cut = train(tiny_data, run, train_config=TrainConfig(epochs=2, steps_per_epoch=3,
                                                         batch_log_every=1,
                                                         max_minutes=0.001), **config)
    assert cut.stopped_early and cut.history == []  # the cut epoch is not counted
    assert saved_epoch(str(run / "backup" / "full")) is None
    # Resumed: epoch 1 is trained again in full, from the start. A sample figure that fails
    # on the way (3 channels: the model cannot take them) runs before each backup; it is
    # logged and never keeps an epoch from being committed.
    wrong = np.zeros((1, 8, 8, 3), np.float32)
    failing = SampleColorizations(wrong, wrong[..., :2], str(tmp_path / "samples"))
    done = train(tiny_data, run, train_config=TrainConfig(epochs=2, steps_per_epoch=3,
                                                          batch_log_every=1),
                 extra_callbacks=[failing], **config)
    assert not done.stopped_early
    assert saved_epoch(str(run / "backup" / "full")) == 2
    with open(run / "history.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]
    assert int(to_numpy(done.model.optimizer.iterations)) == 2 * 3  # no step of the cut kept
    steps, epochs = _steps_and_epochs(run / "batch_loss.csv")
    assert steps == list(range(1, 7)) and epochs == [1, 1, 1, 2, 2, 2]
    # The same folder with another head, crop size and batch size: refused, naming each.
    before = (run / "config.json").read_text()
    bigger = make_dataset(image_folder, batch_size=4, image_size=64, training=True, repeat=True)
    with pytest.raises(RunSettingsError) as caught:
        train(bigger, run, model_config=ModelConfig(weights=None, head="classification"),
              train_config=TrainConfig(epochs=3, steps_per_epoch=2), verbose=0)
    message = str(caught.value)
    assert "\n" not in message and str(run) in message
    for difference in ("head regression -> classification", "image_size 32 -> 64",
                       "batch_size 2 -> 4"):
        assert difference in message
    assert "weights" not in message and "epochs" not in message  # same weights; more epochs
    assert (run / "config.json").read_text() == before
