"""Atomic file writes: a reader, or a run killed half-way, never sees half a file.

Everything is written to a temporary name in the destination's folder and renamed over the
destination, which POSIX guarantees to be atomic on one file system. The temporary file is
created as a plain ``open()`` would create it (mode 0666 less the umask: 0644 under the usual
umask 022), so outputs are as readable as any other file the user writes, not owner-only.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any, Iterable, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[str]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` if the block succeeds.

    Args:
        path: The final destination.
        suffix: Ending of the temporary name; defaults to the destination's own extension
            (some writers, such as Keras and OpenCV, pick the format from it).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if suffix is None:
        suffix = "".join(os.path.basename(path).partition(".")[1:]) or ".tmp"
        suffix = "." + suffix.lstrip(".")
    temporary = _create_temporary(folder, suffix)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _create_temporary(folder: str, suffix: str) -> str:
    """Creates an empty, unused file in ``folder`` and returns its path.

    ``tempfile.mkstemp`` would give mode 0600 whatever the umask; ``os.open`` with 0666 lets the
    kernel apply the umask, as for any new file. ``O_EXCL`` keeps the name our own.
    """
    while True:
        temporary = os.path.join(folder, f".tmp-{secrets.token_hex(6)}{suffix}")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temporary
        except FileExistsError:
            continue


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    with atomic_path(path) as temporary, open(temporary, "wb") as f:
        f.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Writes UTF-8 ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_zip(path: str | os.PathLike, files: Iterable[str], base: str) -> str:
    """Writes ``files`` into one zip at ``path``, atomically, each named relative to ``base``
    (a file outside ``base`` by its own name). Stored, not deflated: photos are compressed
    already, so this keeps the zip fast to make.

    Returns:
        ``path``, e.g. for ``google.colab.files.download``.
    """
    import zipfile

    base = os.path.abspath(base)
    with atomic_path(path) as temporary, zipfile.ZipFile(temporary, "w",
                                                         zipfile.ZIP_STORED) as archive:
        for file in map(os.path.abspath, files):
            name = os.path.relpath(file, base)
            archive.write(file, os.path.basename(file) if name.startswith("..") else name)
    return os.fspath(path)


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Writes ``value`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    """Reads JSON from ``path``, or returns ``default`` when the file does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def save_model(model, path: str | os.PathLike) -> None:
    """Saves a Keras model to a ``.keras`` file atomically."""
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)


def path_inside(folder: str | os.PathLike, name: str) -> str:
    """``folder/name``, refusing a name that would land outside ``folder`` (the one check
    for every name that comes from outside: a download's, a hints file's scribbles).

    Raises:
        ValueError: ``name`` is absolute, has ``..`` parts, or leads out through a link.
    """
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, name))
    if os.path.commonpath([root, path]) != root or path == root:
        raise ValueError(f"{name!r} would be written outside {folder}")
    return path
