"""Crash-safe training backups: a run killed at any instant resumes from its last whole epoch.

Keras' ``BackupAndRestore`` overwrites ``latest.weights.h5`` in place and then rewrites a
metadata file, so a kill between the two (or during either) leaves weights and epoch count out
of step, or an unreadable file. Here every backup goes to a new file, flushed to disk, and a
small ``state.json`` is then renamed over the old one; that rename is the commit. A half-written
weights file is never named by the state, so it can never replace the last good backup.

    backup_dir/
      state.json                 {"epoch": 3, "weights": "epoch-00003.weights.h5",
                                  "previous": {"epoch": 2, "weights": "epoch-00002..."}}
      epoch-00003.weights.h5     model + optimizer state after epoch 3
      epoch-00002.weights.h5     the one before, kept as a fallback

Example:
    >>> backup = AtomicBackupAndRestore("runs/cats/backup/full")
    >>> model.fit(data, epochs=10, callbacks=[backup])   # run again after a crash to resume
"""
from __future__ import annotations

import csv
import io
import logging
import os
from typing import Callable

import keras

from colorizer.fileio import atomic_path, read_json, write_json, write_text

log = logging.getLogger(__name__)

STATE_FILE = "state.json"


def saved_epoch(backup_dir: str) -> int | None:
    """The number of epochs the backup in ``backup_dir`` holds, or ``None`` if it has none."""
    state = read_json(os.path.join(backup_dir, STATE_FILE))
    if state:
        return int(state["epoch"])
    legacy = read_json(os.path.join(backup_dir, "training_metadata.json"))  # Keras' own layout
    return int(legacy["epoch"]) if legacy else None


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose backups are committed atomically at each epoch's end.

    On ``fit``'s start it restores the model weights, the optimizer state (step count, Adam
    moments, loss scale) and the epoch count of the last committed backup; if that file cannot
    be read it falls back to the one before. Put it last in the callback list, so an epoch is
    only committed once every other callback has finished with it.

    Args:
        backup_dir: Folder of this backup (one per ``fit`` phase).
        delete_checkpoint: Remove the folder when ``fit`` completes.
        skip_epoch: Returns True for an epoch that must not be committed (one a time limit
            cut short: a resumed run then trains it again in full).
    """

    def __init__(self, backup_dir: str, delete_checkpoint: bool = False,
                 skip_epoch: Callable[[int], bool] | None = None):
        super().__init__(backup_dir, save_freq="epoch", double_checkpoint=True,
                         delete_checkpoint=delete_checkpoint)
        self._state_path = os.path.join(backup_dir, STATE_FILE)
        self.skip_epoch = skip_epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.skip_epoch is not None and self.skip_epoch(epoch):
            log.info("epoch %d was cut short: not backed up, a resumed run trains it again",
                     epoch + 1)
            return
        super().on_epoch_end(epoch, logs)

    def on_train_begin(self, logs=None):
        state = read_json(self._state_path)
        if not state:
            # No backup of ours: a run from Keras' own callback still resumes, else a fresh start.
            if os.path.exists(self._weights_path):
                super().on_train_begin(logs)
            return
        for entry in (state, state.get("previous")):
            if not entry:
                continue
            try:
                self._restore(entry)
                return
            except (OSError, ValueError, KeyError) as error:
                log.warning("backup %s unreadable (%s); trying the previous one",
                            entry["weights"], error)
        raise RuntimeError(f"no readable backup in {self.backup_dir}; delete the folder to "
                           "start this phase again")

    def _restore(self, entry: dict) -> None:
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self.backup_dir, entry["weights"]))
        self.model._initial_epoch = int(entry["epoch"])  # what Keras' own callback sets
        log.info("resumed from %s after epoch %d", entry["weights"], entry["epoch"])

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"epoch-{self._current_epoch:05d}.weights.h5"
        with atomic_path(os.path.join(self.backup_dir, name), suffix=".weights.h5") as temp:
            self.model.save_weights(temp)
            _fsync(temp)  # the data reaches the disk before the state can point at it
        previous = read_json(self._state_path)
        if previous:
            previous.pop("previous", None)
        write_json(self._state_path, {"epoch": self._current_epoch, "weights": name,
                                      "previous": previous})
        keep = {name, (previous or {}).get("weights")}
        for old in os.listdir(self.backup_dir):
            if old.startswith("epoch-") and old.endswith(".weights.h5") and old not in keep:
                os.remove(os.path.join(self.backup_dir, old))


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def trim_csv(path: str, column: str, limit: float) -> int:
    """Drops the rows of a CSV log whose ``column`` is ``>= limit``, atomically.

    A run killed after logging an epoch but before backing it up will train that epoch again;
    trimming the log to the restored epoch first keeps each epoch in it exactly once.

    Returns:
        How many rows were dropped.
    """
    if not os.path.exists(path):
        return 0
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or column not in rows[0]:
        return 0
    index = rows[0].index(column)

    def keep(row: list[str]) -> bool:
        if len(row) != len(rows[0]):  # a line cut short by a kill
            return False
        try:
            return float(row[index]) < limit
        except ValueError:
            return False

    kept = [rows[0]] + [row for row in rows[1:] if keep(row)]
    dropped = len(rows) - len(kept)
    if dropped:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(kept)
        write_text(path, text.getvalue())
    return dropped
