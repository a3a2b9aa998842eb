"""Safe extraction of tar and zip archives that came from the internet.

Only regular files and folders are extracted. A member is skipped (and reported) when its name
is absolute, climbs out with ``..``, or would land outside the target for any other reason;
links, devices and FIFOs are never created, so nothing written later can be redirected through
them. Where Python offers ``tarfile.data_filter`` it checks each tar member as well. Files are
written atomically, and a member already extracted with the same size is not written again, so
an interrupted extraction resumes.

Example:
    >>> result = extract_archive("images.tar.gz", "data/pets")
    >>> len(result.files), result.skipped
    (7390, [])
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import tarfile
import zipfile

from colorizer.fileio import atomic_path

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")


@dataclasses.dataclass
class ExtractResult:
    """What :func:`extract_archive` did.

    Attributes:
        files: Paths of the regular files now present from the archive.
        skipped: ``(member name, reason)`` of members not extracted.
    """

    files: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)


def is_archive(path: str | os.PathLike) -> bool:
    """True when ``path`` is a tar (any compression) or zip file, judged by its content."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        return False
    return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)


def safe_target(dest: str, name: str) -> str | None:
    """The path ``name`` extracts to inside ``dest``, or None when it would escape ``dest``."""
    name = name.replace("\\", "/")
    if not name or name.startswith("/") or os.path.isabs(name) or ":" in name.split("/")[0]:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    root = os.path.realpath(dest)
    target = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, target]) != root or target == root:
        return None
    return target


def _write_member(source, target: str, size: int) -> None:
    if os.path.isfile(target) and os.path.getsize(target) == size:
        return  # extracted by an earlier, interrupted run
    with atomic_path(target, suffix=".part") as temporary, open(temporary, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def _extract_tar(path: str, dest: str, result: ExtractResult) -> None:
    data_filter = getattr(tarfile, "data_filter", None)
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            target = safe_target(dest, member.name)
            if target is None:
                result.skipped.append((member.name, "path outside the target folder"))
                continue
            if not (member.isfile() or member.isdir()):
                result.skipped.append((member.name, "link or special file"))
                continue
            if data_filter is not None:
                try:
                    data_filter(member, dest)
                except tarfile.FilterError as error:
                    result.skipped.append((member.name, f"refused by tarfile's filter: {error}"))
                    continue
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            source = archive.extractfile(member)
            with source:
                _write_member(source, target, member.size)
            result.files.append(target)


def _extract_zip(path: str, dest: str, result: ExtractResult) -> None:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            target = safe_target(dest, info.filename)
            if target is None:
                result.skipped.append((info.filename, "path outside the target folder"))
                continue
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip records no type
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                result.skipped.append((info.filename, "link or special file"))
                continue
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            with archive.open(info) as source:
                _write_member(source, target, info.file_size)
            result.files.append(target)


def extract_archive(path: str | os.PathLike, dest: str | os.PathLike) -> ExtractResult:
    """Extracts a tar or zip archive into ``dest``, refusing anything that could escape it.

    Args:
        path: The archive (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``, ``.zip``).
        dest: The target folder (created if missing).

    Returns:
        An :class:`ExtractResult` listing extracted files and skipped members with reasons.

    Raises:
        ValueError: ``path`` is not a tar or zip archive.
    """
    path, dest = os.fspath(path), os.fspath(dest)
    os.makedirs(dest, exist_ok=True)
    result = ExtractResult()
    if zipfile.is_zipfile(path):
        _extract_zip(path, dest, result)
    elif tarfile.is_tarfile(path):
        _extract_tar(path, dest, result)
    else:
        raise ValueError(f"{path}: not a tar or zip archive")
    return result
