"""``colorizer demo``: the main job offline, on sample photos shipped with installed packages."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from colorizer.cli.demo import DemoConfig

    defaults = DemoConfig()
    parser = subparsers.add_parser(
        "demo", help="train, evaluate and colorize on bundled sample photos (no network)",
        description="Builds a small dataset from the colour sample photos of scikit-image and "
                    "matplotlib, trains the paper's model for a few minutes (from ImageNet "
                    "weights when they are cached or downloadable, else from scratch), keeps "
                    "the epoch with the lowest validation loss with its colour scaled to what "
                    "validation supports, evaluates it against the gray baseline, colorizes "
                    "held-out photos at full resolution, and writes a report with figures.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default=defaults.out, help="output folder")
    parser.add_argument("--minutes", type=float, default=defaults.minutes,
                        help="training time budget")
    parser.add_argument("--image-size", type=int, default=defaults.image_size,
                        help="crop size to train at (multiple of 8)")
    parser.add_argument("--crops", type=int, default=defaults.crops_per_photo,
                        help="training crops per sample photo")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--weights", default="auto",
                        help="encoder init: auto (ImageNet when cached in ~/.keras/models or "
                             "downloadable, else from scratch), none (from scratch), imagenet "
                             "(stop if it cannot be had), or a weights file")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.cli.demo import DemoConfig, main_summary, run_demo

    weights = None if args.weights.lower() == "none" else args.weights
    config = DemoConfig(out=args.out, minutes=args.minutes, image_size=args.image_size,
                        crops_per_photo=args.crops, batch_size=args.batch_size,
                        weights=weights, seed=args.seed)
    report = run_demo(config)
    print(main_summary(report))
    print(f"report: {args.out}/report.md")
    return 0
