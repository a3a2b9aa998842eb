"""Writing colorized photos: JPEG or PNG by name, an optional "colorized" tag, side by sides.

Images are encoded with OpenCV (fast, and it writes 16-bit PNG) and the tag is added as bytes:
a PNG ``tEXt`` chunk (``Description`` and ``Software``) or a JPEG EXIF segment
(``ImageDescription`` and ``Software``), which photo viewers and ``exiftool`` show. Every file
is written atomically.

Example:
    >>> write_image("out/grandma.jpg", rgb, tag=colorized_tag())
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import struct
import zlib

import cv2
import numpy as np

from colorizer.color import lightness_to_gray_rgb
from colorizer.fileio import write_bytes

JPEG_QUALITY = 95
COMPARE_MAX_SIDE = 1600
"""Longest side of each half of a side-by-side image: enough to judge, small to share."""
_EXIF_DESCRIPTION, _EXIF_SOFTWARE = 0x010E, 0x0131
COMPARE_SUFFIX = ".compare.jpg"


def compare_names(outputs: list[str], locations: list[str]) -> list[str]:
    """The side-by-side image's name for each output, distinct from each other and from every
    output.

    Like the outputs themselves, a name is kept where the format stays (``a.jpg`` ->
    ``a.compare.jpg``) and extended where it changes (``a.png`` -> ``a.png.compare.jpg``,
    ``a.jpeg`` -> ``a.jpeg.compare.jpg``), so photos that differ only by extension keep
    separate images. A name that is still taken, by an output (an input called
    ``a.compare.jpg``) or another side by side, gets a hash of its input's location.
    Names are compared case-insensitively, as on macOS and Windows.

    Args:
        outputs: Output paths relative to the output folder, ``/``-separated, all distinct.
        locations: The input of each output (a path or URL), for the hash.
    """
    taken = {output.lower() for output in outputs}
    names = []
    for output, location in zip(outputs, locations):
        stem = output[:-len(".jpg")] if output.lower().endswith(".jpg") else output
        name = stem + COMPARE_SUFFIX
        if name.lower() in taken:
            digest = hashlib.sha1(location.encode("utf-8")).hexdigest()[:8]
            folder, base = posixpath.split(stem)
            name = posixpath.join(folder, f"{base}-{digest}{COMPARE_SUFFIX}")
        taken.add(name.lower())
        names.append(name)
    return names


def colorized_tag() -> str:
    """The text stored in outputs to say that a model chose their colours."""
    from colorizer import __version__

    return (f"Colorized by colorizer {__version__}: the colours were predicted by a neural "
            "network from the gray photo; the lightness is the original's.")


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """16-bit pixels rounded to the nearest 8-bit level; 8-bit pixels unchanged."""
    if rgb.dtype == np.uint16:
        return ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return rgb


def encode_image(rgb: np.ndarray, extension: str, *, tag: str | None = None,
                 quality: int = JPEG_QUALITY) -> bytes:
    """Encodes uint8 or uint16 RGB as JPEG (``.jpg``/``.jpeg``, 8-bit) or PNG (anything else).

    Args:
        rgb: ``(H, W, 3)`` uint8 or uint16 (uint16 stays 16-bit in PNG).
        extension: The output's file ending, which picks the format.
        tag: Text stored as the image description, or ``None`` for none.
        quality: JPEG quality.
    """
    jpeg = extension.lower() in (".jpg", ".jpeg")
    if jpeg:
        rgb = to_uint8(rgb)
    # OpenCV's channel swap, not NumPy's reversed view copied: 8x faster at 12 MP.
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if jpeg:
        ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    else:
        ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError(f"could not encode a {rgb.shape} image as {extension}")
    data = encoded.tobytes()
    if tag:
        data = _jpeg_with_exif(data, tag) if jpeg else _png_with_text(data, tag)
    return data


def write_image(path: str | os.PathLike, rgb: np.ndarray, *, tag: str | None = None) -> None:
    """Encodes ``rgb`` by ``path``'s ending and writes it atomically (folders are created)."""
    write_bytes(path, encode_image(rgb, os.path.splitext(os.fspath(path))[1], tag=tag))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_with_text(png: bytes, tag: str) -> bytes:
    """Inserts ``tEXt`` chunks right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    text = tag.encode("latin-1", "replace")
    chunks = _png_chunk(b"tEXt", b"Description\0" + text) + \
        _png_chunk(b"tEXt", b"Software\0" + b"colorizer")
    return png[:33] + chunks + png[33:]


def _jpeg_with_exif(jpeg: bytes, tag: str) -> bytes:
    """Inserts an EXIF APP1 segment after the JFIF APP0 segment (which must come first)."""
    from PIL import Image

    exif = Image.Exif()
    exif[_EXIF_DESCRIPTION] = tag
    exif[_EXIF_SOFTWARE] = "colorizer"
    body = exif.tobytes()  # starts with b"Exif\0\0"
    segment = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    position = 2
    if jpeg[2:4] == b"\xff\xe0":  # skip APP0 (JFIF)
        position = 4 + struct.unpack(">H", jpeg[4:6])[0]
    return jpeg[:position] + segment + jpeg[position:]


def compare_image(lightness: np.ndarray, rgb: np.ndarray, *,
                  max_side: int = COMPARE_MAX_SIDE) -> np.ndarray:
    """The input's gray beside the colorized photo, each at most ``max_side`` pixels long.

    Args:
        lightness: ``(H, W, 1)`` L of the input.
        rgb: ``(H, W, 3)`` colorized uint8 or uint16 RGB.

    Returns:
        uint8 RGB ``(h, 2 * w + gap, 3)`` on a white background.
    """
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_l = cv2.resize(lightness[..., 0], size, interpolation=cv2.INTER_AREA)
    gray = (lightness_to_gray_rgb(small_l) * 255.0 + 0.5).astype(np.uint8)
    colour = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    colour = to_uint8(colour)
    gap = max(2, size[0] // 100)
    canvas = np.full((size[1], 2 * size[0] + gap, 3), 255, np.uint8)
    canvas[:, :size[0]] = gray[..., None]
    canvas[:, size[0] + gap:] = colour
    return canvas
