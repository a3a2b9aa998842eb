"""Which files a pattern names, and the output name each gets: the names ``colorize`` gives.

A pattern is a file, a folder (searched recursively, as ``colorize`` searches one) or a glob on
any Beam file system (``gs://archive/scans/**/*.tif``; ``*`` stays within a folder, ``**``
crosses folders). Each file keeps its path below the pattern's *base*, the folder part before
the first wildcard, so a folder's files keep its structure and a single file keeps its name,
exactly as ``colorize`` names them. Two inputs that would share a name (compared
case-insensitively) both get a hash of their own location, as in ``colorize``.

Pure string work, no Beam: the pipeline calls it, and so do its tests.

Example:
    >>> listing_pattern("gs://archive/scans/", is_folder=True)
    'gs://archive/scans/**'
    >>> relative_output("gs://archive/scans/1931/a.tif", pattern_base("gs://archive/scans/**"))
    '1931/a.tif.png'
"""
from __future__ import annotations

import posixpath
import re

from colorizer.batches.inputs import output_name, with_location_hash
from colorizer.data.images import is_image_name
from colorizer.films.video_io import is_video_path

WILDCARDS = re.compile(r"[*?\[]")


def has_wildcards(pattern: str) -> bool:
    """True when ``pattern`` is a glob rather than one path."""
    return WILDCARDS.search(pattern) is not None


def listing_pattern(pattern: str, *, is_folder: bool) -> str:
    """The glob that lists ``pattern``: a folder becomes ``folder/**`` (recursive)."""
    if is_folder:
        return pattern.rstrip("/") + "/**"
    return pattern


def pattern_base(pattern: str) -> str:
    """The folder outputs are named relative to: the part of ``pattern`` before its first
    wildcard, cut back to a ``/`` (a file's own folder when there is no wildcard)."""
    found = WILDCARDS.search(pattern)
    fixed = pattern[:found.start()] if found else pattern
    return fixed[:fixed.rfind("/") + 1] if "/" in fixed else ""


def relative_output(path: str, base: str) -> str:
    """``path``'s output name below ``base`` (see :func:`colorizer.batches.inputs.output_name`)."""
    relative = path[len(base):] if base and path.startswith(base) else posixpath.basename(path)
    return output_name(relative.lstrip("/"))


def listed(path: str, base: str) -> bool:
    """Whether a file a glob found is an input: a photo or film by its name, with no hidden
    part below the base (as ``colorize`` skips hidden files and folders, and the temporary
    files of an interrupted run)."""
    relative = path[len(base):] if path.startswith(base) else posixpath.basename(path)
    if any(part.startswith(".") for part in relative.split("/")):
        return False
    return is_image_name(relative) or is_video_path(relative)


def unique_outputs(members: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Names a group of ``(location, output)`` whose outputs are equal but for case: the
    output itself for a group of one; a hash of its own location added to each in a group of
    several (distinct locations: the same file found twice is one input)."""
    if len(members) == 1:
        return list(members)
    return [(location, with_location_hash(output, location))
            for location, output in sorted(members)]
