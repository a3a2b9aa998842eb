"""Keras callbacks of a training run: batch-loss log, atomic best-model checkpoint, time limit."""
from __future__ import annotations

import csv
import math
import os
import time

import keras

from colorizer.fileio import read_json, save_model, write_json
from colorizer.plots import plot_loss


class BatchLossLogger(keras.callbacks.Callback):
    """Appends the running training loss every ``every`` batches to a CSV and re-plots it.

    Rows hold the global batch step, so a resumed run continues the same curve (the paper's
    Figure 6 shows the loss this way).

    Args:
        csv_path: The ``batch_loss.csv`` to append to.
        png_path: The plot redrawn at each epoch's end, or ``None``.
        every: Batches between two rows.
        steps_per_epoch: Batches per epoch, to turn (epoch, batch) into a global step.
    """

    def __init__(self, csv_path: str, png_path: str | None, every: int = 100,
                 steps_per_epoch: int | None = None):
        super().__init__()
        self.csv_path, self.png_path = csv_path, png_path
        self.every, self.steps_per_epoch = max(1, int(every)), steps_per_epoch
        self._epoch = 0
        self._seen_in_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._seen_in_epoch = epoch, 0

    def on_train_batch_end(self, batch, logs=None):
        self._seen_in_epoch = batch + 1
        if (batch + 1) % self.every or not logs or "loss" not in logs:
            return
        per_epoch = self.steps_per_epoch or self.params.get("steps") or 0
        step = self._epoch * per_epoch + batch + 1
        new_file = not os.path.exists(self.csv_path)
        with open(self.csv_path, "a", newline="") as f:
            writer = csv.writer(f)
            if new_file:
                writer.writerow(["step", "epoch", "loss"])
            writer.writerow([step, self._epoch + 1, f"{float(logs['loss']):.6g}"])

    def on_epoch_end(self, epoch, logs=None):
        if self.png_path and os.path.exists(self.csv_path):
            plot_loss(self.csv_path, self.png_path, every=self.every)


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the model to ``path`` whenever ``monitor`` improves, atomically.

    The best value so far is kept in ``<path>.json`` so a resumed run does not overwrite a
    better model with a worse one.

    Args:
        path: The ``.keras`` file to write.
        monitor: The logged value to minimise.
        model_to_save: Save this model instead of the one being fit (a model sharing its
            layers, e.g. the ab-producing colorizer when fitting its logits view).
    """

    def __init__(self, path: str, monitor: str = "val_loss",
                 model_to_save: keras.Model | None = None):
        super().__init__()
        self.path, self.monitor = path, monitor
        self.model_to_save = model_to_save
        self.state_path = path + ".json"
        self.best = (read_json(self.state_path) or {}).get("best", math.inf)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)) or float(value) >= self.best:
            return
        self.best = float(value)
        save_model(self.model_to_save or self.model, self.path)
        write_json(self.state_path, {"best": self.best, "epoch": epoch + 1,
                                     "monitor": self.monitor})


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the end of the first batch after ``minutes`` have passed."""

    def __init__(self, minutes: float):
        super().__init__()
        self.seconds = minutes * 60.0
        self.start = None
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start > self.seconds:
            self.model.stop_training = True
            self.stopped_early = True
