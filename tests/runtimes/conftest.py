"""The exported files of :mod:`tests.runtimes.exported_models`: made here with Keras, or read
from ``COLORIZER_EXPORTED_MODELS`` where this environment has no Keras (CI's runtime-only
environment, which made them in a step before). On the JAX backend they are made by a
TensorFlow process of their own, as ``colorizer export`` does there."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.backends import BACKEND
from tests.runtimes.exported_models import existing, make_all

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> dict[str, str]:
    folder = os.environ.get("COLORIZER_EXPORTED_MODELS")
    if folder:
        return existing(folder)
    folder = str(tmp_path_factory.mktemp("exported"))
    if BACKEND == "tensorflow":
        return make_all(folder)
    subprocess.run([sys.executable, "-m", "tests.runtimes.exported_models", folder], check=True,
                   capture_output=True, timeout=900,
                   env={**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": ROOT})
    return existing(folder)
