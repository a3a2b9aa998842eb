"""The ``colorizer`` command line. Each subcommand lives in ``colorizer.cli.commands.<name>``
with a ``register(subparsers)`` that adds its parser and a ``run(args) -> int``.

Heavy libraries (TensorFlow) are imported by the subcommands only, so ``--help`` is instant.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

from colorizer import __version__
from colorizer.backend import BACKENDS, backend_missing, tensorflow_missing, use_backend
from colorizer.cli.quiet import import_tensorflow_quietly
from colorizer.errors import ColorizerError
from colorizer.runtimes.files import runs_without_keras

COMMANDS = ("demo", "download", "prepare", "train", "train_classifier", "evaluate", "colorize",
            "export", "app")
"""Subcommand modules in ``colorizer.cli.commands``, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorizer",
        description="Colorize grayscale photos with a DenseNet121-based network "
                    "(train, evaluate, colorize). Run `colorizer demo` for a first taste.")
    parser.add_argument("--version", action="version", version=f"colorizer {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="more log output, TensorFlow's own log lines included")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="Keras backend: auto takes KERAS_BACKEND when set, else JAX on a "
                             "TPU machine, else TensorFlow")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"colorizer.cli.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``colorizer`` console script; returns the exit status."""
    parser = build_parser()
    # A Beam run (`colorize --runner ...`) passes Beam's own flags through; any other command
    # refuses what it does not know, as parse_args would.
    args, extra = parser.parse_known_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if extra and not getattr(args, "runner", None):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.beam_args = extra
    command = importlib.import_module(
        f"colorizer.cli.commands.{args.command.replace('-', '_')}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        # An exported model's runtime needs no Keras: no backend to choose, none to import.
        if not (getattr(command, "EXPORTED_MODEL_RUNS_WITHOUT_KERAS", False)
                and runs_without_keras(args.model)):
            use_backend(args.backend)  # before anything imports Keras
            if not args.verbose and getattr(command, "USES_TENSORFLOW", True):
                import_tensorflow_quietly()  # TF's C++ start-up lines stay off the terminal
        return int(args.run(args) or 0)
    except ModuleNotFoundError as error:
        if args.verbose:
            traceback.print_exc()
        missing = {"tensorflow": tensorflow_missing()
                   if os.environ.get("KERAS_BACKEND") == "jax"
                   else backend_missing("tensorflow"),
                   "jax": backend_missing("jax")}.get((error.name or "").split(".")[0])
        print(f"colorizer {args.command}: error: {missing or _one_line(error)}",
              file=sys.stderr)
        return 1
    except (ColorizerError, OSError, ValueError) as error:
        # Errors the user can act on: one line; the traceback only when asked for.
        if args.verbose:
            traceback.print_exc()
        print(f"colorizer {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - anything else: still one line, and a way on
        if args.verbose:
            traceback.print_exc()
        print(f"colorizer {args.command}: unexpected error: {type(error).__name__}: "
              f"{_one_line(error)} (run `colorizer --verbose {args.command} ...` for the "
              "traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
