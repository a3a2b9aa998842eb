import numpy as np
import pytest
import tensorflow as tf

from colorizer.color import rgb_to_l_ab
from colorizer.evaluation.colorfulness import colorfulness, colorfulness_batches
from colorizer.model.network import build_colorizer


def hasler(rgb255: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness, written out on one sRGB image in 0..255."""
    r, g, b = (rgb255[..., i].astype(np.float64).ravel() for i in range(3))
    rg, yb = r - g, (r + g) / 2 - b
    return float(np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def test_gray_is_zero_and_a_known_image_scores_its_formula():
    assert colorfulness(np.full((6, 6, 3), 0.3)) == pytest.approx(0.0)
    halves = np.zeros((4, 8, 3), np.uint8)
    halves[:, :4, 0] = 255  # red | green: rg = +-255 (std 255), yb = 127.5 everywhere
    halves[:, 4:, 1] = 255
    assert colorfulness(halves) == pytest.approx(255.0 + 0.3 * 127.5)
    assert colorfulness(halves.astype(np.float32) / 255) == pytest.approx(293.25, rel=1e-6)


def test_batches_and_bad_shapes(photos):
    batch = np.stack([p[:64, :64] for p in photos[:3]])
    values = colorfulness(batch)
    assert values.shape == (3,) and np.all(values > 0)
    np.testing.assert_allclose(values, [hasler(image) for image in batch], rtol=1e-6)
    with pytest.raises(ValueError):
        colorfulness(np.zeros((8, 8)))


def test_model_beside_truth_over_a_dataset(photos):
    rgb = np.stack([p[:32, :32] for p in photos[:4]]).astype(np.float32) / 255
    lightness, ab = rgb_to_l_ab(rgb)
    dataset = tf.data.Dataset.from_tensor_slices((lightness, ab)).batch(3)
    values = colorfulness_batches(build_colorizer(weights=None), dataset, progress=False)
    assert values["model"].shape == values["truth"].shape == (4,)
    np.testing.assert_allclose(values["truth"], [hasler(image * 255) for image in rgb],
                               rtol=1e-3)
    assert np.all(values["model"] >= 0)
