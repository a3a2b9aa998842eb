"""Keeps the web app's temporary folder small: uploads and results expire on a timer.

Gradio stores each upload in a folder of its own under the app's temporary folder, and each
request writes its downloads, results and previews under ``requests/<id>/``. A background
thread deletes every such entry once nothing in it has changed for ``keep_seconds``, and,
when the whole folder is larger than ``max_bytes``, the oldest entries first until it fits:
a long-running app keeps neither a visitor's photos nor an unbounded pile of them. The files
of a request in progress are held (:meth:`Sweeper.holding`) and never deleted, and entries
younger than ``grace_seconds`` are not deleted for size.

Example:
    >>> sweeper = Sweeper("/tmp/colorizer-app-x", keep_seconds=3600, max_bytes=2 << 30).start()
    >>> sweeper.stop()
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import threading
import time

KEEP_SECONDS = 3600.0
"""Uploads and results are deleted this long after their last change."""
MAX_BYTES = 2 << 30
"""The temporary folder's size cap (2 GiB): ten full-size uploads, or thousands of photos."""
SWEEP_SECONDS = 60.0
GRACE_SECONDS = 300.0
REQUESTS_FOLDER = "requests"


@dataclasses.dataclass
class _Entry:
    path: str
    changed: float
    size: int


def _measure(path: str) -> _Entry:
    """An entry's last change (the newest file in it) and its size in bytes."""
    try:
        stat = os.stat(path, follow_symlinks=False)
    except OSError:
        return _Entry(path, 0.0, 0)
    changed, size = stat.st_mtime, stat.st_size if not os.path.isdir(path) else 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                stat = os.stat(os.path.join(root, name), follow_symlinks=False)
            except OSError:  # deleted meanwhile
                continue
            changed, size = max(changed, stat.st_mtime), size + stat.st_size
    return _Entry(path, changed, size)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.remove(path)
        except OSError:
            pass


class Sweeper:
    """Deletes expired entries of the app's folder now and then (see the module docstring).

    Args:
        folder: The app's temporary folder.
        keep_seconds: Age after which an entry is deleted.
        max_bytes: The folder's size cap.
        interval: Seconds between sweeps.
        grace_seconds: Entries younger than this are kept whatever the size.
    """

    def __init__(self, folder: str | os.PathLike, *, keep_seconds: float = KEEP_SECONDS,
                 max_bytes: int = MAX_BYTES, interval: float = SWEEP_SECONDS,
                 grace_seconds: float = GRACE_SECONDS):
        self.folder = os.fspath(folder)
        self.keep_seconds, self.max_bytes = keep_seconds, max_bytes
        self.interval, self.grace_seconds = interval, grace_seconds
        self._held: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="colorizer-app-sweeper",
                                        daemon=True)

    @contextlib.contextmanager
    def holding(self, paths):
        """Keeps the entries holding ``paths`` (a request's uploads and folder) while the
        block runs."""
        paths = [os.path.abspath(p) for p in paths]
        with self._lock:
            self._held.extend(paths)
        try:
            yield
        finally:
            with self._lock:
                for path in paths:
                    self._held.remove(path)

    def _is_held(self, entry: str) -> bool:
        entry = os.path.abspath(entry)
        with self._lock:
            return any(p == entry or p.startswith(entry + os.sep) for p in self._held)

    def entries(self) -> list[_Entry]:
        """Every upload folder and request folder, measured."""
        paths = []
        requests = os.path.join(self.folder, REQUESTS_FOLDER)
        for root in (self.folder, requests):
            try:
                names = os.listdir(root)
            except OSError:
                continue
            paths += [os.path.join(root, name) for name in names
                      if not (root == self.folder and name == REQUESTS_FOLDER)]
        return [_measure(path) for path in paths]

    def sweep(self, now: float | None = None) -> list[str]:
        """Deletes expired entries, then the oldest ones while the folder is over its cap.

        Returns:
            The deleted paths.
        """
        now = time.time() if now is None else now
        entries = sorted((e for e in self.entries() if not self._is_held(e.path)),
                         key=lambda entry: entry.changed)
        removed = [e for e in entries if now - e.changed > self.keep_seconds]
        kept = [e for e in entries if e not in removed]
        total = sum(e.size for e in kept)
        for entry in kept:  # oldest first
            if total <= self.max_bytes:
                break
            if now - entry.changed < self.grace_seconds:
                break  # the rest are younger still
            removed.append(entry)
            total -= entry.size
        for entry in removed:
            _remove(entry.path)
        return [e.path for e in removed]

    def folder_bytes(self) -> int:
        """The temporary folder's size in bytes now."""
        return sum(e.size for e in self.entries())

    def start(self) -> "Sweeper":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # a sweep must never stop the app; the next one tries again
                pass
