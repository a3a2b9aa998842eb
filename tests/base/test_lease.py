"""The folder lease between real processes: refused while its holder lives, taken over when
the holder was killed or stopped renewing, lost when another process takes it."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from colorizer.lease import LEASE_FILE, FolderInUseError, FolderLease, LeaseLostError, read_lease

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOLDER = ("import sys, time\n"
          "from colorizer.lease import FolderLease\n"
          "FolderLease(sys.argv[1], sys.argv[2], heartbeat_s=0.2).acquire()\n"
          "print('held', flush=True)\n"
          "time.sleep(600)\n")


def hold_in_other_process(folder, purpose="training"):
    """A second Python process that takes the lease and keeps it until killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), purpose],
                               env={**os.environ, "PYTHONPATH": ROOT},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line.strip() == "held", process.stderr.read()
    return process


def kill(process):
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)


def test_a_second_process_is_refused_with_the_holders_host_and_start_time(tmp_path):
    holder = hold_in_other_process(tmp_path)
    try:
        lease = read_lease(tmp_path)
        assert lease["pid"] == holder.pid and lease["host"] == socket.gethostname()
        with pytest.raises(FolderInUseError) as refused:
            FolderLease(tmp_path, "training").acquire()
        message = str(refused.value)
        started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(lease["started"]))
        assert f"host {socket.gethostname()}" in message and started in message
        assert f"process {holder.pid}" in message and "delete" in message
        assert read_lease(tmp_path)["pid"] == holder.pid  # the refused one took nothing
    finally:
        kill(holder)
    # The holder was killed on this machine: its lease is taken over at once, no waiting.
    with FolderLease(tmp_path, "training") as mine:
        assert read_lease(tmp_path)["token"] == mine._record["token"]
    assert not (tmp_path / LEASE_FILE).exists()


def test_the_heartbeat_renews_and_a_lease_left_unrenewed_lapses(tmp_path):
    holder = hold_in_other_process(tmp_path)
    try:
        first = read_lease(tmp_path)["renewed"]
        time.sleep(1.0)
        assert read_lease(tmp_path)["renewed"] > first
    finally:
        kill(holder)
    # A holder on another machine (a Colab runtime that vanished): only its age tells.
    record = {"host": "runtime-a", "machine": "runtime-a/boot", "pid": 1, "purpose": "training",
              "started": time.time() - 3600, "token": "theirs"}
    path = tmp_path / LEASE_FILE
    path.write_text(json.dumps({**record, "renewed": time.time() - 20}))
    with pytest.raises(FolderInUseError, match="runtime-a"):
        FolderLease(tmp_path, "training", stale_after_s=60).acquire()
    path.write_text(json.dumps({**record, "renewed": time.time() - 61}))
    with FolderLease(tmp_path, "training", stale_after_s=60):
        assert read_lease(tmp_path)["host"] == socket.gethostname()


def test_a_lease_being_written_counts_as_held_until_it_is_old(tmp_path):
    (tmp_path / LEASE_FILE).write_text("")  # created, not yet written
    with pytest.raises(FolderInUseError, match="unknown host"):
        FolderLease(tmp_path, "colorize").acquire()
    old = time.time() - 120
    os.utime(tmp_path / LEASE_FILE, (old, old))
    with FolderLease(tmp_path, "colorize", stale_after_s=60):
        pass


def test_a_lease_taken_over_by_another_process_is_lost_and_stops_its_holder(tmp_path):
    lease = FolderLease(tmp_path, "training", heartbeat_s=0.1)
    lease.acquire()
    os.remove(tmp_path / LEASE_FILE)  # the user deleted it to start afresh elsewhere
    other = hold_in_other_process(tmp_path)
    try:
        deadline = time.monotonic() + 10
        while not lease.lost and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(LeaseLostError, match="took the folder over"):
            lease.check()
        lease.release()
        assert read_lease(tmp_path)["pid"] == other.pid  # the new holder's lease untouched
    finally:
        kill(other)


def test_the_lease_is_released_when_the_work_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with FolderLease(tmp_path, "training"):
            assert (tmp_path / LEASE_FILE).exists()
            raise RuntimeError("training failed")
    assert not (tmp_path / LEASE_FILE).exists()


def test_two_colorize_runs_do_not_share_an_output_folder(tmp_path):
    from colorizer.batches.batch import colorize_inputs

    out = tmp_path / "out"
    holder = hold_in_other_process(out, "colorize")
    try:
        with pytest.raises(FolderInUseError, match="colorize run on host"):
            colorize_inputs(None, [str(tmp_path / "any.jpg")], out, progress=False)
        assert not (out / "manifest.jsonl").exists()
    finally:
        kill(holder)


def test_two_processes_taking_over_one_stale_lease_do_not_both_get_it(tmp_path):
    """B judges the stale lease; before B removes it, A removes it and takes the folder.
    B must then find A's fresh lease and be refused, not delete it and take the folder too."""
    (tmp_path / LEASE_FILE).write_text(json.dumps({
        "host": "gone", "machine": "another/boot", "pid": 1, "purpose": "training",
        "started": 0.0, "renewed": 0.0, "token": "stale"}))
    first = FolderLease(tmp_path, "training")

    class SlowToRemove(FolderLease):
        def _stale(self, lease):
            stale = super()._stale(lease)
            if stale and first._record is None:
                first.acquire()  # the other process gets in between judging and removing
            return stale

    second = SlowToRemove(tmp_path, "training")
    try:
        with pytest.raises(FolderInUseError):
            second.acquire()
        assert read_lease(tmp_path)["token"] == first._record["token"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [LEASE_FILE]  # nothing left over
    finally:
        first.release()
        second.release()
    assert not (tmp_path / LEASE_FILE).exists()
