"""A reference photo with a model that takes hints: fed to the network as hints, or propagated.

A hint-taking model (``--preset budget-hints``) can take a reference photo two ways:

* ``hints``: the reference's colour is matched to the gray photo by lightness and texture
  (Welsh et al. 2002) and its best matches, one per cell of a 6 x 6 grid, are fed to the
  network as hints (``colorizer.guided.learned.reference_hints``);
* ``propagation``: the matched colour is spread on top of the model's own colour, as for a
  model without hints (the solve of ``colorizer.guided.guided``).

Both are measured beside the automatic model of the same minutes with the reference
propagated (today's guided colour), and beside each model's colour without a reference, on
``--count`` photos of the cats-and-dogs test split, with two references each:

* ``same scene``: the photo itself mirrored, cropped to 80% and shifted (what a second shot of
  the scene gives);
* ``similar subject``: another photo of the same breed (of the same species where
  ``labels.csv`` names no breed), from the training split: what a user finds, a colour photo
  of a similar subject.

Errors are ab RMSE and PSNR of the 8-bit RGB against the truth, averaged over photos.

    python benchmarks/learned_reference.py --photos PETS --hints-model runs/hints-affinity/best.keras \\
        --auto-model runs/budget-amd/best.keras --count 30 --out benchmarks/learned_reference.json
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from guided_colour import ab_rmse, folder_photos, mirrored_crop, psnr  # noqa: E402


def subjects(folder: str) -> dict[str, str]:
    """``{file name: breed}`` from the folder's ``labels.csv`` (``file,breed,species``), the
    species where no breed is named."""
    import csv

    with open(os.path.join(folder, "labels.csv"), newline="") as f:
        return {row["file"]: row["breed"] or row["species"] for row in csv.DictReader(f)}


def similar_subject_references(folder: str, photos: list[str]) -> dict[str, str]:
    """For each photo, a training-split photo of its breed (its species where the breed is
    unknown): the first in name order."""
    from colorizer.data.pipeline import resolve_files

    subject = subjects(folder)
    by_subject = collections.defaultdict(list)
    for path in sorted(resolve_files(folder, "train")):
        by_subject[subject.get(os.path.basename(path))].append(path)
    references = {}
    for photo in photos:
        key = subject.get(os.path.basename(photo))
        if key is not None and by_subject[key]:
            references[photo] = by_subject[key][0]
    return references


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", required=True)
    parser.add_argument("--hints-model", required=True)
    parser.add_argument("--auto-model", required=True)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    from colorizer import colorize, load_colorizer
    from colorizer.color import rgb_to_lab
    from colorizer.data.images import read_rgb
    from colorizer.guided.guided import colorize_guided

    learned, automatic = load_colorizer(args.hints_model), load_colorizer(args.auto_model)
    photos = folder_photos(args.photos, args.count)
    similar = similar_subject_references(args.photos, photos)
    sums, seconds = collections.defaultdict(list), collections.defaultdict(list)

    def add(name, rgb, truth, truth_ab, began):
        seconds[name].append(time.perf_counter() - began)
        sums[name].append((ab_rmse(rgb, truth_ab), psnr(rgb, truth)))

    for path in photos:
        truth = read_rgb(path)
        truth_ab = np.asarray(rgb_to_lab(truth.astype(np.float32) / 255.0))[..., 1:]
        gray = np.repeat(truth.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1)
        for name, model in (("hint model", learned), ("automatic model", automatic)):
            began = time.perf_counter()
            add(f"{name}, no reference", colorize(model, truth), truth, truth_ab, began)
        references = {"same scene": mirrored_crop(truth)}
        if path in similar:
            references["similar subject"] = read_rgb(similar[path])
        for kind, reference in references.items():
            for way in ("hints", "propagation"):
                began = time.perf_counter()
                rgb = colorize_guided(learned, truth, reference=reference, reference_as=way)
                add(f"hint model, {kind} reference as {way}", rgb, truth, truth_ab, began)
            began = time.perf_counter()
            rgb = colorize_guided(automatic, truth, reference=reference)
            add(f"automatic model, {kind} reference propagated", rgb, truth, truth_ab, began)
        add("gray", gray, truth, truth_ab, time.perf_counter())
    results = {"photos": len(photos), "similar_subject_photos": len(similar),
               "hints_model": args.hints_model, "auto_model": args.auto_model,
               "rows": {name: {"ab_rmse": round(float(np.mean([v[0] for v in values])), 3),
                               "psnr": round(float(np.mean([v[1] for v in values])), 3),
                               "seconds": round(float(np.median(seconds[name])), 3),
                               "runs": len(values)}
                        for name, values in sums.items()}}
    for name, row in results["rows"].items():
        print(f"{name:55s} ab RMSE {row['ab_rmse']:6.2f}  PSNR {row['psnr']:6.2f}  "
              f"{row['seconds']:.3f} s  ({row['runs']})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
