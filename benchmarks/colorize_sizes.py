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


def _photo(megapixels: float, folder: str) -> str:
    import cv2

    from colorizer import samples
    from colorizer.images import read_rgb

    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rgb = cv2.resize(read_rgb(samples.available()[0]), (width, height),
                     interpolation=cv2.INTER_CUBIC)
    path = os.path.join(folder, f"photo_{megapixels:g}mp.jpg")
    cv2.imwrite(path, rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def measure(megapixels: float, repeats: int, render_size: int) -> dict:
    """Runs in a child process: end-to-end seconds per photo, then each stage alone."""
    import numpy as np

    from colorizer.batch_colorize import colorize_inputs
    from colorizer.infer import image_lightness, merge_lightness_ab, model_input, predict_ab_batch
    from colorizer.inputs import Source, read_source
    from colorizer.model import build_colorizer
    from colorizer.outputs import colorized_tag, write_image

    model = build_colorizer(weights=None)
    with tempfile.TemporaryDirectory() as folder:
        path = _photo(megapixels, folder)
        out = os.path.join(folder, "out")
        colorize_inputs(model, [path], out, render_size=render_size, progress=False)  # warm-up
        baseline = _max_rss_mb()
        start = time.perf_counter()
        for _ in range(repeats):
            manifest = colorize_inputs(model, [path], out, render_size=render_size,
                                       overwrite=True, progress=False)
        total = (time.perf_counter() - start) / repeats
        assert manifest.counts()["ok"] == 1
        peak = _max_rss_mb()

        stages = dict.fromkeys(("decode", "lightness", "model", "merge", "write"), 0.0)
        for _ in range(repeats):
            clock = time.perf_counter()
            photo = read_source(Source(path, "x.jpg"))
            stages["decode"] += time.perf_counter() - clock
            clock = time.perf_counter()
            lightness = image_lightness(photo)
            small = model_input(lightness, render_size)
            stages["lightness"] += time.perf_counter() - clock
            clock = time.perf_counter()
            ab = predict_ab_batch(model, small[None])[0]
            stages["model"] += time.perf_counter() - clock
            clock = time.perf_counter()
            rgb = merge_lightness_ab(lightness, ab)
            stages["merge"] += time.perf_counter() - clock
            clock = time.perf_counter()
            write_image(os.path.join(out, "stage.jpg"), rgb, tag=colorized_tag())
            stages["write"] += time.perf_counter() - clock
    height, width = photo.shape[:2]
    return {"megapixels": megapixels, "size": f"{width}x{height}", "seconds": total,
            "stages": {k: v / repeats for k, v in stages.items()},
            "rss_baseline_mb": baseline, "rss_peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1.0, 12.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--render-size", type=int, default=224)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.repeats, args.render_size)))
        return

    print(f"cpus: {os.cpu_count()}, render size {args.render_size}, "
          f"{args.repeats} repeats per size, untrained model (weights=None)")
    print(f"{'photo':>16} {'s/photo':>8} {'model':>7} {'outside':>8} {'decode':>7} "
          f"{'L':>6} {'merge':>6} {'write':>6} {'peak RSS MB':>12} {'(+ over warm)':>14}")
    for megapixels in args.megapixels:
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(megapixels), "--repeats",
             str(args.repeats), "--render-size", str(args.render_size)],
            capture_output=True, text=True, check=True)
        r = json.loads(child.stdout.strip().splitlines()[-1])
        s = r["stages"]
        outside = 1.0 - s["model"] / sum(s.values())
        print(f"{r['size']:>16} {r['seconds']:8.2f} {s['model']:7.2f} {outside:8.0%} "
              f"{s['decode']:7.2f} {s['lightness']:6.2f} {s['merge']:6.2f} {s['write']:6.2f} "
              f"{r['rss_peak_mb']:12.0f} {r['rss_peak_mb'] - r['rss_baseline_mb']:+14.0f}")


if __name__ == "__main__":
    main()
