"""Training a colorizer that takes colour hints: the hints simulated in the training step (what
they draw, the same on TensorFlow and JAX, under jit), the run, the command line and presets."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from colorizer.training.hint_simulation import HintSimulation
from tests.backends import BACKEND, to_numpy

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _draws(layer, step, batch, height, width):
    return [to_numpy(value) for value in layer.draw(step, batch, height, width)]


def _expected_hints(ab, active, size, top, left):
    """The hints painted in NumPy from the draws: each patch's mean ab (over 128), the mask;
    where patches overlap, the mean of their means."""
    sums = np.zeros(ab.shape[:-1] + (3,), np.float64)
    for n, j in zip(*np.nonzero(active)):
        rows = slice(top[n, j], top[n, j] + size[n, j])
        columns = slice(left[n, j], left[n, j] + size[n, j])
        sums[n, rows, columns, :2] += ab[n, rows, columns].mean(axis=(0, 1))
        sums[n, rows, columns, 2] += 1
    count = sums[..., 2:]
    return np.concatenate([sums[..., :2] / np.maximum(count, 1) / 128.0, count > 0], -1)


def test_the_number_of_hints_is_geometric_with_p_one_eighth():
    layer = HintSimulation(seed=1)
    active, size, top, left = _draws(layer, 0, 20_000, 64, 64)
    counts = active.sum(axis=1)
    # A slot is active only after every slot before it: the first k of each image.
    assert np.array_equal(active, np.arange(64)[None, :] < counts[:, None])
    # P(k) = (7/8)^k / 8: each of k = 0..12 within 5 sigma of its expected share.
    for k in range(13):
        expected = (7 / 8) ** k / 8
        sigma = np.sqrt(expected * (1 - expected) / len(counts))
        assert abs(np.mean(counts == k) - expected) < 5 * sigma, k
    assert abs(counts.mean() - 7.0) < 0.15  # mean (1 - p) / p, the cap of 64 hardly bites
    assert counts.max() <= 64 and np.mean(counts == 0) > 0.1  # images with no hint exist


def test_patches_are_inside_the_image_uniform_and_of_every_size():
    layer = HintSimulation(seed=2, count=64)
    active, size, top, left = _draws(layer, 3, 500, 40, 56)
    assert active.all()
    assert size.min() == 1 and size.max() == 9
    np.testing.assert_allclose(np.bincount(size.ravel())[1:] / size.size, 1 / 9, atol=0.01)
    assert top.min() == 0 and left.min() == 0
    assert (top + size).max() == 40 and (left + size).max() == 56
    # Uniform placement: the patch centres spread evenly over the image.
    centres = (top + size / 2) / 40
    assert abs(centres.mean() - 0.5) < 0.01 and np.histogram(centres, 4, (0, 1))[0].min() > (
        0.2 * centres.size)
    tiny = _draws(HintSimulation(seed=2, count=64), 3, 4, 5, 3)  # smaller than a patch
    assert tiny[1].max() <= 3 and (tiny[2] + tiny[1]).max() <= 5 and (
        tiny[3] + tiny[1]).max() <= 3


def test_hints_carry_each_patch_mean_and_the_mask_marks_exactly_the_patches():
    rng = np.random.default_rng(0)
    ab = rng.uniform(-100, 100, (16, 40, 48, 2)).astype(np.float32)
    layer = HintSimulation(seed=5)
    hints = to_numpy(layer(ab, training=True))
    active, size, top, left = _draws(layer, 0, 16, 40, 48)  # the step that call used
    assert hints.shape == (16, 40, 48, 3) and hints.dtype == np.float32
    np.testing.assert_allclose(hints, _expected_hints(ab, active, size, top, left), atol=1e-5)
    # The mask is the union of the patches, nothing else; outside it, no colour.
    covered = np.zeros((16, 40, 48), bool)
    for n, j in zip(*np.nonzero(active)):
        covered[n, top[n, j]:top[n, j] + size[n, j], left[n, j]:left[n, j] + size[n, j]] = True
    np.testing.assert_array_equal(hints[..., 2] == 1, covered)
    assert set(np.unique(hints[..., 2])) <= {0.0, 1.0}
    assert not np.any(hints[..., :2][~covered])
    # A patch that overlaps no other carries exactly the true ab's mean over the patch.
    def overlap(n, i, j):
        return (top[n, i] < top[n, j] + size[n, j] and top[n, j] < top[n, i] + size[n, i]
                and left[n, i] < left[n, j] + size[n, j] and left[n, j] < left[n, i] + size[n, i])

    alone = [(n, j) for n, j in zip(*np.nonzero(active))
             if not any(overlap(n, j, m) for m in np.nonzero(active[n])[0] if m != j)]
    assert len(alone) > 20
    for n, j in alone:
        patch = (n, slice(top[n, j], top[n, j] + size[n, j]),
                 slice(left[n, j], left[n, j] + size[n, j]))
        np.testing.assert_allclose(hints[patch][..., :2] * 128,
                                   np.broadcast_to(ab[patch].mean((0, 1)), ab[patch].shape),
                                   atol=1e-3)
    counts = active.sum(1)
    assert np.all(hints[counts == 0] == 0)


def test_steps_advance_in_training_and_validation_draws_stay_put():
    ab = np.random.default_rng(1).uniform(-60, 60, (4, 24, 24, 2)).astype(np.float32)
    layer = HintSimulation(seed=7)
    first, second = (to_numpy(layer(ab, training=True)) for _ in range(2))
    assert int(to_numpy(layer.step)) == 2 and not np.array_equal(first, second)
    again = to_numpy(HintSimulation(seed=7)(ab, training=True))
    np.testing.assert_array_equal(first, again)  # a seed repeats
    val = [to_numpy(layer(ab, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(val[0], val[1])
    assert int(to_numpy(layer.step)) == 2
    fixed = to_numpy(HintSimulation(seed=7, count=5)(ab))
    assert fixed.shape == (4, 24, 24, 3) and np.all(fixed[..., 2].sum((1, 2)) > 0)


def test_the_layer_is_serializable():
    layer = HintSimulation(seed=3, probability=0.25, max_hints=10, max_size=5, count=None)
    copy = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(copy, HintSimulation)
    assert (copy.seed, copy.probability, copy.max_hints, copy.max_size, copy.count) == (
        3, 0.25, 10, 5, None)
    with pytest.raises(ValueError, match="probability"):
        HintSimulation(probability=0.0)


def test_it_runs_under_jit_with_an_unknown_batch_size():
    ab = np.random.default_rng(2).uniform(-60, 60, (3, 32, 40, 2)).astype(np.float32)
    eager = to_numpy(HintSimulation(seed=9)(ab, training=True))
    layer = HintSimulation(seed=9)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        step = tf.function(lambda x: layer(x, training=True), jit_compile=True,
                           input_signature=[tf.TensorSpec((None, None, None, 2), tf.float32)])
        compiled = step(ab).numpy()
    else:
        import jax

        from keras import ops

        # As a JAX training step does: the step counter goes in and out as a value.
        def simulate(x, counter):
            return layer.paint(x, *layer.draw(counter, ops.shape(x)[0], 32, 40))

        compiled = np.asarray(jax.jit(simulate)(ab, np.int32(0)))
    np.testing.assert_allclose(compiled, eager, atol=1e-6)


SCRIPT = """
import sys
import numpy as np
from colorizer.training.hint_simulation import HintSimulation
from tests.backends import to_numpy
ab = np.random.default_rng(0).uniform(-90, 90, (6, 30, 34, 2)).astype(np.float32)
layer = HintSimulation(seed=11)
out = [to_numpy(layer(ab, training=True)) for _ in range(2)]
out.append(to_numpy(layer(ab, training=False)))
np.save(sys.argv[1], np.stack(out))
"""


@pytest.mark.skipif(BACKEND != "tensorflow", reason="runs both backends itself: once per CI run")
def test_tensorflow_and_jax_draw_the_same_hints(tmp_path):
    results = {}
    for backend in ("tensorflow", "jax"):
        path = tmp_path / f"{backend}.npy"
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": ROOT,
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        results[backend] = np.load(path)
    tf_hints, jax_hints = results["tensorflow"], results["jax"]
    np.testing.assert_array_equal(tf_hints[..., 2], jax_hints[..., 2])  # the same patches
    np.testing.assert_allclose(tf_hints, jax_hints, atol=1e-6)  # and colours, to rounding
    assert not np.array_equal(tf_hints[0], tf_hints[1]) and tf_hints[..., 2].sum() > 0


def _loss(model, batches, count):
    """Mean squared ab error of ``model`` with ``count`` simulated hints per image."""
    from colorizer.model.network import model_inputs

    simulate = HintSimulation(seed=99, count=count)
    errors = []
    for lightness, ab in batches:
        hints = to_numpy(simulate(ab)) if count else None
        predicted = model.predict_on_batch(model_inputs(model, lightness, hints))
        errors.append(np.mean((np.asarray(predicted) - ab) ** 2))
    return float(np.mean(errors))


@pytest.mark.slow
def test_a_short_run_learns_to_use_the_hints(tmp_path):
    """Sample photos, 64 px, from scratch, 240 steps: evaluated with hints, the model's
    loss is clearly lower than the same model's without them (a model that ignored its hints
    would score the same)."""
    from colorizer.data import samples
    from colorizer.data.config import AugmentConfig
    from colorizer.data.pipeline import make_dataset
    from colorizer.evaluation.metrics import evaluate_batches
    from colorizer.model.config import ModelConfig
    from colorizer.model.network import load_colorizer, takes_hints
    from colorizer.training.callbacks import SampleColorizations
    from colorizer.training.colour_gain import gain_table
    from colorizer.training.config import TrainConfig
    from colorizer.training.train import train

    keras.utils.set_random_seed(0)  # before the datasets too: TensorFlow's seed orders them
    photos = samples.export_samples(str(tmp_path / "photos"), crops_per_photo=1)
    data = make_dataset(photos, batch_size=8, image_size=64, training=True, repeat=True, seed=0,
                        augment=AugmentConfig.none())  # augmented in the step instead
    plain = make_dataset(photos, batch_size=8, image_size=64)
    batches = [(np.asarray(lightness), np.asarray(ab)) for lightness, ab in plain]
    run = tmp_path / "run"
    samples_cb = SampleColorizations(*batches[0], str(run / "samples"))
    result = train(data, run, val_data=plain, model_config=ModelConfig(
                       weights=None, decoder_filters=(32, 32, 32)),
                   train_config=TrainConfig(epochs=6, steps_per_epoch=40, learning_rate=3e-3,
                                            schedule="cosine", warmup_steps=20,
                                            hints="simulated"),
                   augment=AugmentConfig(), extra_callbacks=[samples_cb], verbose=0)
    with_hints, alone = _loss(result.model, batches, 20), _loss(result.model, batches, 0)
    # Measured 0.45 of it on TensorFlow and 0.32 on JAX (with the learned-key spread). After
    # 160 steps it was above 1: the keys read the encoder, whose BatchNorm running statistics
    # still lag its batch statistics that early, so in inference mode the hints went astray
    # (0.24 in training mode). A model that ignored its hints would score exactly the same
    # with them as without.
    assert with_hints < 0.85 * alone, (with_hints, alone)
    # The run folder says so, and its models take hints with no simulator inside.
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["hints"] == "simulated"
    assert config["data"]["hint_simulation"]["probability"] == 0.125
    best = load_colorizer(run / "best.keras")
    assert takes_hints(best) and not any(isinstance(layer, HintSimulation)
                                         for layer in best.layers)
    assert "val_loss" in result.history[-1] and len(os.listdir(run / "samples")) == 6
    # Evaluation and colour tuning predict with it as they do with any model: no hints.
    metrics = evaluate_batches(best, plain.take(1), progress=False)
    assert np.isfinite(metrics["model"]["ab_rmse"]).all()
    assert len(gain_table(best, plain.take(1), gains=(1.0, 1.2))) == 2


def test_a_hint_run_keeps_its_hints_and_models_must_match(tmp_path, image_folder):
    from colorizer.data.config import AugmentConfig
    from colorizer.data.pipeline import make_dataset
    from colorizer.model.config import ModelConfig
    from colorizer.model.network import build_colorizer
    from colorizer.training.config import TrainConfig
    from colorizer.training.run_settings import RunSettingsError, setting_differences
    from colorizer.training.train import train

    data = make_dataset(image_folder, batch_size=2, image_size=32, training=True, repeat=True,
                        augment=AugmentConfig.none())
    config = dict(model_config=ModelConfig(weights=None, decoder_filters=(8, 8, 8)), verbose=0)
    run = tmp_path / "run"
    # On-device augmentation off: the hints alone make the training step take (L, ab) pairs.
    train(data, run, train_config=TrainConfig(epochs=1, steps_per_epoch=2, hints="simulated"),
          **config)
    with pytest.raises(RunSettingsError, match="hints simulated -> none"):
        train(data, run, train_config=TrainConfig(epochs=2, steps_per_epoch=2), **config)
    resumed = train(data, run, augment=None, train_config=TrainConfig(
        epochs=2, steps_per_epoch=2, hints="simulated"), **config)
    assert len(resumed.history) == 2
    simulation = resumed.fit_model.hints
    assert int(to_numpy(simulation.step)) == 4  # restored from the backup, then 2 more
    # Runs recorded before hints existed took none.
    assert setting_differences({"train": {"epochs": 4}}, {"train": {"hints": "simulated"}}) == [
        "hints none -> simulated"]
    with pytest.raises(ValueError, match="takes colour hints"):
        train(data, tmp_path / "other", model=build_colorizer(None, hint_inputs=True),
              train_config=TrainConfig(epochs=1, steps_per_epoch=1), verbose=0)
    with pytest.raises(ValueError, match="needs a model that takes hints"):
        train(data, tmp_path / "other", model=build_colorizer(None),
              train_config=TrainConfig(epochs=1, steps_per_epoch=1, hints="simulated"),
              verbose=0)


def test_presets_form_and_options_choose_hints():
    from colorizer.cli import build_parser
    from colorizer.cli.commands.train import settings
    from colorizer.training.config import TrainConfig, form_preset, get_preset

    budget, hinted = get_preset("budget"), get_preset("budget-hints")
    assert hinted.train.hints == "simulated" and budget.train.hints == "none"
    assert hinted.data == budget.data and hinted.model == budget.model
    assert hinted.train == TrainConfig(**{**budget.train.__dict__, "hints": "simulated",
                                          "tune_colour": False})
    assert get_preset("paper").train.hints == "none"
    assert form_preset("paper", hints="simulated").train.hints == "simulated"
    assert form_preset("budget-hints", hints="none").train.hints == "simulated"  # the preset's

    def parsed(*options):
        return settings(build_parser().parse_args(
            ["train", "--data", "photos", "--run-dir", "run", *options]))

    assert parsed("--hints", "simulated").train.hints == "simulated"
    assert parsed().train.hints == "none"
    chosen = parsed("--preset", "budget-hints", "--weights", "none")
    assert chosen.train.hints == "simulated" and chosen.model.weights is None
    assert parsed("--preset", "budget-hints", "--hints", "none").train.hints == "none"
    with pytest.raises(ValueError, match="hints must be one of"):
        TrainConfig(hints="sometimes")


@pytest.mark.slow
def test_train_command_with_simulated_hints(tmp_path, image_folder):
    from colorizer.model.network import load_colorizer, takes_hints

    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "colorizer", "train", "--data", image_folder, "--run-dir",
         str(run), "--preset", "smoke", "--hints", "simulated", "--image-size", "32",
         "--epochs", "1", "--steps-per-epoch", "2", "--weights", "none"],
        env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trained 1 epochs" in done.stdout
    assert json.loads((run / "config.json").read_text())["train"]["hints"] == "simulated"
    assert takes_hints(load_colorizer(run / "best.keras"))
