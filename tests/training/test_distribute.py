import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from colorizer.data.config import AugmentConfig
from colorizer.data.pipeline import make_dataset
from colorizer.model.config import ModelConfig
from colorizer.training import distribute
from colorizer.training.config import TrainConfig
from colorizer.training.train import train

from tests.backends import BACKEND

pytestmark = pytest.mark.backends  # runs again on JAX in CI (see tests/backends.py)

JOB = os.path.join(os.path.dirname(__file__), "train_job.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)
    return env


def _job(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, JOB, *map(str, args)], env=env or _env(),
                          capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.tensorflow_only("tf.distribute strategy names")
def test_strategy_names(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.get_strategy("default") is tf.distribute.get_strategy()
    # No TF_CONFIG, no TPU, no GPU here: auto picks the default strategy.
    assert distribute.get_strategy("auto").num_replicas_in_sync == 1
    mirrored = distribute.get_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert distribute.device_kind(mirrored) == "cpu"
    with pytest.raises(ValueError, match="choose one of"):
        distribute.get_strategy("horovod")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.get_strategy("multi-worker")


@pytest.mark.tensorflow_only("TensorFlow's TPU cluster resolver")
def test_a_tpu_that_cannot_start_auto_falls_back_and_tpu_says_why():
    # A TPU address that refuses connections: the machine seems to have a TPU, but none starts.
    code = ("import logging; logging.basicConfig()\n"
            "from colorizer.training.distribute import TPUUnavailableError, get_strategy\n"
            "print('AUTO', type(get_strategy('auto')).__name__)\n"
            "try:\n    get_strategy('tpu')\n"
            "except TPUUnavailableError as e:\n    print('ERROR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(COLAB_TPU_ADDR=f"127.0.0.1:{_free_port()}"), timeout=180)
    assert "AUTO _DefaultDistributionStrategy" in out.stdout, out.stderr[-2000:]
    warnings = [line for line in out.stderr.splitlines() if "could not be initialised" in line]
    assert len(warnings) == 1 and "--strategy auto" not in warnings[0]
    error = next(line for line in out.stdout.splitlines() if line.startswith("ERROR"))
    assert "could not initialise a TPU: " in error and "TPU runtime" in error
    assert len(error.split("could not initialise a TPU: ")[1]) > 20  # the reason itself


def test_tpu_validation_batches_get_one_fixed_shape():
    train_batches = tf.data.Dataset.range(12).batch(4, drop_remainder=True)
    val = tf.data.Dataset.range(10).batch(3)  # 3, 3, 3, 1: a short last batch
    fixed = distribute.static_batches(val, train_batches)
    assert fixed.element_spec.shape.as_list() == [4]
    assert [b.tolist() for b in fixed.as_numpy_iterator()] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert distribute.static_batches(train_batches, train_batches) is train_batches


def test_precision_and_xla_switches_follow_the_device():
    default = distribute.default_strategy()
    assert distribute.mixed_precision_policy(default) == "float32"
    assert distribute.resolve_mixed_precision("auto", default) == "float32"
    assert distribute.resolve_mixed_precision("on", default) == "mixed_bfloat16"
    assert distribute.resolve_mixed_precision("off", default) == "float32"
    # JAX compiles every step; TensorFlow on a CPU runs oneDNN's kernels without XLA.
    assert distribute.resolve_xla("auto", default) is (BACKEND == "jax")
    assert distribute.resolve_xla("on", default) is True
    with pytest.raises(ValueError, match="auto, on, off"):
        distribute.resolve_xla("yes", default)
    before = keras.config.dtype_policy().name
    with distribute.dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before


def test_batch_and_learning_rate_scale_with_replicas(monkeypatch):
    assert distribute.global_batch_size(16) == 16
    assert distribute.scaled_learning_rate(1e-3, 8) == pytest.approx(8e-3)
    assert distribute.scaled_learning_rate(1e-3, 4, "sqrt") == pytest.approx(2e-3)
    assert distribute.scaled_learning_rate(1e-3, 4, "none") == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        distribute.scaled_learning_rate(1e-3, 2, "cubic")
    cluster = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]},
               "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert distribute.num_workers() == 3
    assert distribute.worker_index() == (False, 2)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert distribute.worker_index() == (True, 0)


def test_datasets_carry_a_shard_policy(image_folder, tmp_path, monkeypatch):
    policy = tf.data.experimental.AutoShardPolicy
    ds = make_dataset(image_folder, batch_size=2, image_size=32)
    assert ds.options().experimental_distribute.auto_shard_policy == policy.DATA
    from colorizer.data import records

    for i in range(2):
        with tf.io.TFRecordWriter(str(tmp_path / records.shard_name("train", i, 2))) as w:
            w.write(records.serialize_example(tf.io.encode_png(
                np.full((40, 40, 3), 100 * i, np.uint8)).numpy()))
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    shards = make_dataset(str(tmp_path), split="train", batch_size=2, image_size=32,
                          workers=distribute.num_workers())
    assert shards.options().experimental_distribute.auto_shard_policy == policy.FILE


def test_mixed_precision_training_keeps_float32_output(image_folder, tmp_path):
    data = make_dataset(image_folder, batch_size=2, image_size=32, training=True, repeat=True,
                        augment=AugmentConfig.none())
    result = train(data, tmp_path / "run", model_config=ModelConfig(weights=None),
                   train_config=TrainConfig(epochs=1, steps_per_epoch=2),
                   mixed_precision="on", verbose=0)
    assert result.model.get_layer("decoder1_conv").compute_dtype == "bfloat16"
    assert result.model.output.dtype == "float32"
    assert np.isfinite(result.history[0]["loss"])
    with open(tmp_path / "run" / "config.json") as f:
        config = json.load(f)
    assert config["dtype_policy"] == "mixed_bfloat16"
    assert config["jit_compile"] is (BACKEND == "jax") and config["backend"] == BACKEND
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_mirrored_over_two_cpus_matches_one_device(image_folder, tmp_path_factory):
    """TensorFlow: MirroredStrategy over two logical CPUs. JAX: keras.distribution's data
    parallelism over two CPU devices (XLA's host platform split in two)."""
    tmp_path = tmp_path_factory.mktemp("mirrored")  # not inside the photo folder
    out = tmp_path / "result.json"
    env = _env(XLA_FLAGS="--xla_force_host_platform_device_count=2")
    done = _job("--data", image_folder, "--run-dir", tmp_path / "run", "--out", out,
                "--strategy", "mirrored", "--logical-cpus", 2, "--compare-single",
                "--duplicate-halves", "--epochs", 2, "--steps", 3, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    single = result["single"]
    assert result["replicas"] == 2 and single["replicas"] == 1
    # Two replicas of batch 2 at twice the learning rate == one device, batch 4, same rate:
    # the first step (same weights, same data) to float precision, later steps up to the
    # rounding of a different summation order that Adam carries forward.
    assert result["batch_losses"][0] == pytest.approx(single["batch_losses"][0], rel=1e-4)
    np.testing.assert_allclose(result["batch_losses"], single["batch_losses"], rtol=2e-2)
    assert result["batch_losses"][-1] < result["batch_losses"][0]
    assert result["weights_sum"] == pytest.approx(single["weights_sum"], rel=1e-3)
    assert result["iterations"] == single["iterations"] == 6


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.tensorflow_only("tf.distribute's MultiWorkerMirroredStrategy and TF_CONFIG")
def test_multi_worker_processes_agree(image_folder, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("multi-worker")
    workers = [f"127.0.0.1:{_free_port()}" for _ in range(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(subprocess.Popen(
            [sys.executable, JOB, "--data", image_folder, "--run-dir", str(tmp_path / "run"),
             "--out", str(tmp_path / f"worker{index}.json"), "--strategy", "auto",
             "--epochs", "2", "--steps", "2"],
            env=_env(TF_CONFIG=json.dumps(config)), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    try:
        outputs = [p.communicate(timeout=480) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(processes, outputs):
        assert p.returncode == 0, err[-3000:]
    chief, other = (json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2))
    assert chief["replicas"] == other["replicas"] == 2
    assert chief["iterations"] == other["iterations"] == 4
    np.testing.assert_allclose(chief["weights_first"], other["weights_first"], rtol=1e-6)
    assert chief["trainable_sum"] == pytest.approx(other["trainable_sum"], rel=1e-6)
    # BatchNorm's moving statistics follow each worker's own batches, as with any
    # tf.distribute strategy without synchronised BatchNorm: close, not equal.
    assert chief["moving_sum"] == pytest.approx(other["moving_sum"], rel=0.05)
    assert chief["losses"] == pytest.approx(other["losses"], rel=1e-6)
    # The chief owns the run folder; the other worker writes beside it, never over it.
    assert chief["run_dir"] == str(tmp_path / "run")
    assert other["run_dir"] == str(tmp_path / "run" / "worker-1")
    assert os.path.exists(tmp_path / "run" / "model.keras")
    assert os.path.exists(tmp_path / "run" / "worker-1" / "model.keras")


@pytest.mark.tensorflow_only("--xla off makes JAX run each op on its own, a debugging mode "
                              "far too slow for a test")
def test_cli_train_takes_strategy_precision_and_xla(image_folder, tmp_path_factory, capsys):
    from colorizer.cli import main

    run = tmp_path_factory.mktemp("cli") / "run"
    status = main(["train", "--data", image_folder, "--run-dir", str(run), "--preset", "smoke",
                   "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2",
                   "--strategy", "default", "--mixed-precision", "on", "--xla", "off"])
    assert status == 0, capsys.readouterr().err
    with open(run / "config.json") as f:
        config = json.load(f)
    assert config["dtype_policy"] == "mixed_bfloat16" and config["jit_compile"] is False
    assert config["backend"] == BACKEND
    assert config["data"]["augment_on"] == "device"  # the default: in the training step
    assert config["data"]["device_augment"]["rotation_degrees"] == 15.0
    assert config["replicas"] == 1 and config["learning_rate"] == pytest.approx(1e-3)
    with pytest.raises(SystemExit):
        main(["train", "--data", image_folder, "--run-dir", str(run), "--xla", "maybe"])
    # The same folder refuses to go on with the augmentation moved to the CPU.
    status = main(["train", "--data", image_folder, "--run-dir", str(run), "--preset", "smoke",
                   "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "2",
                   "--augment-on", "host"])
    assert status == 1 and "augment_on device -> host" in capsys.readouterr().err
    host_run = run.parent / "host"
    assert main(["train", "--data", image_folder, "--run-dir", str(host_run), "--preset",
                 "smoke", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2",
                 "--augment-on", "host"]) == 0
    with open(host_run / "config.json") as f:
        config = json.load(f)
    assert config["data"]["augment_on"] == "host" and "device_augment" not in config["data"]


@pytest.mark.jax_only("keras.distribution over JAX devices")
def test_jax_strategies_use_keras_distribution_over_every_device():
    code = ("import keras\n"
            "from colorizer.training import distribute as d\n"
            "auto = d.get_strategy('auto')\n"
            "print('AUTO', auto.num_replicas_in_sync, auto.kind,"
            " type(keras.distribution.distribution()).__name__)\n"
            "print('DEFAULT', d.get_strategy('default').num_replicas_in_sync,"
            " keras.distribution.distribution())\n"
            "print('DESCRIBE', d.describe(d.get_strategy('auto')))\n"
            "try:\n    d.get_strategy('tpu')\n"
            "except d.TPUUnavailableError as e:\n    print('ERROR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=4"),
                         timeout=180)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines.get("AUTO") == "4 cpu DataParallel", out.stderr[-2000:]
    assert lines["DEFAULT"] == "1 None"  # one device: no distribution left behind
    assert lines["DESCRIBE"].startswith("backend jax | strategy keras.distribution."
                                        "DataParallel | 4 cpu devices (cpu:0, cpu:1")
    assert "JAX found no TPU" in lines["ERROR"] and "--strategy auto" in lines["ERROR"]
