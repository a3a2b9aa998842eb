"""Shared fixtures: small real photos and folders of image files made by the tests."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from colorizer.data import samples  # noqa: E402
from colorizer.data.images import read_rgb  # noqa: E402


@pytest.fixture(scope="session")
def photos() -> list[np.ndarray]:
    """Real colour photos from scikit-image and matplotlib (uint8 RGB, various sizes)."""
    return [read_rgb(p) for p in samples.available()[:6]]


@pytest.fixture()
def image_folder(tmp_path, photos) -> str:
    """A nested folder of real photos saved as PNG and JPEG, plus one non-image file."""
    (tmp_path / "sub").mkdir()
    for i, photo in enumerate(photos[:4]):
        small = Image.fromarray(photo).resize((96, 80))
        folder = tmp_path / ("sub" if i % 2 else "")
        small.save(folder / f"photo{i}.{'png' if i % 2 else 'jpg'}")
    (tmp_path / "notes.txt").write_text("not an image")
    return str(tmp_path)
