"""Evaluation on a machine that cannot download VGG16's weights, and the weights look-up."""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
import time

import keras
import pytest
from PIL import Image

from colorizer.cli import main
from colorizer.errors import WeightsUnavailableError
from colorizer.evaluation.evaluate import evaluate
from colorizer.fileio import save_model
from colorizer.model import pretrained
from colorizer.model.network import build_colorizer
from tests.loopback import loopback  # noqa: F401  (fixture)


def _dead_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def offline(tmp_path, monkeypatch):
    """An empty Keras cache, and the weights' download site at an address that refuses."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv(pretrained.URL_ENVIRONMENT, f"http://127.0.0.1:{_dead_port()}/")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    save_model(build_colorizer(weights=None), path)
    return path


@pytest.fixture()
def folder(tmp_path, photos):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, photo in enumerate(photos[:3]):
        Image.fromarray(photo).resize((40, 32)).save(folder / f"p{i}.png")
    return folder


def test_default_evaluation_offline_computes_everything_else_with_one_warning(
        tmp_path, offline, folder, model_file, caplog):
    with caplog.at_level(logging.WARNING):
        summary = evaluate(str(model_file), folder, tmp_path / "eval", split=None,
                           image_size=32, progress=False)
    assert summary["images"] == 3
    assert summary["settings"]["classifier"] is None
    for metric in ("ab_rmse", "psnr", "ssim", "auc_rebalanced", "colorfulness"):
        assert summary["metrics"]["model"][metric]["n"] == 3
    assert "agreement" not in summary["metrics"]["model"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
                and r.name.startswith("colorizer")]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "semantic metric skipped" in warnings[0] and "--classifier-weights FILE" in warnings[0]
    assert "--classifier-weights FILE" in (tmp_path / "eval" / "summary.md").read_text()
    assert (tmp_path / "eval" / "metrics.csv").is_file()


def test_explicit_vgg16_offline_fails_fast_in_one_line(tmp_path, offline, folder, model_file,
                                                       capsys):
    out = tmp_path / "eval"
    started = time.monotonic()
    status = main(["evaluate", "--model", str(model_file), "--data", str(folder), "--out",
                   str(out), "--split", "all", "--classifier", "vgg16", "--image-size", "32"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "ImageNet weights for vgg16 unavailable" in err and "--classifier-weights FILE" in err
    assert not out.exists()  # stopped before loading the model or reading any photo
    assert elapsed < 10


def test_weights_found_in_the_cache_or_at_the_download_site(tmp_path, monkeypatch, loopback):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(pretrained.URL_ENVIRONMENT, f"http://127.0.0.1:{_dead_port()}/")
    available, reason = pretrained.imagenet_weights_available("vgg16")
    assert not available and "cannot be reached" in reason
    with pytest.raises(WeightsUnavailableError, match="unavailable"):
        pretrained.imagenet_weights("vgg16")

    relative = pretrained.IMAGENET_WEIGHTS["vgg16"][0]
    loopback.add("/mirror/" + relative, b"h5 bytes")
    monkeypatch.setenv(pretrained.URL_ENVIRONMENT, loopback.url("/mirror/"))
    assert pretrained.imagenet_weights_available("vgg16") == (
        True, f"downloadable from {loopback.url('/mirror/' + relative)}")

    cached = tmp_path / "home" / "models" / relative.split("/")[-1]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    monkeypatch.setitem(pretrained.IMAGENET_WEIGHTS, "vgg16",
                        (relative, hashlib.md5(b"weights").hexdigest()))
    assert pretrained.imagenet_weights("vgg16") == str(cached)
    # The mirror lacks DenseNet's file: a 404 is "unavailable", not "downloadable".
    available, reason = pretrained.imagenet_weights_available("densenet121_notop")
    assert not available and reason.endswith("answered HTTP 404")


def test_a_cut_download_never_counts_as_cached_and_is_fetched_again(tmp_path, monkeypatch,
                                                                    loopback):
    """A small stand-in for VGG16's file, with its MD5, served by a real HTTP server."""
    body = bytes(range(256)) * 1200  # 300 KB
    relative = "vgg16/stand_in_weights.h5"
    route = "/mirror/" + relative
    monkeypatch.setitem(pretrained.IMAGENET_WEIGHTS, "vgg16",
                        (relative, hashlib.md5(body).hexdigest()))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(pretrained.URL_ENVIRONMENT, loopback.url("/mirror/"))
    models = tmp_path / "home" / "models"
    cached = models / "stand_in_weights.h5"

    # The connection drops a third of the way: the call fails, nothing sits under the name.
    loopback.add(route, body, truncate=100_000)
    with pytest.raises(WeightsUnavailableError, match="failed"):
        pretrained.imagenet_weights("vgg16")
    assert not cached.exists() and os.listdir(models / pretrained.PARTIAL_DIR) == []

    loopback.add(route, body)
    assert pretrained.imagenet_weights("vgg16") == str(cached)
    assert cached.read_bytes() == body
    hits = loopback.hits[route]
    assert pretrained.imagenet_weights("vgg16") == str(cached)  # verified: no new request
    assert loopback.hits[route] == hits

    # A truncated file under the real name (a download killed by an older version, or by
    # Keras's own get_file) is not cached weights: it is fetched again and replaced.
    cached.write_bytes(body[:4096])
    available, reason = pretrained.imagenet_weights_available("vgg16")
    assert available and reason.startswith("downloadable from")
    assert pretrained.imagenet_weights("vgg16") == str(cached)
    assert cached.read_bytes() == body and loopback.hits[route] > hits

    # What a download killed with SIGKILL leaves behind is removed by the next download.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    leftover = models / pretrained.PARTIAL_DIR / f"stand_in_weights.h5.{dead}"
    leftover.write_bytes(body[:5000])
    cached.unlink()
    assert pretrained.imagenet_weights("vgg16") == str(cached)
    assert not leftover.exists() and cached.read_bytes() == body
