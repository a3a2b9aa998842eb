import os

import keras
import numpy as np
import pytest

from colorizer.data.ab_distribution import AB_DISTRIBUTION_FILE, load_ab_distribution
from colorizer.data.config import AugmentConfig
from colorizer.data.pipeline import make_dataset
from colorizer.gamut import load_gamut_bins
from colorizer import colorize
from colorizer.model.config import ModelConfig
from colorizer.model.network import (
    CLASSIFICATION_STRIDE, LOGITS_LAYER, build_colorizer, head_of, load_colorizer, logits_model,
    set_temperature)
from colorizer.training.config import TrainConfig
from colorizer.training.train import train
from tests.backends import to_numpy

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)


@pytest.fixture(scope="module")
def model():
    return build_colorizer(weights=None, head="classification")


def _lightness(seed, shape=(2, 64, 96)):
    return np.random.default_rng(seed).uniform(0, 100, (*shape, 1)).astype("float32")


def test_classification_model_maps_l_to_ab_and_trains_through_logits(model):
    bins = load_gamut_bins()
    assert head_of(model) == "classification"
    assert head_of(build_colorizer(weights=None)) == "regression"
    ab = model.predict_on_batch(_lightness(0))
    assert ab.shape == (2, 64, 96, 2) and ab.dtype == np.float32
    assert np.all(ab >= bins.min(0) - 1e-3) and np.all(ab <= bins.max(0) + 1e-3)
    logits = logits_model(model)
    assert logits.predict_on_batch(_lightness(0)).shape == (
        2, 64 // CLASSIFICATION_STRIDE, 96 // CLASSIFICATION_STRIDE, len(bins))
    assert {id(w) for w in logits.weights} <= {id(w) for w in model.weights}
    with pytest.raises(ValueError, match="classification"):
        logits_model(build_colorizer(weights=None))
    with pytest.raises(ValueError, match="unknown head"):
        build_colorizer(weights=None, head="segmentation")


def test_save_reload_keeps_head_temperature_and_outputs(model, tmp_path):
    set_temperature(model, 0.6)
    try:
        path = tmp_path / "classifier.keras"
        model.save(path)
        restored = load_colorizer(path)  # safe_mode
        assert head_of(restored) == "classification"
        lightness = _lightness(1)
        np.testing.assert_array_equal(model.predict_on_batch(lightness),
                                      restored.predict_on_batch(lightness))
        before = restored.predict_on_batch(lightness)
        set_temperature(restored, 1.0)
        assert not np.allclose(restored.predict_on_batch(lightness), before)
        rebuilt = build_colorizer(weights=str(path), head="classification", temperature=0.6)
        np.testing.assert_allclose(rebuilt.predict_on_batch(lightness), before, atol=1e-4)
        with pytest.raises(ValueError, match="classification model"):
            build_colorizer(weights=str(path))
    finally:
        set_temperature(model, 0.38)
    with pytest.raises(ValueError, match="regression model"):
        set_temperature(build_colorizer(weights=None), 0.5)


def test_logits_stay_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = build_colorizer(weights=None, head="classification")
        assert mixed.get_layer("decoder1_conv").compute_dtype == "float16"
        assert mixed.get_layer("ab_logits").compute_dtype == "float32"
        assert mixed.predict_on_batch(_lightness(2, (1, 32, 32))).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_short_training_lowers_the_loss_and_the_model_colorizes(image_folder, tmp_path):
    data = make_dataset(image_folder, batch_size=2, image_size=32, training=True, repeat=True,
                        augment=AugmentConfig.none(), seed=1)
    run = tmp_path / "run"
    result = train(data, run, model_config=ModelConfig(weights=None, head="classification"),
                   train_config=TrainConfig(epochs=4, steps_per_epoch=6, batch_log_every=3,
                                            learning_rate=3e-3), verbose=0)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0] * 0.9, losses
    distribution = load_ab_distribution(run / AB_DISTRIBUTION_FILE)
    assert distribution.sum() == pytest.approx(1.0) and np.count_nonzero(distribution) > 5

    best = load_colorizer(run / "best.keras")
    assert head_of(best) == "classification" and best.output_shape[-1] == 2
    photo = np.random.default_rng(3).integers(0, 256, (45, 70), dtype=np.uint8)
    out = colorize(best, photo, render_size=32)
    assert out.shape == (45, 70, 3) and out.dtype == np.uint8

    # Resuming uses the run's own distribution, whatever is passed in.
    flat = np.full_like(distribution, 1.0 / len(distribution))
    again = train(data, run, model_config=ModelConfig(weights=None, head="classification"),
                  train_config=TrainConfig(epochs=5, steps_per_epoch=2), verbose=0,
                  ab_distribution=flat)
    assert len(again.history) == 5
    np.testing.assert_array_equal(load_ab_distribution(run / AB_DISTRIBUTION_FILE),
                                  distribution)
    assert os.path.isfile(run / "model.keras")


@pytest.mark.slow
def test_cli_trains_the_classification_head_and_colorizes_with_a_temperature(photos, tmp_path,
                                                                               capsys):
    from PIL import Image

    from colorizer.cli import main
    from colorizer.data.ab_distribution import save_ab_distribution

    data = tmp_path / "data"
    data.mkdir()
    for i in range(12):
        photo = photos[i % len(photos)]
        Image.fromarray(photo[i:, i:]).resize((80, 72)).save(data / f"p{i:02d}.png")
    prepared = np.random.default_rng(6).dirichlet(np.ones(len(load_gamut_bins())))
    save_ab_distribution(data / AB_DISTRIBUTION_FILE, prepared)
    run = tmp_path / "run"
    status = main(["train", "--data", str(data), "--run-dir", str(run), "--preset", "smoke",
                   "--head", "classification", "--temperature", "0.5", "--epochs", "1",
                   "--steps-per-epoch", "2", "--image-size", "32", "--batch-size", "4"])
    assert status == 0
    # The distribution saved beside the data is the one the run's loss was weighted by.
    np.testing.assert_allclose(load_ab_distribution(run / AB_DISTRIBUTION_FILE), prepared)
    model = load_colorizer(run / "model.keras")
    assert head_of(model) == "classification"
    assert float(to_numpy(model.get_layer("ab_decode").temperature)) == pytest.approx(0.5)

    out = tmp_path / "out"
    assert main(["colorize", "--model", str(run / "model.keras"), "--out", str(out),
                 "--temperature", "0.2", str(data / "p00.png")]) == 0
    assert (out / "p00.png").is_file()
    # A lower temperature moves the annealed mean toward the mode: more colourful output.
    # (A model trained for two steps predicts nearly uniform bins, whose mean is already off
    # centre: give it a clear preference for warm, saturated bins so the claim can be seen.)
    warm = load_colorizer(run / "model.keras")
    kernel, _ = warm.get_layer(LOGITS_LAYER).get_weights()
    bins = load_gamut_bins()
    warm.get_layer(LOGITS_LAYER).set_weights([np.zeros_like(kernel),
                                              (0.05 * (bins[:, 0] + bins[:, 1])).astype(
                                                  np.float32)])
    warm.save(tmp_path / "warm.keras")
    colourfulness = {}
    for temperature in ("1.0", "0.38", "0.1"):
        folder = tmp_path / f"t{temperature}"
        assert main(["colorize", "--model", str(tmp_path / "warm.keras"), "--out", str(folder),
                     "--temperature", temperature, str(data / "p00.png")]) == 0
        colourfulness[temperature] = _hasler(folder / "p00.png")
    assert colourfulness["0.1"] > colourfulness["0.38"] > colourfulness["1.0"] + 5
    regression = tmp_path / "regression.keras"
    build_colorizer(weights=None).save(regression)
    assert main(["colorize", "--model", str(regression), "--out", str(out), "--temperature",
                 "0.2", str(data / "p01.png")]) == 1
    assert "regression model" in capsys.readouterr().err
    assert main(["train", "--data", str(data), "--run-dir", str(tmp_path / "r2"),
                 "--head", "classification", "--temperature", "0"]) == 1


def _hasler(path) -> float:
    """Hasler and Suesstrunk's colourfulness of an image file, in NumPy."""
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"), np.float64)
    rg, yb = rgb[..., 0] - rgb[..., 1], (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2]
    return float(np.sqrt(rg.var() + yb.var()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
