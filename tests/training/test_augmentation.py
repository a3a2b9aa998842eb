"""Augmentation inside the training step: what it changes, what it keeps, and that TensorFlow
and JAX draw the same rotations, flips and noise for the same seed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from colorizer.data.config import AugmentConfig
from colorizer.training.augmentation import LabAugmentation, hash32, uniform_from_keys
from tests.backends import BACKEND, to_numpy

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ONLY_NOISE = AugmentConfig(noise_stddev=2.0, rotation_degrees=0.0, horizontal_flip=False,
                           vertical_flip=False)


def _batch(n=4, height=33, width=41, seed=0):
    """L and an ab that is a fixed linear function of L, so a shared geometry shows."""
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(5, 95, (n, height, width, 1)).astype(np.float32)
    ab = np.concatenate([lightness - 50.0, 0.5 * lightness - 20.0], axis=-1)
    return lightness, ab


def _augment(config, lightness, ab, seed=0, training=True, layer=None):
    layer = layer or LabAugmentation(config, seed=seed)
    out_l, out_ab = layer(lightness, ab, training=training)
    return to_numpy(out_l), to_numpy(out_ab), layer


def test_inference_and_validation_see_the_photo_as_it_is():
    lightness, ab = _batch()
    out_l, out_ab, layer = _augment(AugmentConfig(), lightness, ab, training=False)
    np.testing.assert_array_equal(out_l, lightness)
    np.testing.assert_array_equal(out_ab, ab)
    assert int(to_numpy(layer.step)) == 0


def test_rotation_and_flips_move_lightness_and_colour_together():
    lightness, ab = _batch()
    config = AugmentConfig(noise_stddev=0.0)
    out_l, out_ab, layer = _augment(config, lightness, ab)
    assert not np.allclose(out_l, lightness)  # something moved
    # One resampling of L and ab alike: the linear relation between them holds everywhere.
    np.testing.assert_allclose(out_ab[..., 0], out_l[..., 0] - 50.0, atol=1e-3)
    np.testing.assert_allclose(out_ab[..., 1], 0.5 * out_l[..., 0] - 20.0, atol=1e-3)
    assert int(to_numpy(layer.step)) == 1


def test_flips_are_exact_mirrors_and_both_outcomes_occur():
    lightness, ab = _batch(n=32)
    config = AugmentConfig(noise_stddev=0.0, rotation_degrees=0.0, vertical_flip=False)
    out_l, _, _ = _augment(config, lightness, ab)
    mirrored = [np.allclose(o, l[:, ::-1], atol=1e-4) for o, l in zip(out_l, lightness)]
    kept = [np.allclose(o, l, atol=1e-4) for o, l in zip(out_l, lightness)]
    assert all(m or k for m, k in zip(mirrored, kept))
    assert 6 <= sum(mirrored) <= 26  # p = 1/2 each


def test_rotation_turns_about_the_centre_within_the_limit():
    size = 65
    y, x = np.mgrid[:size, :size].astype(np.float32)
    lightness = np.broadcast_to((x * 1.0)[None, ..., None], (16, size, size, 1)).copy()
    ab = np.zeros((16, size, size, 2), np.float32)
    config = AugmentConfig(noise_stddev=0.0, rotation_degrees=15.0, horizontal_flip=False,
                           vertical_flip=False)
    out_l, _, _ = _augment(config, lightness, ab, seed=3)
    centre = size // 2
    np.testing.assert_allclose(out_l[:, centre, centre, 0], centre, atol=1e-3)
    # A horizontal ramp turned by theta has slope cos(theta) along x and sin(theta) along y.
    slope_y = out_l[:, centre + 1, centre, 0] - out_l[:, centre, centre, 0]
    angles = np.degrees(np.arcsin(np.clip(slope_y, -1, 1)))
    assert np.all(np.abs(angles) <= 15.0 + 1e-3) and np.ptp(angles) > 5.0


def test_noise_touches_lightness_only_with_the_asked_spread():
    lightness, ab = _batch(n=2, height=128, width=128)
    out_l, out_ab, _ = _augment(ONLY_NOISE, lightness, ab)
    np.testing.assert_array_equal(out_ab, ab)  # the target stays clean
    noise = out_l - lightness
    assert abs(noise.mean()) < 0.05 and noise.std() == pytest.approx(2.0, rel=0.03)
    assert not np.allclose(noise[0], noise[1])  # each image its own grain
    clipped, _, _ = _augment(AugmentConfig(noise_stddev=30.0, rotation_degrees=0.0),
                             np.full((1, 16, 16, 1), 99.0, np.float32),
                             np.zeros((1, 16, 16, 2), np.float32))
    assert clipped.min() >= 0.0 and clipped.max() <= 100.0


def test_seeded_steps_repeat_for_a_seed_and_move_on_each_step():
    lightness, ab = _batch()
    first, _, layer = _augment(AugmentConfig(), lightness, ab, seed=7)
    second, _, _ = _augment(AugmentConfig(), lightness, ab, layer=layer)
    again, _, _ = _augment(AugmentConfig(), lightness, ab, seed=7)
    other, _, _ = _augment(AugmentConfig(), lightness, ab, seed=8)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, second) and not np.allclose(first, other)
    assert int(to_numpy(layer.step)) == 2


def test_hashed_uniforms_are_uniform():
    import keras

    keys = keras.ops.convert_to_tensor(np.arange(200_000, dtype=np.int32))
    values = to_numpy(uniform_from_keys(keys))
    assert values.min() >= 0.0 and values.max() < 1.0
    counts = np.histogram(values, bins=20, range=(0, 1))[0]
    assert counts.min() > 9000 and counts.max() < 11000  # 10,000 expected per bin
    hashed = to_numpy(hash32(keys))
    assert len(np.unique(hashed)) == len(hashed)  # a bijection of 32-bit integers


SCRIPT = """
import json, sys
import numpy as np
from colorizer.data.config import AugmentConfig
from colorizer.training.augmentation import LabAugmentation
from tests.backends import to_numpy
rng = np.random.default_rng(0)
lightness = rng.uniform(0, 100, (3, 24, 32, 1)).astype(np.float32)
ab = rng.uniform(-60, 60, (3, 24, 32, 2)).astype(np.float32)
layer = LabAugmentation(AugmentConfig(), seed=11)
outputs = []
for _ in range(2):
    l, a = layer(lightness, ab, training=True)
    outputs.append(np.concatenate([to_numpy(l), to_numpy(a)], -1))
np.save(sys.argv[1], np.stack(outputs))
"""


@pytest.mark.skipif(BACKEND != "tensorflow", reason="runs both backends itself: once per CI run")
def test_tensorflow_and_jax_draw_the_same_augmentations(tmp_path):
    results = {}
    for backend in ("tensorflow", "jax"):
        path = tmp_path / f"{backend}.npy"
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT,
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        results[backend] = np.load(path)
    # The same rotations, flips and noise: the only difference is float rounding.
    np.testing.assert_allclose(results["tensorflow"], results["jax"], atol=2e-3)
    assert not np.allclose(results["jax"][0], results["jax"][1])


MIRRORED = """
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from colorizer.data.config import AugmentConfig
from colorizer.training.augmentation import LabAugmentation
rng = np.random.default_rng(0)
# One photo four times: whatever differs between the outputs is the augmentation's doing.
lightness = np.repeat(rng.uniform(0, 100, (1, 24, 32, 1)).astype(np.float32), 4, axis=0)
ab = np.repeat(rng.uniform(-60, 60, (1, 24, 32, 2)).astype(np.float32), 4, axis=0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    layer = LabAugmentation(AugmentConfig(), seed=11)
halves = strategy.experimental_distribute_values_from_function(
    lambda context: (lightness[2 * context.replica_id_in_sync_group:][:2],
                     ab[2 * context.replica_id_in_sync_group:][:2]))
step = tf.function(lambda pair: strategy.run(
    lambda l, a: tf.concat(layer(l, a, training=True), -1), args=pair))
mirrored = [np.concatenate([r.numpy() for r in strategy.experimental_local_results(step(halves))])
            for _ in range(2)]
single = LabAugmentation(AugmentConfig(), seed=11)
alone = [np.concatenate([t.numpy() for t in single(lightness, ab, training=True)], -1)
         for _ in range(2)]
np.save(sys.argv[1], np.stack([np.stack(mirrored), np.stack(alone)]))
print("replicas", strategy.num_replicas_in_sync, "steps", int(layer.step.numpy()))
"""


@pytest.mark.slow
@pytest.mark.tensorflow_only("tf.distribute's MirroredStrategy over logical CPUs")
def test_mirrored_replicas_draw_apart_and_as_one_device_would(tmp_path):
    path = tmp_path / "mirrored.npy"
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", MIRRORED, str(path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "replicas 2 steps 2" in done.stdout
    mirrored, alone = np.load(path)
    for step in mirrored:  # (4 images, H, W, 3): replica 0 holds 0-1, replica 1 holds 2-3
        for i in range(4):
            for j in range(i + 1, 4):
                assert not np.allclose(step[i], step[j]), (i, j)
    assert not np.allclose(mirrored[0], mirrored[1])  # and a new draw every step
    # The draws of one device for the global batch: the ones JAX makes too (test above).
    np.testing.assert_allclose(mirrored, alone, atol=1e-4)


def test_the_gather_resampler_matches_tensorflows_kernel():
    """JAX resamples with one gather per corner; TensorFlow's fused kernel is the reference."""
    import tensorflow as tf

    from colorizer.training.augmentation import _gather_bilinear

    rng = np.random.default_rng(5)
    images = rng.uniform(0, 100, (6, 20, 28, 3)).astype(np.float32)
    angles = np.array([0.0, 0.26, -0.26, 1.2, 3.1, -2.0], np.float32)  # big ones reach past
    cos, sin = np.cos(angles), np.sin(angles)                          # every edge
    cx, cy, flip = 13.5, 9.5, np.array([1, -1, 1, -1, 1, 1], np.float32)
    a0, a1, b0, b1 = cos * flip, -sin, sin * flip, cos
    transforms = np.stack([a0, a1, cx - a0 * cx - a1 * cy + 0.3, b0, b1,
                           cy - b0 * cx - b1 * cy - 0.7, 0 * a0, 0 * a0], 1).astype(np.float32)
    expected = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=[20, 28], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="REFLECT").numpy()
    np.testing.assert_allclose(to_numpy(_gather_bilinear(images, transforms)), expected,
                               atol=2e-3)
