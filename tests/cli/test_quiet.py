"""The command line is quiet: no TensorFlow C++ log lines on stderr unless ``--verbose``."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
from PIL import Image

from colorizer.cli.quiet import captured_stderr_fd, is_tensorflow_log_line

# Lines TensorFlow 2.21 prints on a CPU machine (copied from a real run's stderr).
TF_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795939816.508884   10101 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1795939816.529386   10101 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "E0000 00:00:1795939832.237311   10259 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
]


def _noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if is_tensorflow_log_line(line) or "cuInit" in line or "oneDNN" in line]


def _prepare(tmp_path, *flags):
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), np.uint8)).save(
        images / "a.png")
    env = {**os.environ}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the user's shell has not set it
    return subprocess.run([sys.executable, "-m", "colorizer", *flags, "prepare", "--images",
                           str(images), "--out", str(tmp_path / f"shards{len(flags)}"),
                           "--short-side", "32", "--quiet"],
                          capture_output=True, text=True, env=env, timeout=300)


def test_the_log_line_pattern():
    assert all(is_tensorflow_log_line(line) for line in TF_LINES)
    for line in ("colorizer prepare: error: no images found in x", "INFO colorizer: done",
                 "UserWarning: something the user should see", ""):
        assert not is_tensorflow_log_line(line)


def test_captured_stderr_catches_what_cpp_writes_to_the_descriptor():
    with captured_stderr_fd() as lines:
        os.write(2, b"I0000 00:00:1.5   7 port.cc:1] from C\nplain text\n")
    assert lines == ["I0000 00:00:1.5   7 port.cc:1] from C", "plain text"]


def test_a_real_command_is_quiet_and_verbose_shows_everything(tmp_path):
    quiet = _prepare(tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "1 photos" in quiet.stdout
    assert _noise(quiet.stderr) == [], quiet.stderr

    # The quickest path through TensorFlow's import: a folder without photos, one error line.
    (tmp_path / "empty").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    verbose = subprocess.run([sys.executable, "-m", "colorizer", "--verbose", "prepare",
                              "--images", str(tmp_path / "empty"), "--out",
                              str(tmp_path / "none")],
                             capture_output=True, text=True, env=env, timeout=300)
    assert verbose.returncode == 1 and "no images found" in verbose.stderr
    if platform.machine().lower() in ("x86_64", "amd64") and os.environ.get(
            "TF_ENABLE_ONEDNN_OPTS") != "0":
        # TensorFlow announces oneDNN on every x86 machine: --verbose must let it through.
        assert any("oneDNN" in line for line in _noise(verbose.stderr)), verbose.stderr
