"""Test photos of a given size for the benchmarks (a bundled sample photo, upscaled), and a
baseline commit's tree to compare with.

Example:
    >>> path = camera_photo(12, "/tmp/bench")   # ~12 MP, 4:3, saved as a camera JPEG
"""
from __future__ import annotations

import contextlib
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def upscaled(rgb, megapixels: float):
    """``rgb`` resized (bicubic) to about ``megapixels``, 4:3."""
    import cv2

    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC)


def camera_photo(megapixels: float, folder: str) -> str:
    """A real sample photo upscaled to about ``megapixels`` (4:3), saved as a camera JPEG."""
    import cv2

    from colorizer.data import samples
    from colorizer.data.images import read_rgb

    rgb = upscaled(read_rgb(samples.available()[0]), megapixels)
    path = os.path.join(folder, f"photo_{megapixels:g}mp.jpg")
    cv2.imwrite(path, rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


@contextlib.contextmanager
def baseline_tree(commit: str, folder: str):
    """This repository at ``commit``, checked out as a git worktree under ``folder`` for the
    block's length (removed after)."""
    tree = os.path.join(folder, "baseline")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, commit],
                   check=True, capture_output=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree],
                       capture_output=True)
