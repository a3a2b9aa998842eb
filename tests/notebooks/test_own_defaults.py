"""The notebooks as a user runs them, with their own defaults rather than CI's shrunk ones
(in a file of its own, so pytest-xdist runs it beside the other notebook tests)."""
import csv
import json
import os
import re

import nbformat
import pytest

from tests.notebooks.runner import run_notebook
from tests.notebooks.test_notebooks import NOTEBOOK_DIR, NOTEBOOKS


def _load(path):
    return nbformat.read(path, as_version=4)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_notebooks_02_03_04_with_their_own_defaults_on_a_small_prepared_dataset(
        tmp_path, monkeypatch):
    """The notebooks as a user runs them, not shrunk by CI: 02 with its defaults (224 px,
    batch 32, the regression head, the encoder frozen for its first FREEZE_ENCODER_EPOCHS
    epochs and then trained, STEPS_PER_EPOCH = 0) except the data (a few hundred photos
    prepared here as 01 prepares them), the number of epochs (one past the frozen ones) and
    the ImageNet weights (offline); then 03 and 04 on that run with their defaults (04 reads a
    folder: uploading needs Colab)."""
    from colorizer.data import samples
    from colorizer.data.prepare import prepare_dataset

    monkeypatch.delenv("CI", raising=False)  # the notebooks' own settings, not CI's
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' local scratch disk
    workspace = tmp_path / "runs" / "notebooks"
    photos = samples.export_samples(str(tmp_path / "photos"), crops_per_photo=22)
    index = prepare_dataset(photos, str(workspace / "shards" / "user-photos"))
    assert 200 <= index["images"] <= 300 and index["splits"]["train"]["images"] > 64
    defaults = {name: value for name, value in re.findall(
        r'^(\w+) = (.+?)\s+#@param', next(c.source for c in _load(NOTEBOOKS[1]).cells
                                          if "parameters" in c.metadata.get("tags", [])), re.M)}
    assert (defaults["IMAGE_SIZE"], defaults["BATCH_SIZE"], defaults["STEPS_PER_EPOCH"]) == (
        "224", "32", "0")
    frozen = int(defaults["FREEZE_ENCODER_EPOCHS"])
    assert frozen >= 1

    run_notebook(os.path.join(NOTEBOOK_DIR, "02_train.ipynb"),
                 {"DATASET_NAME": "user-photos", "EPOCHS": frozen + 1, "WEIGHTS": "none"},
                 cwd=str(tmp_path))
    run = workspace / "runs" / "densenet-regression"
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["steps_per_epoch"] is None
    assert (config["data"]["image_size"], config["data"]["batch_size"]) == (224, 32)
    # One full pass over the training photos per epoch (the log keeps each epoch's last step).
    with open(run / "batch_loss.csv", newline="") as f:
        logged = [(int(r["epoch"]), int(r["step"])) for r in csv.DictReader(f)]
    per_epoch = index["splits"]["train"]["images"] // 32
    assert logged == [(e, e * per_epoch) for e in range(1, frozen + 2)]

    run_notebook(os.path.join(NOTEBOOK_DIR, "03_evaluate.ipynb"),
                 {"DATASET_NAME": "user-photos", "CLASSIFIER_WEIGHTS": "none"},
                 cwd=str(tmp_path))
    summary = json.loads((workspace / "evaluations" / "densenet-regression-test" /
                          "summary.json").read_text())
    assert summary["images"] == index["splits"]["test"]["images"]

    mine = tmp_path / "my photos"
    mine.mkdir()
    for name in sorted(os.listdir(photos))[:3]:
        os.link(os.path.join(photos, name), mine / name)
    run_notebook(os.path.join(NOTEBOOK_DIR, "04_colorize.ipynb"),
                 {"INPUT": "drive folder", "DRIVE_FOLDER": str(mine)}, cwd=str(tmp_path))
    assert len(os.listdir(workspace / "colorized" / "my photos")) >= 3
