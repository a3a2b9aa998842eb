"""Atomic writes give files the mode a plain open() would: 0666 less the user's umask."""
import os
import stat

import numpy as np
import pytest

from colorizer.fileio import atomic_path, save_model, write_bytes, write_json, write_text


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_writes_respect_the_umask(tmp_path, umask):
    reference = tmp_path / "plain.txt"
    with open(reference, "w") as f:  # what the user expects a new file to look like
        f.write("x")
    assert _mode(reference) == 0o666 & ~umask

    write_bytes(tmp_path / "a.bin", b"data")
    write_text(tmp_path / "b.txt", "text")
    write_json(tmp_path / "c.json", {"k": 1})
    with atomic_path(tmp_path / "d.png") as temporary:
        import cv2

        assert cv2.imwrite(temporary, np.zeros((4, 4, 3), np.uint8))
    for name in ("a.bin", "b.txt", "c.json", "d.png"):
        assert _mode(tmp_path / name) == _mode(reference), name
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp")]


def test_a_saved_model_is_readable_by_others_under_umask_022(tmp_path):
    import keras

    previous = os.umask(0o022)
    try:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        save_model(model, tmp_path / "model.keras")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "model.keras") == 0o644


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "x.json"):
            raise RuntimeError("writer failed")
    assert os.listdir(tmp_path) == []
