"""Which Keras backend the suite runs on, and helpers that work on both.

``KERAS_BACKEND`` selects it, as it selects Keras' (``tensorflow`` by default). CI runs the
whole suite on TensorFlow, then the tests marked ``backends`` (the model, its losses,
training, resume, distribution, inference, notebook 02) again on JAX::

    KERAS_BACKEND=jax pytest -n auto --dist loadfile -m backends tests
 Tests that are TensorFlow-only by nature (``tf.data``
itself, ``tf.distribute`` strategies) carry ``@pytest.mark.tensorflow_only("why")`` and are
skipped on JAX with that reason.
"""
from __future__ import annotations

import os

import numpy as np

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
"""The Keras backend this test run uses."""


def to_numpy(value) -> np.ndarray:
    """A backend tensor, variable or array as a NumPy array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))
