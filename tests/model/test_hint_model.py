"""The colorizer that takes colour hints (``build_colorizer(hint_inputs=True)``): its inputs,
the zero-initialised joins, saving and reloading on either backend, and the feeding helper."""
from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from colorizer.model import hints as hint_branch
from colorizer.model.hints import HintAffinity, HintSpread, encode_hints, no_hints
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
    """Gives the zero-initialised joins (and the mix's weights) random weights, as training
    would: hints now matter."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name.endswith("_hint_join"):
            layer.set_weights([rng.normal(0, scale, w.shape).astype(np.float32)
                               for w in layer.get_weights()])
        elif layer.name == "hints_mix_weights":  # weights near [0, 1], as trained ones are
            layer.set_weights([rng.normal(0, 0.02, w.shape).astype(np.float32)
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
    assert hinted.count_params() - automatic.count_params() == 88_074
    classifier = build_colorizer(None, head="classification")
    hinted_classifier = build_colorizer(None, head="classification", hint_inputs=True)
    assert hinted_classifier.count_params() - classifier.count_params() == 82_817
    joins = [layer for layer in hinted.layers if layer.name.endswith("_hint_join")]
    assert [layer.name for layer in joins] == [
        "decoder1_hint_join", "decoder2_hint_join", "decoder3_hint_join", "head_hint_join"]
    assert all(not np.any(w) for layer in joins for w in layer.get_weights())
    assert count_macs(224, hint_inputs=True) - count_macs(224) == 402_963_456
    page = open(os.path.join(ROOT, "docs", "training.md"), encoding="utf-8").read()
    assert "It adds 88,074 parameters to the 622,850" in page and "0.40 GMACs" in page
    assert "82,817" in page


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


def _spread_reference(hints, radii, stride):
    """:class:`HintSpread` in plain NumPy loops: per cell and window, the mean hinted ab over
    the hinted pixels in it and n / (n + 1) for its n hinted pixels."""
    n, height, width, _ = hints.shape
    rows, cols = height // stride, width // stride
    out = np.zeros((n, rows, cols, 3 * len(radii)), np.float64)
    for image in range(n):
        for row in range(rows):
            for col in range(cols):
                for i, radius in enumerate(radii):
                    if radius is None:
                        window = hints[image]
                    else:
                        top, left = max(0, row - radius) * stride, max(0, col - radius) * stride
                        bottom = min(rows, row + radius + 1) * stride
                        right = min(cols, col + radius + 1) * stride
                        window = hints[image, top:bottom, left:right]
                    count = window[..., 2].sum()
                    if count:
                        out[image, row, col, 3 * i:3 * i + 2] = (
                            window[..., :2].sum(axis=(0, 1)) / count)
                        out[image, row, col, 3 * i + 2] = count / (count + 1)
    return out


def test_the_spread_is_each_windows_mean_hinted_colour_and_how_many_pixels_hold_it():
    _, hints = _batch(height=48, width=64)
    hints[1] = 0.0  # an image without hints spreads nothing
    radii = hint_branch.SPREAD_RADII
    spread = keras.ops.convert_to_numpy(HintSpread(radii, 8)(hints))
    expected = _spread_reference(hints.astype(np.float64), radii, 8)
    assert spread.shape == (2, 6, 8, 12) and spread.dtype == np.float32
    np.testing.assert_allclose(spread, expected, atol=2e-5)
    assert not np.any(spread[1])
    # The whole photo's window holds every hint: one colour over all cells.
    assert np.ptp(spread[0, ..., 9:12].reshape(-1, 3), axis=0).max() < 1e-5
    assert spread[0, ..., 11].min() > 0.9


def _lightness_spread_reference(hints, lightness, radii, stride, bins):
    """The lightness-weighted half in NumPy loops: each hinted pixel counts in a cell by
    ``sum_j tent_j(its L) tent_j(the cell's mean L)``."""
    n, height, width, _ = hints.shape
    rows, cols = height // stride, width // stride
    tent = lambda level, j: np.maximum(0.0, 1.0 - np.abs(level * (bins - 1) - j))  # noqa: E731
    level = np.clip(lightness[..., 0] / 100.0, 0.0, 1.0)
    out = np.zeros((n, rows, cols, 3 * len(radii)), np.float64)
    for image in range(n):
        for row in range(rows):
            for col in range(cols):
                cell = level[image, row * stride:(row + 1) * stride,
                             col * stride:(col + 1) * stride].mean()
                for i, radius in enumerate(radii):
                    if radius is None:
                        top, left, bottom, right = 0, 0, height, width
                    else:
                        top, left = max(0, row - radius) * stride, max(0, col - radius) * stride
                        bottom = min(rows, row + radius + 1) * stride
                        right = min(cols, col + radius + 1) * stride
                    window = hints[image, top:bottom, left:right]
                    pixel = level[image, top:bottom, left:right]
                    weight = sum(tent(pixel, j) * tent(cell, j) for j in range(bins))
                    count = (window[..., 2] * weight).sum()
                    if count > 1e-3:
                        out[image, row, col, 3 * i:3 * i + 2] = (
                            (window[..., :2] * weight[..., None]).sum(axis=(0, 1)) / count)
                        out[image, row, col, 3 * i + 2] = count / (count + 1)
    return out


def test_the_lightness_weighted_spread_counts_hints_by_how_close_their_l_is():
    lightness, hints = _batch(height=48, width=64)
    hints[1] = 0.0
    radii, bins = hint_branch.SPREAD_RADII, 6
    spread = keras.ops.convert_to_numpy(HintSpread(radii, 8, bins)([hints, lightness]))
    assert spread.shape == (2, 6, 8, 24)
    # The first half is the plain spread, the second the lightness-weighted one.
    np.testing.assert_allclose(spread[..., :12], _spread_reference(hints, radii, 8), atol=2e-5)
    expected = _lightness_spread_reference(hints.astype(np.float64),
                                           lightness.astype(np.float64), radii, 8, bins)
    np.testing.assert_allclose(spread[..., 12:], expected, atol=1e-4)
    assert not np.any(spread[1])


def test_a_window_with_a_dark_and_a_light_hint_gives_each_cell_the_hint_of_its_lightness():
    """The blend the plain mean gives is what the lightness-weighted half avoids."""
    lightness = np.full((1, 32, 64, 1), 20.0, np.float32)
    lightness[:, :, 32:] = 85.0  # a dark left half, a light right half
    ab = np.zeros((1, 32, 64, 2), np.float32)
    ab[..., :32, 0], ab[..., 32:, 0] = 50.0, -50.0
    mask = np.zeros((1, 32, 64), np.float32)
    mask[0, 12:16, 20:24] = mask[0, 12:16, 40:44] = 1.0  # one hint on each side
    spread = keras.ops.convert_to_numpy(
        HintSpread((None,), 8, 6)([encode_hints(ab, mask), lightness]))
    plain_a, weighted_a = spread[0, ..., 0] * 128.0, spread[0, ..., 3] * 128.0
    np.testing.assert_allclose(plain_a, 0.0, atol=1e-3)  # the whole photo's mean: a blend
    np.testing.assert_allclose(weighted_a[:, :4], 50.0, atol=1e-3)  # each side its own hint
    np.testing.assert_allclose(weighted_a[:, 4:], -50.0, atol=1e-3)


def _affinity_reference(features, hints, lightness, projection, sharpness, stride):
    """:class:`HintAffinity` in plain NumPy loops over cell pairs."""
    n, height, width, _ = hints.shape
    rows, cols = height // stride, width // stride
    out = np.zeros((n, rows, cols, 3))
    for image in range(n):
        sums, keys = [], []
        for r in range(rows):
            for c in range(cols):
                block = np.s_[image, r * stride:(r + 1) * stride, c * stride:(c + 1) * stride]
                sums.append(hints[block].reshape(-1, 3).sum(axis=0))
                level = lightness[block].mean() / 100.0
                keys.append(np.append(features[image, r, c], level) @ projection)
        keys = np.array(keys) - np.mean(keys, axis=0)
        keys /= np.sqrt((keys ** 2).sum(axis=1, keepdims=True) + 1e-6)
        for i in range(rows * cols):
            weighted = sum(np.exp(sharpness * (keys[i] @ keys[j] - 1.0)) * sums[j]
                           for j in range(rows * cols))
            count = weighted[2]
            if count > 1e-3:
                out[image, i // cols, i % cols] = (*(weighted[:2] / count), count / (count + 1))
    return out


def test_the_affinity_spread_weighs_every_cells_hints_by_how_alike_their_keys_are():
    lightness, hints = _batch(height=48, width=64)
    hints[1] = 0.0
    features = np.random.default_rng(3).normal(0, 1, (2, 6, 8, 5)).astype(np.float32)
    layer = HintAffinity(8, keys=4)
    spread = keras.ops.convert_to_numpy(layer([features, hints, lightness]))
    assert spread.shape == (2, 6, 8, 3)
    projection, log_sharpness = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    assert projection.shape == (6, 4) and np.isclose(np.exp(log_sharpness), 10.0)
    expected = _affinity_reference(features.astype(np.float64), hints.astype(np.float64),
                                   lightness.astype(np.float64), projection.astype(np.float64),
                                   float(np.exp(log_sharpness)), 8)
    np.testing.assert_allclose(spread, expected, atol=1e-4)
    assert not np.any(spread[1])  # no hints, nothing spread


def test_the_affinity_spread_reaches_far_cells_of_the_same_kind_and_skips_near_unlike_ones():
    """What the windows cannot do: the hint reaches the far side of the photo, where the cells'
    features are like its own, and not the unlike cells right beside it."""
    kind = np.zeros((1, 4, 8, 2), np.float32)
    kind[..., [0, 1, 6, 7], 0] = 1.0  # one kind at both ends, another in the middle
    kind[..., 2:6, 1] = 1.0
    layer = HintAffinity(8, keys=2)
    lightness = np.full((1, 32, 64, 1), 50.0, np.float32)
    layer.build([kind.shape, (1, 32, 64, 3), lightness.shape])
    layer.projection.assign(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], np.float32))
    ab = np.zeros((1, 32, 64, 2), np.float32)
    ab[..., 0], ab[..., 1] = 60.0, -30.0
    mask = np.zeros((1, 32, 64), np.float32)
    mask[0, 10:13, 2:5] = 1.0  # one hint in the first column of cells
    spread = keras.ops.convert_to_numpy(layer([kind, encode_hints(ab, mask), lightness]))[0]
    same = np.zeros((4, 8), bool)
    same[:, [0, 1, 6, 7]] = True
    np.testing.assert_allclose(spread[same][:, :2] * 128.0, [[60.0, -30.0]] * same.sum(),
                               atol=1e-3)
    np.testing.assert_allclose(spread[same][:, 2], 9 / 10, atol=1e-4)  # all 9 hinted pixels
    assert not np.any(spread[~same])
    windows = keras.ops.convert_to_numpy(HintSpread((2,), 8)(encode_hints(ab, mask)))[0]
    assert not np.any(windows[:, 6:])  # the nearest windows stop short of the far end


def _older_model_reloaded(tmp_path, monkeypatch, seed):
    """A hint model built under the module settings ``monkeypatch`` set (trained-looking joins),
    saved, and loaded back under today's: ``(built, restored, its colour before, inputs)``."""
    keras.utils.set_random_seed(seed)
    older = build_colorizer(None, hint_inputs=True, **SMALL)
    _wake_the_joins(older)
    inputs = list(_batch())
    expected = older.predict_on_batch(inputs)
    older.save(tmp_path / "older.keras")
    monkeypatch.undo()
    return older, load_colorizer(tmp_path / "older.keras"), expected, inputs


def test_hint_models_saved_before_the_lightness_weighted_spread_still_load(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(hint_branch, "SPREAD_LIGHTNESS_BINS", 0)
    older, restored, expected, inputs = _older_model_reloaded(tmp_path, monkeypatch, 11)
    assert older.get_layer("hints_spread").lightness_bins == 0
    assert restored.get_layer("hints_spread").lightness_bins == 0
    np.testing.assert_array_equal(restored.predict_on_batch(inputs), expected)
    assert build_colorizer(None, hint_inputs=True, **SMALL).get_layer(
        "hints_spread").lightness_bins == hint_branch.SPREAD_LIGHTNESS_BINS > 0
    with pytest.raises(ValueError, match="0 or at least 2"):
        HintSpread(lightness_bins=1)


def test_hint_models_saved_before_the_affinity_spread_still_load(tmp_path, monkeypatch):
    monkeypatch.setattr(hint_branch, "AFFINITY_KEYS", 0)
    older, restored, expected, inputs = _older_model_reloaded(tmp_path, monkeypatch, 12)
    for model in (older, restored):
        assert not any(isinstance(layer, HintAffinity) for layer in model.layers)
    np.testing.assert_array_equal(restored.predict_on_batch(inputs), expected)
    today = build_colorizer(None, hint_inputs=True, **SMALL)
    assert today.get_layer("hints_spread_affinity").keys == hint_branch.AFFINITY_KEYS > 0
    assert _mixed_colours(today) == _mixed_colours(older) + 1  # one more for the head to mix


def _mixed_colours(model):
    return model.get_layer("hints_mix_weights").get_weights()[1].shape[0]


def test_one_learned_weight_copies_a_hint_over_the_photo():
    """The mix: with the whole photo's window weighted 1, a single hint's colour is everywhere;
    with no hint, the head's colour is untouched by any weight."""
    keras.utils.set_random_seed(9)
    model = build_colorizer(None, hint_inputs=True, **SMALL)
    mix = model.get_layer("hints_mix_weights")
    kernel, bias = mix.get_weights()
    scales = len(hint_branch.SPREAD_RADII) * (2 if hint_branch.SPREAD_LIGHTNESS_BINS else 1)
    scales += 1 if hint_branch.AFFINITY_KEYS else 0
    assert bias.shape == (scales,) and not np.any(kernel) and not np.any(bias)
    bias[hint_branch.SPREAD_RADII.index(None)] = 1.0
    mix.set_weights([kernel, bias])
    lightness, _ = _batch()
    ab = np.zeros((2, 48, 64, 2), np.float32)
    ab[..., 0], ab[..., 1] = 40.0, -24.0
    mask = np.zeros((2, 48, 64), np.float32)
    mask[0, 20:23, 30:33] = 1.0
    coloured = model.predict_on_batch([lightness, encode_hints(ab, mask)])
    np.testing.assert_allclose(coloured[0], ab[0], atol=1e-3)
    keras.utils.set_random_seed(9)
    automatic = build_colorizer(None, **SMALL)
    np.testing.assert_allclose(coloured[1], automatic.predict_on_batch(lightness)[1], atol=1e-4)


def test_hint_models_saved_before_the_spread_still_load_and_colour(tmp_path, monkeypatch):
    """Files of hint models built without the spread (its radii empty) load as they were."""
    monkeypatch.setattr(hint_branch, "SPREAD_RADII", ())
    older, restored, expected, inputs = _older_model_reloaded(tmp_path, monkeypatch, 10)
    assert not any(layer.name.startswith(("hints_spread", "hints_mix")) for layer in older.layers)
    assert takes_hints(restored)
    np.testing.assert_array_equal(restored.predict_on_batch(inputs), expected)
