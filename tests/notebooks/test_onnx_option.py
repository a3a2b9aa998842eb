"""Notebook 04's MODEL_FILE = "best.onnx", taken as a user takes it: the file 02 exports,
run by ONNX Runtime through the notebook's own cells (in a file of its own, so pytest-xdist
runs it beside the other notebook tests)."""
import json
import os

import pytest

from tests.notebooks.runner import run_notebook
from tests.notebooks.test_notebooks import NOTEBOOK_DIR

COLORIZE = os.path.join(NOTEBOOK_DIR, "04_colorize.ipynb")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_colorize_notebook_with_the_onnx_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    run_notebook(COLORIZE, {"MODEL_FILE": "best.onnx"}, cwd=str(tmp_path))
    run = tmp_path / "runs" / "notebooks" / "runs" / "ci-regression"
    assert (run / "best.onnx").is_file()
    manifests = list((tmp_path / "runs" / "notebooks").rglob("manifest.jsonl"))
    assert manifests
    entries = [json.loads(line) for line in manifests[0].read_text().splitlines()]
    assert entries and all(entry["status"] == "ok" for entry in entries)
    assert any(entry["frames"] for entry in entries)  # the film went through it too
