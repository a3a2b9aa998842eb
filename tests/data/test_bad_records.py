"""Bad records in TFRecord shards are counted and named like unreadable files, not dropped
silently; the commands' exit status says so once everything else is done."""
from __future__ import annotations

import io
import json
import os

import keras
import pytest
import tensorflow as tf
from PIL import Image

from colorizer.cli import main
from colorizer.data import records
from colorizer.data.pipeline import DecodeStats, make_dataset
from colorizer.fileio import save_model
from colorizer.model.network import build_colorizer


def _png(photo) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_shard(path, photos, bad_at=(), garbage_at=()):
    """Good records of ``photos``; at ``bad_at`` an Example whose image is not an image, at
    ``garbage_at`` bytes that are not an Example at all."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, photo in enumerate(photos):
            if i in bad_at:
                writer.write(records.serialize_example(b"\x89PNG broken", name=f"bad{i}.png"))
            elif i in garbage_at:
                writer.write(b"\x07\x08 not a protocol buffer \xff\xff\xff")
            else:
                writer.write(records.serialize_example(_png(photo[:48, :56]), name=f"ok{i}.png"))


@pytest.fixture()
def shards(tmp_path, photos):
    folder = tmp_path / "shards"
    folder.mkdir()
    _write_shard(folder / records.shard_name("train", 0, 1), photos[:5], bad_at={1},
                 garbage_at={3})
    _write_shard(folder / records.shard_name("val", 0, 1), photos[:2])
    test = folder / records.shard_name("test", 0, 2)
    _write_shard(test, photos[:3], bad_at={2})
    damaged = folder / records.shard_name("test", 1, 2)
    _write_shard(damaged, photos[:3])
    data = damaged.read_bytes()
    damaged.write_bytes(data[:len(data) - 40])  # cut inside the last record: a damaged shard
    return folder


def test_training_pipeline_counts_and_names_bad_records(shards):
    stats = DecodeStats()
    ds = make_dataset(str(shards), split="train", batch_size=2, image_size=32, training=True,
                      stats=stats)
    assert sum(int(l.shape[0]) for l, _ in ds) == 2  # 3 good records, drop_remainder
    assert stats.decoded == 3 and stats.skipped == 2
    train_shard = os.path.join(str(shards), records.shard_name("train", 0, 1))
    assert sorted(where for where, _ in stats.failures) == [f"{train_shard}#1",
                                                             f"{train_shard}#3"]
    reasons = dict(stats.failures)
    assert "not a readable image" in reasons[f"{train_shard}#1"]
    assert "not a readable record" in reasons[f"{train_shard}#3"]


def test_evaluate_reports_bad_records_and_a_damaged_shard(tmp_path, shards, capsys):
    keras.utils.set_random_seed(0)
    model = tmp_path / "model.keras"
    save_model(build_colorizer(weights=None), model)
    status = main(["evaluate", "--model", str(model), "--data", str(shards), "--out",
                   str(tmp_path / "eval"), "--image-size", "32", "--classifier", "none",
                   "--examples", "1"])
    captured = capsys.readouterr()
    err = captured.err
    assert status == 1
    assert f"evaluated 4 images: the test split of {shards} (2 shard files)" in captured.out
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["images"] == 4  # 2 good of the first test shard, 2 whole of the damaged one
    skipped = {s["file"]: s["reason"] for s in summary["skipped"]}
    first = os.path.join(str(shards), records.shard_name("test", 0, 2))
    damaged = os.path.join(str(shards), records.shard_name("test", 1, 2))
    assert set(skipped) == {f"{first}#2", damaged}
    assert skipped[damaged].startswith("damaged shard after record 2")
    assert f"{first}#2" in err and damaged in err


def test_train_command_names_bad_records_and_exits_1(tmp_path, shards, capsys):
    status = main(["train", "--data", str(shards), "--run-dir", str(tmp_path / "run"),
                   "--preset", "smoke", "--image-size", "32", "--epochs", "1", "--weights",
                   "none", "--batch-size", "2", "--steps-per-epoch", "1"])
    captured = capsys.readouterr()
    assert status == 1
    assert (tmp_path / "run" / "model.keras").is_file()  # trained on the good records
    train_shard = os.path.join(str(shards), records.shard_name("train", 0, 1))
    assert f"skipped: {train_shard}#1" in captured.err
    assert f"skipped: {train_shard}#3" in captured.err
    listed = json.loads((tmp_path / "run" / "skipped.json").read_text())
    assert sorted(item["file"] for item in listed) == [f"{train_shard}#1", f"{train_shard}#3"]
