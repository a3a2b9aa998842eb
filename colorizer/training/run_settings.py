"""The settings a run folder is tied to, and the refusal to resume it under other ones.

A backup holds weights of one architecture trained on crops of one size in batches of one
size. Resuming it with another head fails on an unreadable backup; with another image or batch
size, weights or frozen-encoder phase it silently mixes two runs in one curve and one model.
So ``config.json`` records those settings when a run starts, and a run folder that already
holds training refuses different ones, naming each difference.

Settings that may change on resume are left out: the number of epochs (to extend a run), the
learning rate, the machine (strategy, replicas, precision, XLA) and the logging cadence.

Example:
    >>> check_run_settings("runs/cats", {"model": {"head": "classification"}})
    Traceback (most recent call last):
    ...
    RunSettingsError: runs/cats was started with other settings: head regression -> ...
"""
from __future__ import annotations

import os

from colorizer.errors import ColorizerError
from colorizer.fileio import read_json

CONFIG_FILE = "config.json"
FIXED_SETTINGS = (("model", "head"), ("model", "decoder_filters"), ("model", "weights"),
                  ("train", "freeze_encoder_epochs"), ("train", "hints"), ("data", "image_size"),
                  ("data", "batch_size"), ("data", "augment_on"))
"""(section, key) of ``config.json`` that a run keeps from its first epoch to its last. Where
augmentation runs is one of them: on the device, the backups hold the augmentation's step
counter beside the model. So are the hints: a model that takes them has other inputs and
layers."""
LEGACY_VALUES = {("data", "augment_on"): "host", ("train", "hints"): "none"}
"""What a run folder written before a setting was recorded had: augmentation ran on the CPU,
and the model took no hints."""


class RunSettingsError(ColorizerError):
    """A run folder holds training done with other settings than the ones now asked for."""


def data_settings(element_spec, replicas: int = 1) -> dict:
    """``{"image_size", "batch_size"}`` of ``(L, ab)`` batches, from a dataset's element spec.

    The batch size is per replica (the global batch over ``replicas``), so the same run may
    resume on a machine with another number of devices. Unknown dimensions give ``None``.
    """
    shape = element_spec[0].shape
    batch = shape[0] if shape.rank else None
    size = shape[1] if shape.rank and shape.rank > 1 else None
    return {"image_size": int(size) if size is not None else None,
            "batch_size": int(batch) // max(1, replicas) if batch is not None else None}


def has_training(run_dir: str) -> bool:
    """True when ``run_dir`` holds trained epochs (a committed backup or a history)."""
    backup = os.path.join(run_dir, "backup")
    committed = os.path.isdir(backup) and any(
        os.path.exists(os.path.join(backup, phase, name))
        for phase in os.listdir(backup) for name in ("state.json", "training_metadata.json"))
    return committed or os.path.exists(os.path.join(run_dir, "history.csv"))


def setting_differences(old: dict, new: dict) -> list[str]:
    """``"key old -> new"`` for each fixed setting both configurations know and disagree on."""
    differences = []
    for section, key in FIXED_SETTINGS:
        known = [dict(d.get(section) or {}) for d in (old, new)]
        legacy = LEGACY_VALUES.get((section, key))
        if legacy is not None and known[0] and key not in known[0]:
            known[0][key] = legacy
        if any(key not in d for d in known):
            continue  # a run from an older version
        before, after = (d[key] for d in known)
        if section == "data" and (before is None or after is None):
            continue  # a dataset whose batches have no static shape
        if _plain(before) != _plain(after):
            differences.append(f"{key} {_plain(before)} -> {_plain(after)}")
    return differences


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def check_run_settings(run_dir: str, config: dict) -> None:
    """Raises :class:`RunSettingsError` when ``run_dir`` was trained with other fixed settings.

    Args:
        run_dir: The run folder.
        config: The configuration about to be written to its ``config.json``.
    """
    old = read_json(os.path.join(run_dir, CONFIG_FILE))
    if not old or not has_training(run_dir):
        return
    differences = setting_differences(old, config)
    if differences:
        raise RunSettingsError(
            f"{run_dir} was started with other settings ({'; '.join(differences)}); resuming "
            "would mix two runs. Use a new run name (RUN_NAME, --run-dir), or delete the "
            "folder to start this one over.")
