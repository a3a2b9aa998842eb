"""``colorizer export``: each format colours held-out photos as the Keras model does (within
1.0 ab at the working size), carries its colour setting and what colorize needs, replaces an
old file atomically, and refuses wrong input in one line."""
from __future__ import annotations

import os

import numpy as np
import pytest

from colorizer.cli import main
from colorizer.data.images import read_rgb
from colorizer.data.samples import HOLDOUT_PHOTOS, available
from colorizer.export.exporter import default_output, export_colorizer
from colorizer.inference.full_resolution import colorize_photo, image_lightness, model_input
from colorizer.model.network import load_colorizer as load_keras
from colorizer.model.network import scale_colour, temperature_of
from colorizer.runtimes.network import load_colorizer, predict_ab


@pytest.fixture(scope="module")
def held_out() -> list[np.ndarray]:
    return [read_rgb(path) for path in available(HOLDOUT_PHOTOS)]


def _largest_ab_difference(keras_model, exported, photos) -> float:
    worst = 0.0
    for photo in photos:
        lightness = model_input(image_lightness(photo))[None]
        hints = None
        if exported.info.takes_hints:  # a hint on each photo, where the network can see it
            hints = np.zeros(lightness.shape[:3] + (3,), np.float32)
            hints[0, 40:48, 60:68] = (0.4, -0.3, 1.0)
        difference = predict_ab(exported, lightness, hints) - predict_ab(keras_model, lightness,
                                                                         hints)
        worst = max(worst, float(np.abs(difference).max()))
    return worst


@pytest.mark.parametrize("name", ["regression.onnx", "regression.tflite",
                                  "regression_saved_model", "hints.onnx", "hints.tflite",
                                  "classification.onnx", "classification.tflite"])
def test_each_export_colours_held_out_photos_as_keras_does(exported, held_out, name):
    kind = name.split(".")[0].split("_")[0]
    keras_model = load_keras(exported[f"{kind}.keras"])
    model = load_colorizer(exported[name])
    assert _largest_ab_difference(keras_model, model, held_out) <= 1.0
    assert model.info.max_ab_difference <= 1.0  # and the export's own check said so
    # The whole photo path agrees too: full size, L kept, the same colours to a level or two.
    photo = held_out[0]
    with_keras = colorize_photo(keras_model, photo).astype(int)
    with_export = colorize_photo(model, photo).astype(int)
    assert np.abs(with_keras - with_export).max() <= 2


def test_colour_gain_and_temperature_travel_in_the_file(exported, held_out, tmp_path):
    vivid = scale_colour(load_keras(exported["regression.keras"]), 1.3)
    result = export_colorizer(vivid, "onnx", tmp_path / "vivid.onnx")
    assert result.info.colour_gain == pytest.approx(1.3)
    assert _largest_ab_difference(vivid, load_colorizer(result.path), held_out) <= 1.0

    classifier = load_keras(exported["classification.keras"])
    default = temperature_of(classifier)
    cold = export_colorizer(classifier, "litert", tmp_path / "cold.tflite", temperature=0.05)
    assert cold.info.temperature == pytest.approx(0.05)
    assert temperature_of(classifier) == pytest.approx(default)  # the model is left as it was
    lightness = model_input(image_lightness(held_out[1]))[None]
    cold_model = load_colorizer(cold.path)
    warm_model = load_colorizer(exported["classification.tflite"])
    assert np.abs(predict_ab(cold_model, lightness) - predict_ab(warm_model, lightness)).max() > 1
    from colorizer.model.network import set_temperature

    set_temperature(classifier, 0.05)
    assert np.abs(predict_ab(cold_model, lightness)
                  - predict_ab(classifier, lightness)).max() <= 1.0
    with pytest.raises(ValueError, match="exported with temperature 0.05, fixed in the file"):
        from colorizer.runtimes.network import set_temperature as set_any

        set_any(cold_model, 0.5)


def test_float16_litert_halves_the_file_and_stays_close(exported, held_out, tmp_path):
    keras_model = load_keras(exported["regression.keras"])
    half = export_colorizer(keras_model, "litert", tmp_path / "half.tflite", precision="float16")
    assert half.info.precision == "float16"
    assert os.path.getsize(half.path) < 0.6 * os.path.getsize(exported["regression.tflite"])
    assert _largest_ab_difference(keras_model, load_colorizer(half.path), held_out) <= 1.0
    with pytest.raises(ValueError, match="float16 for litert only"):
        export_colorizer(keras_model, "onnx", tmp_path / "x.onnx", precision="float16")


@pytest.fixture(scope="module")
def calibration_folder(held_out, tmp_path_factory) -> str:
    """Six photos: the held-out ones and their mirror images, as a user's folder."""
    from colorizer.inference.outputs import write_image

    folder = tmp_path_factory.mktemp("calibration")
    for index, photo in enumerate(held_out):
        write_image(str(folder / f"photo{index}.png"), photo)
        write_image(str(folder / f"mirrored{index}.jpg"), photo[:, ::-1])
    return str(folder)


@pytest.mark.parametrize("kind", ["regression", "hints"])
def test_int8_onnx_is_a_third_of_the_size_and_close_to_keras(exported, held_out, tmp_path,
                                                             calibration_folder, kind):
    keras_model = load_keras(exported[f"{kind}.keras"])
    result = export_colorizer(keras_model, "onnx", tmp_path / "small.onnx", precision="int8",
                              calibration=calibration_folder)
    info = result.info
    assert (info.precision, info.calibration_photos) == ("int8", 6)
    assert 0 < info.ab_rmse_difference <= 3.0 and info.max_ab_difference > 0
    assert os.path.getsize(result.path) < 0.4 * os.path.getsize(exported[f"{kind}.onnx"])
    model = load_colorizer(result.path)
    assert model.info == info
    for photo in held_out:  # the held-out photos, with a hint for a model that takes them
        lightness = model_input(image_lightness(photo))[None]
        hints = None
        if info.takes_hints:
            hints = np.zeros(lightness.shape[:3] + (3,), np.float32)
            hints[0, 40:48, 60:68] = (0.4, -0.3, 1.0)
        difference = predict_ab(model, lightness, hints) - predict_ab(keras_model, lightness,
                                                                     hints)
        assert 0 < np.sqrt(np.mean(difference ** 2)) <= 3.0


def test_int8_asks_for_photos_and_only_for_onnx(exported, tmp_path, calibration_folder):
    source = exported["regression.keras"]
    with pytest.raises(ValueError, match="int8 needs calibration photos"):
        export_colorizer(source, "onnx", tmp_path / "x.onnx", precision="int8")
    with pytest.raises(ValueError, match="int8 for onnx only"):
        export_colorizer(source, "litert", tmp_path / "x.tflite", precision="int8",
                         calibration=calibration_folder)
    with pytest.raises(ValueError, match="for --precision int8 only"):
        export_colorizer(source, "onnx", tmp_path / "x.onnx", calibration=calibration_folder)
    one = tmp_path / "one"
    one.mkdir()
    (one / "photo.png").write_bytes(open(os.path.join(calibration_folder, "photo0.png"),
                                         "rb").read())
    with pytest.raises(ValueError, match="at least 4 calibration photos"):
        export_colorizer(source, "onnx", tmp_path / "x.onnx", precision="int8",
                         calibration=str(one))
    assert sorted(os.listdir(tmp_path)) == ["one"]  # nothing half-written


def test_an_export_replaces_the_old_file_whole(exported, tmp_path):
    source = tmp_path / "best.keras"
    source.write_bytes(open(exported["hints.keras"], "rb").read())
    for fmt in ("onnx", "saved_model"):
        out = default_output(str(source), fmt)
        assert out == str(tmp_path / ("best.onnx" if fmt == "onnx" else "best_saved_model"))
        first = export_colorizer(str(source), fmt, check=False)  # the check is tested above
        second = export_colorizer(str(source), fmt)  # over the first, checked
        assert first.path == second.path == out
        assert load_colorizer(out).info.takes_hints
    assert sorted(os.listdir(tmp_path)) == ["best.keras", "best.onnx", "best_saved_model"]


def test_the_export_command_and_colorize_with_its_file(exported, tmp_path, capsys):
    source = tmp_path / "best.keras"
    source.write_bytes(open(exported["regression.keras"], "rb").read())
    assert main(["export", "--model", str(source), "--format", "onnx"]) == 0
    assert f"wrote {tmp_path / 'best.onnx'}: regression head, colour gain 1" in \
        capsys.readouterr().out
    photo = available(HOLDOUT_PHOTOS)[1]
    for model in ("best.keras", "best.onnx"):
        assert main(["colorize", "--model", str(tmp_path / model), "--out",
                     str(tmp_path / model.replace(".", "_")), photo]) == 0
    name = os.path.basename(photo)
    by_keras = read_rgb(str(tmp_path / "best_keras" / name)).astype(int)
    by_onnx = read_rgb(str(tmp_path / "best_onnx" / name)).astype(int)
    assert np.abs(by_keras - by_onnx).max() <= 2


@pytest.mark.parametrize("args, words", [
    (["--model", "README.md", "--format", "onnx"], "README.md is not a model file"),
    (["--model", "{regression.onnx}", "--format", "litert"], "is an exported onnx model "
                                                              "already; export the .keras"),
    (["--model", "{regression.keras}", "--format", "onnx", "--precision", "float16"],
     "float16 for litert only"),
    (["--model", "{regression.keras}", "--format", "onnx", "--precision", "int8"],
     "int8 needs calibration photos"),
    (["--model", "{regression.keras}", "--format", "litert", "--temperature", "0.3"],
     "only a colorizer with the classification head has a temperature"),
])
def test_the_export_command_refuses_wrong_input_in_one_line(exported, tmp_path, capsys, args,
                                                            words):
    args = [exported[arg[1:-1]] if arg.startswith("{") else arg for arg in args]
    assert main(["export", *args, "--out", str(tmp_path / "out.file")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("colorizer export: error: ")
    assert words in err and "Traceback" not in err and os.listdir(tmp_path) == []


@pytest.mark.backends
def test_a_model_in_memory_exports_on_either_backend(exported, held_out, tmp_path):
    """On JAX the file is written by TensorFlow in a process of its own, from the model as it
    is in memory, and checked against that model."""
    from colorizer.model.network import set_temperature

    classifier = load_keras(exported["classification.keras"])
    set_temperature(classifier, 0.1)
    result = export_colorizer(classifier, "onnx", tmp_path / "cold.onnx")
    assert result.info.temperature == pytest.approx(0.1) and result.info.head == "classification"
    assert _largest_ab_difference(classifier, load_colorizer(result.path), held_out) <= 1.0
    hints = export_colorizer(load_keras(exported["hints.keras"]), "litert", tmp_path / "h.tflite")
    assert hints.info.takes_hints and hints.info.max_ab_difference <= 1.0
