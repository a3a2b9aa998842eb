"""One ``.keras`` file for both backends: saved on the one this run uses, loaded on the other."""
from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from colorizer.model.network import build_colorizer
from tests.backends import BACKEND

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)

LOAD_AND_PREDICT = """
import sys
import keras, numpy as np
from colorizer.model.network import head_of, load_colorizer
model = load_colorizer(sys.argv[1])
lightness = np.load(sys.argv[2])
np.save(sys.argv[3], np.asarray(model.predict(lightness, verbose=0)))
print(keras.backend.backend(), head_of(model))
"""


@pytest.mark.parametrize("head", ["regression", "classification"])
def test_a_model_saved_on_one_backend_predicts_the_same_on_the_other(tmp_path, head):
    keras.utils.set_random_seed(3)
    model = build_colorizer(None, head=head, decoder_filters=(16, 8, 8))
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 48, 64, 1)).astype(np.float32)
    here = np.asarray(model.predict(lightness, verbose=0))
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "lightness.npy", lightness)
    env = {**os.environ, "KERAS_BACKEND": OTHER, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(tmp_path / "model.keras"),
                           str(tmp_path / "lightness.npy"), str(tmp_path / "there.npy")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == [OTHER, head]
    there = np.load(tmp_path / "there.npy")
    assert there.shape == here.shape == (2, 48, 64, 2)
    # ab spans +-128: the backends' convolutions differ in summation order only.
    np.testing.assert_allclose(there, here, atol=0.05)
    assert np.abs(here).max() > 1.0  # not a trivially zero output
