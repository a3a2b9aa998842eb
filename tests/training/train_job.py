"""A small training job that tests run in fresh processes (strategies need a fresh TensorFlow).

    python tests/training/train_job.py --data DIR --run-dir DIR --out result.json [--strategy NAME]
        [--logical-cpus N] [--pause-at mid:E | logged:E --marker FILE] [--compare-single]
        [--freeze-encoder-epochs N]

It trains the colorizer on 32x32 crops for a few steps and writes a JSON summary: replicas,
per-epoch losses, the optimizer's step count and a digest of the final weights.
``--pause-at`` writes ``--marker`` and then sleeps, so the test can kill the process there:
``mid:E`` in the middle of epoch E (0-based), ``logged:E`` at the end of epoch E after
history.csv has its row but before the backup is committed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402  (tf.data, and tf.config on the TensorFlow backend)


def pause_at(where: str, marker: str):
    """A callback that writes a marker file and sleeps at one point of training, waiting to be
    killed. The marker holds the process id and a digest of the colorizer's encoder then."""
    from colorizer.training.callbacks import ColorizerCallback

    class PauseAt(ColorizerCallback):
        def __init__(self):
            super().__init__()
            kind, _, epoch = where.partition(":")
            self.kind, self.epoch, self.marker = kind, int(epoch), marker

        def _pause(self):
            if hasattr(self.model, "jax_state_sync"):  # JAX keeps weights apart mid-epoch
                self.model.jax_state_sync()
            with open(self.marker + ".tmp", "w") as f:
                json.dump({"pid": os.getpid(), "encoder": _encoder_digest(self.ab_model)}, f)
            os.replace(self.marker + ".tmp", self.marker)
            time.sleep(600)

        def on_train_batch_end(self, batch, logs=None):
            if self.kind == "mid" and self._current == self.epoch and batch == 1:
                self._pause()

        def on_epoch_begin(self, epoch, logs=None):
            self._current = epoch

        def on_epoch_end(self, epoch, logs=None):
            if self.kind == "logged" and epoch == self.epoch:
                self._pause()

    return PauseAt()


def run_training(args, strategy, run_dir, learning_rate, lr_scaling, callbacks=()):
    from colorizer.data.config import AugmentConfig
    from colorizer.data.pipeline import make_dataset
    from colorizer.model.config import ModelConfig
    from colorizer.training.config import TrainConfig
    from colorizer.training.distribute import global_batch_size
    from colorizer.training.train import train

    keras.utils.set_random_seed(0)  # the same data order and initial weights in every run
    batch = global_batch_size(args.batch, strategy)
    halves = args.duplicate_halves
    augment = AugmentConfig() if args.device_augment else None
    data = make_dataset(args.data, batch_size=batch // 2 if halves else batch, image_size=32,
                        training=True, repeat=True, augment=AugmentConfig.none(), seed=1)
    if halves:
        # Fixed batches, each global batch [x, x]: every replica's BatchNorm statistics then
        # equal those of the whole batch, so a distributed and a single-device run must agree
        # step by step.
        fixed = list(data.take(args.epochs * args.steps).as_numpy_iterator())
        lightness = np.stack([np.concatenate([x, x]) for x, _ in fixed])
        ab = np.stack([np.concatenate([y, y]) for _, y in fixed])
        data = tf.data.Dataset.from_tensor_slices((lightness, ab)).repeat()
    result = train(data, run_dir, model_config=ModelConfig(weights=None),
                   train_config=TrainConfig(epochs=args.epochs, steps_per_epoch=args.steps,
                                            batch_log_every=1, learning_rate=learning_rate,
                                            lr_scaling=lr_scaling,
                                            freeze_encoder_epochs=args.freeze_encoder_epochs),
                   strategy=strategy, extra_callbacks=callbacks, verbose=0, augment=augment)
    weights = result.model.get_weights()
    return {
        "replicas": strategy.num_replicas_in_sync,
        "losses": [row["loss"] for row in result.history],
        "batch_losses": _batch_losses(os.path.join(result.run_dir, "batch_loss.csv")),
        "iterations": int(keras.ops.convert_to_numpy(result.fit_model.optimizer.iterations)),
        "weights_sum": float(sum(np.abs(w).sum() for w in weights)),
        "trainable_sum": float(sum(np.abs(keras.ops.convert_to_numpy(w)).sum()
                                   for w in result.model.trainable_weights)),
        "moving_sum": float(sum(np.abs(keras.ops.convert_to_numpy(w)).sum()
                                for w in result.model.non_trainable_weights)),
        "weights_first": [float(v) for v in np.ravel(weights[0])[:20]],
        "encoder": _encoder_digest(result.model),
        "run_dir": result.run_dir,
        "backend": keras.backend.backend(),
        "augmented_steps": (int(keras.ops.convert_to_numpy(result.fit_model.augmentation.step))
                            if augment else None),
    }


def _encoder_digest(model) -> str:
    """A hash of the encoder's weights (DenseNet121 up to pool2_pool), in order."""
    import hashlib

    digest = hashlib.sha256()
    for weight in model.get_layer("encoder").get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def _batch_losses(path: str) -> list[float]:
    with open(path) as f:
        return [float(line.split(",")[2]) for line in f.read().splitlines()[1:]]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--strategy", default="default")
    parser.add_argument("--logical-cpus", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2, help="per replica")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--freeze-encoder-epochs", type=int, default=0,
                        help="epochs with the encoder frozen at the start")
    parser.add_argument("--device-augment", action="store_true",
                        help="rotation, flips and noise inside the training step")
    parser.add_argument("--pause-at")
    parser.add_argument("--marker")
    parser.add_argument("--duplicate-halves", action="store_true",
                        help="make each global batch two copies of one half")
    parser.add_argument("--compare-single", action="store_true",
                        help="also train on one device with the global batch and the scaled "
                             "learning rate, in run-dir/single")
    args = parser.parse_args()

    # Before anything initialises TensorFlow's devices. (On JAX the caller sets XLA_FLAGS.)
    if args.logical_cpus and keras.backend.backend() == "tensorflow":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)
    from colorizer.training.distribute import get_strategy, scaled_learning_rate

    strategy = get_strategy(args.strategy)
    callbacks = [pause_at(args.pause_at, args.marker)] if args.pause_at else []
    summary = run_training(args, strategy, args.run_dir, args.learning_rate, "linear", callbacks)
    if args.compare_single:
        args.batch *= strategy.num_replicas_in_sync
        rate = scaled_learning_rate(args.learning_rate, strategy.num_replicas_in_sync)
        summary["single"] = run_training(args, get_strategy("default"),
                                         os.path.join(args.run_dir, "single"), rate, "none")
    with open(args.out, "w") as f:
        json.dump(summary, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
