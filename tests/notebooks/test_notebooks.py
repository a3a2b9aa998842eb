"""Checks the committed notebooks' form; nbval executes them (see setup.cfg's addopts)."""
import csv
import glob
import json
import os
import re

import nbformat
import pytest

from tests.backends import BACKEND
from tests.notebooks.runner import run_notebook

NOTEBOOK_DIR = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "notebooks")
NOTEBOOKS = sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))
EXPECTED = ["01_download_data.ipynb", "02_train.ipynb", "03_evaluate.ipynb", "04_colorize.ipynb"]


def _load(path):
    return nbformat.read(path, as_version=4)


def test_the_four_notebooks_exist_in_order():
    assert [os.path.basename(p) for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_committed_without_outputs(path):
    for cell in _load(path).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{os.path.basename(path)} has outputs"
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_opens_with_a_colab_badge_to_itself(path):
    first = _load(path).cells[0]
    assert first.cell_type == "markdown"
    link = re.search(r"colab\.research\.google\.com/github/\S+?/notebooks/([\w.]+)\)", first.source)
    assert link and link.group(1) == os.path.basename(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_first_code_cell_installs_only_inside_colab(path):
    notebook = _load(path)
    first_code = next(c for c in notebook.cells if c.cell_type == "code").source
    install = first_code.index("pip")
    guard = first_code.index("if IN_COLAB")  # "if IN_COLAB:" or "if IN_COLAB and ON_TPU:"
    assert guard < install, "the pip install must sit under the Colab guard"
    assert "google.colab" in first_code and "mount_drive()" in first_code
    assert "-e" not in first_code.split(), "an editable install is not importable until restart"
    # 01 downloads and prepares: a CPU runtime is enough; the others ask for a GPU.
    wanted = None if os.path.basename(path).startswith("01") else "GPU"
    assert notebook.metadata.get("accelerator") == wanted
    assert (notebook.metadata.get("colab", {}).get("gpuType") == "T4") == (wanted == "GPU")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_has_a_tagged_form_of_parameters_and_a_ci_switch(path):
    cells = _load(path).cells
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "#@param" in tagged[0].source
    assert any("if CI:" in c.source for c in cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_colab_only_calls_are_guarded(path):
    for cell in _load(path).cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            if "google.colab" in line and "import" in line:
                assert line.startswith((" ", "\t")), f"unguarded Colab import: {line}"


def _install_block(path):
    """The first code cell's install part: from IN_COLAB's definition to its %pip line."""
    first_code = next(c for c in _load(path).cells if c.cell_type == "code").source
    start = first_code.index('IN_COLAB = "google.colab" in sys.modules')
    return first_code[start:first_code.index("\n", first_code.index("%pip install", start))]


def test_every_notebook_installs_the_same_way():
    """One install story for every notebook on every runtime (CI runs 02's in each Colab
    environment: .ci/colab_env.py), so a user may open any of them first, on a GPU or TPU."""
    blocks = {os.path.basename(p): _install_block(p) for p in NOTEBOOKS}
    assert len(set(blocks.values())) == 1, blocks


def test_colab_install_holds_the_runtimes_packages_and_adds_tensorflow_only_where_missing():
    import configparser

    setup = configparser.ConfigParser()
    setup.read(os.path.join(NOTEBOOK_DIR, os.pardir, "setup.cfg"))
    block = _install_block(NOTEBOOKS[1])
    install = re.findall(r"%pip install -q (.*)", block)
    assert len(install) == 1
    # Every installed package is a constraint: pip may add, never replace one of Colab's.
    held = re.search(r'open\("([^"]+)", "w"\)', block).group(1)
    assert install[0].startswith(f"-c {held} ") and "distributions()" in block
    # TensorFlow is an extra: the full build on GPU runtimes, its CPU build on a TPU runtime
    # (JAX trains there); so pip never reports TensorFlow missing next to tensorflow-cpu.
    assert 'EXTRA = "tpu" if ON_TPU else "tensorflow"' in block
    assert '"colorizer[{EXTRA}] @ git+' in install[0]
    extras = setup["options.extras_require"]
    required = setup["options"]["install_requires"]
    assert "tensorflow" not in required
    assert re.findall(r"^(tensorflow[\w-]*)", extras["tensorflow"], re.M) == ["tensorflow"]
    assert re.findall(r"^(tensorflow[\w-]*)", extras["tpu"], re.M) == ["tensorflow-cpu"]
    # 04's web app installs Gradio (which TPU runtimes lack) the same way.
    app_cell = next(c.source for c in _load(NOTEBOOKS[3]).cells
                    if "from colorizer.app import launch" in c.source)
    assert f'%pip install -q -c {held} "colorizer[app,{{EXTRA}}] @ git+' in app_cell
    assert "gradio" in extras["app"]


def test_install_cell_uses_pip_magic_and_shows_pip_errors():
    for path in NOTEBOOKS:
        first_code = next(c for c in _load(path).cells if c.cell_type == "code").source
        assert "%pip install -q" in first_code and "subprocess" not in first_code
        assert "--quiet" not in first_code  # -q keeps pip's errors; it hides progress only


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_first_section_says_what_it_needs_and_a_cell_checks_the_runtime(path):
    cells = _load(path).cells
    intro = cells[0].source
    assert "What it needs and what to expect" in intro and "**Runtime:" in intro
    assert "Drive space:" in intro
    needs = "cpu" if os.path.basename(path).startswith("01") else "gpu"
    assert any(f'runtime_report(needs="{needs}")' in c.source for c in cells
               if c.cell_type == "code")
    if needs == "gpu":
        assert "T4 GPU" in intro


def test_repository_links_are_written_in_one_place(tmp_path, monkeypatch):
    import shutil

    from colorizer import repository

    root = os.path.join(NOTEBOOK_DIR, os.pardir)
    for path in repository.linked_files(root):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        found = repository.links(text)
        assert found, f"{path} links to no repository"
        assert repository.in_step(text) == text, (
            f"{os.path.basename(path)} points elsewhere than {repository.REPOSITORY}@"
            f"{repository.REF}: run python -m colorizer.repository")
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert repository.install_spec() in readme
    for name in EXPECTED:
        assert repository.colab_url(name) in readme
    # Publishing elsewhere: change the two constants, sync, and every link follows.
    copy = tmp_path / "copy"
    (copy / "notebooks").mkdir(parents=True)
    shutil.copy(os.path.join(root, "README.md"), copy)
    (copy / "docs").mkdir()
    shutil.copy(os.path.join(root, "docs", "notebooks.md"), copy / "docs")
    for path in NOTEBOOKS:
        shutil.copy(path, copy / "notebooks")
    monkeypatch.setattr(repository, "REPOSITORY", "someone/colour-fork")
    monkeypatch.setattr(repository, "REF", "v1.2")
    assert len(repository.sync(str(copy))) == 2 + len(NOTEBOOKS)
    readme = (copy / "README.md").read_text(encoding="utf-8")
    assert "colorizer-dev" not in readme and "@main" not in readme
    assert 'git+https://github.com/someone/colour-fork@v1.2"' in readme
    page = (copy / "docs" / "notebooks.md").read_text(encoding="utf-8")
    assert "colorizer-dev" not in page
    for name in EXPECTED:
        assert f"github/someone/colour-fork/blob/v1.2/notebooks/{name})" in page
    for name in EXPECTED:
        notebook = nbformat.read(str(copy / "notebooks" / name), as_version=4)
        assert "colorizer-dev" not in json.dumps(notebook)
        first = notebook.cells[0].source
        assert f"github/someone/colour-fork/blob/v1.2/notebooks/{name})" in first
        setup = next(c for c in notebook.cells if c.cell_type == "code").source
        assert 'COLORIZER_REPOSITORY = "someone/colour-fork"' in setup
        assert 'COLORIZER_REF = "v1.2"' in setup


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_train_notebook_with_the_classification_head_on_shards_of_full_epochs(
        tmp_path, monkeypatch):
    """02 as a user runs it with HEAD = "classification", PRESET = "budget" and the default
    STEPS_PER_EPOCH = 0: TFRecord shards, epochs of one full pass, per-epoch samples, two epochs
    in the loss log, the budget's schedule."""
    import tensorflow as tf

    from colorizer.data import records

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's local scratch disk
    run_notebook(os.path.join(NOTEBOOK_DIR, "02_train.ipynb"), {"HEAD": "classification", "PRESET": "budget"}, cwd=str(tmp_path))
    workspace = tmp_path / "runs" / "notebooks"
    run = workspace / "runs" / "ci-classification"
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["head"] == "classification"
    assert config["train"]["steps_per_epoch"] is None
    assert config["train"]["schedule"] == "cosine" and config["train"]["tune_colour"]
    # The backend of this test run (KERAS_BACKEND reaches the kernel), augmenting on the device.
    assert config["backend"] == BACKEND and config["data"]["augment_on"] == "device"
    # Every training record once per epoch, in batches of 4 (CI's batch), over 2 epochs.
    shards = records.find_shards(str(workspace / "shards" / "ci-samples"), "train")
    per_epoch = sum(1 for _ in tf.data.TFRecordDataset(shards)) // 4
    with open(run / "batch_loss.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, 2 * per_epoch + 1))
    assert [int(r["epoch"]) for r in rows] == [1] * per_epoch + [2] * per_epoch
    assert sorted(os.listdir(run / "samples")) == ["epoch_001.png", "epoch_002.png"]

