"""``colorizer prepare``: turn a folder of photos into split TFRecord shards."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare", help="write a folder of photos as train/val/test TFRecord shards",
        description="Decodes every photo of --images once, shrinks it to --short-side, and "
                    "writes TFRecord shards of about --shard-mb MB into --out, split into "
                    "train/val/test (80/10/10) by a hash of each file's path, so adding photos "
                    "later never moves old ones. OUT/index.json lists counts, shards, labels "
                    "(from labels.csv in --images, when present) and skipped files. "
                    "`colorizer train --data OUT` reads the shards.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--images", required=True, help="folder of photos (searched recursively)")
    parser.add_argument("--out", required=True, help="folder for the shards and index.json")
    parser.add_argument("--short-side", type=int, default=256,
                        help="photos are shrunk so their short side is this many pixels")
    parser.add_argument("--shard-mb", type=float, default=100.0, help="target shard size")
    parser.add_argument("--augment-copies", type=int, default=0,
                        help="extra augmented copies of each training photo (3: the paper's "
                             "4x set); 0 augments on the fly in training instead")
    parser.add_argument("--seed", type=int, default=0, help="fixes the split")
    parser.add_argument("--labels", metavar="CSV",
                        help="labels file (file, breed, species); default: IMAGES/labels.csv")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.data.prepare import prepare_dataset

    index = prepare_dataset(args.images, args.out, short_side=args.short_side,
                            shard_mb=args.shard_mb, seed=args.seed, labels=args.labels,
                            augment_copies=args.augment_copies, progress=not args.quiet)
    counts = ", ".join(f"{name} {info['images']}" for name, info in index["splits"].items())
    print(f"{index['images']} photos -> {counts} records in {args.out}")
    for item in index["skipped"]:
        print(f"skipped: {item['reason']}", file=sys.stderr)
    return 1 if index["skipped"] else 0
