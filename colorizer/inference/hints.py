"""Colour hints: points and scribbles a person gives, read from Python values or a JSON file.

A hint says "this pixel has this colour". Only its a and b count: the photo keeps its own
lightness, so a red hint on a dark pixel gives a dark red. Hints come as

* points: ``(x, y, colour)`` with x, y in pixels of the photo as a viewer shows it (after EXIF
  orientation, origin top-left) and a colour ``"#rrggbb"`` or ``(r, g, b)`` in 0-255;
* scribbles: an RGBA image of the photo's size whose opaque pixels (alpha of 128 or more) are
  hints of their own colour.

The JSON file form::

    {"points": [{"x": 120, "y": 45, "color": "#aa3322"}], "scribbles": "grandma.scribbles.png"}

A scribbles path is read relative to the JSON file's folder and must stay inside it.

Example:
    >>> hints = Hints.from_value([(120, 45, "#aa3322")])
    >>> rows, cols, ab = hint_pixels(hints, 480, 640)
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import re

import numpy as np

from colorizer.errors import ColorizerError

OPAQUE_ALPHA = 128
"""Scribble pixels with at least this alpha are hints; fainter ones (a brush's soft rim) not."""
_COLOUR = re.compile(r"#([0-9a-fA-F]{6})")


class HintError(ColorizerError, ValueError):
    """A hint that cannot be used; the message says which and why (the caller adds the file)."""


def parse_colour(value) -> tuple[int, int, int]:
    """``"#rrggbb"`` or three integers in 0-255 -> ``(r, g, b)``.

    Raises:
        HintError: Anything else, e.g. ``"red"`` or ``"#abc"``.
    """
    if isinstance(value, str):
        match = _COLOUR.fullmatch(value.strip())
        if not match:
            raise HintError(f"unknown colour {value!r} (expected #rrggbb, e.g. #aa3322)")
        digits = match.group(1)
        return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    try:
        channels = tuple(int(c) for c in value)
    except (TypeError, ValueError):
        raise HintError(f"unknown colour {value!r} (expected #rrggbb)") from None
    if len(channels) != 3 or not all(0 <= c <= 255 for c in channels):
        raise HintError(f"unknown colour {value!r} (expected #rrggbb or three values 0-255)")
    return channels


def colour_hex(rgb: tuple[int, int, int]) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``."""
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


@dataclasses.dataclass(frozen=True)
class Point:
    """One colour point: pixel column ``x``, row ``y`` and its ``(r, g, b)`` colour."""

    x: int
    y: int
    rgb: tuple[int, int, int]

    @classmethod
    def from_value(cls, value) -> "Point":
        """From ``Point``, ``(x, y, colour)`` or ``{"x": .., "y": .., "color": ..}``."""
        if isinstance(value, Point):
            return value
        if isinstance(value, dict):
            missing = [key for key in ("x", "y", "color") if key not in value]
            if missing:
                raise HintError(f"point {value!r} lacks {', '.join(missing)}")
            x, y, colour = value["x"], value["y"], value["color"]
        else:
            try:
                x, y, colour = value
            except (TypeError, ValueError):
                raise HintError(f"point {value!r} is not (x, y, colour)") from None
        for name, number in (("x", x), ("y", y)):
            if isinstance(number, bool) or not isinstance(number, (int, np.integer)):
                if not (isinstance(number, float) and number.is_integer()):
                    raise HintError(f"point {value!r}: {name} must be a whole pixel number")
        return cls(int(x), int(y), parse_colour(colour))


@dataclasses.dataclass(frozen=True)
class Hints:
    """The hints for one photo.

    Attributes:
        points: Colour points.
        scribbles: ``None``, an RGBA array ``(H, W, 4)`` uint8, or the path of an RGBA image.
        source: The JSON file they came from, if any (named in errors and the manifest).
        frame: For a film: the index of the frame they were drawn on (0, the first, by
            default); they follow the motion from there (photos ignore it).
    """

    points: tuple[Point, ...] = ()
    scribbles: np.ndarray | str | None = None
    source: str | None = None
    frame: int = 0

    def __bool__(self) -> bool:
        return bool(self.points) or self.scribbles is not None

    @classmethod
    def from_value(cls, value) -> "Hints":
        """From ``Hints``, ``None``, a list of points, a JSON-style dict, or a JSON file path."""
        if value is None:
            return cls()
        if isinstance(value, Hints):
            return value
        if isinstance(value, (str, os.PathLike)):
            return load_hints(value)
        if isinstance(value, dict):
            return hints_from_dict(value)
        return cls(tuple(Point.from_value(p) for p in value))

    def describe(self) -> dict:
        """What the manifest records: the file, the number of points, the scribbles' file."""
        scribbles = self.scribbles if isinstance(self.scribbles, str) else (
            None if self.scribbles is None else "<array>")
        return {"file": self.source, "points": len(self.points), "scribbles": scribbles}


def hints_from_dict(value: dict, *, folder: str | None = None, source: str | None = None) -> Hints:
    """Hints from the JSON form; ``folder`` is where a scribbles path is looked up.

    Raises:
        HintError: Unknown keys, a bad point or colour, or a scribbles path leaving ``folder``.
    """
    if not isinstance(value, dict):
        raise HintError("expected a JSON object with \"points\" and/or \"scribbles\"")
    unknown = sorted(set(value) - {"points", "scribbles", "frame"})
    if unknown:
        raise HintError(f"unknown key {unknown[0]!r} (expected \"points\", \"scribbles\" "
                        "and, for a film, \"frame\")")
    frame = value.get("frame", 0)
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise HintError(f"\"frame\" must be a frame number (0 or more), got {frame!r}")
    points = value.get("points", [])
    if not isinstance(points, list):
        raise HintError("\"points\" must be a list of {\"x\", \"y\", \"color\"}")
    scribbles = value.get("scribbles")
    if scribbles is not None:
        if not isinstance(scribbles, str) or not scribbles:
            raise HintError("\"scribbles\" must be the name of an RGBA image file")
        scribbles = _inside(folder or os.getcwd(), scribbles)
    return Hints(tuple(Point.from_value(p) for p in points), scribbles, source, frame)


def _inside(folder: str, name: str) -> str:
    """``folder/name``, refused when it resolves (links too) outside ``folder``."""
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, name))
    if os.path.isabs(name) or os.path.commonpath([root, path]) != root:
        raise HintError(f"scribbles {name!r} lies outside the hints file's folder")
    return path


MAX_HINTS_BYTES = 16 * 1024 * 1024
"""Largest hints JSON read: far above any hand-made one (a point takes ~40 bytes), and a
bound on what a file or an upload can make the reader hold."""


def read_hints_json(path: str | os.PathLike):
    """The JSON value of a hints file, read only when its size is within
    :data:`MAX_HINTS_BYTES`.

    Raises:
        HintError: Too large, unreadable or malformed; the message names the file.
    """
    path = os.fspath(path)
    try:
        if os.path.getsize(path) > MAX_HINTS_BYTES:
            raise HintError(f"{path}: a hints file of over {MAX_HINTS_BYTES // 2**20} MB; "
                            "give fewer points, or draw them as scribbles")
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except json.JSONDecodeError as error:
        raise HintError(f"{path}: malformed JSON ({error})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HintError(f"{path}: cannot read hints ({error})") from None


def load_hints(path: str | os.PathLike) -> Hints:
    """Reads a hints JSON file.

    Raises:
        HintError: Unreadable file, malformed JSON, or bad content; the message names the file.
    """
    path = os.fspath(path)
    value = read_hints_json(path)
    try:
        return hints_from_dict(value, folder=os.path.dirname(os.path.abspath(path)), source=path)
    except HintError as error:
        raise HintError(f"{path}: {error}") from None


def hints_to_dict(hints: Hints, scribbles_name: str | None = None) -> dict:
    """The JSON form of ``hints`` (``scribbles_name``: the file the scribbles are saved as)."""
    value: dict = {"points": [{"x": p.x, "y": p.y, "color": colour_hex(p.rgb)}
                              for p in hints.points]}
    if scribbles_name:
        value["scribbles"] = scribbles_name
    if hints.frame:
        value["frame"] = hints.frame
    return value


def read_scribbles(path: str, height: int, width: int) -> np.ndarray:
    """Reads an RGBA scribble image, upright, refusing one not ``width`` x ``height``.

    The size is checked from the header, before the pixels are decoded.
    """
    from PIL import Image, ImageOps

    try:
        with open(path, "rb") as file:
            data = file.read()
        with Image.open(io.BytesIO(data)) as image:
            size = image.size
            if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                size = size[::-1]
            if size != (width, height):
                raise HintError(f"scribbles {os.path.basename(path)} is {size[0]}x{size[1]}, "
                                f"the photo {width}x{height}: they must be the same size")
            return np.asarray(ImageOps.exif_transpose(image).convert("RGBA"), np.uint8)
    except HintError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise HintError(f"scribbles {os.path.basename(path)}: not a readable image ({error})"
                        ) from None


def hint_pixels(hints: Hints, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every hinted pixel of a ``height`` x ``width`` photo with its colour's a and b.

    Scribble pixels come first and points after, so a point wins where both fall.

    Returns:
        ``rows``, ``cols`` (int64, unique pixels) and ``ab`` ``(n, 2)`` float32.

    Raises:
        HintError: A point outside the photo, or scribbles of another size.
    """
    from colorizer.color import rgb_to_lab

    rows, cols, colours = [], [], []
    scribbles = hints.scribbles
    if isinstance(scribbles, (str, os.PathLike)):
        scribbles = read_scribbles(os.fspath(scribbles), height, width)
    if scribbles is not None:
        scribbles = np.asarray(scribbles)
        if scribbles.shape != (height, width, 4):
            raise HintError(f"scribbles of shape {scribbles.shape} do not fit a "
                            f"{width}x{height} photo (expected ({height}, {width}, 4))")
        found = np.nonzero(scribbles[..., 3] >= OPAQUE_ALPHA)
        rows.append(found[0])
        cols.append(found[1])
        colours.append(scribbles[found][:, :3].astype(np.float32))
    for point in hints.points:
        if not (0 <= point.x < width and 0 <= point.y < height):
            raise HintError(f"point ({point.x}, {point.y}) lies outside the {width}x{height} "
                            "photo (x from 0 to width-1, y from 0 to height-1)")
    if hints.points:
        rows.append(np.array([p.y for p in hints.points]))
        cols.append(np.array([p.x for p in hints.points]))
        colours.append(np.array([p.rgb for p in hints.points], np.float32))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2), np.float32)
    rows, cols = np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64)
    colours = np.concatenate(colours)
    # The last of duplicates wins: unique on the reversed order keeps it.
    flat = (rows * width + cols)[::-1]
    _, first = np.unique(flat, return_index=True)
    keep = len(flat) - 1 - first
    ab = rgb_to_lab(colours[keep] / np.float32(255.0))[..., 1:]
    return rows[keep], cols[keep], np.asarray(ab, np.float32)


def parse_points_text(text: str) -> list[Point]:
    """Points typed in one line, as a form field takes them: ``"x,y,#rrggbb; x,y,#rrggbb"``.

    Raises:
        HintError: A part that is not ``x,y,#rrggbb``.

    Example:
        >>> parse_points_text("120,45,#aa3322; 10,10,#2a7f3a")[0]
        Point(x=120, y=45, rgb=(170, 51, 34))
    """
    points = []
    for part in filter(None, (p.strip() for p in text.replace("\n", ";").split(";"))):
        fields = [f.strip() for f in part.split(",")]
        if len(fields) != 3 or not all(f.lstrip("-").isdigit() for f in fields[:2]):
            raise HintError(f"point {part!r} is not x,y,#rrggbb (e.g. 120,45,#aa3322)")
        points.append(Point(int(fields[0]), int(fields[1]), parse_colour(fields[2])))
    return points
