"""``colorizer colorize --runner direct`` on Beam's DirectRunner, two worker processes, over a
few hundred generated photos with bad ones among them: every output byte for byte what
``colorize`` writes, every input in the manifest once, the bad ones in the failures output, a
rerun that writes nothing, and a run killed midway that a rerun completes with every output
whole. CI runs this file in an environment of ``colorizer[beam,onnx]`` (apache-beam's pins
stay out of the Colab ones); elsewhere it is skipped with that reason."""
from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("apache_beam", reason="needs colorizer[beam]; CI runs it in .venv-beam")

from colorizer.batches.batch import colorize_inputs
from colorizer.runtimes.network import load_colorizer
from tests.bombs import zero_png

pytestmark = pytest.mark.beam
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RENDER = "128"
PHOTOS = 240
WORKERS = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]


def _photo(rng, height, width, channels):
    noise = rng.random((height // 4 + 2, width // 4 + 2, channels)) * 255
    photo = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(photo, 0, 255).astype(np.uint8).reshape(height, width, channels)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> dict:
    """Two folders and a glob's worth of photos in five formats, sizes from strips to wide,
    8 and 16 bits, gray and colour; bad files among them; two photos whose names collide."""
    root = tmp_path_factory.mktemp("archive")
    rng = np.random.default_rng(7)
    first, second, loose = root / "first", root / "second", root / "loose"
    for folder in (first / "1931" / "june", first / "1932", second, loose):
        folder.mkdir(parents=True)
    folders = [first, first / "1931", first / "1931" / "june", first / "1932", second]
    for i in range(PHOTOS):
        height, width = int(rng.integers(24, 120)), int(rng.integers(24, 120))
        photo = _photo(rng, height, width, 1 if i % 3 else 3)
        folder = folders[i % len(folders)]
        kind = ("jpg", "png", "bmp", "tif", "png16")[i % 5]
        if kind == "png16":
            wide = (photo.astype(np.uint16) * 257 + rng.integers(0, 200, photo.shape)).astype(
                np.uint16)
            cv2.imwrite(str(folder / f"p{i}.png"), wide)
        else:
            cv2.imwrite(str(folder / f"p{i}.{kind}"), photo)
    for i in range(12):  # the glob's photos: loose/*.png
        cv2.imwrite(str(loose / f"l{i}.png"), _photo(rng, 40, 56, 3))
    cv2.imwrite(str(loose / "skip.jpg"), _photo(rng, 40, 56, 3))  # not matched by *.png
    cv2.imwrite(str(second / "p0.jpg"), _photo(rng, 50, 60, 1))  # collides with first/p0.jpg
    bad = {
        first / "corrupt.jpg": b"\xff\xd8\xff\xe0 not really a JPEG " * 10,
        first / "1932" / "empty.png": b"",
        second / "notes.jpg": b"meeting at noon\n",
    }
    for path, data in bad.items():
        path.write_bytes(data)
    truncated = (first / "1931" / "p1.png").read_bytes()
    (first / "1931" / "truncated.png").write_bytes(truncated[:len(truncated) // 2])
    zero_png(first / "bomb.png", 20000, 20000)  # 400 MP in a few hundred KB
    cv2.imwrite(str(second / "strip.png"), _photo(rng, 1, 600, 3))  # thin, but a photo
    (first / ".hidden.jpg").write_bytes((first / "p0.jpg").read_bytes())
    patterns = [str(first), str(second), str(loose / "*.png")]
    # The shell expands the glob for colorize; Beam lists it itself.
    inputs = [str(first), str(second)] + sorted(glob.glob(str(loose / "*.png")))
    return {"root": root, "patterns": patterns, "inputs": inputs,
            "good": PHOTOS + 12 + 2,  # with second/p0.jpg and the strip
            "bad": {str(p) for p in bad} | {str(first / "1931" / "truncated.png"),
                                            str(first / "bomb.png")}}


@pytest.fixture(scope="module")
def reference(archive, exported) -> dict:
    """What ``colorize`` writes for the same inputs, with the same exported model."""
    out = archive["root"] / "reference"
    manifest = colorize_inputs(load_colorizer(exported["regression.onnx"]), archive["inputs"],
                               out, render_size=int(RENDER), progress=False)
    return {"out": out, "entries": {e.input: e for e in manifest.entries}}


def _beam(archive, exported, out, *extra, wait=True):
    command = [sys.executable, "-m", "colorizer", "colorize", "--runner", "direct",
               "--model", exported["regression.onnx"], "--out", str(out),
               "--render-size", RENDER, *archive["patterns"], *WORKERS, *extra]
    env = {**os.environ, "PYTHONPATH": ROOT}
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                          check=False)  # its status is asserted by the tests


def _outputs(folder) -> dict[str, bytes]:
    """Every photo under ``folder`` by relative name (not the manifests, leases or hidden
    temporary files)."""
    found = {}
    for path in glob.glob(os.path.join(folder, "**", "*"), recursive=True):
        name = os.path.relpath(path, folder)
        if os.path.isfile(path) and not name.endswith((".jsonl", ".json")) and \
                not any(part.startswith(".") for part in name.split(os.sep)):
            with open(path, "rb") as file:
                found[name] = file.read()
    return found


def _jsonl(path) -> list[dict]:
    with open(path) as file:
        return [json.loads(line) for line in file]


@pytest.fixture(scope="module")
def first_run(archive, exported, reference):
    out = archive["root"] / "beam"
    result = _beam(archive, exported, out)
    return {"out": out, "result": result}


def test_outputs_are_byte_for_byte_those_of_colorize(first_run, reference, archive):
    beam, expected = _outputs(first_run["out"]), _outputs(reference["out"])
    assert len(expected) == archive["good"]  # not loose/skip.jpg, the bad ones, .hidden.jpg
    assert sorted(beam) == sorted(expected)
    different = [name for name in expected if beam[name] != expected[name]]
    assert different == []
    assert {"p0-" in name for name in beam if name.startswith("p0")} == {True}  # hashed apart


def test_every_input_is_in_the_manifest_once_and_the_bad_ones_in_failures(
        first_run, reference, archive):
    result = first_run["result"]
    assert result.returncode == 1, result.stderr  # some inputs failed, as for colorize
    entries = _jsonl(first_run["out"] / "manifest.jsonl")
    inputs = [e["input"] for e in entries]
    assert len(inputs) == len(set(inputs))
    assert set(inputs) == set(reference["entries"])
    for entry in entries:
        expected = reference["entries"][entry["input"]]
        assert (entry["status"], entry["output"]) == (expected.status, expected.output)
        if entry["status"] == "ok":
            assert (entry["width"], entry["height"]) == (expected.width, expected.height)
    failures = {e["input"]: e["reason"] for e in _jsonl(first_run["out"] / "failures.jsonl")}
    assert set(failures) == archive["bad"]
    assert all(failures[path] == reference["entries"][path].reason for path in failures)
    assert "over the cap of 50 MP" in failures[str(archive["root"] / "first" / "bomb.png")]
    done = archive["good"]
    assert (f"colorized {done}, skipped 0 (already done), failed {len(archive['bad'])} of "
            f"{done + len(archive['bad'])} inputs") in result.stdout
    named = {line for line in result.stderr.splitlines() if line.startswith("failed: ")}
    assert named == {f"failed: {path}: {reason}" for path, reason in failures.items()}


def test_a_rerun_writes_nothing_and_says_what_it_skipped(first_run, archive, exported):
    out = first_run["out"]
    before = {path: os.stat(path).st_mtime_ns for path in glob.glob(f"{out}/**/*.*",
                                                                      recursive=True)
              if not path.endswith(".jsonl")}
    result = _beam(archive, exported, out)
    done = archive["good"]
    assert f"colorized 0, skipped {done} (already done), failed {len(archive['bad'])}" in \
        result.stdout, result.stderr
    after = {path: os.stat(path).st_mtime_ns for path in before}
    assert after == before
    statuses = [e["status"] for e in _jsonl(out / "manifest.jsonl")]
    assert statuses.count("skipped") == done and statuses.count("ok") == 0


def test_a_run_killed_midway_is_completed_by_a_rerun_with_every_output_whole(
        archive, exported, reference, tmp_path):
    out = tmp_path / "killed"
    process = _beam(archive, exported, out, "--direct_num_workers=2", wait=False)
    expected = _outputs(reference["out"])
    deadline = time.monotonic() + 300
    while len(_outputs(out)) < 20 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = _outputs(out)
    assert 0 < len(partial) < len(expected), "the run was not stopped midway"
    assert [name for name in partial if partial[name] != expected[name]] == []  # whole
    result = _beam(archive, exported, out)
    assert f"skipped {len(partial)} (already done)" in result.stdout, result.stderr
    assert _outputs(out) == expected


def test_flags_it_cannot_honour_are_refused_in_one_line(archive, exported, tmp_path):
    hints = tmp_path / "hints.json"
    hints.write_text('{"points": []}')
    for extra, words in ((["--compare"], "--compare is not offered with --runner"),
                         (["--hints", str(hints)], "--hints is not offered with --runner"),
                         (["--projet=p"], "unrecognized arguments: --projet"),
                         (["--project", "p"], "write Beam's flags as --name=value")):
        result = _beam(archive, exported, tmp_path / "refused", *extra)
        assert result.returncode == 1
        lines = [line for line in result.stderr.splitlines() if "colorizer colorize" in line]
        assert len(lines) == 1 and words in lines[0], result.stderr
    assert not (tmp_path / "refused").exists()  # refused before any work


def test_patterns_that_name_nothing_or_no_file_system_fail_alone(archive, exported, tmp_path):
    from colorizer.scale_out.pipeline import colorize_on_beam

    out = tmp_path / "out"
    patterns = [str(archive["root"] / "loose" / "l1.png"), str(archive["root"] / "nothing"),
                str(archive["root"] / "loose" / "*.gif"), "https://example.org/a.jpg"]
    result = colorize_on_beam(patterns, str(out), exported["regression.onnx"],
                              render_size=int(RENDER), beam_args=["--direct_num_workers=1"])
    assert result.counts == {"ok": 1, "skipped": 0, "failed": 3}
    reasons = {e["input"]: e["reason"] for e in _jsonl(result.failures)}
    assert reasons == {patterns[1]: "no such file or folder",
                       patterns[2]: "matches no photo",
                       patterns[3]: "http(s) links are fetched by `colorizer colorize` without "
                                    "--runner; a Beam run reads file patterns"}
    assert os.path.isfile(out / "l1.png")


def test_batches_hold_at_most_the_pixel_budget_and_the_batch_size():
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that

    from colorizer.scale_out import handler

    limits = handler.ColorizerModelHandler("model.onnx", batch_size=4).batch_elements_kwargs()
    assert limits["max_batch_size"] == 4
    pixels = [30_000_000, 20_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000,
              40_000_000, 9_000_000]
    examples = [handler.WorkingInput(np.zeros((2, 2, 1), np.float32), n) for n in pixels]

    def check(batches):
        assert sorted(n for batch in batches for n in (e.pixels for e in batch)) == \
            sorted(pixels)
        for batch in batches:
            assert len(batch) <= 4
            if handler._WEIGHED_BATCHES and len(batch) > 1:
                assert sum(e.pixels for e in batch) <= handler.MAX_BATCH_PIXELS

    with TestPipeline() as pipeline:
        batches = (pipeline | beam.Create(examples, reshuffle=False)
                   | beam.BatchElements(**limits))
        assert_that(batches, check)


def test_a_file_over_the_read_cap_is_refused_without_reading_it_all(tmp_path):
    from colorizer.data.images import ImageReadError
    from colorizer.scale_out.storage import read_capped

    path = tmp_path / "huge.jpg"
    path.write_bytes(b"\xff" * 5000)
    assert read_capped(str(path), 5000) == b"\xff" * 5000
    with pytest.raises(ImageReadError, match="huge.jpg: larger than 4,999 bytes"):
        read_capped(str(path), 4999)
