"""The colorizer that takes colour hints (``build_colorizer(hint_inputs=True)``): its inputs,
the zero-initialised joins, saving and reloading on either backend, and the feeding helper."""
from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from colorizer.model.hints import encode_hints, no_hints
from colorizer.model.network import (
    build_colorizer, head_of, load_colorizer, logits_model, model_inputs, takes_hints)
from tests.backends import BACKEND

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"
SMALL = dict(decoder_filters=(16, 8, 8))


def _batch(n=2, height=48, width=64, seed=0):
    """L, and hints at a few patches of a random ab."""
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(0, 100, (n, height, width, 1)).astype(np.float32)
    ab = rng.uniform(-80, 80, (n, height, width, 2)).astype(np.float32)
    mask = np.zeros((n, height, width), np.float32)
    mask[:, 5:9, 10:14] = mask[:, 30:31, 40:41] = mask[:, 2::8, 3::8] = 1.0
    return lightness, encode_hints(ab, mask)


def _wake_the_joins(model, seed=1, scale=3.0):
    """Gives the zero-initialised joins random weights, as training would: hints now matter."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.endswith("_hint_join"):
            layer.set_weights([rng.normal(0, scale, w.shape).astype(np.float32)
                               for w in layer.get_weights()])


def test_inputs_outputs_and_what_tells_them():
    model = build_colorizer(None, hint_inputs=True, **SMALL)
    automatic = build_colorizer(None, **SMALL)
    assert [t.name for t in model.inputs] == ["L", "hints"]
    assert model.input_shape == [(None, None, None, 1), (None, None, None, 3)]
    assert model.output_shape == (None, None, None, 2)
    assert takes_hints(model) and not takes_hints(automatic)
    assert not any("hints" in layer.name for layer in automatic.layers)  # as before
    lightness, hints = _batch()
    ab = model.predict_on_batch([lightness, hints])
    assert ab.shape == (2, 48, 64, 2) and ab.dtype == np.float32
    # The stem still sees L alone: the encoder is DenseNet121's, untouched.
    assert model.get_layer("encoder").input_shape == automatic.get_layer("encoder").input_shape


def test_model_inputs_feeds_zero_hints_and_refuses_hints_to_a_model_without_them():
    model = build_colorizer(None, hint_inputs=True, **SMALL)
    automatic = build_colorizer(None, **SMALL)
    lightness, hints = _batch()
    fed = model_inputs(model, lightness)
    assert isinstance(fed, list) and fed[0] is lightness
    np.testing.assert_array_equal(fed[1], np.zeros((2, 48, 64, 3), np.float32))
    assert model_inputs(model, lightness, hints)[1] is hints
    assert model_inputs(automatic, lightness) is lightness
    with pytest.raises(ValueError, match="takes no hints"):
        model_inputs(automatic, lightness, hints)
    tensor = keras.ops.convert_to_tensor(lightness)  # a backend tensor gets a backend tensor
    assert tuple(keras.ops.shape(model_inputs(model, tensor)[1])) == (2, 48, 64, 3)


def test_encode_hints_divides_ab_like_the_output_and_masks():
    ab = np.stack([np.full((4, 4), 64.0), np.full((4, 4), -128.0)], -1)
    mask = np.zeros((4, 4))
    mask[1, 2] = 3.0  # any nonzero marks a hint
    hints = encode_hints(ab, mask)
    assert hints.dtype == np.float32 and hints.shape == (4, 4, 3)
    np.testing.assert_array_equal(hints[1, 2], [0.5, -1.0, 1.0])
    assert np.count_nonzero(hints) == 3
    np.testing.assert_array_equal(no_hints(np.zeros((2, 4, 4, 1))), np.zeros((2, 4, 4, 3)))
    ops_version = keras.ops.convert_to_numpy(encode_hints(ab, mask[..., None], xp=keras.ops))
    np.testing.assert_array_equal(ops_version, hints)


@pytest.mark.parametrize("head", ["regression", "classification"])
def test_at_initialisation_it_colours_as_the_automatic_model_whatever_the_hints(head):
    keras.utils.set_random_seed(4)
    automatic = build_colorizer(None, head=head)
    keras.utils.set_random_seed(4)
    hinted = build_colorizer(None, head=head, hint_inputs=True)
    lightness, hints = _batch()
    expected = automatic.predict_on_batch(lightness)
    # The same seed gives every shared layer the same weights; the joins start at zero.
    np.testing.assert_array_equal(hinted.predict_on_batch(model_inputs(hinted, lightness)),
                                  expected)
    np.testing.assert_array_equal(hinted.predict_on_batch([lightness, hints]), expected)
    assert np.abs(expected).max() > 0.1  # not trivially zero


def test_an_automatic_model_file_starts_a_hint_model_and_not_the_reverse(tmp_path):
    keras.utils.set_random_seed(5)
    automatic = build_colorizer(None, **SMALL)
    automatic.save(tmp_path / "automatic.keras")
    hinted = build_colorizer(str(tmp_path / "automatic.keras"), hint_inputs=True, **SMALL)
    lightness, hints = _batch()
    np.testing.assert_array_equal(hinted.predict_on_batch([lightness, hints]),
                                  automatic.predict_on_batch(lightness))
    hinted.save(tmp_path / "hinted.keras")
    with pytest.raises(ValueError, match="takes hints; build it with hint_inputs=True"):
        build_colorizer(str(tmp_path / "hinted.keras"), **SMALL)


@pytest.mark.parametrize("head", ["regression", "classification"])
def test_save_and_reload_keep_the_inputs_and_outputs(tmp_path, head):
    keras.utils.set_random_seed(6)
    model = build_colorizer(None, head=head, hint_inputs=True, **SMALL)
    _wake_the_joins(model)
    lightness, hints = _batch()
    with_hints = model.predict_on_batch([lightness, hints])
    assert not np.allclose(with_hints, model.predict_on_batch(model_inputs(model, lightness)))
    model.save(tmp_path / "m.keras")
    restored = load_colorizer(tmp_path / "m.keras")
    assert takes_hints(restored) and head_of(restored) == head
    np.testing.assert_array_equal(restored.predict_on_batch([lightness, hints]), with_hints)
    if head == "classification":  # trained through its logits view, which takes hints too
        view = logits_model(restored)
        assert takes_hints(view) and view.predict_on_batch([lightness, hints]).shape[:3] == (
            2, 12, 16)


def test_parameters_and_cost_it_adds():
    from colorizer.model.network import count_macs

    automatic = build_colorizer(None)
    hinted = build_colorizer(None, hint_inputs=True)
    assert hinted.count_params() - automatic.count_params() == 79_952
    joins = [layer for layer in hinted.layers if layer.name.endswith("_hint_join")]
    assert [layer.name for layer in joins] == [
        "decoder1_hint_join", "decoder2_hint_join", "decoder3_hint_join", "head_hint_join"]
    assert all(not np.any(w) for layer in joins for w in layer.get_weights())
    assert count_macs(224, hint_inputs=True) - count_macs(224) == 256_901_120
    page = open(os.path.join(ROOT, "docs", "training.md"), encoding="utf-8").read()
    assert "It adds 79,952 parameters to the 622,850" in page and "0.26 GMACs" in page


def test_float32_output_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = build_colorizer(None, hint_inputs=True, **SMALL)
        assert mixed.get_layer("hints_conv1").compute_dtype == "float16"
        lightness, hints = _batch()
        assert mixed.predict_on_batch([lightness, hints]).dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


LOAD_AND_PREDICT = """
import sys
import keras, numpy as np
from colorizer.model.network import head_of, load_colorizer, takes_hints
model = load_colorizer(sys.argv[1])
inputs = np.load(sys.argv[2])
lightness, hints = inputs["lightness"], inputs["hints"]
np.savez(sys.argv[3], hinted=np.asarray(model.predict([lightness, hints], verbose=0)),
         alone=np.asarray(model.predict([lightness, 0 * hints], verbose=0)))
print(keras.backend.backend(), head_of(model), takes_hints(model))
"""


@pytest.mark.parametrize("head", ["regression", "classification"])
def test_a_hint_model_saved_on_one_backend_predicts_the_same_on_the_other(tmp_path, head):
    keras.utils.set_random_seed(7)
    model = build_colorizer(None, head=head, hint_inputs=True, **SMALL)
    _wake_the_joins(model)
    lightness, hints = _batch()
    here = {"hinted": model.predict([lightness, hints], verbose=0),
            "alone": model.predict(model_inputs(model, lightness), verbose=0)}
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "inputs.npz", lightness=lightness, hints=hints)
    env = {**os.environ, "KERAS_BACKEND": OTHER, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(tmp_path / "model.keras"),
                           str(tmp_path / "inputs.npz"), str(tmp_path / "there.npz")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-3:] == [OTHER, head, "True"]
    there = np.load(tmp_path / "there.npz")
    for key in ("hinted", "alone"):
        assert there[key].shape == (2, 48, 64, 2)
        # ab spans +-128: the backends' convolutions differ in summation order only.
        np.testing.assert_allclose(there[key], here[key], atol=0.05)
    # The hints do change it, by more than the backends differ (a random classification
    # head's annealed mean moves little).
    assert np.abs(here["hinted"] - here["alone"]).max() > 0.2


def test_a_colour_gain_scales_a_hint_model_too():
    from colorizer.model.network import scale_colour

    keras.utils.set_random_seed(8)
    model = build_colorizer(None, hint_inputs=True, **SMALL)
    _wake_the_joins(model, scale=0.3)
    vivid = scale_colour(model, 1.5)
    assert takes_hints(vivid)
    lightness, hints = _batch()
    np.testing.assert_allclose(vivid.predict_on_batch([lightness, hints]),
                               1.5 * model.predict_on_batch([lightness, hints]), atol=1e-3)
