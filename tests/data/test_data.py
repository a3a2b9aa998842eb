import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colorizer.data import records
from colorizer.data.augment import augment_batch
from colorizer.data.config import AugmentConfig
from colorizer.data.images import list_images, read_rgb
from colorizer.data.pipeline import DecodeStats, make_dataset, resolve_files
from colorizer.data.splits import assign_split


def _all(ds):
    return [(l.numpy(), ab.numpy()) for l, ab in ds]


def test_folder_is_searched_recursively_and_shapes_are_right(image_folder):
    assert len(list_images(image_folder)) == 4  # notes.txt is not an image
    batches = _all(make_dataset(image_folder, batch_size=3, image_size=64))
    assert [l.shape for l, _ in batches] == [(3, 64, 64, 1), (1, 64, 64, 1)]
    lightness, ab = batches[0]
    assert ab.shape == (3, 64, 64, 2)
    assert 0.0 <= lightness.min() and lightness.max() <= 100.0
    assert np.abs(ab).max() < 128.0 and np.abs(ab).max() > 5.0  # real colour photos


def test_corrupt_files_are_skipped_and_counted(image_folder):
    with open(os.path.join(image_folder, "broken.jpg"), "wb") as f:
        f.write(b"<html>404 not found</html>")
    with open(os.path.join(image_folder, "sub", "truncated.png"), "wb") as f:
        with open(list_images(image_folder)[0], "rb") as good:
            f.write(good.read()[:200])
    stats = DecodeStats()
    ds = make_dataset(image_folder, batch_size=2, image_size=32, training=True, stats=stats)
    # An epoch has the folder's length, 6 files in batches of 2 (Keras numbers its batches);
    # the two unreadable files are made up for by readable photos again.
    assert int(ds.cardinality()) == 3
    for _ in range(2):  # two epochs: the cache means each file is decoded once
        assert sum(l.shape[0] for l, _ in _all(ds)) == 6
    assert stats.skipped == 2 and stats.decoded == 4
    assert {os.path.basename(p) for p, _ in stats.failures} == {"broken.jpg", "truncated.png"}


def test_gray_and_rgba_inputs_become_rgb(tmp_path, photos):
    Image.fromarray(photos[0]).convert("L").save(tmp_path / "gray.png")
    rgba = np.dstack([photos[1], np.full(photos[1].shape[:2], 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    Image.fromarray(photos[2]).save(tmp_path / "anim.gif")
    assert read_rgb(tmp_path / "gray.png").shape[-1] == 3
    (gray_l, gray_ab), = _all(make_dataset([str(tmp_path / "gray.png")], batch_size=1,
                                           image_size=32))
    assert np.abs(gray_ab).max() < 0.1  # a gray photo has no colour
    batches = _all(make_dataset(str(tmp_path), batch_size=8, image_size=32))
    assert batches[0][0].shape == (3, 32, 32, 1)


def test_aspect_is_kept_by_centre_crop(tmp_path):
    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, 40:80] = (255, 0, 0)  # red middle third, gray sides
    wide[:, :40] = wide[:, 80:] = 128
    Image.fromarray(wide).save(tmp_path / "wide.png")
    (lightness, ab), = _all(make_dataset(str(tmp_path), batch_size=1, image_size=40))
    # Short side resized to 40 (no change), centre 40x40 crop = the red third only.
    assert ab[0, :, :, 0].min() > 60  # red has a >> 0 everywhere in the crop


def test_augmentation_changes_images_and_can_be_switched_off(image_folder):
    kwargs = dict(batch_size=4, image_size=64, training=True, seed=3, cache=False)
    plain = _all(make_dataset(image_folder, augment=AugmentConfig.none(), **kwargs))
    augmented = _all(make_dataset(image_folder, augment=AugmentConfig(), **kwargs))
    assert not np.allclose(plain[0][0], augmented[0][0])
    # Same seed, same augmentation: reproducible.
    again = _all(make_dataset(image_folder, augment=AugmentConfig(), **kwargs))
    np.testing.assert_array_equal(augmented[0][0], again[0][0])


def test_each_augmentation_does_what_it_says():
    image = tf.random.uniform([1, 16, 16, 3], seed=0)
    only = lambda **kw: AugmentConfig(**{**AugmentConfig.none().__dict__, **kw})  # noqa: E731
    seeds = [tf.constant([s, 7]) for s in range(20)]
    flips = [augment_batch(image, only(horizontal_flip=True), s).numpy() for s in seeds]
    assert any(np.allclose(f, image.numpy()[:, :, ::-1]) for f in flips)
    assert any(np.allclose(f, image.numpy()) for f in flips)
    vflips = [augment_batch(image, only(vertical_flip=True), s).numpy() for s in seeds]
    assert any(np.allclose(f, image.numpy()[:, ::-1]) for f in vflips)
    rotated = augment_batch(image, only(rotation_degrees=30.0), seeds[0]).numpy()
    assert rotated.shape == image.shape and not np.allclose(rotated, image.numpy())
    assert rotated.min() >= 0 and rotated.max() <= 1


def test_noise_only_touches_lightness(image_folder):
    kwargs = dict(batch_size=4, image_size=32, training=True, seed=0, cache=False)
    quiet = _all(make_dataset(image_folder, augment=AugmentConfig.none(), **kwargs))
    noisy = _all(make_dataset(image_folder, augment=AugmentConfig(
        noise_stddev=5.0, rotation_degrees=0, horizontal_flip=False, vertical_flip=False),
        **kwargs))
    np.testing.assert_allclose(quiet[0][1], noisy[0][1], atol=1e-4)
    difference = noisy[0][0] - quiet[0][0]
    assert 2.0 < difference.std() < 6.0


def test_tfrecord_shards_are_read(tmp_path, photos):
    path = tmp_path / records.shard_name("train", 0, 1)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, photo in enumerate(photos[:3]):
            encoded = tf.io.encode_jpeg(photo[:80, :100], quality=95).numpy()
            writer.write(records.serialize_example(encoded, name=f"p{i}.jpg", label="x"))
    batches = _all(make_dataset(str(tmp_path), split="train", batch_size=2, image_size=32))
    assert sum(l.shape[0] for l, _ in batches) == 3
    with pytest.raises(FileNotFoundError):
        make_dataset(str(tmp_path), split="val", batch_size=2)


def test_splits_are_stable_and_disjoint(image_folder):
    parts = {s: set(resolve_files(image_folder, split=s)) for s in ("train", "val", "test")}
    assert sum(map(len, parts.values())) == 4
    assert not (parts["train"] & parts["val"]) and not (parts["train"] & parts["test"])
    names = [f"img{i}.jpg" for i in range(2000)]
    shares = [sum(assign_split(n) == s for n in names) / 2000 for s in ("train", "val", "test")]
    assert shares[0] == pytest.approx(0.8, abs=0.04) and shares[1] == pytest.approx(0.1, abs=0.03)
    # The rule re-derived by hand: the first 8 bytes of SHA-256("seed:key") as a fraction of
    # 2**64, then train below 0.8, val below 0.9, test above.
    for seed in (0, 7):
        for name in names[:200]:
            point = int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8],
                                   "big") / 2.0**64
            expected = "train" if point < 0.8 else "val" if point < 0.9 else "test"
            assert assign_split(name, seed=seed) == expected, (seed, name)
    assert [assign_split(n) for n in names[:200]] != [assign_split(n, seed=7) for n in names[:200]]


def test_bad_arguments_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="no images"):
        make_dataset(str(tmp_path), batch_size=2)
    with pytest.raises(ValueError, match="multiple of 8"):
        make_dataset(str(tmp_path), batch_size=2, image_size=30)
