"""Sizes read from headers before any decoder runs: every format, one cap, no global changed,
and a decompression bomb refused at the cost of its header."""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from colorizer.data.image_header import HeaderError, check_pixels, image_dimensions
from colorizer.data.images import ImageReadError, decode_photo, decode_rgb
from tests.bombs import zero_png

RNG = np.random.default_rng(3)


def _encoded(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _samples() -> dict[str, bytes]:
    rgb = RNG.integers(0, 256, (37, 53, 3), np.uint8)
    gray16 = RNG.integers(0, 65536, (21, 45), np.uint16)
    import cv2

    wide = {}
    for fmt in (".png", ".tif"):
        ok, encoded = cv2.imencode(fmt, RNG.integers(0, 65536, (19, 31, 3), np.uint16))
        assert ok
        wide[f"16-bit colour {fmt}"] = encoded.tobytes()
    frames = [Image.fromarray(rgb), Image.fromarray(rgb[::-1])]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    return {
        "jpeg": _encoded(rgb, "JPEG", quality=90),
        "progressive jpeg": _encoded(rgb, "JPEG", progressive=True, exif=b"Exif\0\0" + b"x" * 50),
        "png": _encoded(rgb, "PNG"),
        "16-bit gray png": _encoded(gray16, "PNG"),
        "palette png": _pal(rgb),
        "bmp": _encoded(rgb, "BMP"),
        "gif": gif.getvalue(),
        "webp lossy": _encoded(rgb, "WEBP", quality=80),
        "webp lossless": _encoded(rgb, "WEBP", lossless=True),
        "webp with alpha": _encoded(np.dstack([rgb, rgb[..., :1]]), "WEBP"),
        "tiff": _encoded(rgb, "TIFF"),
        "tiff big-endian": _tiff_big_endian(rgb),
        **wide,
    }


def _pal(rgb) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).quantize(16).save(buffer, format="PNG")
    return buffer.getvalue()


def _tiff_big_endian(rgb) -> bytes:
    import tifffile  # installed with scikit-image

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb, byteorder=">")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    return _samples()


@pytest.mark.parametrize("kind", ["jpeg", "progressive jpeg", "png", "16-bit gray png",
                                  "palette png", "bmp", "gif", "webp lossy", "webp lossless",
                                  "webp with alpha", "tiff", "tiff big-endian",
                                  "16-bit colour .png", "16-bit colour .tif"])
def test_header_size_equals_the_decoded_size(samples, kind):
    data = samples[kind]
    _, width, height = image_dimensions(data)
    with Image.open(io.BytesIO(data)) as image:
        assert (width, height) == image.size
    assert decode_photo(data).shape[:2] == (height, width)


def test_not_images_and_damaged_headers_are_header_errors():
    for data in (b"", b"hello", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xd9", b"GIF89a",
                 b"RIFF\0\0\0\0WEBPVP8 ", b"II*\x00\xff\xff\xff\x7f", b"BM"):
        with pytest.raises(HeaderError):
            check_pixels(data)
    with pytest.raises(ImageReadError, match="empty file"):
        decode_photo(b"", name="none.png")


def test_the_one_cap_refuses_from_the_header_with_what_to_do(tmp_path):
    path = tmp_path / "wide.png"
    zero_png(path, 8000, 7000)
    data = path.read_bytes()
    for decode in (decode_photo, decode_rgb):
        with pytest.raises(ImageReadError, match=r"wide.png: too large: 8000 x 7000 pixels "
                                                 r"\(56.0 MP\), over the cap of 50 MP "
                                                 r"\(--max-megapixels raises it\)"):
            decode(data, name="wide.png")
    assert decode_photo(data, max_pixels=56_000_000).shape == (7000, 8000)


def test_a_gif_frame_after_stray_bytes_is_measured_as_pillow_decodes_it():
    """Found by fuzzing: Pillow skips unknown bytes before a GIF's first frame and grows the
    image to hold a frame that reaches beyond the logical screen; the header reader once
    stopped at the stray byte and reported the small screen."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0, 0, 0)
    frame = b"," + struct.pack("<HHHHB", 0, 5000, 4, 4, 0) + b"\x02\x02\x44\x01\x00;"
    data = screen + b"\x07\x00" + frame
    assert image_dimensions(data) == ("GIF", 10, 5004)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (10, 5004)
    with pytest.raises(ImageReadError, match="10 x 5004 pixels"):
        decode_rgb(data, max_pixels=10 * 5003)


def _child(code: str) -> dict:
    """Runs ``code`` in a fresh Python; it prints one JSON line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_16_bit_bomb_is_refused_before_anything_is_allocated(tmp_path):
    path = tmp_path / "bomb.png"
    size = zero_png(path, 16000, 16000, bit_depth=16, colour_type=2)  # 1.5 GB of pixels
    assert size < 3 << 20
    result = _child(f"""
import json, resource
from colorizer.data.images import ImageReadError, read_photo, read_rgb
import cv2, PIL.Image
data = open({str(path)!r}, "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
messages = []
for read in (read_photo, read_rgb):
    try:
        read({str(path)!r})
    except ImageReadError as error:
        messages.append(str(error))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"growth_kb": after - before, "messages": messages}}))
""")
    assert len(result["messages"]) == 2
    assert all("too large: 16000 x 16000 pixels (256.0 MP)" in m for m in result["messages"])
    assert result["growth_kb"] < 30_000, result  # the pixels alone would be 1.5 GB


def test_importing_colorizer_leaves_pillows_limit_alone():
    result = _child("""
import json, PIL.Image
before = PIL.Image.MAX_IMAGE_PIXELS
import colorizer, colorizer.data.images, colorizer.batches.batch, colorizer.data.download
print(json.dumps({"before": before, "after": PIL.Image.MAX_IMAGE_PIXELS}))
""")
    assert result["after"] == result["before"]
