"""Huge images in a few kilobytes, written without ever holding their pixels.

A PNG of zeros compresses about 1000 to 1: :func:`zero_png` repeats one compressed block of
zero rows (each block flushed so that it stands alone) as often as the height needs, so a
16000 x 16000 16-bit colour PNG (1.5 GB of pixels) costs 1.5 MB and a fraction of a second.
"""
from __future__ import annotations

import struct
import zlib

_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def zero_png(path, width: int, height: int, *, bit_depth: int = 8, colour_type: int = 0,
             rows_per_block: int | None = None) -> int:
    """Writes a valid, all-black PNG of ``width`` x ``height``; returns its size in bytes."""
    row = 1 + width * _CHANNELS[colour_type] * bit_depth // 8  # filter byte + samples
    rows_per_block = rows_per_block or max(1, min(height, (8 << 20) // row))
    blocks, rest = divmod(height, rows_per_block)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(bytes(row * rows_per_block)) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = b""
    if rest:
        tail = deflate.compress(bytes(row * rest)) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    total = row * height
    adler = ((total % 65521) << 16) | 1  # Adler-32 of `total` zero bytes
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header))
        data = b"\x78\xda" + block * blocks + tail + end + struct.pack(">I", adler)
        f.write(_chunk(b"IDAT", data))
        f.write(_chunk(b"IEND", b""))
        return f.tell()
