"""The faster conversions and augmentations agree with the reference ones."""
import numpy as np
import tensorflow as tf

from colorizer.augment import random_crop_augment
from colorizer.color import l_ab_to_rgb, rgb_to_lab, srgb8_to_lab
from colorizer.config import AugmentConfig
from colorizer.infer import image_lightness, merge_lightness_ab, to_float_rgb


def test_table_lab_matches_the_formula():
    rgb = np.random.default_rng(0).integers(0, 256, (2, 40, 50, 3), dtype=np.uint8)
    fast = srgb8_to_lab(tf.constant(rgb)).numpy()
    np.testing.assert_allclose(fast, rgb_to_lab(rgb.astype(np.float32) / 255.0), atol=1e-3)


def test_full_resolution_lightness_and_rgb_match_the_formula():
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (1100, 1000, 3), dtype=np.uint8)  # large: several strips
    reference = rgb_to_lab(to_float_rgb(photo))
    np.testing.assert_allclose(image_lightness(photo)[..., 0], reference[..., 0], atol=1e-3)
    gray = photo[..., 0]
    np.testing.assert_allclose(image_lightness(gray), rgb_to_lab(to_float_rgb(gray))[..., :1],
                               atol=1e-3)
    ab = reference[..., 1:] + rng.normal(0, 20, reference[..., 1:].shape).astype(np.float32)
    slow = np.clip(l_ab_to_rgb(reference[..., :1], ab) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    difference = np.abs(merge_lightness_ab(reference[..., :1], ab).astype(int) - slow)
    assert difference.max() <= 1 and difference.mean() < 0.01


def test_one_pass_crop_rotates_and_flips():
    ramp = tf.cast(tf.tile(tf.range(64)[None, :, None], [48, 1, 3]), tf.float16)  # value = x
    flips = AugmentConfig(noise_stddev=0, rotation_degrees=1e-4, horizontal_flip=True,
                          vertical_flip=False)
    slopes = []
    for s in range(12):
        out = random_crop_augment(ramp, 32, flips, tf.constant([s, 3])).numpy()[..., 0]
        assert out.shape == (32, 32)
        slopes.append(np.sign(np.mean(np.diff(out, axis=1))))
        assert np.allclose(np.diff(out, axis=1), slopes[-1], atol=1e-2)  # an unrotated crop
    assert set(slopes) == {-1.0, 1.0}  # both mirrored and plain crops occur
    # A rotation by angle a turns the x ramp into one along y of slope |sin a| <= sin 30 deg.
    tilts = [np.abs(np.diff(random_crop_augment(ramp, 32, AugmentConfig(rotation_degrees=30.0),
                                                tf.constant([s, 5])).numpy()[..., 0],
                            axis=0)).mean() for s in range(8)]
    assert max(tilts) > 0.2 and max(tilts) < 0.51
    plain = random_crop_augment(ramp, 32, AugmentConfig.none(), tf.constant([2, 2])).numpy()
    np.testing.assert_array_equal(np.diff(plain[..., 0], axis=1), 1.0)
