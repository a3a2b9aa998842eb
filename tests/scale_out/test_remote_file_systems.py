"""A Beam run whose inputs, outputs and model live on a file system other than the local one,
as on Dataflow (``gs://``): the patterns listed and named through Beam's file systems, the
model copied to the worker's disk once, each output written under a temporary name and renamed
(the path for file systems that are not object stores), the manifest written there too. The
file system here is a folder behind a scheme of its own, registered with Beam, so the run needs
no network; it runs in this process (Beam's in-memory DirectRunner), where the scheme exists."""
from __future__ import annotations

import os
import posixpath
import shutil

import cv2
import numpy as np
import pytest

pytest.importorskip("apache_beam", reason="needs colorizer[beam]; CI runs it in .venv-beam")

from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.localfilesystem import LocalFileSystem

from colorizer.batches.batch import colorize_inputs
from colorizer.runtimes.network import load_colorizer
from colorizer.scale_out.pipeline import colorize_on_beam

pytestmark = pytest.mark.beam
SCHEME = "testfolder"


class FolderFileSystem(LocalFileSystem):
    """``testfolder://a/b`` is ``FolderFileSystem.root/a/b``: a remote file system to Beam.
    Each call is translated and handed to a local file system of its own (calling the parent's
    methods directly would translate twice where they call each other)."""

    root = ""

    def __init__(self, pipeline_options=None):
        super().__init__(pipeline_options)
        self.disk = LocalFileSystem(pipeline_options)

    @classmethod
    def scheme(cls):
        return SCHEME

    def _local(self, path: str) -> str:
        return os.path.join(self.root, path[len(SCHEME) + 3:])

    def _remote(self, found: FileMetadata) -> FileMetadata:
        path = f"{SCHEME}://" + os.path.relpath(found.path, self.root).replace(os.sep, "/")
        return FileMetadata(path, found.size_in_bytes, found.last_updated_in_seconds)

    def join(self, base, *paths):
        return posixpath.join(base, *paths)

    def split(self, path):
        return tuple(path.rsplit("/", 1))

    def _url_dirname(self, path):
        return path.rsplit("/", 1)[0]

    def _list(self, prefix):
        return (self._remote(found) for found in self.disk._list(self._local(prefix)))

    def metadata(self, path):
        return self._remote(self.disk.metadata(self._local(path)))

    def exists(self, path):
        return self.disk.exists(self._local(path))

    def size(self, path):
        return self.disk.size(self._local(path))

    def last_updated(self, path):
        return self.disk.last_updated(self._local(path))

    def checksum(self, path):
        return self.disk.checksum(self._local(path))

    def mkdirs(self, path):
        return self.disk.mkdirs(self._local(path))

    def create(self, path, *args, **kwargs):
        return self.disk.create(self._local(path), *args, **kwargs)

    def open(self, path, *args, **kwargs):
        return self.disk.open(self._local(path), *args, **kwargs)

    def rename(self, sources, destinations):
        return self.disk.rename([self._local(p) for p in sources],
                                [self._local(p) for p in destinations])

    def copy(self, sources, destinations):
        return self.disk.copy([self._local(p) for p in sources],
                              [self._local(p) for p in destinations])

    def delete(self, paths):
        return self.disk.delete([self._local(p) for p in paths])


def test_inputs_outputs_and_model_on_another_file_system(tmp_path, exported):
    FolderFileSystem.root = str(tmp_path / "bucket")
    photos = tmp_path / "bucket" / "scans"
    (photos / "1931").mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(12):
        photo = cv2.resize(rng.random((6, 8, 3)) * 255, (64 + i, 48), cv2.INTER_CUBIC)
        cv2.imwrite(str(photos / ("1931" if i % 2 else "") / f"s{i}.tif"), photo.astype(np.uint8))
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    (photos / "clip.mp4").write_bytes(b"\0\0\0\x18ftypmp42")  # a film: not on Beam
    os.makedirs(tmp_path / "bucket" / "models")
    shutil.copy(exported["regression.onnx"], tmp_path / "bucket" / "models" / "best.onnx")

    result = colorize_on_beam([f"{SCHEME}://scans/"], f"{SCHEME}://colour",
                              f"{SCHEME}://models/best.onnx", render_size=128,
                              beam_args=["--direct_running_mode=in_memory",
                                         "--direct_num_workers=1"])

    assert result.counts == {"ok": 12, "skipped": 0, "failed": 2}
    expected = tmp_path / "expected"
    colorize_inputs(load_colorizer(exported["regression.onnx"]), [str(photos)], expected,
                    render_size=128, progress=False)
    out = tmp_path / "bucket" / "colour"
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == sorted(["failures.jsonl", "manifest.jsonl"] +
                           [f"{'1931/' if i % 2 else ''}s{i}.tif.png" for i in range(12)])
    for name in names:
        if name.endswith(".png"):
            assert (out / name).read_bytes() == (expected / name).read_bytes(), name
    failures = {line.split('"reason": ')[1].split('"')[1]
                for line in (out / "failures.jsonl").read_text().splitlines()}
    assert any("films are colorized one at a time" in reason for reason in failures)
    assert result.manifest == f"{SCHEME}://colour/manifest.jsonl"
    assert not (out / "lease.json").exists()  # a lease is for local folders
