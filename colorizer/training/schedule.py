"""A learning-rate schedule that knows the run's budget: warm-up, then cosine decay to its end.

A run limited by time (``TrainConfig.max_minutes``) does not know how many steps it will take,
and a fixed schedule cut by the clock ends mid-decay, at a high learning rate, with the noisy
weights that go with it. :class:`BudgetSchedule` therefore measures progress by the budget
itself: the share of the minutes spent when there is a time limit, else the share of the steps
(epochs times batches per epoch) done. The rate rises linearly over the first ``warmup_steps``
steps, then follows half a cosine from the peak down to ``final_fraction`` of it, reached when
the budget is spent, so the weights a time-limited run stops with are annealed ones::

    rate(step, progress) = peak * min(1, (step + 1) / warmup)
                                * (f + (1 - f) * (1 + cos(pi * min(progress, 1))) / 2)

A run resumed under a time limit gets a new budget: it warms up again and decays over the new
minutes (a warm restart). A run limited by epochs resumes where its steps left off.

Example:
    >>> budget_learning_rate(step=0, progress=0.0, peak=1e-3, warmup_steps=10)
    0.0001
    >>> round(budget_learning_rate(step=500, progress=1.0, peak=1e-3, warmup_steps=10), 8)
    2e-05
"""
from __future__ import annotations

import math
import time

import keras

SCHEDULES = ("constant", "cosine")
"""``constant``: Adam at a fixed rate (the paper). ``cosine``: :class:`BudgetSchedule`."""


def budget_learning_rate(step: int, progress: float, peak: float, warmup_steps: int = 0,
                         final_fraction: float = 0.02) -> float:
    """The learning rate at a global ``step`` with ``progress`` (0 to 1) of the budget spent.

    Args:
        step: Global training step, from 0.
        progress: Share of the budget spent; values past 1 hold the final rate.
        peak: The rate reached after the warm-up.
        warmup_steps: Steps of the linear warm-up (0: none).
        final_fraction: The rate at the end of the budget, as a share of ``peak``.

    Returns:
        The learning rate.
    """
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    progress = min(max(float(progress), 0.0), 1.0)
    decay = final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return float(peak * warm * decay)


class BudgetSchedule(keras.callbacks.Callback):
    """Sets the optimizer's learning rate before every batch (see the module docstring).

    Args:
        peak: The rate after the warm-up (already scaled for the replicas).
        minutes: The run's time budget; progress is then the share of it spent, counted from
            the first ``fit`` this callback sees (the clock of the run's time limit).
        total_epochs: Without ``minutes``: the run's epochs; progress is then the share of
            ``total_epochs`` times the batches per epoch (Keras' ``steps``) done, and stays 0
            while the epoch's length is unknown.
        warmup_steps: Steps of the linear warm-up.
        final_fraction: The final rate as a share of ``peak``.

    Attributes:
        rates: ``(step, rate)`` of every batch of this process, to read or plot.
    """

    def __init__(self, peak: float, *, minutes: float | None = None,
                 total_epochs: int | None = None, warmup_steps: int = 0,
                 final_fraction: float = 0.02):
        super().__init__()
        if minutes is None and total_epochs is None:
            raise ValueError("BudgetSchedule needs a budget: minutes or total_epochs")
        self.peak, self.minutes, self.total_epochs = float(peak), minutes, total_epochs
        self.warmup_steps, self.final_fraction = int(warmup_steps), float(final_fraction)
        self.start: float | None = None
        self.step = 0
        self.rates: list[tuple[int, float]] = []

    def _steps_per_epoch(self) -> int | None:
        return (self.params or {}).get("steps")

    def on_train_begin(self, logs=None):
        if self.start is None:
            self.start = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        steps = self._steps_per_epoch()
        if self.minutes is None and steps:  # resumed: the steps of earlier epochs were done
            self.step = max(self.step, epoch * steps)

    def progress(self) -> float:
        """The share of the budget spent (0 to 1 and beyond)."""
        if self.minutes is not None:
            return (time.monotonic() - self.start) / (60.0 * self.minutes)
        steps = self._steps_per_epoch()
        return self.step / (self.total_epochs * steps) if steps else 0.0

    def on_train_batch_begin(self, batch, logs=None):
        rate = budget_learning_rate(self.step, self.progress(), self.peak, self.warmup_steps,
                                    self.final_fraction)
        # On JAX, fit carries the variables in its own state during an epoch: write that back
        # first, so the step after this one starts from the variables, the new rate included.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        self.model.optimizer.learning_rate = rate
        self.rates.append((self.step, rate))

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
