import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from colorizer.cli import main
from colorizer.data.images import read_rgb


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "colorizer", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=900)


def test_help_lists_every_command_and_is_fast():
    result = _cli("--help")
    assert result.returncode == 0
    for command in ("demo", "download", "prepare", "train", "evaluate", "colorize", "app"):
        assert command in result.stdout
    probe = subprocess.run([sys.executable, "-c",
                            "import sys; from colorizer.cli import build_parser; build_parser();"
                            "print('tensorflow' in sys.modules)"], capture_output=True, text=True)
    assert probe.stdout.strip() == "False"


@pytest.mark.parametrize("command", ["demo", "download", "prepare", "train", "evaluate",
                                     "colorize", "app"])
def test_each_command_has_help(command):
    result = _cli(command, "--help")
    assert result.returncode == 0 and "usage: colorizer " + command in result.stdout


def test_errors_are_one_clear_line(tmp_path, capsys):
    args = ["colorize", "--model", str(tmp_path / "none.keras"), "--out",
            str(tmp_path / "out"), str(tmp_path)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "model file not found" in err and "Traceback" not in err
    [line] = _error_lines(err, "colorize")
    # --verbose adds the traceback before the same line.
    assert main(["--verbose", *args]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert _error_lines(err, "colorize") == [line] and err.rstrip().endswith(line)


def _offline_env(tmp_path) -> dict:
    """Downloads go through a proxy on a closed loopback port, as behind a firewall; an
    empty Keras home, so no weights were downloaded before."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "all_proxy")}
    env.update(http_proxy=closed, https_proxy=closed, HTTP_PROXY=closed, HTTPS_PROXY=closed,
               KERAS_HOME=str(tmp_path / "keras-home"), CUDA_VISIBLE_DEVICES="")
    return env


def _error_lines(stderr: str, command: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"colorizer {command}:")]


@pytest.mark.slow
def test_offline_train_and_evaluate_fail_in_one_line_with_what_to_do(tmp_path, image_folder):
    from colorizer.fileio import save_model
    from colorizer.model.network import build_colorizer

    env = _offline_env(tmp_path)
    train = ["train", "--data", image_folder, "--run-dir", str(tmp_path / "run"),
             "--preset", "smoke", "--weights", "imagenet"]
    result = subprocess.run([sys.executable, "-m", "colorizer", *train], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    [line] = _error_lines(result.stderr, "train")
    assert "could not download the ImageNet weights of DenseNet121" in line
    assert "--weights none" in line and "_notop.h5" in line

    model = tmp_path / "model.keras"
    save_model(build_colorizer(weights=None), str(model))
    result = subprocess.run([sys.executable, "-m", "colorizer", "evaluate", "--model",
                             str(model), "--data", image_folder, "--out", str(tmp_path / "eval"),
                             "--image-size", "32", "--classifier", "vgg16",
                             "--classifier-weights", "imagenet"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    [line] = _error_lines(result.stderr, "evaluate")
    assert "ImageNet weights for vgg16 unavailable" in line
    assert "--classifier-weights FILE" in line and "--classifier auto or none" in line


@pytest.mark.slow
def test_short_demo_then_colorize_a_folder(tmp_path):
    out = tmp_path / "demo"
    result = _cli("demo", "--out", str(out), "--minutes", "0.3", "--crops", "6",
                  "--image-size", "32", "--batch-size", "8")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("model.keras", "history.csv", "loss.png", "before_after.png", "metrics.md",
                 "report.md", "report.json"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert set(report["metrics"]) == {"model", "gray"}
    assert "gray baseline" in (out / "report.md").read_text()
    colorized = sorted(os.listdir(out / "colorized"))
    assert len(colorized) == 3
    _check_demo_selection(out, report)

    # The demo model colorizes a folder with a corrupt file among good ones.
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.full((50, 70), 90, np.uint8)).save(photos / "gray.png")
    Image.fromarray(read_rgb(out / "colorized" / colorized[0])).save(photos / "color.jpg")
    (photos / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result = _cli("colorize", "--model", str(out / "model.keras"), "--out",
                  str(tmp_path / "out"), str(photos))
    assert result.returncode == 1
    assert "corrupt.jpg" in result.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["color.jpg", "gray.png", "manifest.jsonl"]
    assert read_rgb(tmp_path / "out" / "gray.png").shape == (50, 70, 3)


@pytest.mark.slow
def test_train_command_runs_and_resumes(tmp_path, photos):
    data = tmp_path / "photos"
    data.mkdir()
    for i in range(16):
        photo = photos[i % len(photos)]
        Image.fromarray(photo[i * 5:i * 5 + 120, i * 3:i * 3 + 140]).save(data / f"p{i:02d}.jpg")
    args = ["train", "--data", str(data), "--run-dir", str(tmp_path / "run"), "--preset", "smoke",
            "--image-size", "32", "--epochs", "1"]
    first = _cli(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "trained 1 epochs" in first.stdout
    second = _cli(*args[:-1], "2")  # same run folder, one more epoch: resumes
    assert second.returncode == 0, second.stderr[-3000:]
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["0", "1"]


def _check_demo_selection(out, report):
    """The shipped model is chosen and scaled on validation crops, never on the test."""
    import csv

    from colorizer.data.pipeline import make_dataset
    from colorizer.model.network import load_colorizer

    with open(out / "history.csv", newline="") as f:
        val_losses = [float(row["val_loss"]) for row in csv.DictReader(f)]
    assert report["selected_epoch"] == 1 + int(np.argmin(val_losses))
    # Validation crops come from the training photos only (their right quarter).
    val_stems = {name.rsplit("_", 1)[0] for name in os.listdir(out / "data" / "val")}
    test_stems = {name.rsplit("_", 1)[0] for name in os.listdir(out / "data" / "test")}
    assert val_stems and not val_stems & test_stems

    best, shipped = load_colorizer(out / "best.keras"), load_colorizer(out / "model.keras")
    lightness, truth = [], []
    for l_batch, ab_batch in make_dataset(str(out / "data" / "val"), batch_size=64,
                                          image_size=report["image_size"]):
        lightness.append(l_batch.numpy())
        truth.append(ab_batch.numpy())
    lightness, truth = np.concatenate(lightness), np.concatenate(truth).astype(np.float64)
    raw = best.predict(lightness, verbose=0).astype(np.float64)
    # Least squares by hand: the s in [0, 1] that minimises |s * raw - truth|^2.
    expected = min(max(float((raw * truth).sum() / (raw * raw).sum()), 0.0), 1.0)
    assert report["shrink"] == pytest.approx(expected, abs=2e-3)
    scaled = shipped.predict(lightness, verbose=0).astype(np.float64)
    np.testing.assert_allclose(scaled, expected * raw, atol=0.05 + 0.002 * np.abs(raw).max())
    # On validation the shipped model is never worse than gray (ab = 0).
    assert ((scaled - truth) ** 2).mean() <= (truth ** 2).mean() + 1e-6


def test_evaluate_on_a_folder_with_none_of_its_photos_in_test_says_to_use_split_all(
        tmp_path, photos, capsys):
    """Eight of a user's photos: the folder's path hash can put none in `test`; the error says
    so and how to evaluate them all."""
    from colorizer.data.splits import assign_split
    from colorizer.fileio import save_model
    from colorizer.model.network import build_colorizer

    names = [n for n in (f"IMG_{i:04d}.jpg" for i in range(200)) if assign_split(n) != "test"]
    folder = tmp_path / "my photos"
    folder.mkdir()
    for i, name in enumerate(names[:8]):
        Image.fromarray(photos[i % len(photos)]).resize((48, 40)).save(folder / name)
    model = tmp_path / "model.keras"
    save_model(build_colorizer(weights=None), str(model))
    args = ["evaluate", "--model", str(model), "--data", str(folder), "--out",
            str(tmp_path / "eval"), "--image-size", "32", "--classifier", "none"]
    assert main(args) == 1
    [line] = _error_lines(capsys.readouterr().err, "evaluate")
    assert f"none of the 8 images in {folder} falls in split 'test'" in line
    assert "--split all" in line  # which tests/evaluation/test_evaluate.py takes


def test_train_preset_sets_defaults_that_options_override():
    from colorizer.cli import build_parser
    from colorizer.cli.commands.train import settings

    def parsed(*options):
        return settings(build_parser().parse_args(
            ["train", "--data", "photos", "--run-dir", "run", *options]))

    budget = parsed("--preset", "budget")
    assert budget.model.head == "regression" and budget.model.weights is None
    assert budget.train.schedule == "cosine" and budget.train.max_minutes == 30.0
    assert budget.train.tune_colour and budget.data.image_size == 128
    mine = parsed("--preset", "budget", "--max-minutes", "10", "--head", "classification",
                  "--schedule", "constant", "--image-size", "96", "--tune-colour", "off",
                  "--weights", "imagenet")
    assert (mine.train.max_minutes, mine.model.head, mine.train.schedule) == (
        10.0, "classification", "constant")
    assert mine.data.image_size == 96 and not mine.train.tune_colour
    assert mine.model.weights == "imagenet"
    paper = parsed()
    assert paper.model.head == "regression" and paper.model.temperature == 0.38
    assert paper.train.schedule == "constant" and paper.data.image_size == 224
