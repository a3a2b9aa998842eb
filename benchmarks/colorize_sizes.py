"""Time per photo of `colorize_inputs` for photos of a few sizes, and where the time goes.

Each size runs in a fresh process, so its peak memory (ru_maxrss) is its own. The model is
untrained (``weights=None``): speed does not depend on what the weights are. Inputs are a real
sample photo upscaled to the size and saved as JPEG, as a camera would give them.

Usage:
    python benchmarks/colorize_sizes.py                  # 1 MP and 12 MP
    python benchmarks/colorize_sizes.py --megapixels 1 4 12 24 --render-size 224
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from photos import camera_photo  # noqa: E402 (benchmarks/, beside this script)

FOLDER_PHOTOS = 6


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def measure(megapixels: float, repeats: int, render_size: int) -> dict:
    """Runs in a child process: end-to-end seconds per photo, then each stage alone.

    Times are the best of ``repeats`` runs: on a shared machine the best run is the one least
    disturbed by other work, as ``timeit`` reasons.
    """
    from colorizer.batches.batch import colorize_inputs
    from colorizer.inference.full_resolution import (
        image_lightness, merge_lightness_ab, model_input, predict_ab_batch)
    from colorizer.batches.inputs import Source, read_source
    from colorizer.inference.outputs import colorized_tag, write_image
    from colorizer.model.network import build_colorizer

    model = build_colorizer(weights=None)
    with tempfile.TemporaryDirectory() as folder:
        path = camera_photo(megapixels, folder)
        out = os.path.join(folder, "out")
        # Warm up (trace the model) on a small photo of the same aspect, hence the same working
        # size, so the baseline memory does not already hold the big photo's peak.
        colorize_inputs(model, [camera_photo(0.02, folder)], out, render_size=render_size,
                        progress=False)
        baseline = _max_rss_mb()
        runs, cpu = [], []
        for _ in range(repeats):
            clock, cpu_clock = time.perf_counter(), time.process_time()
            manifest = colorize_inputs(model, [path], out, render_size=render_size,
                                       overwrite=True, progress=False)
            runs.append(time.perf_counter() - clock)
            cpu.append(time.process_time() - cpu_clock)
        assert manifest.counts()["ok"] == 1
        peak = _max_rss_mb()

        # Many photos: the read-ahead thread decodes while the model and the writer work.
        album = os.path.join(folder, "album")
        os.makedirs(album)
        for i in range(FOLDER_PHOTOS):
            os.link(path, os.path.join(album, f"{i}.jpg"))
        in_folder = []
        for _ in range(2):  # the first run also traces the model for the new batch size
            clock = time.perf_counter()
            colorize_inputs(model, [album], os.path.join(folder, "album_out"),
                            render_size=render_size, overwrite=True, progress=False)
            in_folder.append((time.perf_counter() - clock) / FOLDER_PHOTOS)

        stages: dict[str, list[float]] = {k: [] for k in ("decode", "L", "model", "merge",
                                                          "write")}
        for _ in range(repeats):
            clock = time.perf_counter()

            def lap(name: str) -> None:
                nonlocal clock
                stages[name].append(time.perf_counter() - clock)
                clock = time.perf_counter()

            photo = read_source(Source(path, "x.jpg"))
            lap("decode")
            lightness = image_lightness(photo)
            small = model_input(lightness, render_size)
            lap("L")
            ab = predict_ab_batch(model, small[None])[0]
            lap("model")
            rgb = merge_lightness_ab(lightness, ab)
            lap("merge")
            write_image(os.path.join(out, "stage.jpg"), rgb, tag=colorized_tag())
            lap("write")
    height, width = photo.shape[:2]
    return {"size": f"{width}x{height}", "seconds": min(runs), "cpu_seconds": min(cpu), "in_folder": min(in_folder),
            "stages": {k: min(v) for k, v in stages.items()},
            "rss_baseline_mb": baseline, "rss_peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1.0, 12.0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--render-size", type=int, default=224)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.repeats, args.render_size)))
        return

    print(f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} before the run), "
          f"render size {args.render_size}, untrained model (weights=None), best of "
          f"{args.repeats}; seconds per photo (wall clock; 'cpu': CPU time of all threads)")
    print(f"{'photo':>10} {'total':>6} {'cpu':>5} {'model':>6} {'outside':>8} {'decode':>7} {'L':>5} "
          f"{'merge':>6} {'write':>6} {'folder of ' + str(FOLDER_PHOTOS):>12} "
          f"{'peak RSS MB':>12} {'over warm':>10}")
    for megapixels in args.megapixels:
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(megapixels), "--repeats",
             str(args.repeats), "--render-size", str(args.render_size)],
            capture_output=True, text=True, check=True)
        r = json.loads(child.stdout.strip().splitlines()[-1])
        s = r["stages"]
        outside = 1.0 - s["model"] / sum(s.values())
        print(f"{r['size']:>10} {r['seconds']:6.2f} {r['cpu_seconds']:5.2f} {s['model']:6.2f} {outside:8.0%} "
              f"{s['decode']:7.2f} {s['L']:5.2f} {s['merge']:6.2f} {s['write']:6.2f} "
              f"{r['in_folder']:12.2f} {r['rss_peak_mb']:12.0f} "
              f"{r['rss_peak_mb'] - r['rss_baseline_mb']:+10.0f}")


if __name__ == "__main__":
    main()
