import csv
import json

import numpy as np
import pytest
from PIL import Image

from colorizer.cli import main
from colorizer.color import l_ab_to_rgb, rgb_to_l_ab
from colorizer.evaluation.semantic import semantic_hits
from colorizer.evaluation.stand_in import load_label_classifier, parse_labels


@pytest.fixture()
def tinted_folder(tmp_path, photos):
    """Crops of real photos in two "species" told apart by colour alone: each crop once with
    a warm tint ("cat") and once with a cold one ("dog"), the same lightness in both."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "tinted"
    folder.mkdir()
    rows = []
    for i in range(40):
        photo = photos[i % len(photos)]
        top = rng.integers(0, photo.shape[0] - 64)
        left = rng.integers(0, photo.shape[1] - 64)
        crop = photo[top:top + 64, left:left + 64].astype(np.float32) / 255.0
        lightness, _ = rgb_to_l_ab(crop)
        for species, tint in (("cat", (30.0, 40.0)), ("dog", (-20.0, -40.0))):
            ab = np.broadcast_to(np.float32(tint), lightness.shape[:-1] + (2,))
            rgb = np.clip(l_ab_to_rgb(lightness, ab) * 255 + 0.5, 0, 255).astype(np.uint8)
            name = f"{species}{i:02d}.png"
            Image.fromarray(rgb).save(folder / name)
            rows.append((name, "", species))
    with open(folder / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("file", "breed", "species"), *rows])
    return folder


def test_labels_of_the_classifier_decide_the_hits():
    hits = semantic_hits(np.array([0, 1, 1]), np.array([0, 1, 0]), ["", "", ""],
                         ["cat", "cat", ""], labels=("cat", "dog"))
    assert hits["species_hit"][:2].tolist() == [1.0, 0.0] and np.isnan(hits["species_hit"][2])
    assert parse_labels("cat, dog") == ["cat", "dog"]


def test_a_classifier_trained_on_colour_photos_tells_colour_from_gray(tinted_folder,
                                                                       tmp_path):
    from colorizer.fileio import save_model
    from colorizer.model.network import build_colorizer

    judge = tmp_path / "judge.keras"
    assert main(["train-classifier", "--data", str(tinted_folder), "--out", str(judge),
                 "--image-size", "32", "--epochs", "12"]) == 0
    saved = json.loads((tmp_path / "judge.keras.labels.json").read_text())
    assert saved["labels"] == ["cat", "dog"] and saved["train_photos"] > 40
    loaded = load_label_classifier(judge)
    assert loaded.labels == ("cat", "dog") and loaded.input_size == (32, 32)
    # A colorizer that paints nothing would score as gray; evaluate all the photos.
    colorizer = tmp_path / "colorizer.keras"
    save_model(build_colorizer(weights=None), colorizer)
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(colorizer), "--data", str(tinted_folder),
                 "--out", str(out), "--split", "all", "--image-size", "32",
                 "--classifier", str(judge), "--examples", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["classifier"]["labels"] == ["cat", "dog"]
    species = {row: summary["metrics"][row]["species_hit"]["mean"]
               for row in ("truth", "gray")}
    # Colour is all that tells the two apart: the truth is recognised, gray is a coin toss.
    assert species["truth"] >= 0.9 and species["gray"] <= 0.6
    with pytest.raises(ValueError, match="outputs but 3 labels"):
        load_label_classifier(judge, ["cat", "dog", "fox"])
