"""Writes the constraints files CI builds its Colab environments from.

Colab publishes what each runtime holds as a ``pip freeze`` (the repository
googlecolab/backend-info: ``pip-freeze.gpu.txt``, ``pip-freeze.tpu.txt``). This script turns
copies of those lists into pip constraints: every ``name==version`` line is kept, and packages
Colab installs from a file, a URL or a git commit (its own ``google-colab``, NVIDIA's RAPIDS
wheels...) are left out, because a constraint can only pin what an index serves. Each file's
header names the runtime it matches and its Python version, which ``.ci/colab_env.py`` reads.

    python constraints/refresh.py ~/backend-info --current 2026.08 --oldest 2026.01

reads ``pip-freeze.gpu.txt``, ``pip-freeze.tpu.txt`` and ``pip-freeze.gpu-2026.01.txt`` from
that folder and rewrites ``colab-gpu.txt``, ``colab-tpu.txt`` and ``colab-gpu-oldest.txt`` here.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def constraints_from_freeze(freeze: str) -> tuple[list[str], list[str]]:
    """Splits a ``pip freeze`` listing into pins and the names it cannot pin.

    Args:
        freeze: The text of a ``pip freeze`` output.

    Returns:
        ``(pins, skipped)``: the ``name==version`` lines, sorted by name, and the names of
        packages installed from a file, URL or repository.

    Example:
        >>> constraints_from_freeze("keras==3.13.2\\ngoogle-colab @ file:///colabtools/x.tar.gz\\n")
        (['keras==3.13.2'], ['google-colab'])
    """
    pins, skipped = [], []
    for line in freeze.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if match:
            pins.append(f"{match.group(1)}=={match.group(2)}")
        else:
            name = line[3:] if line.startswith("-e ") else line
            skipped.append(re.split(r"[\s@=<>!~;\[]", name, maxsplit=1)[0])
    return sorted(pins, key=str.lower), sorted(skipped, key=str.lower)


def write_constraints(freeze_path: str, out_path: str, *, runtime: str, python: str) -> int:
    """Writes one constraints file from one freeze list; returns the number of pins."""
    with open(freeze_path, encoding="utf-8") as f:
        pins, skipped = constraints_from_freeze(f.read())
    header = [
        f"# Colab {runtime}, from {os.path.basename(freeze_path)} (googlecolab/backend-info).",
        f"# python: {python}",
        "# Made by constraints/refresh.py; refresh it rather than edit it. Left out (installed",
        f"# from a file, URL or repository): {', '.join(skipped) or 'none'}.",
    ]
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(header + pins) + "\n")
    os.replace(tmp, out_path)
    return len(pins)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="folder holding Colab's pip-freeze.*.txt lists")
    parser.add_argument("--current", required=True, help="the current runtime's version, e.g. 2026.08")
    parser.add_argument("--oldest", required=True,
                        help="the oldest runtime supported; reads pip-freeze.gpu-OLDEST.txt")
    parser.add_argument("--python", default="3.13", help="the current runtimes' Python")
    parser.add_argument("--oldest-python", default="3.12", help="the oldest runtime's Python")
    args = parser.parse_args(argv)
    jobs = [("pip-freeze.gpu.txt", "colab-gpu.txt", f"{args.current} GPU runtime", args.python),
            ("pip-freeze.tpu.txt", "colab-tpu.txt", f"{args.current} TPU runtime", args.python),
            (f"pip-freeze.gpu-{args.oldest}.txt", "colab-gpu-oldest.txt",
             f"{args.oldest} GPU runtime", args.oldest_python)]
    for source, target, runtime, python in jobs:
        count = write_constraints(os.path.join(args.source, source), os.path.join(HERE, target),
                                  runtime=runtime, python=python)
        print(f"{target}: {count} pins ({runtime}, Python {python})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
