"""Files on any Beam file system (local, ``gs://``, ``s3://``, HDFS): read with a cap, tested
for existence, written whole or not at all.

A runner may run a bundle twice (a worker lost, a retry), and a run may be killed at any
moment; neither may leave half a photo under its final name. Local outputs go through
:func:`colorizer.fileio.write_bytes` (a temporary name in the same folder, then a rename).
Object stores need no temporary name: an object appears only once its upload has completed,
and a rename there would be a second full copy. Other file systems write a temporary name and
rename it.
"""
from __future__ import annotations

import os
import secrets

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from colorizer.data.images import ImageReadError
from colorizer.fileio import write_bytes

OBJECT_STORES = ("gs://", "s3://", "azfs://")
"""Schemes whose objects appear whole, when their upload completes."""


def is_local(path: str) -> bool:
    return "://" not in path


def join(folder: str, relative: str) -> str:
    """``folder`` joined with a ``/``-separated relative name, on the folder's file system."""
    if is_local(folder):
        return os.path.join(folder, *relative.split("/"))
    return FileSystems.join(folder, relative)


def exists(path: str) -> bool:
    return os.path.isfile(path) if is_local(path) else FileSystems.exists(path)


def read_capped(path: str, max_bytes: int) -> bytes:
    """A file's bytes, refused when it holds more than ``max_bytes`` (read no further).

    Raises:
        ImageReadError: It cannot be read, or is too large; the message names it.
    """
    try:  # as stored: a photo named .gz is not to be unpacked
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
            data = file.read(max_bytes + 1)
    except Exception as error:  # OSError locally, each file system's own errors elsewhere
        raise ImageReadError(f"{path}: cannot read file ({error})") from error
    if len(data) > max_bytes:
        raise ImageReadError(f"{path}: larger than {max_bytes:,} bytes "
                             f"({max_bytes / 2**20:.0f} MB), not read")
    return data


def write_whole(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that no reader ever sees part of it there."""
    if is_local(path):
        write_bytes(path, data)
        return
    if path.startswith(OBJECT_STORES):
        _write(path, data)
        return
    folder, name = path.rsplit("/", 1)
    temporary = f"{folder}/.tmp-{secrets.token_hex(6)}-{name}"
    _write(temporary, data)
    try:
        FileSystems.rename([temporary], [path])
    except Exception:
        FileSystems.delete([temporary])
        raise


def _write(path: str, data: bytes) -> None:
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as file:
        file.write(data)
