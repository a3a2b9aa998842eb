"""One writer per folder: a lease file that a second process respects.

Training resumes from its run folder, and a ``colorize`` run rewrites its output folder's
manifest; two processes doing either in one folder undo each other's work (one's backups
delete the other's checkpoints, logs interleave). On Colab this happens easily: a runtime that
keeps running after the browser disconnected, and a fresh runtime resuming from the same
Google Drive folder.

``flock``/``fcntl`` locks are not shared between machines, and Drive's FUSE mount gives no
guarantee for them, so the lease is a plain file, ``lease.json``, in the folder:

* taken by creating it with ``O_CREAT | O_EXCL`` (nobody else can create it at the same time
  on one file system), holding the holder's host, process id, start time and a random token;
* renewed by a background thread every :data:`HEARTBEAT_S` seconds (rewritten atomically with
  the time of renewal), which also notices when the file no longer holds its token (someone
  deleted or took it over) and marks the lease :attr:`FolderLease.lost`;
* stale when its last renewal is older than :data:`STALE_AFTER_S` (a crashed or vanished
  runtime), or at once when its holder ran on this machine and that process is gone (a killed
  run started again); a stale lease is taken over;
* removed when its holder finishes, normally or by an exception.

A second process finds the lease fresh and stops with :class:`FolderInUseError`, whose message
names the holder's host and start time and says what to do.

Example:
    >>> with FolderLease("runs/cats", purpose="training"):
    ...     train(...)
"""
from __future__ import annotations

import datetime
import json
import os
import secrets
import socket
import threading
import time

from colorizer.errors import ColorizerError
from colorizer.fileio import write_json

LEASE_FILE = "lease.json"
HEARTBEAT_S = 30.0
"""Seconds between renewals of a held lease."""
STALE_AFTER_S = 300.0
"""A lease not renewed for this long belongs to a process that is gone: it may be taken over.
Long against the heartbeat, so that a slow network file system (Drive) does not make a live
holder look dead."""


class FolderInUseError(ColorizerError):
    """Another live process holds the folder's lease."""


class LeaseLostError(ColorizerError):
    """This process's lease was deleted or taken over by another process while it worked."""


def _machine() -> str:
    """The host name, plus the kernel's boot id where there is one: containers on different
    machines may share a host name, a process id only means something within one boot."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists (signal 0 checks without sending)."""
    if os.name != "posix":  # Windows' os.kill would end the process: trust the lease's age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _clock(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


def read_lease(folder: str | os.PathLike) -> dict | None:
    """The lease recorded in ``folder``, ``{}`` when its file is being written or unreadable,
    ``None`` when there is none."""
    path = os.path.join(os.fspath(folder), LEASE_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    return _parse_lease(text)


def _parse_lease(text: str | bytes) -> dict:
    try:
        lease = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return lease if isinstance(lease, dict) else {}


class FolderLease:
    """Holds ``folder/lease.json`` while a process writes the folder.

    Args:
        folder: The folder (created if missing).
        purpose: What the holder does (``"training"``, ``"colorize"``), shown to others.
        heartbeat_s: Seconds between renewals.
        stale_after_s: Age of the last renewal after which a lease counts as abandoned.

    Attributes:
        lost: True once the heartbeat found the lease deleted or held by another process.
    """

    def __init__(self, folder: str | os.PathLike, purpose: str, *,
                 heartbeat_s: float = HEARTBEAT_S, stale_after_s: float = STALE_AFTER_S):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, LEASE_FILE)
        self.purpose = purpose
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.lost = False
        self._record: dict | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "FolderLease":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Takes the lease, or raises :class:`FolderInUseError` naming its live holder."""
        os.makedirs(self.folder, exist_ok=True)
        now = time.time()
        record = {"host": socket.gethostname(), "machine": _machine(), "pid": os.getpid(),
                  "purpose": self.purpose, "started": now, "renewed": now,
                  "token": secrets.token_hex(8)}
        for _ in range(3):  # a stale lease removed, then created anew
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                self._remove_if_stale()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f)
            break
        else:
            self._refuse(read_lease(self.folder) or {})
        self._record = record
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="folder-lease", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """Raises :class:`LeaseLostError` when the heartbeat found the lease taken away."""
        if self.lost:
            raise LeaseLostError(
                f"{self.path} no longer holds this {self.purpose} run's lease: another process "
                "took the folder over (or the file was deleted), so this one stops rather than "
                "overwrite its work")

    def release(self) -> None:
        """Stops renewing and removes the lease file if it is still this process's."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._record is not None and self._holds():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
        self._record = None

    def _holds(self) -> bool:
        current = read_lease(self.folder)
        return bool(current) and current.get("token") == self._record["token"]

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            if not self._holds():
                self.lost = True
                return
            self._record["renewed"] = time.time()
            try:
                write_json(self.path, self._record)
            except OSError:  # a network file system hiccup: the next beat tries again
                pass

    def _stale(self, lease: dict) -> bool:
        if not lease:  # being written right now, or torn: judge by the file's age
            try:
                renewed = os.path.getmtime(self.path)
            except FileNotFoundError:
                return True
        else:
            if lease.get("machine") == _machine() and isinstance(lease.get("pid"), int) \
                    and not _process_alive(lease["pid"]):
                return True
            renewed = float(lease.get("renewed", 0))
        return time.time() - renewed > self.stale_after_s

    def _remove_if_stale(self) -> None:
        """Removes the lease file if it is stale, and only the very file judged stale.

        Two processes may judge the same lease stale at once; the first removes it and
        creates its own. Deleting by name would let the second delete that fresh lease, so the
        file is first renamed to a name of this process's own (atomic: one process gets it),
        then compared with what was judged; a fresh lease taken by mistake is put back.
        """
        try:
            with open(self.path, "rb") as f:
                judged = f.read()
        except FileNotFoundError:
            return  # gone meanwhile: try to create it again
        lease = _parse_lease(judged)
        if not self._stale(lease):
            self._refuse(lease)
        grave = f"{self.path}.stale-{secrets.token_hex(6)}"
        try:
            os.rename(self.path, grave)
        except FileNotFoundError:
            return  # another process removed it first
        with open(grave, "rb") as f:
            taken = f.read()
        if taken != judged:  # a live process's lease, created or renewed meanwhile
            try:
                os.link(grave, self.path)  # back, unless yet another lease is there now
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not os.path.exists(self.path):
                    os.rename(grave, self.path)
        try:
            os.remove(grave)
        except FileNotFoundError:
            pass

    def _refuse(self, lease: dict) -> None:
        host = lease.get("host", "an unknown host")
        since = _clock(float(lease["started"])) if "started" in lease else "an unknown time"
        renewed = (f", last renewed {_clock(float(lease['renewed']))}"
                   if "renewed" in lease else "")
        raise FolderInUseError(
            f"{self.folder} is in use: a {lease.get('purpose', 'colorizer')} run on host "
            f"{host} (process {lease.get('pid', '?')}) has held it since {since}{renewed}. Two "
            f"runs in one folder overwrite each other's files. Wait for that run to finish, or "
            f"stop it (on Colab: Runtime > Manage sessions > Terminate on the other runtime); "
            f"its lease lapses {self.stale_after_s / 60:g} minutes after its last renewal, or "
            f"delete {self.path} once you are sure it is gone")
