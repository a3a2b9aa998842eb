"""Reading photos of any common format into RGB arrays, and finding them in folders.

Decoding goes through Pillow, which covers JPEG (CMYK too), PNG (8/16-bit, gray, palette,
RGBA), BMP, GIF (first frame), TIFF and WebP and applies the EXIF orientation, so a photo
arrives upright whatever camera took it. Files are read with ``tf.io.gfile`` when TensorFlow
is loaded, so ``gs://`` paths work too.

Before any decoder runs, the header is read (:mod:`colorizer.data.image_header`) and a photo
over the pixel cap (50 MP unless ``max_pixels`` says otherwise) is refused: a decompression
bomb costs its few kilobytes, never the gigabytes of its pixels. Pillow's own global limit is
left as Pillow sets it.
"""
from __future__ import annotations

import functools
import io
import os
from typing import Iterable, Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorizer.data.image_header import (
    MAX_PIXELS, HeaderError, ImageTooLargeError, check_pixels)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
"""File name endings treated as images when a folder is searched."""


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and the reason."""


def check_header(data: bytes, name: str, max_pixels: int | None = MAX_PIXELS) -> None:
    """Refuses ``data`` from its header alone: not an image, damaged, or over ``max_pixels``.

    Raises:
        ImageReadError: The message names ``name`` and the reason.
    """
    try:
        check_pixels(data, max_pixels)
    except ImageTooLargeError as error:
        raise ImageReadError(f"{name}: {error}") from None
    except HeaderError as error:
        why = "empty file" if not data else str(error)
        raise ImageReadError(f"{name}: not a readable image ({why})") from None


def is_image_name(name: str) -> bool:
    """True when ``name`` ends like an image file (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def list_files(folder: str | os.PathLike, keep) -> list[str]:
    """Every file under ``folder`` (recursive) whose name ``keep`` accepts, sorted; hidden files
    and folders skipped. Local folders and ``gs://`` alike.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
    """
    folder = os.fspath(folder)
    if "://" in folder:  # a bucket: TensorFlow's file systems
        from tensorflow.io import gfile

        isdir, walk = gfile.isdir, gfile.walk
    else:  # a local folder needs no TensorFlow (an exported model runs without it)
        isdir, walk = os.path.isdir, functools.partial(os.walk, followlinks=True)
    if not isdir(folder):
        raise FileNotFoundError(f"not a folder: {folder}")
    found = []
    for root, dirs, files in walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in files if keep(f) and not f.startswith("."))
    return sorted(found)


def list_images(folder: str | os.PathLike) -> list[str]:
    """Every image file under ``folder`` (recursive), sorted, hidden files skipped.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
    """
    return list_files(folder, is_image_name)


def read_bytes(path: str) -> bytes:
    """Reads a local or ``gs://`` file."""
    if "://" in path:
        from tensorflow.io import gfile

        with gfile.GFile(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def decode_rgb(data: bytes, *, name: str = "<bytes>", max_side: int | None = None,
               max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Decodes encoded image bytes to an upright uint8 RGB array ``(H, W, 3)``.

    Args:
        data: The encoded file.
        name: Used in error messages.
        max_side: When given, JPEGs are decoded at a reduced scale (Pillow's draft mode)
            as long as both sides stay at least ``max_side``: much faster for big photos
            that will be shrunk anyway.
        max_pixels: Images with more pixels are refused from their header, undecoded.

    Raises:
        ImageReadError: The bytes are not a decodable image, or have too many pixels.
    """
    check_header(data, name, max_pixels)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if max_side and image.format == "JPEG":
                image.draft("RGB", (max_side, max_side))
            image.seek(0)  # first frame of animations
            image = ImageOps.exif_transpose(image)
            return to_rgb_array(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(f"{name}: not a readable image ({error})") from error


def read_rgb(path: str | os.PathLike, *, max_side: int | None = None,
             max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Reads an image file to an upright uint8 RGB array ``(H, W, 3)``.

    Raises:
        ImageReadError: The file is missing, unreadable, or not an image.
    """
    path = os.fspath(path)
    try:
        data = read_bytes(path)
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read file ({error})") from error
    except Exception as error:  # tf.errors.* for remote paths
        raise ImageReadError(f"{path}: cannot read file ({error})") from error
    return decode_rgb(data, name=path, max_side=max_side, max_pixels=max_pixels)


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Converts a Pillow image of any mode to uint8 RGB; transparency is composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if wide.max() > 255 else 255.0
        gray = np.clip(wide / scale * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode == "F":
        gray = np.clip(np.asarray(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def decode_photo(data: bytes, *, name: str = "<bytes>",
                 max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Decodes image bytes to an upright array that keeps the file's precision.

    Unlike :func:`decode_rgb`, a gray file stays one channel (a third of the memory for big
    scans) and 16-bit files stay 16-bit, so their lightness is not rounded to 256 levels.

    Returns:
        ``(H, W)`` for gray files or ``(H, W, 3)`` for colour ones; uint8, uint16 (16-bit
        PNG and TIFF, gray or colour) or float32 in [0, 1] (floating-point TIFF).
        Transparency is composited on white; CMYK is converted to RGB; animations give their
        first frame.

    Args:
        data: The encoded file.
        name: Used in error messages.
        max_pixels: Images with more pixels are refused from their header, undecoded.

    Raises:
        ImageReadError: The bytes are not a decodable image, or have too many pixels.
    """
    check_header(data, name, max_pixels)
    try:
        if _is_16_bit_colour_png(data) or _is_wide_colour_tiff(data):
            return _decode_wide_colour(data, name)
        with Image.open(io.BytesIO(data)) as image:
            fast = _fast_jpeg(data, image)
            if fast is not None:
                return fast
            image.seek(0)  # first frame of animations
            image = ImageOps.exif_transpose(image)
            return _photo_array(image)
    except UnidentifiedImageError as error:  # its message names a BytesIO object: unhelpful
        why = "empty file" if not data else "not an image, or a format Pillow cannot read"
        raise ImageReadError(f"{name}: not a readable image ({why})") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageReadError(f"{name}: not a readable image ({error})") from error


def read_photo(path: str | os.PathLike, *, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Reads an image file with :func:`decode_photo` (full precision, gray kept gray).

    Raises:
        ImageReadError: The file is missing, unreadable, or not an image.
    """
    path = os.fspath(path)
    try:
        data = read_bytes(path)
    except Exception as error:  # OSError locally, tf.errors.* for remote paths
        raise ImageReadError(f"{path}: cannot read file ({error})") from error
    return decode_photo(data, name=path, max_pixels=max_pixels)


def _fast_jpeg(data: bytes, image: Image.Image) -> np.ndarray | None:
    """A gray or RGB JPEG decoded by OpenCV, turned upright by its EXIF orientation: the
    same pixels as Pillow's (both are libjpeg-turbo, checked once per process by
    :func:`_opencv_decodes_jpeg_like_pillow`) in a third of the time, because Pillow's
    pixels reach NumPy through two more full copies. ``None`` where Pillow decodes it (other
    formats, CMYK, multi-picture files, a file that does not end where a JPEG ends, or a
    library pair that disagrees)."""
    if image.format != "JPEG" or image.mode not in ("L", "RGB") or \
            not data.rstrip(b"\0").endswith(b"\xff\xd9") or \
            not _opencv_decodes_jpeg_like_pillow():
        return None  # (without its end marker a file may be cut short: Pillow refuses it)
    import cv2

    flags = cv2.IMREAD_GRAYSCALE if image.mode == "L" else cv2.IMREAD_COLOR
    array = cv2.imdecode(np.frombuffer(data, np.uint8), flags | cv2.IMREAD_IGNORE_ORIENTATION)
    if array is None or array.shape[:2] != (image.height, image.width):
        return None  # a damaged file: Pillow's decoder says what is wrong with it
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    return array if orientation == 1 else apply_orientation(array, orientation)


_EXIF_ORIENTATION = 0x0112


@functools.lru_cache(maxsize=1)
def _opencv_decodes_jpeg_like_pillow() -> bool:
    """Whether this process's OpenCV and Pillow decode JPEGs to the same pixels (colour at
    4:2:0 and 4:4:4 chroma, progressive, and gray), so that which one decodes never shows."""
    import cv2

    rng = np.random.default_rng(0)
    colour = cv2.resize(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8), (45, 37),
                        interpolation=cv2.INTER_CUBIC)
    samples = []
    for options in ({"subsampling": 2}, {"subsampling": 0}, {"progressive": True}):
        encoded = io.BytesIO()
        Image.fromarray(colour).save(encoded, "JPEG", quality=90, **options)
        samples.append((encoded.getvalue(), cv2.IMREAD_COLOR))
    encoded = io.BytesIO()
    Image.fromarray(colour[..., 1]).save(encoded, "JPEG", quality=90)
    samples.append((encoded.getvalue(), cv2.IMREAD_GRAYSCALE))
    for data, flags in samples:
        with Image.open(io.BytesIO(data)) as image:
            expected = np.asarray(image)
        found = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        if found is None:
            return False
        if found.ndim == 3:
            found = found[..., ::-1]
        if found.shape != expected.shape or not np.array_equal(found, expected):
            return False
    return True


def _photo_array(image: Image.Image) -> np.ndarray:
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if image.mode == "I":  # 32-bit integer gray: 16-bit data in older Pillow versions
        wide = np.asarray(image)
        if wide.max(initial=0) > 255:
            return np.clip(wide, 0, 65535).astype(np.uint16)
        return np.clip(wide, 0, 255).astype(np.uint8)
    if image.mode == "F":
        return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if image.mode in ("L", "1", "LA") or (image.mode == "P" and _gray_palette(image)):
        if image.mode == "LA" or "transparency" in image.info:
            return to_rgb_array(image)[..., 0]
        return np.asarray(image.convert("L"), dtype=np.uint8)
    return to_rgb_array(image)


def _gray_palette(image: Image.Image) -> bool:
    palette = np.asarray(image.getpalette() or [0, 0, 0]).reshape(-1, 3)
    return bool(np.all(palette == palette[:, :1]))


def _is_16_bit_colour_png(data: bytes) -> bool:
    # IHDR is always first: bytes 24 and 25 are the bit depth and the colour type
    # (2 = RGB, 6 = RGBA). Pillow reduces these to 8 bits, so OpenCV decodes them.
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25 and data[24] == 16 \
        and data[25] in (2, 6)


def _is_wide_colour_tiff(data: bytes) -> bool:
    # Pillow reduces RGB(A) TIFFs of 16 bits (or float) per sample to 8 bits; 16-bit gray
    # ones it reads in full (mode I;16), so they stay on its path.
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return False
    try:
        with Image.open(io.BytesIO(data)) as image:
            bits = image.tag_v2.get(258, (8,))
            bits = bits if isinstance(bits, tuple) else (bits,)
            return max(bits) > 8 and len(bits) >= 3
    except Exception:  # let the usual path report what is wrong with the file
        return False


def _decode_wide_colour(data: bytes, name: str) -> np.ndarray:
    """16-bit (or float) colour PNG and TIFF through OpenCV, which keeps every bit."""
    import cv2

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype not in (np.uint16, np.float32):
        raise ImageReadError(f"{name}: not a readable image (damaged 16-bit file)")
    if array.dtype == np.float32:
        array = np.clip(array, 0.0, 1.0)
    if array.ndim == 3 and array.shape[-1] == 4:  # composite on white, like the 8-bit path
        top = 65535.0 if array.dtype == np.uint16 else 1.0
        alpha = array[..., 3:].astype(np.float32) / top
        colour = array[..., :3].astype(np.float32) * alpha + top * (1.0 - alpha)
        array = (colour + 0.5).astype(np.uint16) if top > 1 else colour.astype(np.float32)
    if array.ndim == 3:
        array = np.ascontiguousarray(array[..., 2::-1])  # OpenCV is BGR
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return array  # OpenCV turns TIFFs upright itself (the same way, all 8 orientations)
    with Image.open(io.BytesIO(data)) as image:
        orientation = image.getexif().get(0x0112, 1)
    return apply_orientation(array, orientation)


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turns an array upright according to an EXIF orientation value (1-8)."""
    steps = {3: 2, 6: 3, 8: 1, 5: 1, 7: 3}.get(orientation, 0)  # np.rot90 turns anticlockwise
    if orientation in (2, 4):
        image = image[:, ::-1] if orientation == 2 else image[::-1]
    elif orientation in (5, 7):
        image = np.rot90(image[:, ::-1], steps)
    else:
        image = np.rot90(image, steps)
    return np.ascontiguousarray(image)


def resize_short_side(image: np.ndarray, short_side: int) -> np.ndarray:
    """Resizes so the shorter side is ``short_side``, keeping the aspect ratio."""
    import cv2

    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return image
    # INTER_AREA averages when shrinking (no aliasing); cubic interpolates when growing.
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=method)


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Crops the central ``size`` x ``size`` square (the image must be at least that big)."""
    height, width = image.shape[:2]
    top, left = (height - size) // 2, (width - size) // 2
    return image[top:top + size, left:left + size]


def iter_readable(paths: Iterable[str], on_error=None) -> Iterator[tuple[str, np.ndarray]]:
    """Yields ``(path, rgb)`` for every readable image; calls ``on_error(path, error)`` else."""
    for path in paths:
        try:
            yield path, read_rgb(path)
        except ImageReadError as error:
            if on_error is not None:
                on_error(path, error)
