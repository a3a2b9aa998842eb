"""``colorizer train``: train or resume a model in a run folder."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model (run again to resume)",
        description="Trains the colorizer on a folder of photos or prepared TFRecord shards. "
                    "Everything goes into --run-dir; the same command run again resumes from "
                    "the last completed epoch, even after the process was killed. "
                    "--batch-size is per replica: with R replicas (GPUs, TPU cores, workers) "
                    "each step sees R times the batch and the learning rate is R times "
                    "--learning-rate.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", required=True,
                        help="image folder (split by file hash into train/val/test) or "
                             "a folder of shards from `colorizer prepare`")
    parser.add_argument("--run-dir", required=True, help="run folder (checkpoints, logs)")
    parser.add_argument("--preset", default="paper",
                        choices=("paper", "budget", "budget-hints", "smoke"),
                        help="defaults for everything not given. paper: the paper's set-up "
                             "(224 px, ImageNet weights, regression, constant learning rate, "
                             "40 epochs); budget: the best colour for a fixed time without "
                             "pretrained weights (128 px, regression, warm-up and cosine "
                             "decay to the end of --max-minutes, 30 by default, colour gain "
                             "chosen on the validation split); budget-hints: the budget "
                             "recipe for a model that takes colour hints (--hints simulated, "
                             "no colour gain); smoke: tiny, for tests")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--weights", help="imagenet | none | a weights file")
    parser.add_argument("--freeze-encoder-epochs", type=int,
                        help="epochs with the encoder frozen at the start")
    parser.add_argument("--steps-per-epoch", type=int, help="cap on batches per epoch")
    parser.add_argument("--max-minutes", type=float,
                        help="stop after this many minutes of training (at the end of the "
                             "first batch past the limit; the stopped epoch is still "
                             "validated, and best.keras is the best validated state, that "
                             "one included)")
    parser.add_argument("--schedule", choices=("constant", "cosine"),
                        help="learning rate: constant, or a warm-up then a cosine decay "
                             "ending with the budget (--max-minutes, else --epochs)")
    parser.add_argument("--warmup-steps", type=int, help="steps of the cosine schedule's warm-up")
    parser.add_argument("--no-augment", action="store_true", help="turn augmentation off")
    parser.add_argument("--augment-on", default="device", choices=("device", "host"),
                        help="where rotation, flips and noise run: device (inside the "
                             "training step, on the GPU/TPU; the CPU only decodes and crops) "
                             "or host (in the tf.data pipeline on the CPU)")
    parser.add_argument("--head", choices=("regression", "classification"),
                        help="(the presets': regression) "
                             "regression: the paper's MSE on ab; classification: colour as "
                             "classification over the quantised ab gamut (Zhang et al.), with "
                             "class rebalancing from the data's ab distribution")
    parser.add_argument("--temperature", type=float,
                        help="annealed-mean temperature of the classification head (1: the "
                             "mean, washed out; near 0: the mode, vivid but patchy; the paper "
                             "preset's default is 0.38)")
    parser.add_argument("--tune-colour", choices=("on", "off"),
                        help="after training, tune the colour of best.keras and model.keras "
                             "on the validation split: the classification head's temperature "
                             "(the most vivid that still beats gray on ab RMSE and PSNR) or "
                             "the regression head's colour gain (the largest that keeps half "
                             "of its lead over gray); recorded in colour_tuning.json (the "
                             "budget preset: on)")
    parser.add_argument("--hints", choices=("none", "simulated"),
                        help="(the presets': none; budget-hints: simulated) simulated: train "
                             "a model that also takes colour hints as inputs (hinted ab and a "
                             "mask, Zhang et al. 2017) on hints drawn from the true colour in "
                             "every step; with no hints it colours on its own, and "
                             "`colorize --hints` feeds it the hints")
    parser.add_argument("--strategy", default="auto",
                        choices=("auto", "default", "mirrored", "tpu", "multi-worker"),
                        help="where to train: auto picks multi-worker when TF_CONFIG names "
                             "several machines, else a TPU, else every GPU (mirrored), else "
                             "one device")
    parser.add_argument("--mixed-precision", default="auto", choices=("auto", "on", "off"),
                        help="16-bit compute with float32 weights (auto: on GPUs and TPUs)")
    parser.add_argument("--xla", default="auto", choices=("auto", "on", "off"),
                        help="compile training steps with XLA (auto: on GPUs and TPUs)")
    parser.set_defaults(run=run)


def settings(args):
    """The :class:`~colorizer.training.config.Preset` a ``colorizer train`` command asks for:
    its ``--preset``, with every option given on the command line overriding it."""
    from colorizer.data.config import AugmentConfig
    from colorizer.training.config import Preset, get_preset

    preset = get_preset(args.preset)
    weights = preset.model.weights if args.weights is None else (
        None if args.weights.lower() == "none" else args.weights)
    data = dataclasses.replace(
        preset.data,
        **{k: v for k, v in (("batch_size", args.batch_size),
                             ("image_size", args.image_size)) if v is not None},
        augment=AugmentConfig.none() if args.no_augment else preset.data.augment,
        augment_on=args.augment_on)
    train_config = dataclasses.replace(preset.train, **{k: v for k, v in (
        ("epochs", args.epochs), ("learning_rate", args.learning_rate),
        ("freeze_encoder_epochs", args.freeze_encoder_epochs),
        ("steps_per_epoch", args.steps_per_epoch), ("max_minutes", args.max_minutes),
        ("schedule", args.schedule), ("warmup_steps", args.warmup_steps),
        ("tune_colour", None if args.tune_colour is None else args.tune_colour == "on"),
        ("hints", args.hints))
        if v is not None})
    if args.temperature is not None and not args.temperature > 0:
        raise ValueError(f"--temperature must be positive, got {args.temperature}")
    model_config = dataclasses.replace(preset.model, weights=weights, **{k: v for k, v in (
        ("head", args.head), ("temperature", args.temperature)) if v is not None})
    return Preset(data, model_config, train_config)


def run(args) -> int:
    from colorizer.data.ab_distribution import find_ab_distribution
    from colorizer.data.pipeline import DecodeStats, make_dataset
    from colorizer.training.distribute import (
        describe, get_strategy, global_batch_size, num_workers, resolve_mixed_precision,
        resolve_xla)
    from colorizer.training.train import train

    # First: a multi-worker strategy must exist before TensorFlow runs anything else.
    strategy = get_strategy(args.strategy)
    preset = settings(args)
    data, train_config, model_config = preset.data, preset.train, preset.model

    stats = DecodeStats()
    batch_size = global_batch_size(data.batch_size, strategy)
    print(describe(strategy, resolve_mixed_precision(args.mixed_precision, strategy),
                   resolve_xla(args.xla, strategy)))
    if strategy.num_replicas_in_sync > 1:
        print(f"{strategy.num_replicas_in_sync} replicas: global batch {batch_size}")
    common = dict(batch_size=batch_size, image_size=data.image_size, seed=data.seed,
                  stats=stats, workers=num_workers())
    # On the device, the CPU only crops; the rotation, flips and noise run in the step.
    train_ds = make_dataset(args.data, split="train", training=True, augment=data.host_augment,
                            shuffle_buffer=data.shuffle_buffer, resize_ratio=data.resize_ratio,
                            cache=data.cache, repeat=train_config.steps_per_epoch is not None,
                            **common)
    try:
        val_ds = make_dataset(args.data, split="val", **common)
    except FileNotFoundError:
        val_ds = None
    # `colorizer prepare` saves the ab distribution beside the shards; without it, train
    # measures it on a sample of the training batches.
    distribution = (find_ab_distribution(args.data)
                    if model_config.head == "classification" and os.path.isdir(args.data) else None)
    result = train(train_ds, args.run_dir, val_data=val_ds, model_config=model_config,
                   train_config=train_config, ab_distribution=distribution,
                   strategy=strategy, mixed_precision=args.mixed_precision,
                   augment=data.device_augment, augment_seed=data.seed,
                   jit_compile=args.xla)
    last = result.history[-1] if result.history else {}
    print(f"trained {len(result.history)} epochs; last: "
          + ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k != "epoch"))
    if result.stopped_early:
        print(f"stopped by --max-minutes during epoch {len(result.history) + 1}, which is not "
              "counted; run the same command again to train it in full and go on")
    print(f"model: {args.run_dir}/model.keras  best: {args.run_dir}/best.keras")
    # Unreadable photos and shard records were skipped, the rest trained on: name them and
    # say so in the exit status.
    for path, reason in stats.failures:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    if stats.skipped:
        from colorizer.fileio import write_json

        write_json(os.path.join(args.run_dir, "skipped.json"),
                   [{"file": path, "reason": reason} for path, reason in stats.failures])
        print(f"skipped {stats.skipped} unreadable files or records (listed in "
              f"{args.run_dir}/skipped.json)", file=sys.stderr)
    return 1 if stats.skipped else 0
