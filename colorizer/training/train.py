"""Training runs: compile with MSE and Adam, fit with resumable callbacks, all in one folder.

A classification colorizer (``ModelConfig(head="classification")``) is trained through its
logits view with the rebalanced soft-encoded cross-entropy; its class weights come from the
training set's ab distribution (given, or measured on a sample of the training batches), kept
in the run folder as ``ab_distribution.npy`` so a resumed run uses the very same loss. The
saved models (``best.keras``, ``model.keras``) are the ab-producing colorizer in both cases.

A run folder holds everything a run writes::

    run_dir/
      config.json        the settings the run was started with (a resume must match them)
      ab_distribution.npy  the ab bin distribution behind the class weights (classification)
      backup/            crash-safe backups (weights + optimizer + epoch), per phase
      best.keras         the best model so far (validation loss, else training loss)
      model.keras        the model at the end of training
      history.csv        one row per completed epoch (appended across restarts)
      batch_loss.csv     the loss every N global steps and at each epoch's end; loss.png
      tensorboard/       TensorBoard logs

Running the same call again on the same folder resumes: finished phases are skipped and the
current one restarts from its last completed epoch with its optimizer state, even after the
process was killed at an arbitrary instant (see :mod:`colorizer.training.backup`). An epoch cut
short by ``TrainConfig.max_minutes`` is neither backed up nor recorded in ``history.csv``: a
resumed run trains it again in full. A folder that holds training refuses to resume under
other fixed settings (see :mod:`colorizer.training.run_settings`).

Augmentation runs in the training step, on the accelerator (``augment=``, see
:mod:`colorizer.training.augmentation`): the input pipeline then only decodes, caches and
crops. Data augmented on the CPU by :func:`colorizer.data.pipeline.make_dataset` trains just
as well (``augment=None``).

``TrainConfig(hints="simulated")`` trains a colorizer that takes colour hints as a second
input (Zhang et al. 2017): the training step draws them from each batch's (augmented) true
colour (:mod:`colorizer.training.hint_simulation`), and validation scores it with hints drawn
the same way. The saved models take hints, and colour on their own when given none.

The same code trains on TensorFlow and on JAX (see :mod:`colorizer.backend`). Under a strategy
with ``R`` replicas (``tf.distribute`` or JAX data parallelism) the dataset's batch is the global batch
(``R`` times the per-replica batch, see :func:`colorizer.training.distribute.global_batch_size`) and the
learning rate is scaled by ``TrainConfig.lr_scaling`` (linear by default: ``R`` times the rate
tuned for one replica's batch). On several machines only the chief writes ``run_dir``; each
other worker keeps its own copy of the folder in ``run_dir/worker-N``.

One process trains in a folder at a time: it holds ``run_dir/lease.json`` while it runs, and a
second trainer on the same folder stops with a message naming the first one's host and start
time (see :mod:`colorizer.lease`).
"""
from __future__ import annotations

import csv
import dataclasses
import logging
import os
from typing import Sequence

import keras
import numpy as np

from colorizer.data.config import AugmentConfig
from colorizer.fileio import save_model, write_json
from colorizer.lease import FolderLease
from colorizer.model.config import ModelConfig
from colorizer.model.network import (
    build_colorizer, head_of, logits_model, set_encoder_trainable, takes_hints)
from colorizer.training import distribute
from colorizer.training.augmentation import AugmentedTraining, LabAugmentation, augments
from colorizer.training.backup import AtomicBackupAndRestore, saved_epoch, trim_csv
from colorizer.training.callbacks import (
    BatchLossLogger, BestModelCheckpoint, ColorizerCallback, HistoryLogger, LeaseGuard,
    TimeLimit)
from colorizer.training.config import TrainConfig
from colorizer.training.hint_simulation import HintSimulation, hint_settings
from colorizer.training.run_settings import CONFIG_FILE, check_run_settings, data_settings

DISTRIBUTION_SAMPLE_BATCHES = 200
"""Training batches read to measure the ab distribution when none is given."""

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        model: The trained model.
        run_dir: The run folder.
        history: Per-epoch metrics read back from ``history.csv`` (all phases, all restarts).
        stopped_early: True when the time limit ended training.
        fit_model: What ``fit`` trained: the model, its logits view, or either behind the
            on-device augmentation (:class:`~colorizer.training.augmentation.AugmentedTraining`).
    """

    model: keras.Model
    run_dir: str
    history: list[dict]
    stopped_early: bool = False
    fit_model: keras.Model | None = None


def compile_colorizer(model: keras.Model, learning_rate: float,
                      jit_compile: bool | str = "auto") -> keras.Model:
    """Compiles with the paper's loss (MSE on ab) and Adam; MAE is tracked for reading.

    Under a ``mixed_float16`` model Keras wraps Adam in a loss-scale optimizer by itself.
    ``jit_compile`` is passed to ``compile`` (XLA).
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=["mae"],
                  jit_compile=jit_compile)
    return model


def compile_classifier(model: keras.Model, learning_rate: float,
                       class_weights: np.ndarray | None,
                       jit_compile: bool | str = "auto") -> keras.Model:
    """Compiles a logits model with the rebalanced soft-encoded cross-entropy and Adam."""
    from colorizer.gamut import load_gamut_bins
    from colorizer.model.classification import RebalancedCrossEntropy

    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=RebalancedCrossEntropy(load_gamut_bins(), class_weights),
                  jit_compile=jit_compile)
    return model


def run_ab_distribution(run_dir: str, train_data, given: np.ndarray | None) -> np.ndarray:
    """The ab distribution of a classification run: the run's own copy when resuming, else
    ``given``, else measured on up to :data:`DISTRIBUTION_SAMPLE_BATCHES` training batches."""
    from colorizer.data.ab_distribution import (
        AB_DISTRIBUTION_FILE, ab_distribution_from_dataset, load_ab_distribution,
        save_ab_distribution)

    path = os.path.join(run_dir, AB_DISTRIBUTION_FILE)
    if os.path.exists(path):
        return load_ab_distribution(path)
    if given is None:
        log.info("measuring the ab distribution on up to %d training batches",
                 DISTRIBUTION_SAMPLE_BATCHES)
        given = ab_distribution_from_dataset(train_data, max_batches=DISTRIBUTION_SAMPLE_BATCHES)
    save_ab_distribution(path, given)
    return np.asarray(given)


def read_history(path: str) -> list[dict]:
    """Reads ``history.csv``; when a restart repeated an epoch, its last row wins."""
    if not os.path.exists(path):
        return []
    rows: dict[int, dict] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            epoch = int(row.pop("epoch"))
            rows[epoch] = {"epoch": epoch + 1, **{k: _number(v) for k, v in row.items()}}
    return [rows[e] for e in sorted(rows)]


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):  # CSVLogger writes "NA" for metrics an epoch lacked
        return float("nan")


def check_hint_inputs(model: keras.Model | None, hints: bool) -> None:
    """Refuses a model given to :func:`train` whose inputs disagree with the run's hints."""
    if model is None or takes_hints(model) == hints:
        return
    raise ValueError("the model given takes colour hints: train it with hints='simulated'"
                     if not hints else "hints='simulated' needs a model that takes hints: "
                     "build it with hint_inputs=True (or let train build it)")


def _phases(config: TrainConfig) -> list[tuple[str, int, bool]]:
    """The (name, end epoch, encoder trainable) of each phase of the run."""
    frozen = min(config.freeze_encoder_epochs, config.epochs)
    phases = [("frozen", frozen, False)] if frozen > 0 else []
    if config.epochs > frozen:
        phases.append(("full", config.epochs, True))
    return phases


def train(
    train_data,
    run_dir: str | os.PathLike,
    *,
    val_data=None,
    model_config: ModelConfig = ModelConfig(),
    train_config: TrainConfig = TrainConfig(),
    model: keras.Model | None = None,
    strategy=None,
    augment: AugmentConfig | None = None,
    augment_seed: int = 0,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
    ab_distribution: np.ndarray | None = None,
    mixed_precision: str = "auto",
    jit_compile: bool | str = "auto",
) -> TrainResult:
    """Trains (or resumes training) a colorizer in ``run_dir``.

    Args:
        train_data: A ``tf.data.Dataset`` of ``(L, ab)`` batches, e.g. from
            :func:`colorizer.data.pipeline.make_dataset`.
        run_dir: The run folder; created if needed, resumed if it holds a backup.
        val_data: Optional validation batches (then ``best.keras`` follows ``val_loss``).
        model_config: How to build the model when ``model`` is not given.
        train_config: Epochs, learning rate, frozen-encoder epochs, logging, limits.
        model: A model to train instead of building one (fine-tuning your own).
        strategy: From :func:`colorizer.training.distribute.get_strategy` (a ``tf.distribute``
            strategy, or JAX data parallelism); one device when ``None``. ``train_data`` must
            then hold global batches.
        augment: Augmentation to run inside each training step, on the device (rotation,
            flips, L-noise; :class:`~colorizer.training.augmentation.LabAugmentation`);
            ``None`` for none there, e.g. when ``train_data`` was augmented on the CPU. A run
            keeps where it augments from its first epoch to its last.
        augment_seed: Seed of the on-device augmentation and of the simulated hints.
        extra_callbacks: More callbacks (sample figures, early stopping...). They run before
            the epoch's backup; a :class:`~colorizer.training.callbacks.ColorizerCallback`
            is given the ab-producing model (not the logits view being fit).
        verbose: Passed to ``fit``.
        ab_distribution: Classification head only: the training set's ab bin distribution
            (e.g. the ``ab_distribution.npy`` that ``colorizer prepare`` saves); measured on
            a sample of ``train_data`` when ``None``.
        mixed_precision: ``"auto"`` (16-bit compute on GPUs and TPUs only), ``"on"``, ``"off"``;
            applies when the model is built here, not to a ``model`` passed in.
        jit_compile: XLA: ``"auto"`` (on for GPUs and TPUs), ``"on"``, ``"off"`` or a bool.

    Returns:
        A :class:`TrainResult`.

    Raises:
        FolderInUseError: Another live process trains in ``run_dir`` (see
            :mod:`colorizer.lease`); its host and start time are named.
        LeaseLostError: Another process took ``run_dir`` over while this one trained.
        RunSettingsError: ``run_dir`` holds training done with another head, image size,
            batch size, initial weights, frozen-encoder phase or hints.
        ValueError: ``model`` takes hints and ``train_config.hints`` is ``"none"``, or the
            reverse.

    Example:
        >>> ds = make_dataset("photos/", batch_size=32, training=True)
        >>> result = train(ds, "runs/cats", train_config=TrainConfig(epochs=10))
    """
    strategy = strategy or distribute.default_strategy()
    is_chief, worker = distribute.worker_index(strategy)
    # Workers other than the chief write a folder of their own, so shared storage never sees
    # two writers of one file; they hold the same weights, synchronised every step.
    run_dir = os.fspath(run_dir) if is_chief else os.path.join(os.fspath(run_dir),
                                                               f"worker-{worker}")
    os.makedirs(run_dir, exist_ok=True)
    # One trainer per folder: a second one (a Colab runtime still running after a
    # disconnect, say) would delete this one's backups and interleave its logs.
    with FolderLease(run_dir, purpose="training") as lease:
        replicas = strategy.num_replicas_in_sync
        learning_rate = distribute.scaled_learning_rate(train_config.learning_rate, replicas,
                                                        train_config.lr_scaling)
        policy = (distribute.resolve_mixed_precision(mixed_precision, strategy) if model is None
                  else model.dtype_policy.name)
        xla = distribute.resolve_xla(jit_compile, strategy)
        on_device = augments(augment)
        hints = train_config.hints == "simulated"
        check_hint_inputs(model, hints)
        config = {
            "model": {**dataclasses.asdict(model_config),
                      **({"head": head_of(model)} if model is not None else {})},
            "train": dataclasses.asdict(train_config),
            "data": {**data_settings(train_data.element_spec, replicas),
                     "augment_on": "device" if on_device else "host",
                     **({"device_augment": dataclasses.asdict(augment)} if on_device else {}),
                     **({"hint_simulation": hint_settings(augment_seed)} if hints else {})},
            "replicas": replicas, "strategy": type(strategy).__name__,
            "backend": keras.backend.backend(),
            "learning_rate": learning_rate, "dtype_policy": policy, "jit_compile": xla}
        if model is not None:
            config["model"].pop("weights")  # the model given holds its own
        check_run_settings(run_dir, config)  # before anything is built or overwritten
        write_json(os.path.join(run_dir, CONFIG_FILE), config)
        if distribute.needs_static_batches(strategy) and val_data is not None:
            val_data = distribute.static_batches(val_data, train_data)

        with strategy.scope(), distribute.dtype_policy(policy):
            if model is None:
                model = build_colorizer(model_config.weights,
                                        decoder_filters=model_config.decoder_filters,
                                        head=model_config.head,
                                        temperature=model_config.temperature,
                                        hint_inputs=hints)
            # The classification colorizer is fit through its logits view (same weights).
            classification = head_of(model) == "classification"
            fit_model = logits_model(model) if classification else model
            if on_device or hints:  # the step makes its inputs: fit on (L, ab) pairs
                fit_model = AugmentedTraining(
                    fit_model,
                    LabAugmentation(augment, seed=augment_seed, name="augmentation")
                    if on_device else None,
                    HintSimulation(seed=augment_seed, name="hint_simulation") if hints
                    else None, name="augmented_training")
        class_weights = None
        if classification:
            from colorizer.model.classification import rebalancing_weights

            class_weights = rebalancing_weights(run_ab_distribution(run_dir, train_data,
                                                                    ab_distribution))

        monitor = "val_loss" if val_data is not None else "loss"
        time_limit = TimeLimit(train_config.max_minutes) if train_config.max_minutes else None
        history_csv = os.path.join(run_dir, "history.csv")
        batch_csv = os.path.join(run_dir, "batch_loss.csv")
        cut = time_limit.is_cut if time_limit else None
        for callback in extra_callbacks:
            if isinstance(callback, ColorizerCallback):
                callback.colorizer = model  # figures predict ab, not the logits being fit
        schedule = None
        if train_config.schedule == "cosine":
            from colorizer.training.schedule import BudgetSchedule

            schedule = BudgetSchedule(learning_rate, minutes=train_config.max_minutes,
                                      total_epochs=train_config.epochs,
                                      warmup_steps=train_config.warmup_steps)
        shared_callbacks = [
            LeaseGuard(lease),
            *([schedule] if schedule else []),  # first: a lost lease stops the epoch before anything is saved
            HistoryLogger(history_csv, skip_epoch=cut),
            BatchLossLogger(batch_csv, os.path.join(run_dir, "loss.png"),
                            every=train_config.batch_log_every),
            BestModelCheckpoint(os.path.join(run_dir, "best.keras"), monitor=monitor,
                                model_to_save=model, partial_epoch=cut),
            keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"), update_freq="epoch"),
            *([time_limit] if time_limit else []),
            *extra_callbacks,
        ]

        start_epoch = 0
        fit_train, fit_val = train_data, val_data
        if on_device or hints:
            from colorizer.data.pipeline import pairs_as_inputs

            fit_train = pairs_as_inputs(train_data)
            fit_val = pairs_as_inputs(val_data) if val_data is not None else None
        for phase, end_epoch, encoder_trainable in _phases(train_config):
            with strategy.scope():
                set_encoder_trainable(model, encoder_trainable)
                if classification:
                    compile_classifier(fit_model, learning_rate, class_weights, jit_compile=xla)
                else:
                    compile_colorizer(fit_model, learning_rate, jit_compile=xla)
            if distribute.is_multi_worker(strategy):
                distribute.prepare_multi_worker_fit(fit_model, fit_train, strategy)
            # Backup last: an epoch is only committed once every other callback has seen it.
            backup_dir = os.path.join(run_dir, "backup", phase)
            backup = AtomicBackupAndRestore(backup_dir, skip_epoch=cut)
            resume = max(saved_epoch(backup_dir) or 0, start_epoch)
            if resume < end_epoch:
                # Epochs logged after the last backup will be trained again: log them once only.
                trim_csv(history_csv, "epoch", resume)  # 0-based epochs
                trim_csv(batch_csv, "epoch", resume + 1)  # 1-based epochs
            # A previous phase's restore must not leak into this one.
            fit_model._initial_epoch = None
            log.info("phase %s: epochs %d-%d, encoder %s", phase, start_epoch + 1, end_epoch,
                     "trainable" if encoder_trainable else "frozen")
            fit_model.fit(fit_train, validation_data=fit_val, epochs=end_epoch,
                      initial_epoch=start_epoch, steps_per_epoch=train_config.steps_per_epoch,
                      callbacks=[*shared_callbacks, backup], verbose=verbose)
            start_epoch = end_epoch
            if time_limit and time_limit.stopped_early:
                break

        save_model(model, os.path.join(run_dir, "model.keras"))
        if train_config.tune_colour and val_data is not None and is_chief:
            from colorizer.training.colour_tuning import tune_saved_models

            choices, model = tune_saved_models(run_dir, model, val_data)
            for name, choice in choices.items():
                setting = (f"temperature {choice['temperature']:.2f}" if "temperature" in choice
                           else f"colour gain {choice['gain']:.2f}")
                log.info("%s: %s chosen on the validation data%s", name, setting,
                         "" if choice["beats_gray"] else " (it does not beat gray there: the "
                         "candidate of the lowest ab RMSE kept)")
        return TrainResult(model, run_dir, read_history(os.path.join(run_dir, "history.csv")),
                           stopped_early=bool(time_limit and time_limit.stopped_early),
                           fit_model=fit_model)
