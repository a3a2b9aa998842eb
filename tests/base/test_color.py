import itertools

import numpy as np
import pytest
import tensorflow as tf
from skimage import color as skcolor

from colorizer.color import (
    l_ab_to_rgb, lab_to_rgb, lightness_to_gray_rgb, rgb_to_l_ab, rgb_to_lab, srgb8_to_lab)

TOLERANCE = 0.05


def _colour_sets(photos):
    rng = np.random.default_rng(0)
    corners = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    return {
        "random": rng.random((4096, 3)),
        "corners": corners,
        "photo": photos[0][::4, ::4].reshape(-1, 3) / 255.0,
        "dark": rng.random((1024, 3)) * 0.03,  # the linear segment of both curves
    }


@pytest.mark.parametrize("backend", ["numpy", "tensorflow"])
def test_rgb_to_lab_matches_skimage(photos, backend):
    for name, rgb in _colour_sets(photos).items():
        rgb32 = rgb.astype(np.float32)
        ours = rgb_to_lab(rgb32) if backend == "numpy" else rgb_to_lab(tf.constant(rgb32)).numpy()
        error = np.abs(ours - skcolor.rgb2lab(rgb)).max()
        assert error < TOLERANCE, (name, error)


@pytest.mark.parametrize("backend", ["numpy", "tensorflow"])
def test_lab_to_rgb_matches_skimage(photos, backend):
    for name, rgb in _colour_sets(photos).items():
        lab = skcolor.rgb2lab(rgb).astype(np.float32)
        ours = lab_to_rgb(lab) if backend == "numpy" else lab_to_rgb(tf.constant(lab)).numpy()
        expected = skcolor.lab2rgb(lab.astype(np.float64))
        assert np.abs(ours - expected).max() < TOLERANCE / 100, name  # rgb is in [0, 1]


def test_round_trip_and_leading_dimensions(photos):
    image = photos[1][:64, :48].astype(np.float32) / 255.0
    batch = np.stack([image, image[::-1]])  # (2, 64, 48, 3)
    back = lab_to_rgb(rgb_to_lab(batch))
    assert back.shape == batch.shape
    assert np.abs(back - batch).max() < 1e-3


def test_out_of_gamut_is_clipped():
    lab = np.array([[50.0, 120.0, -120.0], [100.0, 80.0, 80.0], [0.0, -100.0, 100.0]],
                   np.float32)
    for rgb in (lab_to_rgb(lab), lab_to_rgb(tf.constant(lab)).numpy()):
        assert rgb.min() >= 0.0 and rgb.max() <= 1.0
        assert np.isfinite(rgb).all()


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_gradients_finite_at_black_and_white(value):
    rgb = tf.Variable(tf.fill([2, 2, 3], value))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(rgb_to_lab(rgb))
    assert np.isfinite(tape.gradient(total, rgb).numpy()).all()

    lab = tf.Variable([[value * 100.0, 0.0, 0.0], [value * 100.0, 30.0, -30.0]])
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(lab_to_rgb(lab))
    assert np.isfinite(tape.gradient(total, lab).numpy()).all()


def test_gray_level_of_lightness_is_exact_inverse():
    gray = np.linspace(0, 1, 101, dtype=np.float32)
    lightness = rgb_to_lab(np.repeat(gray[:, None], 3, axis=1))[:, 0]
    np.testing.assert_allclose(lightness_to_gray_rgb(lightness), gray, atol=2e-4)
    assert rgb_to_lab(np.array([[0.5, 0.5, 0.5]], np.float32))[0, 1:] == pytest.approx([0, 0], abs=0.01)


def test_split_and_join_in_tf_graph():
    @tf.function
    def round_trip(rgb):
        lightness, ab = rgb_to_l_ab(rgb)
        return l_ab_to_rgb(lightness, ab), lightness, ab

    rgb = tf.random.uniform([3, 8, 8, 3], seed=1)
    back, lightness, ab = round_trip(rgb)
    assert lightness.shape == (3, 8, 8, 1) and ab.shape == (3, 8, 8, 2)
    assert np.abs(back.numpy() - rgb.numpy()).max() < 1e-3


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="float"):
        rgb_to_lab(np.zeros((2, 3), np.uint8))


def test_table_lab_matches_the_formula():
    rgb = np.random.default_rng(0).integers(0, 256, (2, 40, 50, 3), dtype=np.uint8)
    fast = srgb8_to_lab(tf.constant(rgb)).numpy()
    reference = skcolor.rgb2lab(rgb.astype(np.float64) / 255.0)  # scikit-image, D65
    np.testing.assert_allclose(fast, reference, atol=2e-3)
