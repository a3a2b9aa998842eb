"""Beam's own flags on the ``colorize --runner`` command line, checked before any work.

Beam ignores a flag it does not know (a warning in a log, then a run with defaults that may
cost a day on the wrong machines); here an unknown or malformed flag is refused in one line.
The check uses Beam's public ``PipelineOptions.get_all_options``: what it keeps with
``retain_unknown_options`` and drops without it are the flags no options class declares.
"""
from __future__ import annotations

import contextlib
import io
import logging

from apache_beam.options.pipeline_options import PipelineOptions


def check_beam_flags(flags: list[str]) -> None:
    """Refuses flags that are not Beam's, or Beam flags without their value.

    Raises:
        ValueError: The first problem, in one line that says how to write it.
    """
    for flag in flags:
        if not flag.startswith("--"):
            raise ValueError(f"unrecognized argument {flag!r} (write Beam's flags as "
                             "--name=value)")
    options = PipelineOptions(flags)
    beam_logger = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_logger.level
    beam_logger.setLevel(logging.ERROR)  # its "discarding" warning is ours to say, plainly
    try:
        with contextlib.redirect_stderr(io.StringIO()) as printed:
            known = options.get_all_options()
            everything = options.get_all_options(retain_unknown_options=True)
    except SystemExit:
        why = printed.getvalue().strip().splitlines()[-1].split("error:", 1)[-1].strip()
        raise ValueError(f"Beam flags: {why} (write Beam's flags as --name=value: a value "
                         "after a space would be read as an INPUT)") from None
    finally:
        beam_logger.setLevel(level)
    unknown = sorted(set(everything) - set(known))
    if unknown:
        raise ValueError(f"unrecognized arguments: {' '.join('--' + u for u in unknown)} "
                         "(neither colorize's nor Beam's pipeline options)")


def user_gave(flags: list[str], name: str) -> bool:
    """Whether ``--name`` is among ``flags`` (``--name=V`` or ``--name``)."""
    return any(flag == f"--{name}" or flag.startswith(f"--{name}=") for flag in flags)
