import csv
import os

import keras
import numpy as np
import pytest

from colorizer.data.config import AugmentConfig
from colorizer.data.pipeline import make_dataset
from colorizer.model.config import ModelConfig
from colorizer.training.config import TrainConfig
from colorizer.training.train import read_history, train

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
    result = train(tiny_data, tmp_path / "run", model_config=ModelConfig(weights=None),
                   train_config=TrainConfig(epochs=1, freeze_encoder_epochs=1,
                                            steps_per_epoch=2), verbose=0)
    encoder = result.model.get_layer("encoder")
    assert not encoder.trainable
    assert os.path.isdir(tmp_path / "run" / "backup" / "frozen")


def test_history_reader_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,5.0,NA\n1,4.0,NA\n1,3.5,NA\n")
    rows = read_history(str(path))
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["loss"] == 3.5
    assert np.isnan(rows[0]["val_loss"])


def test_notebook_callbacks_plot_and_save_samples(tiny_data, tmp_path):
    from colorizer.training.callbacks import LiveLossPlot, SampleColorizations

    lightness, ab = next(iter(tiny_data))
    live = LiveLossPlot(every=2, steps_per_epoch=4, history=([1], [9999.0]))
    samples = SampleColorizations(lightness.numpy(), ab.numpy(), str(tmp_path / "samples"))
    train(tiny_data, tmp_path / "run", model_config=ModelConfig(weights=None),
          train_config=TrainConfig(epochs=2, steps_per_epoch=4), extra_callbacks=[live, samples],
          verbose=0)
    assert live.steps == [1, 2, 4, 6, 8]  # the earlier point, then every 2 of 8 batches
    assert all(np.isfinite(live.losses))
    assert sorted(os.listdir(tmp_path / "samples")) == ["epoch_001.png", "epoch_002.png"]
