"""The download manifest: one JSON line per URL with its outcome, and the run's report.

``manifest.jsonl`` lives in the download folder. Lines are appended as each URL finishes, so a
killed run keeps what it learnt; the last line about a URL wins; at the end of a run the file is
rewritten atomically with one line per URL. A half-written last line (a run killed mid-write)
is ignored when read.

A line looks like::

    {"url": "https://host/cat.jpg", "status": "downloaded", "file": "cat-1a2b3c4d.jpg",
     "sha256": "...", "bytes": 48213, "reason": "", "message": "", "attempts": 1,
     "time": "2025-01-01T12:00:00Z"}

``status`` is ``downloaded``, ``duplicate`` (same bytes as another URL's file; ``file`` names
that one) or ``failed`` (``reason`` says why: ``http-404``, ``timeout``, ``not-image``,
``too-small`` ...).
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import threading
import time

from colorizer.fileio import write_text

MANIFEST_NAME = "manifest.jsonl"
DONE = ("downloaded", "duplicate")


class Manifest:
    """The outcomes recorded in one download folder; thread-safe appends.

    Args:
        folder: The download folder (created if missing).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.path = os.path.join(self.folder, MANIFEST_NAME)
        self.entries: dict[str, dict] = {}
        self._lock = threading.Lock()
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # the torn last line of a killed run
                    if isinstance(entry, dict) and "url" in entry:
                        self.entries[entry["url"]] = entry

    def is_done(self, url: str) -> bool:
        """True when ``url`` was fetched before and its file is still there."""
        entry = self.entries.get(url)
        return bool(entry and entry.get("status") in DONE and entry.get("file")
                    and os.path.isfile(os.path.join(self.folder, entry["file"])))

    def hashes(self) -> dict[str, str]:
        """sha256 -> file name of every file downloaded so far (for de-duplication)."""
        return {e["sha256"]: e["file"] for e in self.entries.values()
                if e.get("status") == "downloaded" and e.get("sha256") and e.get("file")
                and os.path.isfile(os.path.join(self.folder, e["file"]))}

    def record(self, url: str, status: str, **fields) -> dict:
        """Appends (and remembers) the outcome of ``url``."""
        entry = {"url": url, "status": status, "file": "", "sha256": "", "bytes": 0,
                 "reason": "", "message": "", "attempts": 0,
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **fields}
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock:
            self.entries[url] = entry
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        return entry

    def compact(self) -> None:
        """Rewrites the manifest atomically with one line per URL."""
        with self._lock:
            text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in self.entries.values())
            write_text(self.path, text)


@dataclasses.dataclass
class DownloadReport:
    """What one :func:`colorizer.data.download.download_urls` run did.

    Attributes:
        downloaded: New image files written.
        duplicates: URLs whose image was identical to one already kept.
        skipped: URLs finished in an earlier run, not fetched again.
        retried: URLs that had failed in an earlier run and were tried again.
        failures: ``(url, reason, message)`` of every URL that failed in this run.
        folder: The download folder.
        manifest: Path of the manifest.
        seconds: Wall time of the run.
    """

    downloaded: int = 0
    duplicates: int = 0
    skipped: int = 0
    retried: int = 0
    failures: list = dataclasses.field(default_factory=list)
    folder: str = ""
    manifest: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> dict[str, int]:
        """Failure counts by reason."""
        return dict(collections.Counter(reason for _, reason, _ in self.failures))

    @property
    def ok(self) -> bool:
        """True when no URL failed."""
        return not self.failures

    def summary(self) -> str:
        """A one-paragraph, human-readable account of the run."""
        failed = ", ".join(f"{n} {reason}" for reason, n in sorted(self.failed.items()))
        lines = [f"downloaded {self.downloaded}, duplicates {self.duplicates}, "
                 f"skipped (done before) {self.skipped}, failed {len(self.failures)}"
                 + (f" ({failed})" if failed else "")
                 + (f"; {self.retried} earlier failures retried" if self.retried else "")
                 + f" in {self.seconds:.1f} s",
                 f"files in {self.folder}; every URL's outcome in {self.manifest}"]
        return "\n".join(lines)

