"""``prepare``: photos in, split TFRecord shards out, read back by ``make_dataset``."""
from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colorizer.cli import main
from colorizer.data import records
from colorizer.data.pipeline import make_dataset
from colorizer.data.prepare import augment_copy, copy_shards, prepare_dataset
from colorizer.data.splits import assign_split
from tests.loopback import loopback  # noqa: F401  (fixture)


def make_photos(folder, photos, count, start=0, size=(96, 72)):
    """Writes ``count`` small photos named cat_<n>.jpg / dog_<n>.png into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    for n in range(start, start + count):
        image = Image.fromarray(photos[n % len(photos)]).resize(size).rotate(7 * n)
        kind = "cat" if n % 2 else "dog"
        image.save(os.path.join(folder, f"{kind}_{n}.{'jpg' if n % 2 else 'png'}"))


def read_records(out_dir, split=None):
    files = records.find_shards(str(out_dir), split)
    return [{k: v.numpy() for k, v in records.parse_example(r).items()}
            for r in tf.data.TFRecordDataset(files)]


def count_batches(out_dir, split):
    ds = make_dataset(str(out_dir), split=split, batch_size=4, image_size=32, cache=False)
    return sum(int(lightness.shape[0]) for lightness, _ in ds)


def test_prepare_round_trip_with_sharding_labels_and_a_corrupt_file(tmp_path, photos):
    images = tmp_path / "images"
    make_photos(images, photos, 20, size=(120, 90))
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (images / "labels.csv").write_text("file,breed,species\ncat_1.jpg,siamese,cat\n"
                                       "dog_2.png,beagle,dog\n")
    out = tmp_path / "shards"
    index = prepare_dataset(images, out, short_side=64, shard_mb=0.02, progress=False)

    assert index["images"] == 20
    assert [s["file"] for s in index["skipped"]] == ["broken.jpg"]
    splits = index["splits"]
    assert sum(info["originals"] for info in splits.values()) == 20
    assert len(splits["train"]["shards"]) > 1  # 0.02 MB shards: several
    for name, info in splits.items():
        count = len(info["shards"])
        assert [s["file"] for s in info["shards"]] == [records.shard_name(name, i, count)
                                                      for i in range(count)]
        if info["images"]:
            assert count_batches(out, name) == info["images"]
    assert not [f for f in os.listdir(out) if f.startswith(".tmp")]

    stored = read_records(out)
    assert sorted(r["image/name"].decode() for r in stored) == sorted(
        f for f in os.listdir(images) if f.endswith((".jpg", ".png")) and f != "broken.jpg")
    assert all(min(r["image/height"], r["image/width"]) == 64 for r in stored)
    by_name = {r["image/name"].decode(): r for r in stored}
    assert by_name["cat_1.jpg"]["label/class"] == b"siamese"
    assert by_name["dog_2.png"]["label/species"] == b"dog"
    assert index["labels"]["species"] == {"cat": 1, "dog": 1}
    for name in by_name:
        split = assign_split(name)
        assert name in {r["image/name"].decode() for r in read_records(out, split)}

    # The same call again finds the work done and rewrites nothing.
    mtimes = {f: os.path.getmtime(out / f) for f in os.listdir(out)}
    assert prepare_dataset(images, out, short_side=64, shard_mb=0.02, progress=False) == index
    assert mtimes == {f: os.path.getmtime(out / f) for f in os.listdir(out)}


def test_splits_stay_put_when_photos_are_added(tmp_path, photos):
    images = tmp_path / "images"
    make_photos(images, photos, 30)
    prepare_dataset(images, tmp_path / "a", short_side=48, progress=False, seed=3)
    before = {r["image/name"]: split for split in ("train", "val", "test")
              for r in read_records(tmp_path / "a", split)}
    make_photos(images, photos, 30, start=30)
    index = prepare_dataset(images, tmp_path / "a", short_side=48, progress=False, seed=3)
    after = {r["image/name"]: split for split in ("train", "val", "test")
             for r in read_records(tmp_path / "a", split)}
    assert index["images"] == 60 and len(after) == 60
    assert {name: after[name] for name in before} == before
    assert len(set(after.values())) == 3  # all three splits used at 60 photos


def test_augmented_copies_multiply_the_training_split_only(tmp_path, photos):
    images = tmp_path / "images"
    make_photos(images, photos, 12)
    index = prepare_dataset(images, tmp_path / "out", short_side=48, augment_copies=3,
                            progress=False)
    train = index["splits"]["train"]
    assert train["images"] == 4 * train["originals"] > 0
    for split in ("val", "test"):
        assert index["splits"][split]["images"] == index["splits"][split]["originals"]
    names = [r["image/name"].decode() for r in read_records(tmp_path / "out", "train")]
    assert sum("#aug" in n for n in names) == 3 * train["originals"]

    rgb = np.asarray(Image.fromarray(photos[0]).resize((64, 48)))
    copy = augment_copy(rgb, np.random.default_rng(0))
    assert copy.shape == rgb.shape and copy.dtype == np.uint8
    assert np.abs(copy.astype(int) - rgb).mean() > 1.0


def test_copy_shards_copies_once(tmp_path, photos):
    make_photos(tmp_path / "images", photos, 10)
    prepare_dataset(tmp_path / "images", tmp_path / "drive", short_side=48, progress=False)
    local = copy_shards(str(tmp_path / "drive"), tmp_path / "local", progress=False)
    assert sorted(map(os.path.basename, local)) == sorted(
        map(os.path.basename, records.find_shards(str(tmp_path / "drive"))))
    assert os.path.exists(tmp_path / "local" / "index.json")
    mtimes = [os.path.getmtime(p) for p in local]
    copy_shards(str(tmp_path / "drive"), tmp_path / "local", progress=False)
    assert mtimes == [os.path.getmtime(p) for p in local]
    assert count_batches(tmp_path / "local", "train") == count_batches(tmp_path / "drive",
                                                                       "train")


def test_copy_shards_follows_the_index_and_removes_stale_shards(tmp_path, photos):
    """An older preparation at the destination (other shard names and counts) must not stay
    beside the new one, where a ``train-*`` pattern would read both."""
    make_photos(tmp_path / "old", photos, 30)
    prepare_dataset(tmp_path / "old", tmp_path / "drive_old", short_side=48, shard_mb=0.01,
                    progress=False)
    copy_shards(str(tmp_path / "drive_old"), tmp_path / "local", progress=False)
    old_train = records.find_shards(str(tmp_path / "local"), "train")
    assert len(old_train) > 1

    make_photos(tmp_path / "new", photos, 10, start=100)
    index = prepare_dataset(tmp_path / "new", tmp_path / "drive", short_side=48,
                            progress=False)
    # A shard lying in the source folder that the index does not list is not copied either.
    (tmp_path / "drive" / "train-00007-of-00009.tfrecord").write_bytes(b"left over")
    local = copy_shards(str(tmp_path / "drive"), tmp_path / "local", progress=False)

    listed = sorted(s["file"] for split in index["splits"].values() for s in split["shards"])
    assert sorted(map(os.path.basename, local)) == listed
    assert sorted(map(os.path.basename, records.find_shards(str(tmp_path / "local")))) == listed
    assert count_batches(tmp_path / "local", "train") == index["splits"]["train"]["images"]


def test_cli_download_and_prepare(tmp_path, loopback, photos, capsys):
    urls = []
    for i, photo in enumerate(photos[:3]):
        path = f"/p{i}.png"
        buffer = Image.fromarray(photo).resize((80, 60))
        buffer.save(tmp_path / f"src{i}.png")
        urls.append(loopback.add(path, (tmp_path / f"src{i}.png").read_bytes()))
    urls.append(loopback.add("/gone.jpg", status=404))
    url_file = tmp_path / "urls.txt"
    url_file.write_text("# test list\n" + "\n".join(urls) + "\n")

    status = main(["download", "--source", "urls", "--urls", str(url_file), "--out",
                   str(tmp_path / "photos"), "--quiet", "--retries", "0"])
    captured = capsys.readouterr()
    assert status == 1
    assert "http-404" in captured.err and "/gone.jpg" in captured.err
    assert "downloaded 3" in captured.out
    assert main(["download", "--source", "folder", "--out", str(tmp_path / "photos")]) == 0
    assert "3 images" in capsys.readouterr().out

    status = main(["prepare", "--images", str(tmp_path / "photos"), "--out",
                   str(tmp_path / "shards"), "--short-side", "48", "--quiet"])
    assert status == 0
    assert "3 photos" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "shards" / "index.json")


@pytest.mark.parametrize("command", ["download", "prepare"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: colorizer {command}" in capsys.readouterr().out


def test_prepare_saves_the_ab_distribution_and_copy_takes_it(tmp_path, photos):
    from colorizer.data.ab_distribution import AB_DISTRIBUTION_FILE, find_ab_distribution
    from colorizer.data.prepare import copy_shards, prepare_dataset
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for i in range(12):
        Image.fromarray(photos[i % len(photos)][i:i + 64, i:i + 80]).save(images / f"{i}.png")
    prepare_dataset(images, tmp_path / "shards", short_side=64, progress=False)
    distribution = find_ab_distribution(tmp_path / "shards")
    assert distribution is not None
    assert abs(distribution.sum() - 1.0) < 1e-6 and (distribution > 0).sum() > 3
    copy_shards(str(tmp_path / "shards"), tmp_path / "local", progress=False)
    assert (tmp_path / "local" / AB_DISTRIBUTION_FILE).is_file()


def test_training_epochs_of_prepared_shards_have_the_length_keras_needs(tmp_path, photos):
    images, out = tmp_path / "images", tmp_path / "shards"
    make_photos(images, photos, 14)
    prepare_dataset(images, out, short_side=48, shard_mb=0.01, progress=False)
    train_records = len(read_records(out, "train"))  # counted in the shards themselves
    assert train_records >= 6
    ds = make_dataset(str(out), split="train", batch_size=3, image_size=32, training=True)
    assert int(ds.cardinality()) == train_records // 3
    for _ in range(2):  # every epoch has that many full batches
        assert [int(l.shape[0]) for l, _ in ds] == [3] * (train_records // 3)
    # An index.json that does not list the shards found is not trusted: length unknown.
    (out / "index.json").write_text((out / "index.json").read_text().replace(
        '"train-00000', '"train-99999'))
    stale = make_dataset(str(out), split="train", batch_size=3, image_size=32, training=True)
    assert stale.cardinality() == tf.data.UNKNOWN_CARDINALITY


def test_prepared_index_tells_finished_shards_from_unfinished_ones(tmp_path, photos):
    from colorizer.data.prepare import prepared_index

    images, out = tmp_path / "images", tmp_path / "shards"
    make_photos(images, photos, 6)
    assert prepared_index(out) is None
    index = prepare_dataset(images, out, short_side=48, progress=False)
    assert prepared_index(out, short_side=48, augment_copies=0) == index
    assert prepared_index(out, short_side=256) is None  # prepared with other settings
    shard = out / index["splits"]["train"]["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:-10])  # a copy cut short
    assert prepared_index(out) is None
