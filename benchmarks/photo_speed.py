"""A big photo through ``colorize_inputs`` (decode, L, the network, the merge, JPEG out):
this tree against a baseline commit, in one run on one machine, and where the time goes.

Each tree runs in its own process, alternately, ``--rounds`` times; a photo's time is the best
of ``--repeats`` runs in a process (the run least disturbed by other work). The photo is a real
sample photo upscaled to ``--megapixels`` and saved as a camera JPEG (benchmarks/photos.py).

    python benchmarks/photo_speed.py --model M.keras --baseline 53e8f72 \\
        --json benchmarks/photo_speed.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, {tree!r})
from colorizer.batches.batch import colorize_inputs
from colorizer.batches.inputs import Source, read_source
from colorizer.inference.full_resolution import (
    encode_lab, image_lightness, model_input, predict_ab_batch, upscale_ab)
from colorizer.inference.outputs import colorized_tag, encode_image
from colorizer.runtimes.network import load_colorizer

model = load_colorizer({model!r})
out = {out!r}
colorize_inputs(model, [{photo!r}], out, overwrite=True, progress=False)
runs = []
for _ in range({repeats}):
    start = time.perf_counter()
    colorize_inputs(model, [{photo!r}], out, overwrite=True, progress=False)
    runs.append(time.perf_counter() - start)
stages = {{}}
for _ in range({repeats}):
    clock = [time.perf_counter()]
    def lap(name):
        now = time.perf_counter()
        stages[name] = min(stages.get(name, 1e9), now - clock[0])
        clock[0] = now
    photo = read_source(Source({photo!r}, "x.jpg")); lap("decode")
    lightness = image_lightness(photo); lap("lightness")
    small = model_input(lightness); lap("working_size")
    ab = predict_ab_batch(model, small[None])[0]; lap("network")
    rgb = encode_lab(lightness, upscale_ab(ab, lightness.shape[:2])); lap("merge")
    encode_image(rgb, ".jpg", tag=colorized_tag()); lap("jpeg")
print("RESULT " + json.dumps({{"seconds": min(runs), "stages": stages}}))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model file colorize takes")
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from photos import baseline_tree, camera_photo

    with tempfile.TemporaryDirectory() as work, baseline_tree(args.baseline, work) as baseline:
        photo = camera_photo(args.megapixels, work)
        found: dict[str, list] = {"now": [], "baseline": []}
        for _ in range(args.rounds):
            for label, tree in (("baseline", baseline), ("now", ROOT)):
                child = CHILD.format(tree=tree, model=args.model, photo=photo,
                                     out=os.path.join(work, label), repeats=args.repeats)
                done = subprocess.run([sys.executable, "-c", child], check=True,
                                      capture_output=True, text=True,
                                      env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
                found[label].append(json.loads(line[len("RESULT "):]))
    results = {"megapixels": args.megapixels, "model": os.path.basename(args.model),
               "baseline_commit": args.baseline, "cpus": os.cpu_count()}
    for label, runs in found.items():
        results[label] = {"seconds": min(r["seconds"] for r in runs),
                          "stages": {name: min(r["stages"][name] for r in runs)
                                     for name in runs[0]["stages"]}}
    results["ratio_baseline_to_now"] = round(results["baseline"]["seconds"] /
                                             results["now"]["seconds"], 2)
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)
            file.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
