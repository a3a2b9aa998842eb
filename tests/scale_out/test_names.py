"""Output names of a Beam run are the names ``colorize`` gives: a folder's structure below it,
a single file's own name, a glob's path below its fixed part, hashes where two collide."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from colorizer.batches.inputs import collect_sources
from colorizer.scale_out.names import (
    has_wildcards,
    listed,
    listing_pattern,
    pattern_base,
    relative_output,
    unique_outputs,
)


@pytest.mark.parametrize("pattern, base", [
    ("gs://archive/scans/**", "gs://archive/scans/"),
    ("gs://archive/scans/19*/*.tif", "gs://archive/scans/"),
    ("/data/a.jpg", "/data/"),
    ("a.jpg", ""),
    ("scans/page[0-9].png", "scans/"),
    ("s3://b/x?.jpg", "s3://b/"),
])
def test_the_base_is_the_folder_before_the_first_wildcard(pattern, base):
    assert pattern_base(pattern) == base


def test_a_folder_is_listed_recursively_and_named_below_itself():
    glob = listing_pattern("gs://archive/scans/", is_folder=True)
    assert glob == "gs://archive/scans/**" and has_wildcards(glob)
    base = pattern_base(glob)
    assert relative_output("gs://archive/scans/1931/a.tif", base) == "1931/a.tif.png"
    assert relative_output("gs://archive/scans/b.JPG", base) == "b.JPG"
    assert not has_wildcards("gs://archive/scans/a.jpg")


def test_hidden_files_and_other_kinds_are_not_inputs_of_a_listing():
    base = "/data/"
    assert listed("/data/x/a.png", base)
    assert listed("/data/film.mp4", base)  # a film is an input (and refused by name later)
    assert not listed("/data/.tmp-1a2b.jpg", base)  # an interrupted write
    assert not listed("/data/.cache/a.jpg", base)
    assert not listed("/data/notes.txt", base)


def test_names_match_what_colorize_gives_the_same_files(tmp_path):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    for name in ("a/x.jpg", "a/sub/y.tif", "a/Z.png", "b/x.JPG", "b/w.bmp"):
        (tmp_path / name).write_bytes(b"")
    patterns = [str(tmp_path / "a"), str(tmp_path / "b")]
    expected = {s.location: s.output for s in collect_sources(patterns)}
    found = []
    for pattern in patterns:
        glob = listing_pattern(pattern, is_folder=True)
        base = pattern_base(glob)
        for location in sorted(expected):
            if location.startswith(base) and listed(location, base):
                found.append((location, relative_output(location, base)))
    groups: dict[str, list] = {}
    for location, output in found:
        groups.setdefault(output.lower(), []).append((location, output))
    named = dict(pair for group in groups.values() for pair in unique_outputs(group))
    assert named == expected
    assert named[str(tmp_path / "a" / "x.jpg")] != "x.jpg"  # x.jpg and x.JPG collide: hashed
    assert named[str(tmp_path / "a" / "sub" / "y.tif")] == "sub/y.tif.png"


def test_runner_without_beam_says_how_to_install_it(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\x08\x07")  # named and shaped like ONNX: no backend is chosen
    child = ("import sys; sys.modules['apache_beam'] = None  # as if Beam were not installed\n"
             "from colorizer.cli import main\n"
             f"sys.exit(main(['colorize', '--runner', 'direct', '--model', {str(model)!r}, "
             f"'--out', {str(tmp_path / 'out')!r}, {str(tmp_path)!r}]))")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": root}, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        'colorizer colorize: error: --runner needs Apache Beam: pip install "colorizer[beam]"')
    assert not (tmp_path / "out").exists()
