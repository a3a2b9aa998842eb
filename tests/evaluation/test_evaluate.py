"""End-to-end evaluation: every output, labels from CSV and shards, reproducibility, the CLI."""
import csv
import io
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colorizer.cli import main
from colorizer.data import records
from colorizer.evaluation.dataset import make_eval_dataset
from colorizer.evaluation.evaluate import evaluate
from colorizer.evaluation.semantic import load_classifier
from colorizer.fileio import save_model
from colorizer.model.network import build_colorizer

NAMES = ["Persian_1.png", "beagle_2.jpg", "Bengal_3.png", "street.png", "havanese_9.png"]


@pytest.fixture(scope="module")
def colorizer_model():
    keras.utils.set_random_seed(0)
    return build_colorizer(weights=None)


def tiny_classifier():
    """GlobalAveragePooling + Dense(1000): red-dominant images -> 281 (a cat), blue -> 151."""
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(1000, activation="softmax")])
    kernel = np.zeros((3, 1000), np.float32)
    kernel[:, 281] = (10.0, 0.0, 0.0)
    kernel[:, 151] = (0.0, 0.0, 10.0)
    model.layers[-1].set_weights([kernel, np.zeros(1000, np.float32)])
    return model


@pytest.fixture()
def labelled_folder(tmp_path, photos):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, photo in zip(NAMES, photos):
        Image.fromarray(photo).resize((48, 40)).save(folder / name)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (folder / "labels.csv").write_text("file,breed,species\nstreet.png,,dog\n"
                                       "Persian_1.png,Persian,cat\n")
    return folder


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_evaluate_writes_every_output_and_is_reproducible(tmp_path, labelled_folder,
                                                          colorizer_model):
    runs = [evaluate(colorizer_model, labelled_folder, tmp_path / f"eval{i}",
                     classifier=tiny_classifier(), classifier_preprocess="unit",
                     image_size=32, batch_size=2, split=None, progress=False)
            for i in range(2)]
    out = tmp_path / "eval0"
    for name in ("metrics.csv", "summary.json", "summary.md", "figures/accuracy_curve.png",
                 "figures/l2_histogram.png", "figures/examples_l2_distance.png",
                 "figures/examples_ssim.png", "figures/examples_auc_rebalanced.png",
                 "figures/examples_colorfulness_gap.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert len(os.listdir(out / "colorized")) == 5
    assert not [f for f in os.listdir(out) if f.startswith(".tmp")]  # atomic writes
    assert [s["file"].endswith("corrupt.jpg") for s in runs[0]["skipped"]] == [True]

    # Same model, same data: the same numbers, to the last digit.
    assert (out / "metrics.csv").read_text() == (tmp_path / "eval1" / "metrics.csv").read_text()
    assert runs[0]["metrics"] == runs[1]["metrics"]

    rows = _csv(out / "metrics.csv")
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == set(NAMES)
    assert by_name["Persian_1.png"]["breed"] == "persian"  # from labels.csv
    assert by_name["beagle_2.jpg"]["species"] == "dog"  # from the Pet file name
    assert by_name["street.png"]["breed"] == "" and by_name["street.png"]["species"] == "dog"
    for row in rows:  # the gray row is what the ground truth alone implies
        assert float(row["gray_colorfulness"]) == 0.0
        assert float(row["gray_out_of_gamut"]) == 0.0 == float(row["truth_out_of_gamut"])
        assert float(row["gray_colorfulness_gap"]) == pytest.approx(
            float(row["truth_colorfulness"]))
        assert int(row["truth_top1"]) in (151, 281)  # the classifier really ran
        if row["name"] == "havanese_9.png":  # a breed without an ImageNet class
            assert row["model_breed_hit"] == "" and row["model_species_hit"] in ("0.0", "1.0")

    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 5
    gray, truth = summary["metrics"]["gray"], summary["metrics"]["truth"]
    assert gray["colorfulness_gap"]["mean"] == pytest.approx(truth["colorfulness"]["mean"])
    assert gray["breed_hit"]["n"] == 2  # Persian and beagle have ImageNet classes
    assert summary["metrics"]["model"]["species_hit"]["n"] == 5  # every image has a species
    curve = summary["accuracy_curve"]
    assert len(curve["model"]) == 151 and curve["gray_rebalanced"][-1] == pytest.approx(1.0)
    report = (out / "summary.md").read_text()
    assert "gray baseline (ab = 0)" in report and "ground truth" in report
    assert "cat-vs-dog accuracy" in report and "figures/accuracy_curve.png" in report


def _write_shard(path, photos, labels):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, (photo, (breed, species)) in enumerate(zip(photos, labels)):
            buffer = io.BytesIO()
            Image.fromarray(photo).resize((40, 36)).save(buffer, format="PNG")
            writer.write(records.serialize_example(buffer.getvalue(), name=f"{path.stem}-{i}.png",
                                                   label=breed, species=species))


def test_shards_carry_names_and_labels_and_auto_picks_the_test_split(tmp_path, photos):
    folder = tmp_path / "prepared"
    folder.mkdir()
    _write_shard(folder / records.shard_name("train", 0, 1), photos[:2],
                 [("beagle", "dog")] * 2)
    _write_shard(folder / records.shard_name("test", 0, 2), photos[2:4],
                 [("Siamese", "cat"), ("", "")])
    _write_shard(folder / records.shard_name("test", 1, 2), photos[4:5], [("pug", "dog")])
    batches = list(make_eval_dataset(str(folder), image_size=32, batch_size=2))
    names = [n.decode() for _, _, info in batches for n in info["name"].numpy()]
    breeds = [b.decode() for _, _, info in batches for b in info["breed"].numpy()]
    assert names == ["test-00000-of-00002-0.png", "test-00000-of-00002-1.png",
                     "test-00001-of-00002-0.png"]
    assert breeds == ["Siamese", "", "pug"]
    assert batches[0][0].shape == (2, 32, 32, 1) and batches[0][1].shape == (2, 32, 32, 2)
    everything = make_eval_dataset(str(folder), image_size=32, batch_size=8, split=None)
    assert sum(len(l) for l, _, _ in everything) == 5
    limited = make_eval_dataset(str(folder), image_size=32, batch_size=8, limit=2)
    assert sum(len(l) for l, _, _ in limited) == 2


def test_a_tiny_classifier_passed_in_works(photos):
    classifier = load_classifier(tiny_classifier(), preprocess="unit")
    assert classifier.input_size == (32, 32)  # read from the model
    red, blue = np.zeros((2, 48, 40, 3), np.float32), np.zeros((2, 48, 40, 3), np.float32)
    red[..., 0], blue[..., 2] = 0.9, 0.9
    np.testing.assert_array_equal(classifier.top1(np.concatenate([red, blue])),
                                  [281, 281, 151, 151])  # resized to 32x32 first
    assert load_classifier("none") is None and load_classifier(None) is None
    with pytest.raises(FileNotFoundError, match="VGG16"):
        load_classifier("vgg16", weights="/nowhere/vgg16.h5")
    with pytest.raises(ValueError, match="unknown classifier"):
        load_classifier("resnet")


def test_evaluate_accepts_an_l_ab_dataset(tmp_path, colorizer_model, image_folder):
    from colorizer.data.pipeline import make_dataset

    ds = make_dataset(image_folder, batch_size=3, image_size=32)
    summary = evaluate(colorizer_model, ds, tmp_path / "eval", classifier=None, limit=3,
                       examples=1, progress=False)
    assert summary["images"] == 3 and "breed_hit" not in summary["metrics"]["model"]
    assert summary["settings"]["image_size"] == [32, 32]  # read from the data
    assert "Skipped: no classifier" in (tmp_path / "eval" / "summary.md").read_text()
    assert [r["name"] for r in _csv(tmp_path / "eval" / "metrics.csv")] == [
        "image-00000", "image-00001", "image-00002"]


@pytest.mark.slow
def test_cli_evaluate_end_to_end_with_vgg16(tmp_path, labelled_folder, colorizer_model, capsys):
    model_file = tmp_path / "model.keras"
    save_model(colorizer_model, model_file)
    out = tmp_path / "eval"
    status = main(["evaluate", "--model", str(model_file), "--data", str(labelled_folder),
                   "--out", str(out), "--classifier-weights", "none", "--image-size", "32",
                   "--limit", "3", "--examples", "1", "--split", "all", "--classifier", "vgg16"])
    captured = capsys.readouterr()
    assert status == 1 and "corrupt.jpg" in captured.err  # reported, the rest evaluated
    assert "report:" in captured.out
    for name in ("metrics.csv", "summary.json", "summary.md", "figures/accuracy_curve.png",
                 "figures/l2_histogram.png", "figures/examples_ssim.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 3
    assert summary["settings"]["classifier"]["name"] == "vgg16"
    assert "Random weights" in (out / "summary.md").read_text()
    assert main(["evaluate", "--model", str(model_file), "--data", str(labelled_folder),
                 "--out", str(out), "--classifier-weights", str(tmp_path / "no.h5"),
                 "--split", "all"]) == 1
    assert "weights file not found" in capsys.readouterr().err


def test_cli_help_lists_evaluate(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: colorizer evaluate" in text and "--classifier-weights" in text


def _label_maps(folder):
    """An Oxford-IIIT Pet trimap (8-bit gray, values 1-3) and a palette mask (VOC style)."""
    trimaps = folder / "annotations" / "trimaps"
    trimaps.mkdir(parents=True)
    trimap = np.full((40, 48), 2, np.uint8)
    trimap[10:30, 12:36] = 1
    trimap[9, :] = 3
    Image.fromarray(trimap).save(trimaps / "Bengal_3.png")
    mask = Image.fromarray(np.where(trimap == 1, 5, 0).astype(np.uint8), mode="L").convert("P")
    mask.save(folder / "annotations" / "mask.png")


def test_a_folder_is_evaluated_on_the_split_training_holds_out(tmp_path, photos,
                                                                colorizer_model):
    from colorizer.data.prepare import prepare_dataset

    root = tmp_path / "pets"  # the layout of `colorizer download` + `prepare`
    images = root / "images"
    images.mkdir(parents=True)
    for i in range(40):
        Image.fromarray(photos[i % len(photos)][i:i + 48, i:i + 56]).save(images / f"{i}.png")
    gray_photo = np.linspace(0, 255, 40 * 48).reshape(40, 48).astype(np.uint8)
    Image.fromarray(gray_photo).save(images / "gray_photo.png")  # a real (gray) photo
    _label_maps(root)
    # What training holds out: the test shards `colorizer prepare` writes from the same photos.
    index = prepare_dataset(images, root / "shards", short_side=40, progress=False)
    held_out = {r["image/name"].numpy().decode()
                for r in _records(records.find_shards(str(root / "shards"), "test"))}
    assert 0 < len(held_out) < 41

    summary = evaluate(colorizer_model, images, tmp_path / "eval", classifier=None,
                       image_size=32, progress=False)
    assert {row["name"] for row in _csv(tmp_path / "eval" / "metrics.csv")} == held_out
    assert summary["settings"]["split"] == "test"
    assert summary["settings"]["data_used"].startswith(f"the test split of {images}")

    # The dataset folder itself: read from the prepared shards it holds, test split.
    summary = evaluate(colorizer_model, root, tmp_path / "eval_root", classifier=None,
                       image_size=32, progress=False)
    assert summary["images"] == index["splits"]["test"]["images"] == len(held_out)
    assert summary["settings"]["data_used"].startswith(f"the test split of {root / 'shards'}")

    # Every image of the dataset's photo folders: photos only, never its label maps.
    (root / "shards").rename(tmp_path / "shards")
    everything = make_eval_dataset(str(root), image_size=32, split=None)
    names = {n.decode() for _, _, info in everything for n in info["name"].numpy()}
    assert len(names) == 41 and "images/gray_photo.png" in names
    assert not [n for n in names if n.startswith("annotations/")]


def test_label_maps_are_told_from_photos(tmp_path, photos):
    from colorizer.data.label_maps import is_label_map

    _label_maps(tmp_path)
    Image.fromarray(photos[0]).save(tmp_path / "photo.png")
    Image.fromarray(photos[0]).convert("L").save(tmp_path / "gray.jpg")
    Image.fromarray(photos[1]).quantize(64).save(tmp_path / "palette_photo.png")
    assert is_label_map(tmp_path / "annotations" / "trimaps" / "Bengal_3.png")
    assert is_label_map(tmp_path / "annotations" / "mask.png")
    for name in ("photo.png", "gray.jpg", "palette_photo.png"):
        assert not is_label_map(tmp_path / name), name


def _records(files):
    return [records.parse_example(r) for r in tf.data.TFRecordDataset(files)]
