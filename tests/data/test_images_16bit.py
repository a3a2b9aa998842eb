"""16-bit TIFFs, gray and colour, are read at full depth (files written here by tifffile)."""
import io

import numpy as np
import pytest
import tifffile

from colorizer.data.images import decode_photo


def _tiff(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    photometric = "minisblack" if array.ndim == 2 else "rgb"
    tifffile.imwrite(buffer, array, photometric=photometric, **options)
    return buffer.getvalue()


def _wide(shape, seed=0) -> np.ndarray:
    # Every value odd-ish and off the 257 grid: an 8-bit round trip cannot give them back.
    values = np.random.default_rng(seed).integers(0, 65536, shape)
    return (values | 1).astype(np.uint16)


@pytest.mark.parametrize("compression", [None, "zlib"])
@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 3)])
def test_16_bit_tiff_is_read_at_full_depth(shape, compression):
    array = _wide(shape)
    photo = decode_photo(_tiff(array, compression=compression), name="scan.tif")
    assert photo.dtype == np.uint16
    np.testing.assert_array_equal(photo, array)


def test_16_bit_rgba_tiff_is_composited_on_white_at_full_depth():
    rgb, alpha = _wide((8, 9, 3)), np.linspace(0, 65535, 9).astype(np.uint16)[None, :]
    alpha = np.repeat(alpha, 8, 0)
    photo = decode_photo(_tiff(np.dstack([rgb, alpha]), extrasamples=["unassalpha"]))
    a = alpha[..., None] / 65535.0
    expected = np.round(rgb * a + 65535.0 * (1 - a))
    assert photo.dtype == np.uint16
    assert np.abs(photo.astype(float) - expected).max() <= 1


@pytest.mark.parametrize("orientation, turn", [(1, lambda a: a), (3, lambda a: a[::-1, ::-1]),
                                               (6, lambda a: np.rot90(a, -1)),
                                               (8, lambda a: np.rot90(a, 1)),
                                               (2, lambda a: a[:, ::-1])])
def test_16_bit_tiff_orientation_is_applied(orientation, turn):
    array = _wide((6, 10, 3))
    photo = decode_photo(_tiff(array, extratags=[(274, "H", 1, orientation, True)]))
    np.testing.assert_array_equal(photo, turn(array))


def test_8_bit_tiff_stays_8_bit():
    array = np.random.default_rng(2).integers(0, 256, (10, 12, 3)).astype(np.uint8)
    photo = decode_photo(_tiff(array))
    assert photo.dtype == np.uint8
    np.testing.assert_array_equal(photo, array)
