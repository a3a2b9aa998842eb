"""The one-pass crop, rotation and flip of training images."""
import numpy as np
import tensorflow as tf

from colorizer.data.augment import random_crop_augment
from colorizer.data.config import AugmentConfig


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
