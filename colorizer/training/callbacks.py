"""Keras callbacks of a training run: batch-loss log, history, atomic best-model checkpoint,
time limit, and the notebook's live figures."""
from __future__ import annotations

import csv
import logging
import math
import os
import time
from typing import Callable

import keras

from colorizer.fileio import read_json, save_model, write_json
from colorizer.plots import plot_loss, read_batch_losses

log = logging.getLogger(__name__)


class BatchLossLogger(keras.callbacks.Callback):
    """Appends the running training loss every ``every`` batches to a CSV and re-plots it.

    Rows hold the global batch step, counted here batch by batch, so the curve is whole
    whatever the dataset says of its length (a dataset of unknown length restarts Keras' own
    batch numbers every epoch) and a resumed run continues it: counting starts from the
    file's last row. Each epoch's last batch is logged too, so after ``trim_csv`` has cut the
    file back to the last committed epoch, its last row is that epoch's end.

    Args:
        csv_path: The ``batch_loss.csv`` to append to.
        png_path: The plot redrawn at each epoch's end, or ``None``.
        every: Global steps between two rows (the paper's Figure 6 shows every 100).
    """

    def __init__(self, csv_path: str, png_path: str | None, every: int = 100):
        super().__init__()
        self.csv_path, self.png_path = csv_path, png_path
        self.every = max(1, int(every))
        self.step = 0
        self._epoch = 0
        self._last_loss: float | None = None
        self._logged_step = -1

    def on_train_begin(self, logs=None):
        steps, _ = read_batch_losses(self.csv_path)
        self.step = int(steps.max()) if len(steps) else 0
        self._logged_step = self.step

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._last_loss = epoch, None

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if not logs or "loss" not in logs:
            return
        self._last_loss = float(logs["loss"])
        if self.step % self.every == 0:
            self._write()

    def on_epoch_end(self, epoch, logs=None):
        if self._last_loss is not None and self._logged_step != self.step:
            self._write()
        if self.png_path and os.path.exists(self.csv_path):
            plot_loss(self.csv_path, self.png_path, every=self.every)

    def _write(self) -> None:
        new_file = not os.path.exists(self.csv_path)
        with open(self.csv_path, "a", newline="") as f:
            writer = csv.writer(f)
            if new_file:
                writer.writerow(["step", "epoch", "loss"])
            writer.writerow([self.step, self._epoch + 1, f"{self._last_loss:.6g}"])
        self._logged_step = self.step


class LeaseGuard(keras.callbacks.Callback):
    """Stops training, before anything more is written, once the run folder's lease was lost.

    Another process took the folder over (its lease looked abandoned, or a user deleted
    ``lease.json`` to start afresh): this run must not go on writing backups and logs there.
    Put it first, so an epoch's end raises before the backup callback commits the epoch.

    Args:
        lease: The :class:`~colorizer.lease.FolderLease` held on the run folder.
    """

    def __init__(self, lease):
        super().__init__()
        self.lease = lease

    def on_train_batch_end(self, batch, logs=None):
        self.lease.check()

    def on_epoch_end(self, epoch, logs=None):
        self.lease.check()


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the model to ``path`` whenever ``monitor`` improves, atomically.

    The best value so far is kept in ``<path>.json`` so a resumed run does not overwrite a
    better model with a worse one.

    An epoch a time limit stopped early is still validated by Keras and seen here: the weights
    it stopped with (under a schedule that ends with the budget, the most annealed ones) become
    the best model when their ``monitor`` is the best so far; ``<path>.json`` then says
    ``"partial": true``.

    Args:
        path: The ``.keras`` file to write.
        monitor: The logged value to minimise.
        model_to_save: Save this model instead of the one being fit (a model sharing its
            layers, e.g. the ab-producing colorizer when fitting its logits view).
        partial_epoch: Returns True for an epoch stopped before its end (e.g.
            :meth:`TimeLimit.is_cut`).
    """

    def __init__(self, path: str, monitor: str = "val_loss",
                 model_to_save: keras.Model | None = None,
                 partial_epoch: Callable[[int], bool] | None = None):
        super().__init__()
        self.path, self.monitor = path, monitor
        self.model_to_save = model_to_save
        self.partial_epoch = partial_epoch
        self.state_path = path + ".json"
        self.best = (read_json(self.state_path) or {}).get("best", math.inf)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)) or float(value) >= self.best:
            return
        self.best = float(value)
        save_model(self.model_to_save or self.model, self.path)
        write_json(self.state_path, {
            "best": self.best, "epoch": epoch + 1, "monitor": self.monitor,
            "partial": bool(self.partial_epoch and self.partial_epoch(epoch))})


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the end of the first batch after ``minutes`` have passed.

    The clock starts at the first ``fit`` it sees and runs across later ones (the phases of a
    run share one budget). An epoch stopped before its last batch is *cut*: :meth:`is_cut`
    tells the run's history logger and backup to leave it out, so a resumed run trains it
    again in full instead of skipping its remaining batches.
    """

    def __init__(self, minutes: float):
        super().__init__()
        self.seconds = minutes * 60.0
        self.start = None
        self.stopped_early = False
        self.cut_epoch: int | None = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        if self.start is None:
            self.start = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_early or time.monotonic() - self.start <= self.seconds:
            return
        self.model.stop_training = True
        self.stopped_early = True
        steps = self.params.get("steps") if self.params else None
        if not steps or batch + 1 < steps:  # of unknown length: assume the epoch was cut
            self.cut_epoch = self._epoch

    def is_cut(self, epoch: int) -> bool:
        """True when ``epoch`` (0-based) was stopped by the time limit before its end."""
        return self.cut_epoch is not None and epoch == self.cut_epoch


class HistoryLogger(keras.callbacks.CSVLogger):
    """``CSVLogger`` appending one row per epoch, leaving out the epoch a time limit cut.

    Args:
        path: The ``history.csv`` to append to.
        skip_epoch: Returns True for an epoch that must not be recorded.
    """

    def __init__(self, path: str, skip_epoch: Callable[[int], bool] | None = None):
        super().__init__(path, append=True)
        self.skip_epoch = skip_epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.skip_epoch is not None and self.skip_epoch(epoch):
            return
        super().on_epoch_end(epoch, logs)


class ColorizerCallback(keras.callbacks.Callback):
    """A callback that needs the ab-producing colorizer rather than the model being fit.

    The classification head is fit through its logits view (1/4 resolution, one channel per
    ab bin); :func:`colorizer.training.train.train` sets :attr:`colorizer` to the full model
    before ``fit``, so a figure or a prediction made here always sees L -> ab.
    """

    colorizer: keras.Model | None = None

    @property
    def ab_model(self) -> keras.Model:
        """The model mapping L to ab at the input's resolution."""
        return self.colorizer if self.colorizer is not None else self.model


class LiveLossPlot(keras.callbacks.Callback):
    """Redraws the run's batch-loss curve in a notebook cell whenever it grows.

    It draws what ``batch_loss.csv`` holds (written by :class:`BatchLossLogger`, which runs
    before it), so the live curve and the saved one are the same curve: global steps, earlier
    runs of a resumed training included. A drawing error is logged, never raised: a figure
    must not stop training.

    Args:
        csv_path: The run's ``batch_loss.csv``.
        ylabel: Label of the loss axis.
    """

    def __init__(self, csv_path: str, ylabel: str = "training loss"):
        super().__init__()
        self.csv_path, self.ylabel = csv_path, ylabel
        self.steps: list[int] = []
        self.losses: list[float] = []
        self._size = -1
        self._handle = None

    def on_train_batch_end(self, batch, logs=None):
        self._refresh()

    def on_epoch_end(self, epoch, logs=None):
        self._refresh()

    def _refresh(self) -> None:
        size = os.path.getsize(self.csv_path) if os.path.exists(self.csv_path) else -1
        if size == self._size:
            return
        self._size = size
        steps, losses = read_batch_losses(self.csv_path)
        self.steps, self.losses = steps.tolist(), losses.tolist()
        try:
            self._draw()
        except Exception as error:  # noqa: BLE001 - a figure is never worth a training run
            log.warning("live loss plot failed: %s", error)

    def _draw(self):
        import matplotlib.pyplot as plt
        from IPython.display import display

        figure, axes = plt.subplots(figsize=(7, 3.5))
        axes.plot(self.steps, self.losses, lw=1.2)
        axes.set_xlabel("batch")
        axes.set_ylabel(self.ylabel)
        axes.set_title("training loss")
        axes.grid(alpha=0.3)
        if self._handle is None:
            self._handle = display(figure, display_id=True)
        else:
            self._handle.update(figure)
        plt.close(figure)


class SampleColorizations(ColorizerCallback):
    """After each epoch, colorizes a few fixed validation images and saves (and shows) a grid.

    It predicts with the full colorizer (:attr:`ColorizerCallback.ab_model`), never with the
    logits view a classification head is fit through. A failure is logged, not raised: it
    runs before the epoch's backup, and a figure must never keep an epoch from being saved.

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
        try:
            self._save(epoch)
        except Exception as error:  # noqa: BLE001 - see the class docstring
            log.warning("sample colorizations of epoch %d failed: %s", epoch + 1, error)

    def _save(self, epoch: int) -> None:
        import numpy as np

        from colorizer.color import l_ab_to_rgb
        from colorizer.model.network import model_inputs
        from colorizer.plots import plot_before_after

        model = self.ab_model  # a hint-taking one colours on its own here: no hints
        predicted = np.asarray(model.predict_on_batch(model_inputs(model, self.lightness)))
        columns = [l_ab_to_rgb(self.lightness, ab)
                   for ab in (np.zeros_like(predicted), predicted, self.true_ab)]
        path = os.path.join(self.out_dir, f"epoch_{epoch + 1:03d}.png")
        plot_before_after(list(zip(*columns)), ["gray", f"epoch {epoch + 1}", "truth"], path)
        if self.show:
            from colorizer.notebook import show_image

            show_image(path)
