"""Test photos of a given size for the benchmarks: a bundled sample photo, upscaled.

Example:
    >>> path = camera_photo(12, "/tmp/bench")   # ~12 MP, 4:3, saved as a camera JPEG
"""
from __future__ import annotations

import os


def camera_photo(megapixels: float, folder: str) -> str:
    """A real sample photo upscaled to about ``megapixels`` (4:3), saved as a camera JPEG."""
    import cv2

    from colorizer.data import samples
    from colorizer.data.images import read_rgb

    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rgb = cv2.resize(read_rgb(samples.available()[0]), (width, height),
                     interpolation=cv2.INTER_CUBIC)
    path = os.path.join(folder, f"photo_{megapixels:g}mp.jpg")
    cv2.imwrite(path, rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path
