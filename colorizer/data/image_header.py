"""Width and height of an image from its first bytes, before any decoder sees it.

A few kilobytes of PNG can hold a 16000 x 16000 16-bit image of zeros: a decoder allocates
1.5 GB for it before it finds anything wrong. So every photo colorizer reads is measured here
first, from the header alone, and refused when it has more pixels than the cap
(:data:`MAX_PIXELS`, 50 megapixels unless the caller says otherwise). The parsers are small,
need no image library, and never allocate more than the header: JPEG (every SOF kind, MPO),
PNG (any depth), BMP (core and info headers), GIF (the logical screen and the first frame),
WebP (lossy, lossless, extended) and TIFF (the first page, classic and BigTIFF).

Example:
    >>> kind, width, height = image_dimensions(open("scan.png", "rb").read(1 << 16))
    >>> check_pixels(data, "scan.png")   # raises ImageTooLargeError over 50 MP
"""
from __future__ import annotations

import struct

MAX_PIXELS = 50_000_000
"""The one cap on a photo's pixels (50 MP, e.g. 8660 x 5773): beyond any phone and most
cameras, and within a few GB of memory on a small machine. ``--max-megapixels`` changes it."""

_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC are not frames


class HeaderError(ValueError):
    """The bytes are no image of a known kind, or their header is damaged."""


class ImageTooLargeError(ValueError):
    """An image has more pixels than the cap; the message names both and what to do."""


def _png(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise HeaderError("damaged PNG header")
    return struct.unpack(">II", data[16:24])


def _jpeg(data: bytes) -> tuple[int, int]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise HeaderError("damaged JPEG header")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame
            break
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        if length < 2:
            raise HeaderError("damaged JPEG header")
        if marker in _SOF:
            if position + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width, height
        position += 2 + length
    raise HeaderError("JPEG without a frame header")


def _gif(data: bytes) -> tuple[int, int]:
    if len(data) < 13:
        raise HeaderError("damaged GIF header")
    width, height = struct.unpack("<HH", data[6:10])
    position = 13
    if data[10] & 0x80:  # global colour table
        position += 3 << ((data[10] & 7) + 1)
    while position < len(data):  # the first frame may reach beyond the logical screen
        block = data[position]
        if block == 0x2C:
            if position + 9 > len(data):
                break
            left, top, frame_w, frame_h = struct.unpack("<HHHH", data[position + 1:position + 9])
            return max(width, left + frame_w), max(height, top + frame_h)
        if block == 0x3B:  # trailer: no frame at all
            break
        if block == 0x21:  # extension: label, then sub-blocks up to a zero length
            position += 2
            while position < len(data) and data[position]:
                position += data[position] + 1
        # Any other byte is skipped, as Pillow's reader does: a frame found after stray
        # bytes is decoded, so it must be measured too.
        position += 1
    return width, height


def _bmp(data: bytes) -> tuple[int, int]:
    if len(data) < 26:
        raise HeaderError("damaged BMP header")
    header = struct.unpack("<I", data[14:18])[0]
    if header == 12:
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height is a top-down bitmap


def _webp(data: bytes) -> tuple[int, int]:
    kind = data[12:16]
    if kind == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L" and len(data) >= 25:
        bits = struct.unpack("<I", data[21:25])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X" and len(data) >= 30:
        return (int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1)
    raise HeaderError("damaged WebP header")


def _tiff(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack(order + "H", data[2:4])[0] == 43
    try:
        if big:
            (offset,) = struct.unpack(order + "Q", data[8:16])
            (count,) = struct.unpack(order + "Q", data[offset:offset + 8])
            start, size, fmt = offset + 8, 20, order + "HHQ8s"
        else:
            (offset,) = struct.unpack(order + "I", data[4:8])
            (count,) = struct.unpack(order + "H", data[offset:offset + 2])
            start, size, fmt = offset + 2, 12, order + "HHI4s"
        found = {}
        for index in range(min(count, 4096)):
            entry = data[start + index * size:start + (index + 1) * size]
            if len(entry) < size:
                break
            tag, kind, number, value = struct.unpack(fmt, entry)
            if tag in (256, 257) and number >= 1:
                code = {3: "H", 4: "I", 16: "Q"}.get(kind)
                if code is None:
                    raise HeaderError("damaged TIFF header")
                found[tag] = struct.unpack_from(order + code, value)[0]
    except struct.error as error:
        raise HeaderError("damaged TIFF header") from error
    if 256 not in found or 257 not in found:
        raise HeaderError("TIFF without width and height")
    return found[256], found[257]


_KINDS = (
    ("PNG", lambda d: d[:8] == b"\x89PNG\r\n\x1a\n", _png),
    ("JPEG", lambda d: d[:2] == b"\xff\xd8", _jpeg),
    ("GIF", lambda d: d[:6] in (b"GIF87a", b"GIF89a"), _gif),
    ("BMP", lambda d: d[:2] == b"BM", _bmp),
    ("WEBP", lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", _webp),
    ("TIFF", lambda d: d[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), _tiff),
)


def image_dimensions(data: bytes) -> tuple[str, int, int]:
    """``(kind, width, height)`` from the header in ``data`` (the whole file or its start).

    Raises:
        HeaderError: Not JPEG, PNG, GIF, BMP, WebP or TIFF, or a damaged header.
    """
    for kind, matches, parse in _KINDS:
        if matches(data):
            try:
                width, height = parse(data)
            except (struct.error, IndexError) as error:
                raise HeaderError(f"damaged {kind} header") from error
            return kind, width, height
    raise HeaderError("not a JPEG, PNG, GIF, BMP, WebP or TIFF file")


def too_large_message(width: int, height: int, max_pixels: int) -> str:
    return (f"too large: {width} x {height} pixels ({width * height / 1e6:.1f} MP), over the "
            f"cap of {max_pixels / 1e6:g} MP (--max-megapixels raises it)")


def check_pixels(data: bytes, max_pixels: int | None = MAX_PIXELS) -> tuple[str, int, int]:
    """Measures an encoded image and refuses it when it has more than ``max_pixels``.

    Args:
        data: The encoded file (its first 64 KiB usually suffice).
        max_pixels: The cap; ``None`` for none.

    Returns:
        ``(kind, width, height)``.

    Raises:
        HeaderError: Not an image of a known kind, or a damaged header.
        ImageTooLargeError: Over the cap.
    """
    kind, width, height = image_dimensions(data)
    if width <= 0 or height <= 0:
        raise HeaderError(f"{kind} header gives no size ({width} x {height})")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(too_large_message(width, height, max_pixels))
    return kind, width, height
