"""A quiet command line: TensorFlow's C++ start-up log lines kept off the terminal.

Importing TensorFlow prints C++ log lines (the oneDNN notice, "Could not find cuda drivers")
before absl's logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not reach them; later,
on a machine without a GPU, the first use of a device logs a ``cuInit`` error. None of it is
the user's concern. Without ``--verbose`` the command line therefore

* sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it), which silences the lines printed
  after absl starts;
* imports TensorFlow with file descriptor 2 pointed at a temporary file, then puts stderr back
  and replays whatever was captured except TensorFlow's C++ log lines, so a Python warning or
  an import error still reaches the user;
* lowers TensorFlow's Python logger to errors (AutoGraph notes and the like).

With ``--verbose`` nothing is hidden.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from typing import Iterator

from colorizer.backend import installed

TF_LOG_LINE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:. ]+\d+ [\w.-]+:\d+\]"  # glog/absl format: I0000 00:00:... file.cc:12]
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: .* rebuild TensorFlow)")  # a 2-line notice
"""A line of TensorFlow's C++ logging."""


def is_tensorflow_log_line(line: str) -> bool:
    """True for a line written by TensorFlow's C++ logging (absl/glog format)."""
    return bool(TF_LOG_LINE.match(line))


@contextlib.contextmanager
def captured_stderr_fd() -> Iterator[list[str]]:
    """Points file descriptor 2 at a temporary file for the duration; yields a list that
    receives the captured lines once stderr is restored.

    C++ code writes to the descriptor, not to ``sys.stderr``, so only a descriptor-level
    redirect catches it.
    """
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as buffer:
        os.dup2(buffer.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            buffer.seek(0)
            lines.extend(buffer.read().decode("utf-8", "replace").splitlines())


def import_tensorflow_quietly() -> None:
    """Sets the quiet log level and imports TensorFlow without its C++ start-up lines.

    Nothing is imported where TensorFlow is not installed (a JAX-only runtime): the commands
    that need it say so themselves.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or not installed("tensorflow"):
        return
    try:
        with captured_stderr_fd() as lines:
            import tensorflow  # noqa: F401  (imported here, with its start-up noise captured)
    finally:
        # Anything but TensorFlow's own log lines (a warning, an import error) is replayed.
        for line in lines:
            if not is_tensorflow_log_line(line):
                print(line, file=sys.stderr)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # JAX logs each platform it probes and does not find (no TPU here...) at INFO level.
    logging.getLogger("jax").setLevel(logging.WARNING)
