"""``colorizer colorize``: colorize photos, folders and URLs at full resolution."""
from __future__ import annotations

import argparse
import contextlib
import logging

EXPORTED_MODEL_RUNS_WITHOUT_KERAS = True
"""An exported ``--model`` (ONNX, LiteRT) runs with no Keras, TensorFlow or JAX."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "colorize", help="colorize photos, folders or URLs at full resolution",
        description="Colorizes each input (image and video files, folders searched "
                    "recursively, and http(s) URLs, mixed) and writes one result per input "
                    "into --out, at the input's own width and height and with its lightness. "
                    "JPEG and PNG inputs keep their names; other formats (BMP, WebP, TIFF, GIF) "
                    "become PNG; folders keep their structure. A colour photo is made gray "
                    "first. Films (MP4, MOV, MKV, AVI, WebM ...) become H.264 MP4s with the "
                    "same size, frame rate and frame count and their sound copied; a stopped "
                    "film resumes where it stopped. Unreadable inputs are named on stderr and "
                    "skipped; the exit status is 1 when any failed. --out/manifest.jsonl lists "
                    "every input with its result. Running the same command again skips "
                    "results already done.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image or video files, folders or http(s) URLs")
    parser.add_argument("--model", required=True,
                        help="a .keras model file (from `colorizer train`, or the weak "
                             "runs/demo/model.keras that `colorizer demo` writes), or a file "
                             "`colorizer export` wrote (.onnx, .tflite, a SavedModel folder), "
                             "which runs without TensorFlow, JAX or Keras")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--render-size", type=int, default=224,
                        help="the model's working size, a multiple of 32: the model sees about "
                             "N x N pixels; larger catches finer detail, smaller gives steadier "
                             "colour (try 160-384)")
    parser.add_argument("--compare", action="store_true",
                        help="also write a side by side, the gray input beside the result: "
                             "a.compare.jpg for a.jpg, a.png.compare.jpg for a.png")
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    parser.add_argument("--no-tag", dest="tag", action="store_false",
                        help="do not note in the files' metadata that a model colorized them")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="photos of the same shape run through the model together")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds one URL's whole download may take (any address is "
                             "fetched: the command line trusts the links it is given)")
    parser.add_argument("--max-megapixels", type=float, default=50.0,
                        help="photos with more pixels are refused from their header, before "
                             "decoding (decompression bombs cost nothing)")
    parser.add_argument("--temperature", type=float,
                        help="annealed-mean temperature for a classification model (default: "
                             "the one saved with it; 1: the mean, near 0: the mode)")
    parser.add_argument("--hints", metavar="FILE_OR_DIR",
                        help="colour hints: a JSON file {\"points\": [{\"x\": 120, \"y\": 45, "
                             "\"color\": \"#aa3322\"}], \"scribbles\": \"FILE.png\"} (x, y in "
                             "pixels of the photo as a viewer shows it, origin top-left; "
                             "scribbles: an RGBA image of the photo's size, its opaque pixels "
                             "are hints, found beside the JSON file), used for every input; or "
                             "a folder holding SUB/NAME.json for each input SUB/NAME.EXT "
                             "(inputs without one get no hints). A film's hints follow the motion "
                             "from the frame given as \"frame\": N in the JSON (the first by "
                             "default) until a scene cut")
    parser.add_argument("--reference", metavar="FILE",
                        help="a colour photo of a similar scene whose colours steer every "
                             "input's (matched by lightness and texture)")
    parser.add_argument("--temporal", choices=("flow", "none"), default="flow",
                        help="films: 'flow' steadies colour along the motion between frames "
                             "and starts again at scene cuts; 'none' colours every frame on "
                             "its own (flickers; for comparison)")
    parser.add_argument("--runner", choices=("direct", "dataflow", "flink", "spark"),
                        help="colorize on Apache Beam (pip install \"colorizer[beam]\"): "
                             "INPUTs are then files, folders and globs on any Beam file system "
                             "(gs://bucket/scans/**.tif), --out may be a bucket, and Beam's own "
                             "flags follow (--project, --region, --temp_location, "
                             "--direct_num_workers ...); the same names, manifest and reruns, "
                             "plus OUT/failures.jsonl; photos only (see docs/scale-out.md)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.errors import ColorizerError
    from colorizer.batches.batch import colorize_inputs
    from colorizer.inference.full_resolution import working_size
    from colorizer.runtimes.network import load_colorizer, set_temperature

    working_size(1, 1, args.render_size)  # a bad value fails before the model loads
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if not args.max_megapixels > 0:
        raise ValueError(f"--max-megapixels must be positive, got {args.max_megapixels}")
    if args.runner:
        return _run_on_beam(args)
    guide = None
    if args.hints is not None or args.reference is not None:
        from colorizer.batches.guidance import BatchGuidance

        guide = BatchGuidance.from_paths(args.hints, args.reference)  # fails before the model
    model = load_colorizer(args.model)
    if args.temperature is not None:
        set_temperature(model, args.temperature)  # refuses a regression model, clearly
    manifest = colorize_inputs(model, args.inputs, args.out, render_size=args.render_size,
                               compare=args.compare, overwrite=args.overwrite, tag=args.tag,
                               batch_size=args.batch_size, timeout=args.timeout, guide=guide,
                               temporal=args.temporal, max_pixels=int(args.max_megapixels * 1e6))
    counts = manifest.counts()
    print(f"colorized {counts['ok']}, skipped {counts['skipped']} (already done), failed "
          f"{counts['failed']} of {len(manifest.entries)} inputs into {args.out}; "
          f"see {manifest.path}")
    if guide is not None and guide.reference_error:
        # Last, where it is seen: the photos were made, but not as asked.
        raise ColorizerError(f"{guide.reference_error} (the reference photo; the photos were "
                             "colorized without it: fix it and run again with --overwrite)")
    return 1 if counts["failed"] else 0


def _run_on_beam(args) -> int:
    """``colorize --runner R``: the same run on Apache Beam's runner R."""
    for flag, value in (("--compare", args.compare), ("--hints", args.hints),
                        ("--reference", args.reference)):
        if value:
            raise ValueError(f"{flag} is not offered with --runner (a Beam run colorizes "
                             "photos as they are); run without --runner for it")
    try:
        with _quiet_import(not args.verbose):
            from colorizer.scale_out.options import check_beam_flags
            from colorizer.scale_out.pipeline import colorize_on_beam
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "apache_beam":
            raise
        raise ValueError('--runner needs Apache Beam: pip install "colorizer[beam]"') from None
    check_beam_flags(args.beam_args)
    if "://" not in args.model:  # a remote model is checked by the workers that load it
        from colorizer.runtimes.files import model_kind

        model_kind(args.model)  # not a model: one line now, not a failure on every worker
    result = colorize_on_beam(args.inputs, args.out, args.model, runner=args.runner,
                              beam_args=args.beam_args, render_size=args.render_size,
                              overwrite=args.overwrite, tag=args.tag,
                              batch_size=args.batch_size,
                              max_pixels=int(args.max_megapixels * 1e6),
                              temperature=args.temperature, quiet=not args.verbose)
    counts, counters = result.counts, result.counters
    _print_failures(result.failures, counts["failed"])
    print(f"colorized {counts['ok']}, skipped {counts['skipped']} (already done), failed "
          f"{counts['failed']} of {sum(counts.values())} inputs into {args.out} "
          f"({counters['bytes_read'] / 1e6:.1f} MB read, {counters['bytes_written'] / 1e6:.1f} "
          f"MB written); see {result.manifest} and {result.failures}")
    return 1 if counts["failed"] or result.state != "DONE" else 0


@contextlib.contextmanager
def _quiet_import(quiet: bool):
    """Beam's import warns about cloud clients a run may not need; off the terminal unless
    --verbose."""
    root = logging.getLogger()
    level = root.level
    if quiet:
        root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


SHOWN_FAILURES = 20
"""Failures a Beam run names on stderr at its end; all are in failures.jsonl."""


def _print_failures(path: str, count: int) -> None:
    """The first failures, one line each as ``colorize`` prints them while it runs."""
    if not count:
        return
    import json
    import sys

    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as file:
        for number, line in enumerate(file):
            if number == SHOWN_FAILURES:
                print(f"... and {count - SHOWN_FAILURES} more: see {path}", file=sys.stderr)
                break
            entry = json.loads(line)
            print(f"failed: {entry['input']}: {entry['reason']}", file=sys.stderr)
