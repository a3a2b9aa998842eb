"""``colorizer colorize``: colorize photos at full resolution."""
from __future__ import annotations

import argparse
import os
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "colorize", help="colorize photos or folders at full resolution",
        description="Colorizes each input photo (files or folders, searched recursively) and "
                    "writes a PNG of the same size into --out. A colour photo is made gray "
                    "first. Unreadable files are reported and skipped; the exit status is 1 "
                    "when any input failed.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("--model", required=True, help="a .keras model file")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--render-size", type=int, default=224,
                        help="the model's working size (multiple of 32)")
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    parser.add_argument("--temperature", type=float,
                        help="annealed-mean temperature for a classification model (default: "
                             "the one saved with it; 1: the mean, near 0: the mode)")
    parser.set_defaults(run=run)


def run(args) -> int:
    import cv2
    from tqdm.auto import tqdm

    from colorizer.fileio import atomic_path
    from colorizer.images import ImageReadError, expand_sources, read_rgb
    from colorizer.infer import colorize
    from colorizer.model import load_colorizer, set_temperature

    model = load_colorizer(args.model)
    if args.temperature is not None:
        set_temperature(model, args.temperature)  # refuses a regression model, clearly
    paths = expand_sources(args.inputs)
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    for path in tqdm(paths, desc="colorize", unit="photo"):
        target = os.path.join(args.out, os.path.splitext(os.path.basename(path))[0] + ".png")
        if os.path.exists(target) and not args.overwrite:
            continue
        try:
            rgb = colorize(model, read_rgb(path), render_size=args.render_size)
        except ImageReadError as error:
            failed += 1
            print(f"failed: {error}", file=sys.stderr)
            continue
        with atomic_path(target, suffix=".png") as temporary:
            cv2.imwrite(temporary, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    print(f"colorized {len(paths) - failed} of {len(paths)} into {args.out}")
    return 1 if failed else 0
