"""Checks the committed notebooks' form; nbval executes them (see setup.cfg's addopts)."""
import glob
import os
import re

import nbformat
import pytest

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
    guard = first_code.index("if IN_COLAB:")
    assert guard < install, "the pip install must sit under the Colab guard"
    assert "google.colab" in first_code and "mount_drive()" in first_code
    assert "-e" not in first_code.split(), "an editable install is not importable until restart"
    assert notebook.metadata.get("accelerator") == "GPU"


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
