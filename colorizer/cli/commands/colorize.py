"""``colorizer colorize``: colorize photos, folders and URLs at full resolution."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "colorize", help="colorize photos, folders or URLs at full resolution",
        description="Colorizes each input (image files, folders searched recursively, and "
                    "http(s) URLs, mixed) and writes one photo per input into --out, at the "
                    "input's own width and height and with its lightness. JPEG and PNG inputs "
                    "keep their names; other formats (BMP, WebP, TIFF, GIF) become PNG; folders "
                    "keep their structure. A colour photo is made gray first. Unreadable inputs "
                    "are named on stderr and skipped; the exit status is 1 when any failed. "
                    "--out/manifest.jsonl lists every input with its result. Running the same "
                    "command again skips photos already done.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, folders or http(s) URLs")
    parser.add_argument("--model", required=True,
                        help="a .keras model file (from `colorizer train`, or the weak "
                             "runs/demo/model.keras that `colorizer demo` writes)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--render-size", type=int, default=224,
                        help="the model's working size, a multiple of 32: the model sees about "
                             "N x N pixels; larger catches finer detail, smaller gives steadier "
                             "colour (try 160-384)")
    parser.add_argument("--compare", action="store_true",
                        help="also write NAME.compare.jpg: the gray input beside the result")
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    parser.add_argument("--no-tag", dest="tag", action="store_false",
                        help="do not note in the files' metadata that a model colorized them")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="photos of the same shape run through the model together")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait on a URL")
    parser.add_argument("--temperature", type=float,
                        help="annealed-mean temperature for a classification model (default: "
                             "the one saved with it; 1: the mean, near 0: the mode)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.inference.batch import colorize_inputs
    from colorizer.inference.full_resolution import working_size
    from colorizer.model.network import load_colorizer, set_temperature

    working_size(1, 1, args.render_size)  # a bad value fails before the model loads
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    model = load_colorizer(args.model)
    if args.temperature is not None:
        set_temperature(model, args.temperature)  # refuses a regression model, clearly
    manifest = colorize_inputs(model, args.inputs, args.out, render_size=args.render_size,
                               compare=args.compare, overwrite=args.overwrite, tag=args.tag,
                               batch_size=args.batch_size, timeout=args.timeout)
    counts = manifest.counts()
    print(f"colorized {counts['ok']}, skipped {counts['skipped']} (already done), failed "
          f"{counts['failed']} of {len(manifest.entries)} inputs into {args.out}; "
          f"see {manifest.path}")
    return 1 if counts["failed"] else 0
