import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from colorizer.lease import FolderLease
from colorizer.training.backup import AtomicBackupAndRestore, saved_epoch, trim_csv
from colorizer.training.train import read_history
from tests.backends import BACKEND, to_numpy

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)

JOB = os.path.join(os.path.dirname(__file__), "train_job.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS = 4


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * 8, 3)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def _fit(model, folder, epochs):
    counter = EpochCounter()
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0,
              callbacks=[counter, AtomicBackupAndRestore(str(folder))])
    return counter.epochs


def test_backup_restores_weights_optimizer_and_epoch(tmp_path):
    first = _tiny_model()
    assert _fit(first, tmp_path, 3) == [0, 1, 2]
    assert saved_epoch(str(tmp_path)) == 3
    # Only the newest backup and the one before it are kept.
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".h5")) == [
        "epoch-00002.weights.h5", "epoch-00003.weights.h5"]
    again = _tiny_model()
    assert _fit(again, tmp_path, 3) == []  # nothing left to train
    assert int(to_numpy(again.optimizer.iterations)) == 3 * STEPS
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_damaged_backup_falls_back_to_the_one_before(tmp_path):
    _fit(_tiny_model(), tmp_path, 3)
    # A kill while a backup is written leaves a stray temporary file and never touches the
    # state; a damaged committed file (a failing disk) makes the restore use the previous one.
    (tmp_path / ".tmp-half.weights.h5").write_bytes(b"\x89HDF\r\n half")
    (tmp_path / "epoch-00003.weights.h5").write_bytes(b"garbage")
    model = _tiny_model()
    assert _fit(model, tmp_path, 3) == [2]  # resumed after epoch 2, trained epoch 3 again
    assert int(to_numpy(model.optimizer.iterations)) == 3 * STEPS
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 3


def test_keras_backups_of_older_runs_still_resume(tmp_path):
    x, y = _data()
    _tiny_model().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)])
    assert saved_epoch(str(tmp_path)) == 2
    assert _fit(_tiny_model(), tmp_path, 3) == [2]


def test_trim_csv_keeps_rows_before_the_limit_and_drops_cut_lines(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,5.0\n1,4.0\n2,3.0\n3,2.")
    assert trim_csv(str(path), "epoch", 2) == 2
    assert path.read_text().splitlines() == ["epoch,loss", "0,5.0", "1,4.0"]
    assert trim_csv(str(path), "epoch", 2) == 0
    assert trim_csv(str(tmp_path / "missing.csv"), "epoch", 1) == 0


def _start(data, run_dir, out, *extra, backend=BACKEND):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               KERAS_BACKEND=backend)
    return subprocess.Popen(
        [sys.executable, JOB, "--data", data, "--run-dir", str(run_dir), "--out", str(out),
         "--epochs", "4", "--steps", "3", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_pause(process, marker, timeout=240):
    deadline = time.monotonic() + timeout
    while not os.path.exists(marker):
        if process.poll() is not None:
            raise AssertionError(process.stderr.read()[-3000:])
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the training job never reached its pause point")
        time.sleep(0.2)


def _kill_when_paused(process, marker, timeout=240):
    _wait_for_pause(process, marker, timeout)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(BACKEND != "tensorflow", reason="backups are written and read the same way on "
                    "both backends; JAX resumes a killed run in the test after this one, and its "
                    "own backups in test_train: once per CI run is enough")
def test_sigkilled_training_resumes_without_repeating_or_losing_epochs(image_folder,
                                                                        tmp_path_factory):
    """Kills in the frozen-encoder phase, at its end and after it, with the notebooks' default
    of 2 frozen epochs (FREEZE_ENCODER_EPOCHS)."""
    work = tmp_path_factory.mktemp("resume")
    run, out = work / "run", work / "result.json"
    # Augmentation runs inside the step: its step counter must survive the kills too.
    settings = ("--device-augment", "--freeze-encoder-epochs", "2")

    def paused_at(where, marker):
        _kill_when_paused(_start(image_folder, run, out, *settings, "--pause-at", where,
                                 "--marker", work / marker), work / marker)
        return json.loads((work / marker).read_text())

    def logged_epochs():
        with open(run / "history.csv") as f:
            return [row["epoch"] for row in csv.DictReader(f)]

    # 1. Killed in the middle of epoch 2 (0-based 1), the encoder frozen: epoch 1 is backed up.
    middle = paused_at("mid:1", "m1")
    assert saved_epoch(str(run / "backup" / "frozen")) == 1
    assert not (run / "backup" / "full").exists()
    # 2. Restarted, then killed at the frozen phase's end: epoch 2 logged, its backup not
    # committed.
    end = paused_at("logged:1", "m2")
    assert saved_epoch(str(run / "backup" / "frozen")) == 1
    assert logged_epochs() == ["0", "1"]
    # The encoder stayed as it was through the kill, the restore and the frozen epoch.
    assert end["encoder"] == middle["encoder"]
    # 3. Restarted, the encoder now trained: killed in the middle of epoch 4, after epoch 3's
    # backup, so the frozen phase is restored from its backup and the full one from its own.
    paused_at("mid:3", "m3")
    assert saved_epoch(str(run / "backup" / "frozen")) == 2
    assert saved_epoch(str(run / "backup" / "full")) == 3
    # 4. Restarted with the same command: it finishes.
    final = _start(image_folder, run, out, *settings)
    _, err = final.communicate(timeout=400)
    assert final.returncode == 0, err[-3000:]
    result = json.loads(out.read_text())
    # Every epoch once in the file itself, each step's optimizer update kept across kills.
    assert logged_epochs() == ["0", "1", "2", "3"]
    assert [row["epoch"] for row in read_history(str(run / "history.csv"))] == [1, 2, 3, 4]
    assert result["iterations"] == 2 * 3  # the full phase's optimizer: its two epochs
    assert result["encoder"] != middle["encoder"]  # trained once unfrozen
    # Each step drew new augmentations, none repeated after a restart; on this backend.
    assert result["augmented_steps"] == 4 * 3 and result["backend"] == BACKEND
    with open(run / "batch_loss.csv") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps == list(range(1, 13))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(BACKEND != "tensorflow", reason="crosses both backends itself (TensorFlow, "
                    "then JAX): once per CI run is enough")
def test_a_run_started_on_one_backend_resumes_on_the_other(image_folder, tmp_path_factory):
    work = tmp_path_factory.mktemp("switch")
    run, out = work / "run", work / "result.json"
    other = "jax" if BACKEND == "tensorflow" else "tensorflow"
    first = _start(image_folder, run, out, "--device-augment", "--epochs", "1")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    assert json.loads(out.read_text())["backend"] == BACKEND
    second = _start(image_folder, run, out, "--device-augment", "--epochs", "2",
                    backend=other)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-3000:]
    result = json.loads(out.read_text())
    # The backup of epoch 1 (weights, Adam's state, the augmentation's step) carried over.
    assert result["backend"] == other
    assert result["iterations"] == 2 * 3 and result["augmented_steps"] == 2 * 3
    assert [row["epoch"] for row in read_history(str(run / "history.csv"))] == [1, 2]


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(BACKEND != "tensorflow", reason="the lease is the same on every backend: "
                    "once per CI run is enough")
def test_a_second_trainer_on_a_run_folder_is_refused_while_the_first_lives(image_folder,
                                                                           tmp_path_factory):
    work = tmp_path_factory.mktemp("two")
    run = work / "run"
    first = _start(image_folder, run, work / "first.json", "--pause-at", "mid:0",
                   "--marker", work / "m")
    try:
        _wait_for_pause(first, work / "m")
        # The user's second runtime: the same `colorizer train` on the same folder.
        env = {**os.environ, "PYTHONPATH": ROOT, "CUDA_VISIBLE_DEVICES": ""}
        second = subprocess.run(
            [sys.executable, "-m", "colorizer", "train", "--data", image_folder, "--run-dir",
             str(run), "--preset", "smoke", "--weights", "none", "--epochs", "1",
             "--steps-per-epoch", "1", "--image-size", "32"],
            env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 1
        error = second.stderr.strip().splitlines()[-1]
        assert error.startswith("colorizer train: error: ") and "is in use" in error
        assert f"host {socket.gethostname()} (process {first.pid})" in error
        assert not (run / "model.keras").exists() and first.poll() is None
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    # Killed: the same machine sees its process gone, and the next trainer may start at once.
    with FolderLease(run, "training"):
        pass


class TakeOverAt(keras.callbacks.Callback):
    """Another process takes the folder over during one batch: its lease file replaces ours."""

    def __init__(self, folder, batch):
        super().__init__()
        self.folder, self.batch = folder, batch

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            (self.folder / "lease.json").write_text(json.dumps(
                {"host": "other-runtime", "pid": 1, "started": time.time(),
                 "renewed": time.time(), "token": "theirs"}))
            time.sleep(0.5)  # several heartbeats


def test_a_trainer_whose_lease_was_taken_stops_before_its_next_backup(tmp_path):
    from colorizer.lease import LeaseLostError
    from colorizer.training.callbacks import LeaseGuard

    x, y = _data()
    with FolderLease(tmp_path, "training", heartbeat_s=0.05) as lease:
        with pytest.raises(LeaseLostError, match="took the folder over"):
            _tiny_model().fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[
                LeaseGuard(lease), TakeOverAt(tmp_path, batch=1),
                AtomicBackupAndRestore(str(tmp_path / "backup"))])
    assert saved_epoch(str(tmp_path / "backup")) is None  # not one epoch committed
    assert json.loads((tmp_path / "lease.json").read_text())["token"] == "theirs"
