"""Notebook 02's HINTS form option, taken as a user takes it (in a file of its own, so
pytest-xdist runs it beside the other notebook tests)."""
import json
import os
import re

import nbformat
import pytest

from tests.backends import BACKEND
from tests.notebooks.runner import run_notebook
from tests.notebooks.test_notebooks import NOTEBOOK_DIR

TRAIN = os.path.join(NOTEBOOK_DIR, "02_train.ipynb")


def _form():
    cells = nbformat.read(TRAIN, as_version=4).cells
    return next(c.source for c in cells if "parameters" in c.metadata.get("tags", []))


def test_the_form_offers_hints_and_the_hints_preset():
    form = _form()
    assert re.search(r'^HINTS = "none"  #@param \["none", "simulated"\]$', form, re.M)
    assert re.search(r'^PRESET = "paper"  #@param \[.*"budget-hints".*\]$', form, re.M)


@pytest.mark.slow
@pytest.mark.backends
@pytest.mark.timeout(900)
def test_train_notebook_with_simulated_hints(tmp_path, monkeypatch):
    """02 with HINTS = "simulated" (CI's shrunk run): the run folder records the hints and
    its best model takes them."""
    from colorizer.model.network import load_colorizer, takes_hints

    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's local scratch disk
    run_notebook(TRAIN, {"HINTS": "simulated"}, cwd=str(tmp_path))
    run = tmp_path / "runs" / "notebooks" / "runs" / "ci-regression-hints"
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["hints"] == "simulated" and config["backend"] == BACKEND
    assert config["data"]["augment_on"] == "device"
    assert takes_hints(load_colorizer(run / "best.keras"))
    assert sorted(os.listdir(run / "samples")) == ["epoch_001.png", "epoch_002.png"]
