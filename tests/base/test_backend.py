"""Choosing the Keras backend, and one clear line where a runtime lacks what a backend needs."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from colorizer.backend import BackendError, choose_backend, use_backend
from tests.backends import BACKEND

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Makes `tensorflow` look uninstalled, as on Colab's TPU runtimes: a finder ahead of all
# others that refuses it.
NO_TENSORFLOW = """
import sys
class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoTensorFlow())
"""


def _env(tmp_path, block_tensorflow=False, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "COLAB_TPU_ADDR", "TPU_NAME")}
    path = [ROOT]
    if block_tensorflow:
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(NO_TENSORFLOW)
        path.insert(0, str(site))
    env.update(PYTHONPATH=os.pathsep.join(path), TF_CPP_MIN_LOG_LEVEL="3", **extra)
    return env


def _python(code, env):
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)


def test_auto_takes_the_environment_else_jax_on_a_tpu_else_tensorflow(tmp_path):
    code = "from colorizer.backend import choose_backend; print(choose_backend('auto'))"
    assert _python(code, _env(tmp_path)).stdout.strip() == "tensorflow"
    on_tpu = _env(tmp_path, COLAB_TPU_ADDR="10.0.0.2:8470")
    assert _python(code, on_tpu).stdout.strip() == "jax"
    assert _python(code, {**on_tpu, "KERAS_BACKEND": "tensorflow"}).stdout.strip() == "tensorflow"
    with pytest.raises(BackendError, match="choose one of auto, tensorflow, jax"):
        choose_backend("torch")


def test_a_backend_cannot_change_once_keras_runs():
    import keras

    assert use_backend("auto") == keras.backend.backend() == BACKEND
    other = "jax" if BACKEND == "tensorflow" else "tensorflow"
    with pytest.raises(BackendError, match=f"already running on {BACKEND}.*Restart session"):
        use_backend(other)


def _colorizer(args, env):
    return subprocess.run([sys.executable, "-m", "colorizer", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _error_lines(done) -> list[str]:
    return [line for line in done.stderr.splitlines() if "error" in line.lower()]


def test_a_tpu_runtime_without_tensorflow_gets_one_line_with_the_fix(tmp_path):
    env = _env(tmp_path, block_tensorflow=True, COLAB_TPU_ADDR="10.0.0.2:8470")
    args = ["train", "--data", str(tmp_path), "--run-dir", str(tmp_path / "run")]
    # TensorFlow asked for where there is none.
    done = _colorizer(["--backend", "tensorflow", *args], env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = _error_lines(done)
    assert "--backend jax" in line and "pip install tensorflow-cpu" in line
    # JAX (auto on a TPU): the model runs, but the input pipeline needs TensorFlow.
    done = _colorizer(args, env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = _error_lines(done)
    assert "input pipeline" in line and "pip install tensorflow-cpu" in line


def test_colorizing_on_jax_needs_no_tensorflow(tmp_path, photos):
    """Inference is pure Keras: a JAX-only runtime colorizes without TensorFlow installed."""
    from PIL import Image

    Image.fromarray(photos[0]).save(tmp_path / "photo.png")
    make = ("import keras\nkeras.utils.set_random_seed(0)\n"
            "from colorizer.model.network import build_colorizer\n"
            f"build_colorizer(None, decoder_filters=(8, 8, 8)).save({str(tmp_path / 'm.keras')!r})")
    env = _env(tmp_path, block_tensorflow=True)
    made = _python(make, {**env, "KERAS_BACKEND": "jax"})
    assert made.returncode == 0, made.stderr[-2000:]
    done = _colorizer(["--backend", "jax", "colorize", "--model", str(tmp_path / "m.keras"),
                       "--out", str(tmp_path / "out"), str(tmp_path / "photo.png")], env)
    assert done.returncode == 0, done.stderr[-3000:]
    with Image.open(tmp_path / "out" / "photo.png") as out:
        assert out.size == Image.fromarray(photos[0]).size


@pytest.mark.parametrize("name", ["01_download_data", "02_train", "03_evaluate",
                                  "04_colorize"])
def test_the_notebooks_look_for_the_same_tpu_signs_as_the_package(monkeypatch, name):
    """Each notebook decides "TPU" (what to install) before colorizer is installed, so it
    repeats the check inline."""
    import json

    from colorizer import backend

    notebook = json.loads(open(os.path.join(ROOT, "notebooks", f"{name}.ipynb")).read())
    first = "".join(next(c for c in notebook["cells"] if c["cell_type"] == "code")["source"])
    check = first[first.index("ON_TPU = "):first.index("\n", first.index("/dev/vfio/0"))]
    for env in ({}, {"COLAB_TPU_ADDR": "10.0.0.2:8470"}, {"TPU_NAME": "v5e"}):
        for name in ("COLAB_TPU_ADDR", "TPU_NAME"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        scope = {"os": os}
        exec(check, scope)
        assert scope["ON_TPU"] == backend.tpu_attached() == bool(env)
