"""One colorizer on each runtime, in one run: Keras on TensorFlow, Keras on JAX, ONNX Runtime
and LiteRT, side by side on the same photos and the same machine.

For each runtime, in a fresh process of its own (so its imports and memory are its own):

* import: seconds to import the runtime itself (Keras with its backend, ``onnxruntime``,
  ``ai_edge_litert``);
* cold start: seconds from the process's start to the first colorized photo, through
  ``colorizer.load_colorizer`` and ``colorizer.colorize`` as a user's script runs them;
* photos per second through the network at the working size (224 x 224, one at a time, and in
  batches of 8);
* seconds per 12 MP photo, full resolution, L kept (``colorize``: the network and the photo
  path around it);
* peak memory (the process's VmHWM).

Install size: the packages each runtime brings on top of colorizer's own (summed from the
installed files' records, their dependencies included), and the whole environment each gives.
Equal results: the largest ab difference from the Keras model (at the working size) over the
held-out photos given (``--photos``: the test split of a prepared folder), per exported file,
with the RMSE of the difference and every model's ab RMSE from the true colour. The int8 ONNX
file (``export --precision int8``) is calibrated on 64 photos of the folder's training split.

Ratios against Keras on TensorFlow are printed and kept in the JSON: those, not the absolute
times, carry over to another machine.

Usage (``PYTHONPATH=.`` from a clone; TensorFlow, JAX, tf2onnx, onnxruntime and ai-edge-litert
installed, as the ``test`` extra has them):
    python benchmarks/runtimes.py --model runs/budget/best.keras \\
        --photos /path/to/pets --out benchmarks/runtimes.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

import numpy as np

RUNTIMES = ("keras-tensorflow", "keras-jax", "onnxruntime", "onnxruntime-int8", "litert")
IMPORTS = {"keras-tensorflow": "import keras", "keras-jax": "import keras",
           "onnxruntime": "import onnxruntime", "onnxruntime-int8": "import onnxruntime",
           "litert": "from ai_edge_litert.interpreter import Interpreter"}
PACKAGES = {"keras-tensorflow": ["keras", "tensorflow"], "keras-jax": ["keras", "jax", "jaxlib"],
            "onnxruntime": ["onnxruntime"], "onnxruntime-int8": ["onnxruntime"],
            "litert": ["ai-edge-litert"]}
"""What each runtime adds to colorizer's own packages."""

CHILD = r"""
import json, os, sys, time
start = time.perf_counter()
{import_line}
imported = time.perf_counter() - start
import numpy as np
import colorizer
from colorizer.inference.full_resolution import model_input, image_lightness
from colorizer.runtimes.network import predict_ab
model = colorizer.load_colorizer({model!r})
photo = colorizer.read_rgb({photo!r})
colorizer.colorize(model, photo)
first = time.perf_counter() - start
lightness = model_input(image_lightness(photo), 224)
lightness = np.ascontiguousarray(np.resize(lightness, (224, 224, 1)))[None]

def rate(batch, seconds):
    feed = np.repeat(lightness, batch, axis=0)
    predict_ab(model, feed)
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        predict_ab(model, feed)
        done += batch
    return done / (time.perf_counter() - began)

one, eight = rate(1, {seconds}), rate(8, {seconds})
big = np.asarray(np.resize(photo, (3000, 4000, 3)), np.uint8)
colorizer.colorize(model, big)
times = []
for _ in range(3):
    began = time.perf_counter()
    colorizer.colorize(model, big)
    times.append(time.perf_counter() - began)
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
print("RESULT " + json.dumps({{"import_s": imported, "cold_start_s": first,
      "photos_per_s_batch1": one, "photos_per_s_batch8": eight,
      "seconds_per_12mp": sorted(times)[1], "peak_mib": peak}}))
"""


def closure(names: list[str]) -> set[str]:
    """The installed distributions ``names`` need, themselves included (extras left out)."""
    from packaging.requirements import Requirement

    seen, todo = set(), list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(requirement.name)
    return seen


def size_mib(names: set[str]) -> float:
    total = 0
    for name in names:
        dist = metadata.distribution(name)
        for file in dist.files or []:
            path = file.locate()
            if os.path.isfile(path):
                total += os.path.getsize(path)
    return total / 2**20


def install_sizes() -> dict:
    base = closure(["colorizer"]) if _installed("colorizer") else closure(
        ["numpy", "opencv-python-headless", "pillow", "scikit-image", "scipy", "matplotlib",
         "tqdm", "gdown", "av"])
    base.discard("keras")
    sizes = {"colorizer_base_mib": round(size_mib(base), 1)}
    for runtime, packages in PACKAGES.items():
        added = closure(packages) - base
        sizes[runtime] = {"added_mib": round(size_mib(added), 1),
                          "environment_mib": round(size_mib(added | base), 1),
                          "added_packages": len(added)}
    return sizes


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def run_child(runtime: str, model: str, photo: str, seconds: float) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "jax" if runtime == "keras-jax" else "tensorflow",
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    script = CHILD.format(import_line=IMPORTS[runtime], model=model, photo=photo,
                          seconds=seconds)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{runtime} failed:\n{done.stderr[-3000:]}")
    return {key: round(value, 4) for key, value in json.loads(lines[-1][7:]).items()}


def held_out_differences(keras_path: str, files: dict, photos: list[str]) -> dict:
    """Per exported file, over ``photos`` at the working size: the largest ab difference from
    the Keras model, the RMSE of that difference, and each model's ab RMSE from the truth."""
    import cv2

    import colorizer
    from colorizer.color import rgb_to_lab
    from colorizer.inference.full_resolution import image_lightness, model_input
    from colorizer.runtimes.network import predict_ab

    keras_model = colorizer.load_colorizer(keras_path)
    models = {name: colorizer.load_colorizer(path) for name, path in files.items()}
    worst = {name: 0.0 for name in files}
    squares = {name: 0.0 for name in files}
    truth_squares = {name: 0.0 for name in ["keras", *files]}
    pixels = 0
    for path in photos:
        rgb = colorizer.read_rgb(path)
        lightness = model_input(image_lightness(rgb))[None]
        height, width = lightness.shape[1:3]
        small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        truth = np.asarray(rgb_to_lab(small.astype(np.float32) / 255.0))[..., 1:]
        expected = predict_ab(keras_model, lightness)
        truth_squares["keras"] += float(np.sum((expected[0] - truth) ** 2))
        pixels += height * width
        for name, model in models.items():
            predicted = predict_ab(model, lightness)
            difference = predicted - expected
            worst[name] = max(worst[name], float(np.abs(difference).max()))
            squares[name] += float(np.sum(difference ** 2))
            truth_squares[name] += float(np.sum((predicted[0] - truth) ** 2))
    return {"max_ab_difference": {name: round(value, 4) for name, value in worst.items()},
            "ab_rmse_difference": {name: round(float(np.sqrt(value / (2 * pixels))), 4)
                                   for name, value in squares.items()},
            "ab_rmse_to_truth": {name: round(float(np.sqrt(value / (2 * pixels))), 3)
                                 for name, value in truth_squares.items()}}


def test_photos(folder: str | None, count: int, split: str = "test") -> list[str]:
    """``count`` photos of a folder's split (default: the test split training never saw), or
    the shipped sample photos without a folder."""
    if folder is None:
        from colorizer.data.samples import HOLDOUT_PHOTOS, available

        return available(HOLDOUT_PHOTOS)
    from colorizer.data.pipeline import resolve_files

    photos = sorted(resolve_files(folder, split))
    chosen = np.random.default_rng(1).choice(len(photos), min(count, len(photos)), replace=False)
    return [photos[i] for i in sorted(chosen)]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a regression .keras colorizer (default: an untrained "
                                        "one; speed does not depend on the weights)")
    parser.add_argument("--photos", help="a photo folder; its test split is held out")
    parser.add_argument("--count", type=int, default=50, help="held-out photos compared")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="seconds each throughput figure is measured over")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--out", help="JSON file to write")
    args = parser.parse_args(argv)

    from colorizer.export.exporter import export_colorizer
    from colorizer.fileio import save_model

    folder = tempfile.mkdtemp(prefix="runtimes-bench-")
    keras_path = args.model
    if keras_path is None:
        from colorizer.model.network import build_colorizer

        keras_path = os.path.join(folder, "model.keras")
        save_model(build_colorizer(weights=None), keras_path)
    files = {"onnxruntime": export_colorizer(keras_path, "onnx",
                                             os.path.join(folder, "model.onnx")).path,
             "litert": export_colorizer(keras_path, "litert",
                                        os.path.join(folder, "model.tflite")).path,
             "litert-float16": export_colorizer(keras_path, "litert",
                                                os.path.join(folder, "model16.tflite"),
                                                precision="float16").path}
    # int8 is calibrated on training photos (or the shipped ones), never on the held-out ones.
    calibration = (test_photos(args.photos, 64, "train") if args.photos
                   else test_photos(None, 0) * 2)
    files["onnxruntime-int8"] = export_colorizer(
        keras_path, "onnx", os.path.join(folder, "model8.onnx"), precision="int8",
        calibration=calibration).path
    photos = test_photos(args.photos, args.count)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "processor": platform.processor() or platform.machine()},
               "model": args.model or "untrained (build_colorizer(weights=None))",
               "held_out_photos": len(photos), "int8_calibration_photos": len(calibration),
               **held_out_differences(keras_path, files, photos),
               "file_mib": {name: round(os.path.getsize(path) / 2**20, 2)
                            for name, path in files.items()},
               "install": install_sizes(), "runtimes": {}}
    paths = {"keras-tensorflow": keras_path, "keras-jax": keras_path,
             "onnxruntime": files["onnxruntime"], "litert": files["litert"],
             "onnxruntime-int8": files["onnxruntime-int8"]}
    for runtime in args.runtimes.split(","):
        results["runtimes"][runtime] = run_child(runtime, paths[runtime], photos[0],
                                                 args.seconds)
        print(runtime, results["runtimes"][runtime], flush=True)
    base = results["runtimes"].get("keras-tensorflow")
    if base:
        for runtime, figures in results["runtimes"].items():
            install = results["install"][runtime]
            figures["vs_keras_tensorflow"] = {
                "photos_per_s_batch1": round(figures["photos_per_s_batch1"]
                                             / base["photos_per_s_batch1"], 2),
                "photos_per_s_batch8": round(figures["photos_per_s_batch8"]
                                             / base["photos_per_s_batch8"], 2),
                "seconds_per_12mp": round(figures["seconds_per_12mp"]
                                          / base["seconds_per_12mp"], 2),
                "cold_start": round(figures["cold_start_s"] / base["cold_start_s"], 2),
                "import": round(figures["import_s"] / base["import_s"], 2),
                "peak_memory": round(figures["peak_mib"] / base["peak_mib"], 2),
                "install_added": round(install["added_mib"]
                                       / results["install"]["keras-tensorflow"]["added_mib"], 3),
                "install_environment": round(
                    install["environment_mib"]
                    / results["install"]["keras-tensorflow"]["environment_mib"], 3)}
    print(json.dumps({key: results[key] for key in (
        "max_ab_difference", "ab_rmse_difference", "ab_rmse_to_truth", "file_mib", "install")},
        indent=1))
    for runtime, figures in results["runtimes"].items():
        print(f"{runtime:17s} {json.dumps(figures.get('vs_keras_tensorflow', {}))}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
