"""Which hints and reference each photo of a batch gets (``colorize --hints --reference``).

``--hints`` names either one JSON file, used for every photo, or a folder that mirrors the
inputs: the photo ``SUB/NAME.EXT`` of an input folder (or ``NAME.EXT`` given as a file) takes
``SUB/NAME.json`` from it, and a photo without one gets no hints. ``--reference`` names one
colour photo, used for every photo.

Example:
    >>> guide = BatchGuidance.from_paths("hints/", "similar_scene.jpg")
    >>> guidance = guide(source)         # Guidance(hints, reference) or None for a plain photo
"""
from __future__ import annotations

import dataclasses
import os
import posixpath

import numpy as np

from colorizer.errors import ColorizerError
from colorizer.guided.hints import HintError, Hints, load_hints
from colorizer.batches.inputs import Source


class ReferenceError(ColorizerError):
    """The reference photo cannot be read; the message names it."""


@dataclasses.dataclass(frozen=True)
class Guidance:
    """What steers one photo's colour: hints, a reference photo (with its file name), or both."""

    hints: Hints
    reference: np.ndarray | None = None
    reference_name: str | None = None

    def describe(self) -> dict:
        """The manifest's record of what was used."""
        return {"hints": self.hints.describe() if self.hints else None,
                "reference": self.reference_name}


def hints_name(output: str) -> str:
    """``SUB/NAME.json`` for a photo whose output is ``SUB/NAME.EXT`` (``scan.tif.png``, the
    output of ``scan.tif``, also gives ``scan.json``)."""
    stem, extension = posixpath.splitext(output)
    if extension.lower() == ".png" and posixpath.splitext(stem)[1]:
        stem = posixpath.splitext(stem)[0]  # ".png" was added to a kept-apart format
    return stem + ".json"


def read_reference(path: str | os.PathLike) -> np.ndarray:
    """Reads the reference photo as RGB.

    Raises:
        ReferenceError: It is missing or not a readable image (the message names it).
    """
    from colorizer.data.images import ImageReadError, read_rgb

    try:
        return read_rgb(path)
    except ImageReadError as error:
        message = str(error)
        raise ReferenceError(message if os.fspath(path) in message
                             else f"{os.fspath(path)}: {message}") from None


@dataclasses.dataclass
class BatchGuidance:
    """Finds each source's :class:`Guidance`; call it with a :class:`Source`.

    Attributes:
        hints: A hints JSON file, a folder of them, or ``None``.
        reference: The reference photo (already read), or ``None``.
        reference_name: Its file, for the manifest.
        reference_error: Why the reference photo given could not be read (the photos are
            then colorized without it, and the run reports this), or ``None``.
    """

    hints: str | None = None
    reference: np.ndarray | None = None
    reference_name: str | None = None
    reference_error: str | None = None
    _loaded: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    """Each hints file read so far, with its hints or its error: a ``--hints FILE`` shared by
    every photo is parsed once."""

    @classmethod
    def from_paths(cls, hints: str | os.PathLike | None,
                   reference: str | os.PathLike | None) -> "BatchGuidance":
        """Checks ``hints`` exists and reads ``reference``.

        An unreadable reference does not stop the batch: it is recorded in
        ``reference_error``, and every photo is still colorized with its other guidance.

        Raises:
            ColorizerError: ``hints`` names nothing.
        """
        if hints is not None and not os.path.exists(hints):
            raise ColorizerError(f"{os.fspath(hints)}: no such hints file or folder")
        image, error = None, None
        if reference is not None:
            try:
                image = read_reference(reference)
            except ReferenceError as failure:
                error = str(failure)
        return cls(None if hints is None else os.fspath(hints), image,
                   None if image is None else os.fspath(reference), error)

    def hints_file(self, source: Source) -> str | None:
        """The JSON file for ``source``, or ``None`` when it has none."""
        if self.hints is None:
            return None
        if not os.path.isdir(self.hints):
            return self.hints
        path = os.path.join(self.hints, *hints_name(source.output).split("/"))
        return path if os.path.isfile(path) else None

    def _load(self, path: str) -> Hints:
        if path not in self._loaded:
            try:
                self._loaded[path] = load_hints(path)
            except HintError as error:
                self._loaded[path] = error
        found = self._loaded[path]
        if isinstance(found, HintError):
            raise HintError(str(found))
        return found

    def __call__(self, source: Source) -> Guidance | None:
        """The guidance of ``source``, or ``None`` for a plain colorize.

        Raises:
            HintError: Its hints file is malformed (the message names the file).
        """
        path = self.hints_file(source)
        hints = self._load(path) if path else Hints()
        if not hints and self.reference is None:
            return None
        return Guidance(hints, self.reference, self.reference_name)
