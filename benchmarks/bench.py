"""Speed and memory of colorizer on this machine, each figure a ratio measured in the same run.

    python benchmarks/bench.py            # about eight minutes on 2 busy cores
    python benchmarks/bench.py --quick    # fewer photos and repeats, for checking: 2-4 minutes

Sections:
  pipeline        (L, ab) batches per second from a JPEG folder and from TFRecord shards,
                  against a plain Python loop that opens each file with Pillow and converts it
                  with scikit-image (what typical Keras colorization code does).
  model           inference and training images/s at 224x224, and the model's FLOP rate as a
                  share of this machine's own float32 matmul rate (TensorFlow's, measured
                  once): on TensorFlow in this process, then on JAX (XLA) in a child process
                  (a process has one Keras backend), so both share the one reference.
  training_input  training photos/s, like for like, with the paper's rotation, flips and
                  L-noise: the cached input path (tf.data decodes, caches, crops and batches)
                  feeding LabAugmentation as the training step runs it (in tf.function on
                  TensorFlow, in jax.jit on JAX in a child process), on this machine's CPU;
                  the same pipeline augmenting on the host instead; and a naive per-photo
                  Python loop doing the same work (Pillow, scipy rotation, flips,
                  scikit-image rgb2lab, noise), each after a first, cache-filling epoch.
  colorize        time to colorize a 1 MP and a 12 MP photo, the share spent outside the
                  model, and the ratio to the channel-clipping path of commit 187b422 timed
                  in turn in the same process; again with the model's ab tripled (many
                  colours outside sRGB).
  memory          peak resident memory of training at batch 16 and of colorizing a 12 MP
                  photo, each in a fresh process.

Prints a table and writes every number to JSON (``--out``).
"""
from __future__ import annotations

import argparse
import atexit
import functools
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

SIZE = 224
PHOTO_SHAPE = (375, 500)  # a typical web photo (the Oxford-IIIT Pet images are about this)
RESIZE_RATIO = 8.0 / 7.0  # training photos' short side over the crop's (make_dataset's default)
SECTIONS = ("pipeline", "model", "training_input", "colorize", "memory")


def timed(function, repeats: int = 3) -> float:
    """The fastest of ``repeats`` timings of ``function()`` in seconds (the least disturbed by
    other work on a shared machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


# ----------------------------------------------------------------------------- pipeline
def make_photos(folder: str, count: int, seed: int = 0) -> list[str]:
    """``count`` JPEG photos of PHOTO_SHAPE cut at random from the bundled sample photos."""
    from colorizer.data import samples
    from colorizer.data.images import read_rgb

    rng = np.random.default_rng(seed)
    sources = [read_rgb(p) for p in samples.available()]
    paths = []
    for i in range(count):
        photo = sources[i % len(sources)]
        scale = max(PHOTO_SHAPE[0] / photo.shape[0], PHOTO_SHAPE[1] / photo.shape[1]) * 1.2
        image = Image.fromarray(photo).resize(
            (int(photo.shape[1] * scale) + 1, int(photo.shape[0] * scale) + 1))
        top = rng.integers(0, image.height - PHOTO_SHAPE[0])
        left = rng.integers(0, image.width - PHOTO_SHAPE[1])
        image = image.crop((left, top, left + PHOTO_SHAPE[1], top + PHOTO_SHAPE[0]))
        paths.append(os.path.join(folder, f"photo{i:04d}.jpg"))
        image.save(paths[-1], quality=90)
    return paths


def write_shards(paths: list[str], folder: str, count: int = 4) -> None:
    import tensorflow as tf

    from colorizer.data import records

    for index in range(count):
        name = os.path.join(folder, records.shard_name("train", index, count))
        with tf.io.TFRecordWriter(name) as writer:
            for path in paths[index::count]:
                with open(path, "rb") as f:
                    writer.write(records.serialize_example(f.read(), name=path))


def python_loop(paths: list[str], batch_size: int) -> int:
    """The baseline: one file at a time, Pillow to read, scikit-image for Lab."""
    from skimage.color import rgb2lab

    lightness, ab, done = [], [], 0
    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB").resize((SIZE, SIZE))) / 255.0
        lab = rgb2lab(rgb)
        lightness.append(lab[..., :1])
        ab.append(lab[..., 1:])
        if len(lightness) == batch_size:
            np.stack(lightness), np.stack(ab)
            done += batch_size
            lightness, ab = [], []
    return done


@functools.lru_cache(maxsize=None)
def photo_folder(count: int) -> str:
    """A temporary folder of ``count`` photos (:func:`make_photos`), made once per run and
    shared by the sections that read photos; removed when the run ends."""
    work = tempfile.mkdtemp(prefix="colorizer-bench-")
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    photos = os.path.join(work, "photos")
    os.makedirs(photos)
    make_photos(photos, count)
    return photos


def photo_paths(folder: str) -> list[str]:
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if name.endswith(".jpg"))


def bench_pipeline(quick: bool) -> dict:
    from colorizer.data.config import AugmentConfig
    from colorizer.data.pipeline import make_dataset

    count, batch = (128, 32) if quick else (512, 32)
    photos = photo_folder(count)
    paths = photo_paths(photos)
    shards = os.path.join(os.path.dirname(photos), "shards")
    if not os.path.isdir(shards):
        os.makedirs(shards)
        write_shards(paths, shards)

    baseline = count / timed(lambda: python_loop(paths, batch), repeats=1 if quick else 2)
    results = {"photos": count, "photo_shape": list(PHOTO_SHAPE), "batch_size": batch,
               "python_loop_images_per_s": baseline}

    def consume(ds) -> int:
        return sum(int(lightness.shape[0]) for lightness, _ in ds)

    cases = {
        "eval": dict(training=False),
        "train_no_augment": dict(training=True, augment=AugmentConfig.none()),
        "train_augmented": dict(training=True),
    }
    for source_name, source in (("folder", photos), ("shards", shards)):
        for case, kwargs in cases.items():
            ds = make_dataset(source, batch_size=batch, image_size=SIZE, shuffle_buffer=count,
                              **kwargs)
            cold = count / timed(lambda: consume(ds), repeats=1)  # decodes and caches
            warm = count / timed(lambda: consume(ds), repeats=2 if quick else 3)
            key = f"{source_name}_{case}"
            results[key] = {"first_epoch_images_per_s": cold, "images_per_s": warm,
                            "first_epoch_ratio": cold / baseline, "ratio": warm / baseline}
    return results


# ----------------------------------------------------------------------------- model
def matmul_rate(quick: bool) -> float:
    """This machine's float32 matmul rate in FLOP/s (TensorFlow, all cores)."""
    import tensorflow as tf

    n = 2048
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    steps = 4 if quick else 10

    @tf.function
    def run():
        c = a
        for _ in range(steps):
            c = tf.matmul(c, b) * 1e-3  # scaled so values stay finite
        return c

    run().numpy()
    return 2.0 * n ** 3 * steps / timed(lambda: run().numpy(), repeats=3 if quick else 5)


def bench_model(quick: bool) -> dict:
    import keras
    import tensorflow as tf

    from colorizer.model.network import build_colorizer, count_macs

    flops = 2.0 * count_macs(SIZE)
    peak = matmul_rate(quick)
    model = build_colorizer(weights=None)
    # The top-level rates are TensorFlow's (keys kept from before JAX was measured too).
    results = {"backend": "tensorflow", "flops_per_image": flops, "matmul_flops_per_s": peak,
               "inference": {}, "training": {}}
    repeats = 2 if quick else 3
    for batch in (1, 8, 32) if not quick else (1, 16):
        x = tf.random.uniform([batch, SIZE, SIZE, 1], 0, 100)
        for xla in (False, True):
            run = tf.function(lambda t: model(t, training=False), jit_compile=xla)
            try:
                run(x).numpy()
            except Exception as error:  # XLA may not compile every op on every machine
                results["inference"][f"batch{batch}_xla{int(xla)}"] = {"error": str(error)[:200]}
                continue
            rate = batch / timed(lambda: run(x).numpy(), repeats)
            results["inference"][f"batch{batch}_xla{int(xla)}"] = {
                "images_per_s": rate, "share_of_matmul_rate": rate * flops / peak}

    batch = 8 if quick else 16
    x = tf.random.uniform([batch, SIZE, SIZE, 1], 0, 100)
    y = tf.random.uniform([batch, SIZE, SIZE, 2], -60, 60)
    for xla in (False, True):
        trainee = build_colorizer(weights=None)
        trainee.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=xla)
        trainee.train_on_batch(x, y)
        # Two timings: a step takes seconds on a CPU, and compiling it came first.
        rate = batch / timed(lambda: trainee.train_on_batch(x, y), repeats=2)
        # A training step costs about three forward passes (forward, two backward products).
        results["training"][f"batch{batch}_xla{int(xla)}"] = {
            "images_per_s": rate, "share_of_matmul_rate": rate * 3 * flops / peak}
    best = max((v for v in results["inference"].values() if "images_per_s" in v),
               key=lambda v: v["images_per_s"])
    results["best_inference_share"] = best["share_of_matmul_rate"]

    # JAX beside it: a fresh process (Keras picks its backend once per process), its rates
    # set against the same matmul reference as TensorFlow's.
    jax_rates = run_child("model", "jax", quick)
    for kind, passes in (("inference", 1), ("training", 3)):
        for value in jax_rates.get(kind, {}).values():
            value["share_of_matmul_rate"] = value["images_per_s"] * passes * flops / peak
    if jax_rates.get("inference"):
        jax_rates["best_inference_share"] = max(
            v["share_of_matmul_rate"] for v in jax_rates["inference"].values())
    results["jax"] = jax_rates
    return results


def keras_model_rates(quick: bool) -> dict:
    """Inference and training images/s of the colorizer on the running Keras backend, the
    way colorizer runs it there (``predict_on_batch``, ``train_on_batch``; on JAX both are
    XLA-compiled). Runs in a child process started with ``KERAS_BACKEND`` set.
    """
    import keras

    from colorizer.model.network import build_colorizer

    backend = keras.backend.backend()
    results = {"backend": backend, "version": importlib.metadata.version(backend),
               "inference": {}, "training": {}}
    if backend == "jax":
        results["matmul_flops_per_s"] = jax_matmul_rate(quick)  # XLA's own, for comparison
    rng = np.random.default_rng(0)
    model = build_colorizer(weights=None)
    repeats = 2 if quick else 3
    for batch in (1, 8, 32) if not quick else (1, 16):
        x = rng.uniform(0, 100, [batch, SIZE, SIZE, 1]).astype("float32")
        model.predict_on_batch(x)  # compiles for this batch shape
        rate = batch / timed(lambda: model.predict_on_batch(x), repeats)
        results["inference"][f"batch{batch}"] = {"images_per_s": rate}

    batch = 8 if quick else 16
    x = rng.uniform(0, 100, [batch, SIZE, SIZE, 1]).astype("float32")
    y = rng.uniform(-60, 60, [batch, SIZE, SIZE, 2]).astype("float32")
    # The same model trains (random weights either way): building it again costs about 20 s
    # under JAX on two cores.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.train_on_batch(x, y)
    # Two timings: a step takes seconds on a CPU, and compiling it came first.
    rate = batch / timed(lambda: model.train_on_batch(x, y), repeats=2)
    results["training"][f"batch{batch}"] = {"images_per_s": rate}
    return results


def jax_matmul_rate(quick: bool) -> float:
    """The float32 matmul rate JAX (XLA) reaches on this machine, in FLOP/s."""
    import jax

    n = 2048
    steps = 4 if quick else 10
    keys = jax.random.split(jax.random.key(0))
    a = jax.random.normal(keys[0], (n, n), "float32")
    b = jax.random.normal(keys[1], (n, n), "float32")

    @jax.jit
    def run(c):
        for _ in range(steps):
            c = (c @ b) * 1e-3  # scaled so values stay finite
        return c

    run(a).block_until_ready()
    return 2.0 * n ** 3 * steps / timed(lambda: run(a).block_until_ready(),
                                        repeats=3 if quick else 5)


def run_child(section: str, backend: str, quick: bool, *extra: str) -> dict:
    """Runs ``--child section`` of this script in a fresh process on Keras ``backend`` and
    returns the JSON it prints last; ``{"error": ...}`` when it fails (e.g. JAX missing), so
    the other figures of the run still come out."""
    command = [sys.executable, os.path.abspath(__file__), "--child", section,
               "--backend", backend, *extra] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": backend})
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        said = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"error": said[-1][:300]}
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- training input
def naive_training_loop(paths: list[str], batch_size: int, seed: int = 0) -> int:
    """The baseline for training input: typical Keras colorization code, one photo at a time,
    every epoch from the file: Pillow reads it and resizes its short side, then a random
    crop, a random rotation of +-15 degrees (scipy, bilinear, reflected corners), random
    flips, scikit-image ``rgb2lab``, Gaussian noise on L; batches are stacked with numpy.
    The same work as the paper's augmentation (:class:`~colorizer.data.config.AugmentConfig`
    defaults), so its rate compares like for like.

    Returns:
        The number of photos delivered in full batches.
    """
    from scipy import ndimage
    from skimage.color import rgb2lab

    from colorizer.data.config import AugmentConfig

    config = AugmentConfig()
    short_side = int(round(SIZE * RESIZE_RATIO))
    rng = np.random.default_rng(seed)
    lightness, ab, done = [], [], 0
    for path in paths:
        image = Image.open(path).convert("RGB")
        scale = short_side / min(image.size)
        image = image.resize((max(short_side, round(image.width * scale)),
                              max(short_side, round(image.height * scale))))
        rgb = np.asarray(image, np.float32) / 255.0
        top = rng.integers(0, rgb.shape[0] - SIZE + 1)
        left = rng.integers(0, rgb.shape[1] - SIZE + 1)
        rgb = rgb[top:top + SIZE, left:left + SIZE]
        angle = rng.uniform(-config.rotation_degrees, config.rotation_degrees)
        rgb = ndimage.rotate(rgb, angle, axes=(1, 0), reshape=False, order=1, mode="reflect")
        if config.horizontal_flip and rng.random() < 0.5:
            rgb = rgb[:, ::-1]
        if config.vertical_flip and rng.random() < 0.5:
            rgb = rgb[::-1]
        lab = rgb2lab(np.clip(rgb, 0.0, 1.0))
        noisy = lab[..., :1] + rng.normal(0.0, config.noise_stddev, lab[..., :1].shape)
        lightness.append(np.clip(noisy, 0.0, 100.0).astype(np.float32))
        ab.append(lab[..., 1:].astype(np.float32))
        if len(lightness) == batch_size:
            np.stack(lightness), np.stack(ab)
            done += batch_size
            lightness, ab = [], []
    return done


def augment_step():
    """``step(lightness, ab) -> (lightness, ab)``: LabAugmentation with the paper's settings,
    compiled the way the training step is on the running backend (``tf.function`` without
    XLA on a TensorFlow CPU, ``jax.jit`` on JAX), returning only when the batch is done."""
    import keras

    from colorizer.data.config import AugmentConfig
    from colorizer.training.augmentation import LabAugmentation

    layer = LabAugmentation(AugmentConfig(), seed=0)
    if keras.backend.backend() == "jax":
        import jax

        # A JAX step is a pure function: the layer's step counter goes in and out as state,
        # as it does in Keras' own JAX train step.
        @jax.jit
        def pure(state, lightness, ab):
            return layer.stateless_call([], state, lightness, ab, training=True)

        state = [v.value for v in layer.non_trainable_variables]

        def step(lightness, ab):
            nonlocal state
            out, state = pure(state, lightness, ab)
            return jax.block_until_ready(out)

        return step
    import tensorflow as tf

    # TensorFlow's eager calls on the CPU return when their ops are done: no sync needed.
    return tf.function(lambda lightness, ab: layer(lightness, ab, training=True))


def device_augmented_input(folder: str, batch: int, quick: bool) -> dict:
    """Photos/s of the training input path with augmentation in the step: ``make_dataset``
    decoding, caching, cropping and batching (no augmentation on the host), as
    ``pairs_as_inputs`` hands it to ``fit``, then LabAugmentation on every batch on the
    running backend's CPU device. Runs in this process (TensorFlow) or a child (JAX).
    """
    import keras

    from colorizer.data.config import AugmentConfig
    from colorizer.data.pipeline import make_dataset, pairs_as_inputs

    on_jax = keras.backend.backend() == "jax"
    count = len(photo_paths(folder))
    ds = pairs_as_inputs(make_dataset(folder, batch_size=batch, image_size=SIZE,
                                      training=True, augment=AugmentConfig.none(),
                                      shuffle_buffer=count))
    step = augment_step()

    def batches():
        # Keras' JAX trainer reads tf.data as numpy arrays too.
        return ds.as_numpy_iterator() if on_jax else ds

    def epoch() -> int:
        done = 0
        for (lightness, ab), in batches():
            step(lightness, ab)
            done += int(lightness.shape[0])
        return done

    start = time.perf_counter()
    photos = epoch()  # decodes and caches, and traces or compiles the step
    first = photos / (time.perf_counter() - start)
    results = {"backend": keras.backend.backend(), "photos_per_epoch": photos,
               "first_epoch_photos_per_s": first,
               "photos_per_s": photos / timed(epoch, repeats=2)}
    # The augmentation alone, on one batch already in memory: its part of the path's time.
    (lightness, ab), = next(iter(batches()))
    results["augmentation_only_photos_per_s"] = batch / timed(lambda: step(lightness, ab),
                                                              repeats=3 if quick else 5)
    return results


def bench_training_input(quick: bool) -> dict:
    """Training photos/s with the paper's augmentation, like for like, against the naive
    loop: the input path feeding LabAugmentation in the step (TensorFlow here, JAX in a
    child), and the same pipeline augmenting on the host. Every path reads the same photos
    and is timed after its first epoch, which is reported too."""
    import dataclasses

    from colorizer.data.config import AugmentConfig
    from colorizer.data.pipeline import make_dataset

    # Half the pipeline section's photos in a full run: the JAX path is slow on a CPU, and
    # ratios need no more.
    count, batch = (128, 32) if quick else (256, 32)
    folder = photo_folder(count)
    paths = photo_paths(folder)
    naive = (count // batch * batch) / timed(lambda: naive_training_loop(paths, batch),
                                             repeats=1 if quick else 2)
    results = {"photos": count, "photo_shape": list(PHOTO_SHAPE), "batch_size": batch,
               "augment": dataclasses.asdict(AugmentConfig()), "device": "cpu",
               "naive_loop_photos_per_s": naive}

    ds = make_dataset(folder, batch_size=batch, image_size=SIZE, training=True,
                      augment=AugmentConfig(), shuffle_buffer=count)

    def consume() -> int:
        return sum(int(lightness.shape[0]) for lightness, _ in ds)

    start = time.perf_counter()
    photos = consume()  # decodes and caches
    first = photos / (time.perf_counter() - start)
    results["host_augmented"] = {"first_epoch_photos_per_s": first,
                                 "photos_per_s": photos / timed(consume, 2 if quick else 3)}
    # With augmentation on an accelerator, this is all the CPU does: decode and cache once,
    # then crop and batch. Its rate bounds the whole path's there.
    crops = make_dataset(folder, batch_size=batch, image_size=SIZE, training=True,
                         augment=AugmentConfig.none(), shuffle_buffer=count)

    def consume_crops() -> int:
        return sum(int(lightness.shape[0]) for lightness, _ in crops)

    start = time.perf_counter()
    photos = consume_crops()
    first = photos / (time.perf_counter() - start)
    results["cpu_share_of_device_path"] = {
        "first_epoch_photos_per_s": first,
        "photos_per_s": photos / timed(consume_crops, 2 if quick else 3)}
    results["device_augmented_tensorflow"] = device_augmented_input(folder, batch, quick)
    results["device_augmented_jax"] = run_child("training_input", "jax", quick,
                                                "--photos", folder, "--batch", str(batch))
    for key in ("host_augmented", "cpu_share_of_device_path", "device_augmented_tensorflow",
                "device_augmented_jax"):
        value = results[key]
        if "photos_per_s" in value:
            value["ratio"] = value["photos_per_s"] / naive
            value["first_epoch_ratio"] = value["first_epoch_photos_per_s"] / naive
    return results


# ----------------------------------------------------------------------------- colorize
class _TimedModel:
    """Wraps a model and adds up the time spent in it."""

    def __init__(self, model):
        self.model, self.seconds = model, 0.0

    def predict_on_batch(self, x):
        start = time.perf_counter()
        out = np.asarray(self.model.predict_on_batch(x))
        self.seconds += time.perf_counter() - start
        return out


def test_photo(megapixels: float) -> np.ndarray:
    from colorizer.data import samples
    from colorizer.data.images import read_rgb

    photo = read_rgb(samples.available()[0])
    height = int(round((megapixels * 1e6 * 3 / 4) ** 0.5))
    width = int(round(height * 4 / 3))
    return np.asarray(Image.fromarray(photo).resize((width, height), Image.BICUBIC))


class _SaturatedModel(_TimedModel):
    """The model with its ab output tripled: many more colours outside sRGB, the gamut
    mapping's worst case (the untrained model alone puts about a fifth of them outside)."""

    def predict_on_batch(self, x):
        return super().predict_on_batch(x) * 3.0


def _outside_share(model, photo: np.ndarray) -> float:
    """Share of the photo's pixels whose predicted colour lies outside sRGB (before mapping)."""
    import cv2

    from colorizer.gamut_mapping import chroma_factor
    from colorizer.inference.full_resolution import image_lightness, model_input

    lightness = image_lightness(photo)
    ab = np.asarray(model.predict_on_batch(model_input(lightness)[None]))[0]
    height, width = photo.shape[:2]
    ab = cv2.resize(ab, (width, height), interpolation=cv2.INTER_CUBIC)
    return float(np.mean(chroma_factor(lightness[..., 0], ab) < 1.0))


def bench_colorize(quick: bool) -> dict:
    """Seconds per photo of ``colorize`` and, timed in turn in the same process, of the
    channel-clipping path of commit 187b422 (``reference_clipping.py``): their ratio does not
    depend on what else the machine runs."""
    import reference_clipping

    from colorizer import colorize

    untrained = build_untrained()
    results = {}
    for name, model in (("", _TimedModel(untrained)), ("_saturated", _SaturatedModel(untrained))):
        colorize(model, test_photo(0.1))  # builds the predict function, the gamut table
        reference_clipping.colorize(model, test_photo(0.1))
        for megapixels in (1, 12):
            photo = test_photo(megapixels)
            totals, inside, reference = [], [], []
            for _ in range(2 if quick else 5):  # alternate, so both see the same load
                model.seconds = 0.0
                start = time.perf_counter()
                colorize(model, photo)
                totals.append(time.perf_counter() - start)
                inside.append(model.seconds)
                start = time.perf_counter()
                reference_clipping.colorize(model, photo)
                reference.append(time.perf_counter() - start)
            best = int(np.argmin(totals))
            results[f"{megapixels}MP{name}"] = {
                "shape": list(photo.shape[:2]), "seconds": totals[best],
                "model_seconds": inside[best],
                "share_outside_model": 1.0 - inside[best] / totals[best],
                "outside_gamut_share": _outside_share(model, photo),
                "clipping_187b422_seconds": min(reference),
                "ratio_to_clipping_187b422": totals[best] / min(reference)}
    return results


def build_untrained():
    """The untrained colorizer, seeded: its share of colours outside sRGB is the same each run."""
    import keras

    from colorizer.model.network import build_colorizer

    keras.utils.set_random_seed(0)
    return build_colorizer(weights=None)


# ----------------------------------------------------------------------------- memory
def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    ``VmHWM`` restarts with each program, while ``ru_maxrss`` carries the parent's peak
    across ``exec`` on Linux, so it is preferred where it exists.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(job: str) -> None:
    """Runs one job in this (fresh) process and prints its peak resident memory."""
    import tensorflow as tf

    from colorizer.model.network import build_colorizer

    model = build_colorizer(weights=None)
    before = peak_rss_mb()
    if job == "train":
        model.compile(optimizer="adam", loss="mse")
        x = tf.random.uniform([16, SIZE, SIZE, 1], 0, 100)
        y = tf.random.uniform([16, SIZE, SIZE, 2], -60, 60)
        for _ in range(2):
            model.train_on_batch(x, y)
    else:
        from colorizer import colorize

        colorize(model, test_photo(12))
    print(json.dumps({"peak_mb": peak_rss_mb(), "model_built_mb": before}))


def bench_memory() -> dict:
    results = {}
    for job in ("train", "colorize"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", job],
                             capture_output=True, text=True, check=True)
        results[job] = json.loads(out.stdout.strip().splitlines()[-1])
    results["train"]["what"] = "train_on_batch, batch 16, 224x224"
    results["colorize"]["what"] = "colorize one 12 MP photo"
    return results


# ----------------------------------------------------------------------------- report
def machine() -> dict:
    import tensorflow as tf

    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": version("keras"), "jax": version("jax"),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")}


def print_table(results: dict) -> None:
    rows = [("figure", "value", "ratio")]
    pipe = results.get("pipeline")
    if pipe:
        base = pipe["python_loop_images_per_s"]
        rows.append(("Python loop (Pillow + skimage), img/s", f"{base:.0f}", "1.0x"))
        for key, value in pipe.items():
            if isinstance(value, dict):
                cold = value["first_epoch_images_per_s"]
                rows.append((f"pipeline {key}, img/s (first epoch)",
                             f"{value['images_per_s']:.0f} ({cold:.0f})",
                             f"{value['ratio']:.1f}x ({value['first_epoch_ratio']:.1f}x)"))
    mod = results.get("model")
    if mod:
        rows.append(("float32 matmul, GFLOP/s", f"{mod['matmul_flops_per_s'] / 1e9:.0f}", ""))
        rows.append(("model GFLOP per 224x224 image", f"{mod['flops_per_image'] / 1e9:.2f}", ""))
        for kind in ("inference", "training"):
            for key, value in mod[kind].items():
                if "images_per_s" in value:
                    rows.append((f"{kind} {key}, img/s", f"{value['images_per_s']:.1f}",
                                 f"{value['share_of_matmul_rate']:.0%} of matmul"))
        jax_rates = mod.get("jax", {})
        if "error" in jax_rates:
            rows.append(("JAX model", "failed", jax_rates["error"][:60]))
        if "matmul_flops_per_s" in jax_rates:
            rows.append(("JAX (XLA) float32 matmul, GFLOP/s",
                         f"{jax_rates['matmul_flops_per_s'] / 1e9:.0f}",
                         f"{jax_rates['matmul_flops_per_s'] / mod['matmul_flops_per_s']:.2f}x "
                         "TensorFlow's"))
        for kind in ("inference", "training"):
            for key, value in jax_rates.get(kind, {}).items():
                rows.append((f"JAX (XLA) {kind} {key}, img/s", f"{value['images_per_s']:.1f}",
                             f"{value['share_of_matmul_rate']:.0%} of matmul"))
    feed = results.get("training_input")
    if feed:
        base = feed["naive_loop_photos_per_s"]
        rows.append(("naive training loop (PIL, scipy rotate, flips, rgb2lab, noise), photos/s",
                     f"{base:.0f}", "1.0x"))
        names = {"host_augmented": "input path, augmented on the host (tf.data)",
                 "cpu_share_of_device_path": "input path, the CPU's share with augmentation "
                                             "on the accelerator (cached crops)",
                 "device_augmented_tensorflow": "input path + LabAugmentation, TensorFlow CPU",
                 "device_augmented_jax": "input path + LabAugmentation, JAX CPU (jit)"}
        for key, name in names.items():
            value = feed.get(key, {})
            if "error" in value:
                rows.append((name, "failed", value["error"][:60]))
            elif value:
                rows.append((f"{name}, photos/s (first epoch)",
                             f"{value['photos_per_s']:.0f} "
                             f"({value['first_epoch_photos_per_s']:.0f})",
                             f"{value['ratio']:.1f}x ({value['first_epoch_ratio']:.1f}x)"))
        for key in ("device_augmented_tensorflow", "device_augmented_jax"):
            value = feed.get(key, {})
            if "augmentation_only_photos_per_s" in value:
                rows.append((f"LabAugmentation alone, {value['backend']}, batch "
                             f"{feed['batch_size']}, photos/s",
                             f"{value['augmentation_only_photos_per_s']:.0f}",
                             f"{value['augmentation_only_photos_per_s'] / base:.1f}x"))
    col = results.get("colorize")
    if col:
        for key, value in col.items():
            rows.append((f"colorize {key} photo ({value['outside_gamut_share']:.0%} of colours "
                         f"outside sRGB), s", f"{value['seconds']:.2f}",
                         f"{value['share_outside_model']:.0%} outside model, "
                         f"{value['ratio_to_clipping_187b422']:.2f}x 187b422's clipping path "
                         f"({value['clipping_187b422_seconds']:.2f} s)"))
    mem = results.get("memory")
    if mem:
        for key, value in mem.items():
            rows.append((f"peak memory, {value['what']}, MB", f"{value['peak_mb']:.0f}",
                         f"{value['peak_mb'] / value['model_built_mb']:.1f}x model alone"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * width for width in widths))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--out", default="bench.json", help="where to write the JSON results")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--update", metavar="FILE",
                        help="run only --sections and replace them in this earlier results "
                             "file, each with the load average it ran under")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    # A child process measuring one section on one Keras backend (see run_child).
    parser.add_argument("--child", choices=("model", "training_input"), help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="tensorflow", help=argparse.SUPPRESS)
    parser.add_argument("--photos", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Before anything imports Keras: the run measures TensorFlow in this process whatever
    # KERAS_BACKEND says, and other backends in children.
    from colorizer.backend import use_backend

    use_backend(args.backend)
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    if args.child:
        results = (keras_model_rates(args.quick) if args.child == "model"
                   else device_augmented_input(args.photos, args.batch, args.quick))
        print(json.dumps(results))
        return 0

    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    results = {"machine": machine(), "quick": args.quick}
    results["machine"]["load_average_at_start"] = round(os.getloadavg()[0], 2)
    runners = {"pipeline": lambda: bench_pipeline(args.quick),
               "model": lambda: bench_model(args.quick),
               "training_input": lambda: bench_training_input(args.quick),
               "colorize": lambda: bench_colorize(args.quick), "memory": bench_memory}
    for name in sections:
        start = time.perf_counter()
        print(f"[{name}] ...", file=sys.stderr, flush=True)
        results[name] = runners[name]()
        print(f"[{name}] {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print_table(results)
    out = args.out
    if args.update:
        # Other sections keep the figures of the run that wrote them; this section says when and
        # under what load it was measured.
        with open(args.update) as f:
            earlier = json.load(f)
        for name in sections:
            earlier[name] = results[name]
            earlier.setdefault("updated_sections", {})[name] = {
                "load_average_at_start": results["machine"]["load_average_at_start"],
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        results, out = earlier, args.update
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
