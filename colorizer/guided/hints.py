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
from colorizer.fileio import path_inside

OPAQUE_ALPHA = 128
"""Scribble pixels with at least this alpha are hints; fainter ones (a brush's soft rim) not."""
MAX_COORDINATE = 1 << 20
"""Largest pixel coordinate or frame number a hint may name: far beyond any photo or film
this project opens, and small enough that a message quoting it stays short."""
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_CSS = re.compile(r"rgba?\(\s*([^,()]+),\s*([^,()]+),\s*([^,()]+)(?:,\s*([^,()]+))?\s*\)",
                  re.IGNORECASE)
"""``rgb(r, g, b)`` / ``rgba(r, g, b, a)``: what browsers' colour pickers send (Gradio 5's)."""


class HintError(ColorizerError, ValueError):
    """A hint that cannot be used; the message says which and why (the caller adds the file)."""


def _shown(value, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, so no message repeats a hostile value."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def whole_number(value, what: str, maximum: int = MAX_COORDINATE) -> int:
    """``value`` as an int in ``0..maximum``: an int, or a float with no fraction (``1.0``,
    as some JSON writers put it), never a bool or a string.

    Raises:
        HintError: Anything else; the message names ``what``.
    """
    if isinstance(value, float) and value.is_integer() and 0 <= value <= maximum:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value <= maximum:
        raise HintError(f"{what} must be a whole number from 0 to {maximum}, got "
                        f"{_shown(value)}")
    return int(value)


def _css_channel(text: str) -> int:
    number = float(text.strip().rstrip("%")) * (2.55 if text.strip().endswith("%") else 1)
    if not 0 <= number <= 255:  # NaN fails too
        raise ValueError(text)
    return int(round(number))


def parse_colour(value) -> tuple[int, int, int]:
    """A colour as people and browsers write it -> ``(r, g, b)`` in 0-255.

    Takes ``"#rrggbb"``, ``"#rgb"``, ``"rgb(r, g, b)"`` and ``"rgba(r, g, b, a)"`` (what a
    browser's colour picker sends; the alpha is ignored), or three whole numbers in 0-255.

    Raises:
        HintError: Anything else, e.g. ``"red"``, ``[1.7, 0, 0]`` or ``["255", "0", "0"]``.
    """
    expected = "expected #rrggbb, e.g. #aa3322"
    if isinstance(value, str):
        text = value.strip()
        match = _HEX.fullmatch(text)
        if match:
            digits = match.group(1)
            if len(digits) == 3:
                digits = "".join(2 * d for d in digits)
            return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
        match = _CSS.fullmatch(text)
        if match:
            try:
                return tuple(_css_channel(part) for part in match.groups()[:3])
            except ValueError:
                pass
        raise HintError(f"unknown colour {_shown(value)} ({expected})")
    if isinstance(value, (list, tuple)) and len(value) == 3:
        try:
            return tuple(whole_number(c, "a colour channel", 255) for c in value)
        except HintError:
            pass
    raise HintError(f"unknown colour {_shown(value)} ({expected}, or three whole numbers "
                    "0-255)")


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
                raise HintError(f"point {_shown(value)} lacks {', '.join(missing)}")
            x, y, colour = value["x"], value["y"], value["color"]
        else:
            try:
                x, y, colour = value
            except (TypeError, ValueError):
                raise HintError(f"point {_shown(value)} is not (x, y, colour)") from None
        try:
            return cls(whole_number(x, "x"), whole_number(y, "y"), parse_colour(colour))
        except HintError as error:
            raise HintError(f"point {_shown(value, 60)}: {error}") from None


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

    def with_scribbles_read(self, height: int, width: int, *, surface: str = "photo"
                            ) -> "Hints":
        """These hints with a scribbles file decoded into its array, so that work done many
        times (a film's every frame) decodes it once.

        Raises:
            HintError: Scribbles of another size, or unreadable.
        """
        if not isinstance(self.scribbles, (str, os.PathLike)):
            return self
        return dataclasses.replace(self, scribbles=read_scribbles(
            os.fspath(self.scribbles), height, width, surface=surface))

    def blame(self, error: HintError) -> HintError:
        """``error`` with the hints file named first, when the hints came from one."""
        if not self.source or str(error).startswith(f"{self.source}: "):
            return error
        return HintError(f"{self.source}: {error}")

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
    frame = whole_number(value.get("frame", 0), "\"frame\" (the frame the hints are drawn on)")
    points = value.get("points", [])
    if not isinstance(points, list):
        raise HintError("\"points\" must be a list of {\"x\", \"y\", \"color\"}")
    scribbles = value.get("scribbles")
    if scribbles is not None:
        if not isinstance(scribbles, str) or not scribbles:
            raise HintError("\"scribbles\" must be the name of an RGBA image file")
        try:
            scribbles = path_inside(folder or os.getcwd(), scribbles)
        except ValueError:
            raise HintError(f"scribbles {_shown(scribbles)} lies outside the hints file's "
                            "folder") from None
    return Hints(tuple(Point.from_value(p) for p in points), scribbles, source, frame)


MAX_HINTS_BYTES = 16 * 1024 * 1024
"""Largest hints JSON read: far above any hand-made one (a point takes ~40 bytes), and a
bound on what a file or an upload can make the reader hold."""
MAX_NUMBER_DIGITS = 24
"""Longest number a hints file may write: a coordinate needs 7 digits; a longer one is
refused before Python converts it (a 5,000-digit one takes time and raises on its own)."""


def read_capped(path: str, max_bytes: int, what: str) -> bytes:
    """The bytes of ``path``, refused as soon as more than ``max_bytes`` have been read.

    The cap holds while reading, not by the size the file system reports, so ``/dev/zero``,
    a pipe or standard input cannot make the reader hold more than ``max_bytes``.

    Raises:
        HintError: Over the cap (naming ``what`` and the cap), a folder, or unreadable.
    """
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except IsADirectoryError:
        raise HintError(f"{path}: a folder, not a {what}") from None
    except OSError as error:
        raise HintError(f"{path}: cannot read {what} ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise HintError(f"{path}: a {what} of over {max_bytes / 2**20:g} MB; "
                        "give fewer points, or draw them as scribbles")
    return data


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise HintError(f"a number of {len(text)} digits (at most {MAX_NUMBER_DIGITS})")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not np.isfinite(number):
        raise HintError(f"a number too large for a pixel or a colour ({_shown(text)})")
    return number


def _no_constant(name: str):
    raise HintError(f"{name} is not a number a hint can use")


def parse_hints_json(data: bytes, name: str):
    """The JSON value of a hints file's bytes, refusing what no hint needs and what would
    make the parser itself fail: huge or infinite numbers, ``NaN``, deep nesting.

    Raises:
        HintError: Malformed; the message names ``name``.
    """
    try:
        return json.loads(data.decode("utf-8"), parse_int=_short_int,
                          parse_float=_finite_float, parse_constant=_no_constant)
    except HintError as error:
        raise HintError(f"{name}: {error}") from None
    except json.JSONDecodeError as error:
        raise HintError(f"{name}: malformed JSON ({error})") from None
    except UnicodeDecodeError:
        raise HintError(f"{name}: not a hints file (not UTF-8 text)") from None
    except RecursionError:
        raise HintError(f"{name}: malformed JSON (nested too deeply)") from None


def read_hints_json(path: str | os.PathLike):
    """The JSON value of a hints file, read with :data:`MAX_HINTS_BYTES` enforced while
    reading (:func:`parse_hints_json` says what else is refused).

    Raises:
        HintError: Too large, unreadable or malformed; the message names the file.
    """
    path = os.fspath(path)
    return parse_hints_json(read_capped(path, MAX_HINTS_BYTES, "hints file"), path)


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


MAX_SCRIBBLES_BYTES = 256 * 1024 * 1024
"""Largest scribbles file read (a 50 MP RGBA PNG stored uncompressed is 200 MB)."""


def read_scribbles(path: str, height: int, width: int, *, surface: str = "photo"
                   ) -> np.ndarray:
    """Reads an RGBA scribble image, upright, refusing one not ``width`` x ``height``.

    The file goes through the header check every image does
    (:func:`colorizer.data.images.check_header`: a readable image under the pixel cap), and
    its size is compared with the photo's from the header, before any pixel is decoded.
    """
    from PIL import Image, ImageOps

    from colorizer.data.image_header import HeaderError, image_dimensions
    from colorizer.data.images import ImageReadError, check_header

    name = os.path.basename(path)
    data = read_capped(path, MAX_SCRIBBLES_BYTES, "scribbles image")
    try:
        _, stored_width, stored_height = image_dimensions(data)
    except HeaderError:
        stored_width = stored_height = None  # check_header says what is wrong with it
    # The EXIF orientation (read only once the size could fit) may turn it a quarter.
    if stored_width is not None and (stored_width, stored_height) not in (
            (width, height), (height, width)):
        raise HintError(f"scribbles {name} is {stored_width}x{stored_height}, the {surface} "
                        f"{width}x{height}: they must be the same size")
    try:
        check_header(data, f"scribbles {name}")
    except ImageReadError as error:
        raise HintError(str(error)) from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image).convert("RGBA")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise HintError(f"scribbles {name}: not a readable image ({error})") from None
    if upright.size != (width, height):
        raise HintError(f"scribbles {name} is {upright.size[0]}x{upright.size[1]} upright, "
                        f"the {surface} {width}x{height}: they must be the same size")
    return np.asarray(upright, np.uint8)


def hint_pixels(hints: Hints, height: int, width: int, *, surface: str = "photo"
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every hinted pixel of a ``height`` x ``width`` photo with its colour's a and b.

    Scribble pixels come first and points after, so a point wins where both fall.
    ``surface`` is what errors call the picture (``"frame"`` for a film).

    Returns:
        ``rows``, ``cols`` (int64, unique pixels) and ``ab`` ``(n, 2)`` float32.

    Raises:
        HintError: A point outside the photo, or scribbles of another size.
    """
    from colorizer.color import rgb_to_lab

    rows, cols, colours = [], [], []
    scribbles = hints.scribbles
    if isinstance(scribbles, (str, os.PathLike)):
        scribbles = read_scribbles(os.fspath(scribbles), height, width, surface=surface)
    if scribbles is not None:
        scribbles = np.asarray(scribbles)
        if scribbles.shape != (height, width, 4):
            raise HintError(f"scribbles of shape {scribbles.shape} do not fit a "
                            f"{width}x{height} {surface} (expected ({height}, {width}, 4))")
        found = np.nonzero(scribbles[..., 3] >= OPAQUE_ALPHA)
        rows.append(found[0])
        cols.append(found[1])
        colours.append(scribbles[found][:, :3].astype(np.float32))
    for point in hints.points:
        if not (0 <= point.x < width and 0 <= point.y < height):
            raise HintError(f"point ({point.x}, {point.y}) lies outside the {width}x{height} "
                            f"{surface} (x from 0 to width-1, y from 0 to height-1)")
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
