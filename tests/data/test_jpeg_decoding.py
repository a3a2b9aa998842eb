"""JPEGs are decoded by OpenCV where that gives Pillow's very pixels, faster: every EXIF
orientation, gray and colour, 4:2:0, 4:4:4 and progressive, the same arrays as the Pillow path;
a file cut short, CMYK and other formats still go through Pillow and fail or decode as before."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from colorizer.data import images
from colorizer.data.images import ImageReadError, decode_photo


def _photo(seed=0, size=(61, 83)) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (7, 9, 3), dtype=np.uint8), size[::-1],
                      interpolation=cv2.INTER_CUBIC)


def _jpeg(array: np.ndarray, orientation: int = 1, **options) -> bytes:
    image = Image.fromarray(array)
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    encoded = io.BytesIO()
    image.save(encoded, "JPEG", quality=92, exif=exif.tobytes(), **options)
    return encoded.getvalue()


def _pillow(data: bytes) -> np.ndarray:
    """What the Pillow path gives (the reference)."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(ImageOps.exif_transpose(image))


def test_this_environment_takes_the_fast_path():
    assert images._opencv_decodes_jpeg_like_pillow()


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["colour 4:2:0", "colour 4:4:4", "progressive", "gray"])
def test_the_fast_path_gives_pillows_pixels(orientation, kind):
    photo = _photo()
    if kind == "gray":
        data = _jpeg(photo[..., 0], orientation)
    else:
        options = {"colour 4:2:0": {"subsampling": 2}, "colour 4:4:4": {"subsampling": 0},
                   "progressive": {"progressive": True}}[kind]
        data = _jpeg(photo, orientation, **options)
    with Image.open(io.BytesIO(data)) as image:
        fast = images._fast_jpeg(data, image)
    assert fast is not None  # the fast path was taken
    expected = _pillow(data)
    assert fast.dtype == np.uint8 and fast.shape == expected.shape
    assert np.array_equal(fast, expected)
    assert np.array_equal(decode_photo(data), expected)


def test_a_jpeg_cut_short_is_still_refused():
    data = _jpeg(_photo(size=(200, 300)))
    with pytest.raises(ImageReadError, match="truncated"):
        decode_photo(data[:len(data) * 2 // 3], name="cut.jpg")


def test_cmyk_and_trailing_data_take_pillows_path():
    cmyk = io.BytesIO()
    Image.fromarray(_photo()).convert("CMYK").save(cmyk, "JPEG")
    with Image.open(io.BytesIO(cmyk.getvalue())) as image:
        assert images._fast_jpeg(cmyk.getvalue(), image) is None
    assert decode_photo(cmyk.getvalue()).shape == (61, 83, 3)
    trailer = _jpeg(_photo()) + b"camera maker's trailer"
    with Image.open(io.BytesIO(trailer)) as image:
        assert images._fast_jpeg(trailer, image) is None
    assert np.array_equal(decode_photo(trailer), _pillow(trailer))
