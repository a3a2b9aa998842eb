"""The tools behind CI's Colab environments: constraints made from Colab's package lists
(constraints/refresh.py) and the before/after check of the notebooks' install
(.ci/colab_env.py). CI itself runs the check in each environment it builds."""
import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


refresh = _load("constraints/refresh.py", "refresh")
colab_env = _load(".ci/colab_env.py", "colab_env")


def test_a_freeze_list_becomes_pins_leaving_out_what_an_index_cannot_serve(tmp_path):
    freeze = tmp_path / "pip-freeze.tpu.txt"
    freeze.write_text("# generated\nkeras==3.13.2\nh5py==3.16.0\n"
                      "google-colab @ file:///colabtools/dist/google_colab-1.0.0.tar.gz\n"
                      "-e git+https://github.com/x/y@abc#egg=y\nabsl-py==1.4.0\n")
    out = tmp_path / "colab-tpu.txt"
    assert refresh.write_constraints(str(freeze), str(out), runtime="2026.08 TPU runtime",
                                     python="3.13") == 3
    python, pins = colab_env.read_constraints(str(out))
    assert python == "3.13"
    assert pins == {"absl-py": "1.4.0", "h5py": "3.16.0", "keras": "3.13.2"}
    header = out.read_text().split("absl-py")[0]
    assert "2026.08 TPU runtime" in header and "google-colab" in header


@pytest.mark.parametrize("name, python, pinned", [
    ("colab-gpu.txt", "3.13", {"tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3"}),
    ("colab-tpu.txt", "3.13", {"keras": "3.13.2", "jax": "0.7.2", "h5py": "3.16.0"}),
    ("colab-gpu-oldest.txt", "3.12", {"tensorflow": "2.19.0", "keras": "3.10.0"}),
])
def test_the_committed_constraints_hold_each_runtimes_versions(name, python, pinned):
    found_python, pins = colab_env.read_constraints(os.path.join(ROOT, "constraints", name))
    assert found_python == python
    assert {k: pins.get(k) for k in pinned} == pinned
    if name == "colab-tpu.txt":
        assert "tensorflow" not in pins and "gradio" not in pins


def test_setup_cfg_promises_no_version_below_the_oldest_runtime_tested():
    """Each lowest version declared is the oldest Colab runtime's (or lower than nothing it
    has): what setup.cfg promises, CI runs."""
    import configparser
    import re

    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, "setup.cfg"))
    python, pins = colab_env.read_constraints(
        os.path.join(ROOT, "constraints", "colab-gpu-oldest.txt"))
    assert setup["options"]["python_requires"] == f">={python}"
    declared = [setup["options"]["install_requires"]] + [
        setup["options.extras_require"][extra] for extra in ("tensorflow", "jax", "app")]
    floors = colab_env.unpinned_floors(pins)
    for line in "\n".join(declared).split():
        name, minimum = re.match(r"([\w-]+)(?:\[\w+\])?>=([\d.]+)$", line).groups()
        if colab_env.canonical(name) not in pins:  # Colab lacks it: CI starts from its minimum
            assert f"{name}=={minimum}" in floors
            continue
        have = pins[colab_env.canonical(name)]
        as_tuple = [tuple(int(p) for p in v.split(".")[:3]) for v in (minimum, have)]
        assert as_tuple[0] <= as_tuple[1], f"{name}>={minimum}: the oldest runtime has {have}"
        assert have.startswith(minimum), f"{name}>={minimum} is below what is tested ({have})"


def test_changed_packages_names_each_replaced_or_removed_one():
    before = {"h5py": "3.16.0", "keras": "3.13.2", "protobuf": "7.35.1", "setuptools": "75.2.0"}
    after = {"h5py": "3.15.1", "keras": "3.13.2", "tensorflow-cpu": "2.21.0",
             "setuptools": "80.0.0"}
    assert colab_env.changed_packages(before, after) == ["h5py 3.16.0 -> 3.15.1",
                                                         "protobuf 7.35.1 -> removed"]


def test_install_lines_are_the_notebooks_own_pointed_at_this_checkout():
    first = colab_env.install_lines(os.path.join(ROOT, "notebooks", "02_train.ipynb"))
    assert "from colorizer" not in first and "import colorizer" not in first
    assert 'if IN_COLAB:' in first and "%pip install -q -c" in first
    assert f"@ file://{ROOT}" in first and "github.com" not in first.split("%pip")[-1]
    app = colab_env.install_lines(os.path.join(ROOT, "notebooks", "04_colorize.ipynb"),
                                  "from colorizer.app import launch")
    assert app.startswith("%pip install -q -c ") and "colorizer[app,{EXTRA}]" in app
    assert len(app.splitlines()) == 1
    with open(os.path.join(ROOT, "notebooks", "04_colorize.ipynb"), encoding="utf-8") as f:
        assert json.load(f)["nbformat"] == 4
