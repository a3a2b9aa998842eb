import os

import keras
import numpy as np
import pytest

from colorizer.model.network import (
    ENCODER_CUT, build_colorizer, count_macs, load_colorizer, set_encoder_trainable)

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)


@pytest.fixture(scope="module")
def model():
    return build_colorizer(weights=None)


def test_encoder_is_densenet_cut_at_pool2_pool(model):
    densenet = keras.applications.DenseNet121(weights=None, include_top=False,
                                              input_shape=(224, 224, 3))
    assert densenet.layers[52].name == ENCODER_CUT
    encoder = model.get_layer("encoder")
    assert encoder.layers[-1].name == ENCODER_CUT
    assert len(encoder.layers) == 53
    assert tuple(densenet.get_layer(ENCODER_CUT).output.shape) == (None, 28, 28, 128)


@pytest.mark.parametrize("shape", [(224, 224), (64, 96), (32, 32)])
def test_output_shape_and_range(model, shape):
    lightness = np.random.default_rng(0).uniform(0, 100, (2, *shape, 1)).astype("float32")
    ab = model.predict_on_batch(lightness)
    assert ab.shape == (2, *shape, 2)
    assert ab.dtype == np.float32
    assert np.abs(ab).max() <= 128.0


def test_save_reload_gives_identical_outputs(model, tmp_path):
    path = tmp_path / "m.keras"
    model.save(path)
    restored = load_colorizer(path)
    lightness = np.random.default_rng(1).uniform(0, 100, (1, 64, 64, 1)).astype("float32")
    np.testing.assert_array_equal(model.predict_on_batch(lightness),
                                  restored.predict_on_batch(lightness))


def test_weights_from_file_restores_model(model, tmp_path):
    model.save_weights(tmp_path / "w.weights.h5")
    model.save(tmp_path / "m.keras")
    lightness = np.full((1, 32, 32, 1), 40.0, "float32")
    for path in ("w.weights.h5", "m.keras"):
        rebuilt = build_colorizer(weights=str(tmp_path / path))
        np.testing.assert_allclose(rebuilt.predict_on_batch(lightness),
                                   model.predict_on_batch(lightness), atol=1e-5)


def test_float32_output_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = build_colorizer(weights=None)
        assert mixed.get_layer("decoder1_conv").compute_dtype == "float16"
        ab = mixed.predict_on_batch(np.full((1, 32, 32, 1), 50.0, "float32"))
        assert ab.dtype == np.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_freezing_the_encoder(model):
    frozen = build_colorizer(weights=None, freeze_encoder=True)
    assert not frozen.get_layer("encoder").trainable
    assert len(frozen.trainable_weights) < len(model.trainable_weights)
    set_encoder_trainable(frozen, True)
    assert len(frozen.trainable_weights) == len(model.trainable_weights)


def test_clear_errors_for_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        build_colorizer(weights=str(tmp_path / "missing.keras"))
    with pytest.raises(FileNotFoundError, match="colorizer demo"):
        load_colorizer(tmp_path / "missing.keras")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        load_colorizer(tmp_path / "bad.keras")
    with pytest.raises(ValueError, match="multiple of 8"):
        build_colorizer(weights=None, image_size=100)


def test_macs_and_parameters_are_in_the_expected_range(model):
    macs = count_macs(224)
    # conv1 alone is 112*112*7*7*3*64 = 118M MACs; the cut encoder + decoder are ~1.9G.
    assert 1.5e9 < macs < 2.5e9
    # The docs' model table, to the parameter (a fresh model: nothing frozen).
    model = build_colorizer(weights=None)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    encoder = model.get_layer("encoder").count_params()
    assert (model.count_params(), trainable, encoder) == (622_850, 618_498, 381_760)
    page = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "model.md"),
                encoding="utf-8").read()
    assert ("| parameters | 622,850 (618,498 trainable); the encoder holds 381,760 of them |"
            in page)


def _rewrite_config(path, rewrite):
    """Rewrites ``config.json`` inside a ``.keras`` zip in place, other members unchanged."""
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = json.dumps(rewrite(json.loads(members["config.json"]))).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("head", ["regression", "classification"])
def test_files_saved_before_the_layout_change_still_load(tmp_path, head):
    # Files written before the package moved into subpackages name the old modules
    # (``colorizer.layers``, ``colorizer.classification``); they must load through the
    # registered names, which stay ``colorizer>ClassName``.
    old_modules = {"LightnessToImageNetRGB": "colorizer.layers",
                   "BilinearUpsampling": "colorizer.layers",
                   "AnnealedMeanDecoding": "colorizer.classification"}
    seen = set()

    def to_old_paths(node):
        if isinstance(node, dict):
            if node.get("class_name") in old_modules:
                assert node["registered_name"] == f"colorizer>{node['class_name']}"
                node["module"] = old_modules[node["class_name"]]
                seen.add(node["class_name"])
            return {key: to_old_paths(value) for key, value in node.items()}
        if isinstance(node, list):
            return [to_old_paths(value) for value in node]
        return node

    model = build_colorizer(weights=None, head=head, image_size=32)
    path = tmp_path / "old.keras"
    model.save(path)
    _rewrite_config(path, to_old_paths)
    expected = {"LightnessToImageNetRGB", "BilinearUpsampling"}
    assert seen >= expected | ({"AnnealedMeanDecoding"} if head == "classification" else set())
    lightness = np.random.default_rng(2).uniform(0, 100, (1, 32, 32, 1)).astype("float32")
    np.testing.assert_array_equal(load_colorizer(path).predict_on_batch(lightness),
                                  model.predict_on_batch(lightness))


def test_encoder_weights_from_a_local_notop_file(tmp_path):
    import h5py

    from colorizer.errors import WeightsUnavailableError
    from colorizer.model.pretrained import DENSENET_NOTOP_FILE

    # A DenseNet121 file in the layout of Keras' download (weights only, Keras 2 HDF5).
    keras.utils.set_random_seed(7)
    source = keras.applications.DenseNet121(include_top=False, weights=None)
    source.save(tmp_path / "full.h5")
    notop = tmp_path / DENSENET_NOTOP_FILE
    with h5py.File(tmp_path / "full.h5") as full, h5py.File(notop, "w") as out:
        weights = full["model_weights"]
        out.attrs.update(weights.attrs)
        for name in weights:
            full.copy(weights[name], out, name)
    model = build_colorizer(weights=str(notop))
    encoder = model.get_layer("encoder")
    for name in ("conv1_conv", "conv2_block6_1_conv", "pool2_conv"):
        for got, want in zip(encoder.get_layer(name).get_weights(),
                             source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)
    (tmp_path / "damaged_notop.h5").write_bytes(b"\x89HDF\r\n cut short")
    with pytest.raises(WeightsUnavailableError, match="could not read DenseNet121 weights.*"
                                                      "--weights none"):
        build_colorizer(weights=str(tmp_path / "damaged_notop.h5"))
