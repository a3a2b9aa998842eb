"""The full-size merge (``encode_lab``: full-size L and ab -> sRGB in gamut) of this tree against
a baseline commit's, in one process, on the same arrays, alternately.

Photos: the sample photo of ``photo_speed.py`` (a camera JPEG, a sky that puts about 15% of its
predicted colours outside sRGB) and ``--count`` photos of a folder (``--photos``, e.g. the
cats and dogs), each upscaled to ``--megapixels`` with its ab predicted by ``--model`` at the
working size. Both trees' modules are loaded in one process (the baseline's from a git
worktree), so the two merges meet the same caches, threads and machine drift; wall and CPU
times are the medians of ``--repeats`` alternate runs.

    python benchmarks/merge_speed.py --model runs/budget-amd/best.keras --baseline 237e857 \\
        --photos PETS --json benchmarks/merge_speed.json
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_full_resolution(tree: str):
    """``colorizer.inference.full_resolution`` of the tree at ``tree``, apart from any other."""
    for name in [n for n in sys.modules if n == "colorizer" or n.startswith("colorizer.")]:
        del sys.modules[name]
    sys.path.insert(0, tree)
    try:
        from colorizer.inference import full_resolution
    finally:
        sys.path.remove(tree)
    return full_resolution


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model file colorize takes")
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--photos", help="a folder of photos (the first --count, sorted)")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import numpy as np
    from photos import baseline_tree, camera_photo, upscaled

    with tempfile.TemporaryDirectory() as work, baseline_tree(args.baseline, work) as baseline:
        old = load_full_resolution(baseline)
        now = load_full_resolution(ROOT)
        from colorizer.data.images import read_rgb
        from colorizer.gamut_mapping import chroma_factor
        from colorizer.runtimes.network import load_colorizer

        model = load_colorizer(args.model)
        sources = [("sample photo (camera JPEG)", read_rgb(camera_photo(args.megapixels, work)))]
        if args.photos:
            names = sorted(glob.glob(os.path.join(args.photos, "*.jpg")))[:args.count]
            sources += [(os.path.basename(name), upscaled(read_rgb(name), args.megapixels))
                        for name in names]
        rows = []
        for label, rgb in sources:
            lightness = now.image_lightness(rgb)
            ab_small = now.predict_ab_batch(model, now.model_input(lightness)[None])[0]
            ab = now.upscale_ab(ab_small, lightness.shape[:2])
            outside = float(np.mean(chroma_factor(lightness[..., 0], ab) < 1.0))
            same = np.abs(old.encode_lab(lightness, ab).astype(int)
                          - now.encode_lab(lightness, ab)).max()
            times = {"baseline": [], "now": []}
            for _ in range(args.repeats):
                for name, module in (("baseline", old), ("now", now)):
                    cpu, wall = time.process_time(), time.perf_counter()
                    module.encode_lab(lightness, ab)
                    times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            row = {"photo": label, "outside_srgb": round(outside, 4),
                   "largest_output_difference": int(same)}
            for name, runs in times.items():
                row[f"{name}_wall_s"] = round(statistics.median(r[0] for r in runs), 4)
                row[f"{name}_cpu_s"] = round(statistics.median(r[1] for r in runs), 4)
            row["ratio_baseline_to_now"] = round(row["baseline_wall_s"] / row["now_wall_s"], 2)
            print(json.dumps(row), flush=True)
            rows.append(row)
    result = {"megapixels": args.megapixels, "model": os.path.basename(args.model),
              "baseline_commit": args.baseline, "cpus": os.cpu_count(), "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
