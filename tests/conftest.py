"""Shared fixtures: small real photos and folders of image files made by the tests."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# JAX compiles each training step with XLA, tens of seconds for this model on a CPU; its
# persistent cache lets the many short training processes of the suite (kill and resume,
# workers, notebooks) compile each step once. Subprocesses inherit these settings.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "colorizer-tests-jax-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from colorizer.data import samples  # noqa: E402
from colorizer.data.images import read_rgb  # noqa: E402
from tests.backends import BACKEND  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "backends: depends on the Keras backend; CI runs these once more with "
                   "KERAS_BACKEND=jax (`-m backends`)")
    config.addinivalue_line(
        "markers", "tensorflow_only(reason): needs TensorFlow as the Keras backend by nature "
                   "(tf.distribute, TensorFlow's TPU resolver); skipped on JAX with the reason")
    config.addinivalue_line(
        "markers", "jax_only(reason): exercises what only the JAX backend has "
                   "(keras.distribution over JAX devices); skipped on TensorFlow")


def pytest_report_header(config):
    return f"Keras backend: {BACKEND} (KERAS_BACKEND selects it)"


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, backend in (("tensorflow_only", "tensorflow"), ("jax_only", "jax")):
            found = item.get_closest_marker(marker)
            if found and BACKEND != backend:
                reason = found.args[0] if found.args else ""
                item.add_marker(pytest.mark.skip(reason=f"{backend} backend only: {reason}"))


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
