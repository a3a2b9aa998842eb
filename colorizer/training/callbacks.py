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


class LiveLossPlot(keras.callbacks.Callback):
    """Redraws the batch-loss curve in a notebook cell every ``every`` batches.

    Reads nothing from disk: it keeps the (step, loss) pairs it has seen, starting from those
    already in ``history`` (a resumed run continues its curve).

    Args:
        every: Batches between two points (the paper plotted every 100).
        steps_per_epoch: Batches per epoch, to number steps across epochs.
        history: Optional (steps, losses) arrays from an earlier part of the run.
    """

    def __init__(self, every: int = 100, steps_per_epoch: int | None = None, history=None):
        super().__init__()
        self.every, self.steps_per_epoch = max(1, int(every)), steps_per_epoch
        self.steps, self.losses = (list(history[0]), list(history[1])) if history else ([], [])
        self._epoch = 0
        self._handle = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % self.every or not logs or "loss" not in logs:
            return
        per_epoch = self.steps_per_epoch or self.params.get("steps") or 0
        self.steps.append(self._epoch * per_epoch + batch + 1)
        self.losses.append(float(logs["loss"]))
        self._draw()

    def _draw(self):
        import matplotlib.pyplot as plt
        from IPython.display import display

        figure, axes = plt.subplots(figsize=(7, 3.5))
        axes.plot(self.steps, self.losses, lw=1.2)
        axes.set_xlabel("batch")
        axes.set_ylabel("MSE on ab")
        axes.set_title(f"training loss every {self.every} batches")
        axes.grid(alpha=0.3)
        if self._handle is None:
            self._handle = display(figure, display_id=True)
        else:
            self._handle.update(figure)
        plt.close(figure)


class SampleColorizations(keras.callbacks.Callback):
    """After each epoch, colorizes a few fixed validation images and saves (and shows) a grid.

    Args:
        lightness: ``(N, H, W, 1)`` L of the sample images.
        true_ab: ``(N, H, W, 2)`` their true colours.
        out_dir: Folder for ``epoch_XXX.png``.
        show: Also display the figure (in a notebook).
    """

    def __init__(self, lightness, true_ab, out_dir: str, show: bool = False):
        super().__init__()
        self.lightness, self.true_ab = lightness, true_ab
        self.out_dir, self.show = out_dir, show

    def on_epoch_end(self, epoch, logs=None):
        import numpy as np

        from colorizer.color import l_ab_to_rgb
        from colorizer.plots import plot_before_after

        predicted = np.asarray(self.model.predict_on_batch(self.lightness))
        columns = [l_ab_to_rgb(self.lightness, ab)
                   for ab in (np.zeros_like(predicted), predicted, self.true_ab)]
        path = os.path.join(self.out_dir, f"epoch_{epoch + 1:03d}.png")
        plot_before_after(list(zip(*columns)), ["gray", f"epoch {epoch + 1}", "truth"], path)
        if self.show:
            from colorizer.notebook import show_image

            show_image(path)
