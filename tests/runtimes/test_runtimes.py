"""Exported colorizers run where only ``colorizer[onnx,litert]`` is installed: photos, hints
and films through the same code as Keras models, no TensorFlow, JAX or Keras imported, and
wrong files refused in one line. CI runs this file in such an environment too (``-m runtime``,
``COLORIZER_RUNTIME_ONLY=1``); in the full one a child process blocks the three imports."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from colorizer.data.samples import available, export_sample_film
from colorizer.runtimes.files import NotAModelError
from colorizer.runtimes.metadata import NotAColorizerError
from colorizer.runtimes.network import head_of, load_colorizer, model_inputs, takes_hints

pytestmark = pytest.mark.runtime
FRAMEWORKS = ("tensorflow", "keras", "jax")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME_ONLY = bool(os.environ.get("COLORIZER_RUNTIME_ONLY"))
"""Set by CI in its environment of ``colorizer[onnx,litert]`` alone."""


def test_this_environment_is_what_it_claims():
    installed = [name for name in FRAMEWORKS if importlib.util.find_spec(name) is not None]
    if RUNTIME_ONLY:
        assert installed == [], f"the runtime-only environment has {installed}"
    else:  # the full environment: the child processes below must block them
        assert installed, "no framework installed: set COLORIZER_RUNTIME_ONLY=1"


@pytest.mark.parametrize("name", ["regression.onnx", "regression.tflite", "hints.onnx",
                                  "hints.tflite", "classification.onnx",
                                  "classification.tflite", "hints-int8.onnx"])
def test_each_export_loads_says_what_it_is_and_takes_any_working_size(exported, name):
    model = load_colorizer(exported[name])
    kind = name.split(".")[0].split("-")[0]
    assert model.info.precision == ("int8" if "int8" in name else "float32")
    assert head_of(model) == ("classification" if kind == "classification" else "regression")
    assert takes_hints(model) == (kind == "hints")
    rng = np.random.default_rng(0)
    for shape in ((2, 64, 96, 1), (1, 96, 32, 1)):
        lightness = rng.uniform(0, 100, shape).astype(np.float32)
        ab = model.predict_on_batch(model_inputs(model, lightness))
        assert ab.shape == shape[:3] + (2,) and ab.dtype == np.float32
        assert np.isfinite(ab).all() and np.abs(ab).max() <= 128
        assert np.ptp(ab) > 0.1  # a colour that varies, not a constant
    if kind == "hints":  # the hints reach the network: a hinted colour moves it there
        hints = np.zeros((1, 64, 96, 3), np.float32)
        hints[0, 20:30, 40:50] = (0.5, -0.4, 1.0)
        lightness = rng.uniform(0, 100, (1, 64, 96, 1)).astype(np.float32)
        plain = model.predict_on_batch(model_inputs(model, lightness))
        hinted = model.predict_on_batch(model_inputs(model, lightness, hints))
        assert np.abs(hinted - plain).max() > 0.05


@pytest.mark.parametrize("name, error, words", [
    ("truncated.onnx", ValueError, "is not a readable ONNX model"),
    ("classifier.onnx", NotAColorizerError, "not one `colorizer export` wrote"),
    ("other_inputs.onnx", NotAColorizerError, "takes image (?, 64, 64, 3); a colorizer takes "
                                              "L (N, H, W, 1)"),
])
def test_a_wrong_model_file_says_what_it_is(exported, name, error, words):
    with pytest.raises(error) as caught:
        load_colorizer(exported[name])
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_files_that_are_no_model_say_what_they_are(tmp_path, exported):
    photo = tmp_path / "photo.onnx"
    photo.write_bytes(open(available()[0], "rb").read())
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(os.urandom(64))
    (tmp_path / "folder").mkdir()
    for path, words in ((photo, "image, not a model"), (empty, "is empty"),
                        (junk, "named like a litert model but does not hold one"),
                        (tmp_path / "folder", "folder without saved_model.pb")):
        with pytest.raises(NotAModelError, match="expected a colorizer model") as caught:
            load_colorizer(path)
        assert words in str(caught.value)
    with pytest.raises(FileNotFoundError):
        load_colorizer(tmp_path / "missing.onnx")


CHILD = """
import importlib.abc, json, sys
FRAMEWORKS = {frameworks!r}
class Refuse(importlib.abc.MetaPathFinder):
    # A framework that is installed is refused, as if it were not: the code under test must
    # not reach for it.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FRAMEWORKS:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Refuse())
from colorizer.cli import main
status = main(sys.argv[1:])
import colorizer
model = colorizer.load_colorizer({model!r})
rgb = colorizer.colorize(model, colorizer.read_rgb({photo!r}),
                         hints={{"points": [{{"x": 5, "y": 5, "color": "#2266cc"}}]}})
print(json.dumps({{"status": status, "shape": list(rgb.shape),
                  "imported": [m for m in FRAMEWORKS if m in sys.modules]}}))
"""


@pytest.mark.parametrize("name", ["hints.onnx", "regression.tflite", "hints-int8.onnx"])
def test_photos_hints_and_a_film_colorize_without_any_framework(exported, tmp_path, name):
    photo = available()[0]
    film = export_sample_film(str(tmp_path / "film.mp4"), frames=12)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"points": [{"x": 10, "y": 8, "color": "#cc3322"}]}))
    out = tmp_path / "out"
    script = CHILD.format(frameworks=FRAMEWORKS, model=exported[name], photo=photo)
    done = subprocess.run(
        [sys.executable, "-c", script, "colorize", "--model", exported[name], "--out", str(out),
         "--hints", str(hints), photo, film], capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == 0 and report["imported"] == []
    assert report["shape"][2] == 3
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [line["status"] for line in lines] == ["ok", "ok"]
    assert lines[1]["frames"] == 12 and lines[0]["hints"]["points"] == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["truncated.onnx", "classifier.onnx"])
def test_the_command_line_names_a_wrong_model_in_one_line(exported, tmp_path, name):
    done = subprocess.run(
        [sys.executable, "-m", "colorizer", "colorize", "--model", exported[name], "--out",
         str(tmp_path / "out"), available()[0]], capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("colorizer ")]
    assert len(errors) == 1 and name in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # nothing started before the model was refused
