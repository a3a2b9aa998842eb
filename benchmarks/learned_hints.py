"""Learned hints against the number of hints: Zhang et al.'s protocol on held-out photos.

Held-out colour photos (``--photos``: ``--count`` photos of the folder's test split, the split
training leaves out; and the colour photos the packages ship) are made gray and colorized with
k = 0, 1, 2, 5, 10, 20, 50, 100 hints at uniform random places, each a PATCH x PATCH square
carrying the truth's mean colour over it (given as scribbles, through the product's own
``colorize(model, photo, hints=...)``), DRAWS draws per photo and k, by

* ``gray``: ab = 0;
* ``learned``: a model that takes the hints as inputs (``--hints-model``, e.g. trained by
  ``colorizer train --preset budget-hints``), the solve after it making hinted pixels exact;
* ``guided``: today's guided colour (propagation, the prior chosen from the hints) on an
  automatic model trained for the same minutes (``--auto-model``, ``--preset budget``);
* ``levin``: the prior-free 2004 propagation (Levin et al.), ab from the hints alone.

Errors: PSNR of the 8-bit RGB (as Zhang reports) and ab RMSE, averaged over photos and draws.
Zhang et al.'s published curve (1,000 ImageNet test photos at 256 px, another data set) is
drawn beside ours for scale. The solve's prior strength after the learned model is compared on
the validation split first (``prior`` in the JSON). Times per photo at 1 MP and 12 MP with 0,
10 and 100 hints are ratios to the automatic model's plain colorize in the same run.

    python benchmarks/learned_hints.py --photos PETS --hints-model runs/hints-affinity/best.keras \\
        --auto-model runs/budget-amd/best.keras --out benchmarks/learned_hints.json \\
        --figure docs/assets/learned-hints-psnr.png
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from guided_colour import ab_rmse, levin_baseline, psnr  # noqa: E402

KS = (0, 1, 2, 5, 10, 20, 50, 100)
DRAWS = 3
PATCH = 5
"""Side of each hint's square, in pixels of the photo (the simulator in training draws 1 to 9)."""
ZHANG_PSNR = {0: 24.43, 1: 25.37, 2: 26.20, 5: 27.39, 10: 28.42, 20: 29.34, 50: 30.42,
              100: 31.13}
"""Zhang et al. 2017, their network with random hints, ImageNet test photos at 256 px."""
STRENGTHS = (0.1, 1.0, 10.0)
SHIPPED = ("skimage:chelsea.png", "skimage:coffee.png", "matplotlib:grace_hopper.jpg")


def patch_hints(truth: np.ndarray, truth_lab: np.ndarray, k: int, rng) -> np.ndarray:
    """RGBA scribbles: ``k`` squares of PATCH px at uniform places, each of the colour whose
    Lab is the truth's mean over it."""
    from colorizer.color import lab_to_rgb

    height, width = truth.shape[:2]
    rgba = np.zeros((height, width, 4), np.uint8)
    for _ in range(k):
        top = int(rng.integers(0, max(1, height - PATCH + 1)))
        left = int(rng.integers(0, max(1, width - PATCH + 1)))
        window = (slice(top, top + PATCH), slice(left, left + PATCH))
        mean = truth_lab[window].reshape(-1, 3).mean(axis=0)
        colour = np.asarray(lab_to_rgb(mean.reshape(1, 1, 3).astype(np.float32)))[0, 0]
        rgba[window] = (*np.clip(colour * 255 + 0.5, 0, 255).astype(np.uint8), 255)
    return rgba


def load(path: str) -> np.ndarray:
    """A photo file, or a packaged sample named ``package:file``."""
    from colorizer.data.images import read_rgb
    from colorizer.data.samples import sample_path

    return read_rgb(sample_path(path) if path in SHIPPED else path)


def split_photos(folder: str, split: str, count: int) -> list[str]:
    from colorizer.data.pipeline import resolve_files

    photos = sorted(resolve_files(folder, split))
    chosen = np.random.default_rng(1).choice(len(photos), min(count, len(photos)), replace=False)
    return [photos[i] for i in sorted(chosen)]


def measure(models: dict, photos: list[str], seed: int, strengths=(None,)) -> dict:
    """Mean PSNR and ab RMSE of every row at every k over ``photos`` and DRAWS draws."""
    from colorizer import colorize
    from colorizer.color import rgb_to_lab
    from colorizer.guided.guided import colorize_guided
    from colorizer.guided.hints import Hints, hint_pixels
    from colorizer.inference.full_resolution import encode_lab, image_lightness

    rng = np.random.default_rng(seed)
    scores: dict[str, dict[str, list]] = {}

    def add(row: str, rgb: np.ndarray, truth: np.ndarray, truth_ab: np.ndarray) -> None:
        entry = scores.setdefault(row, {"psnr": [], "ab_rmse": []})
        entry["psnr"].append(psnr(rgb, truth))
        entry["ab_rmse"].append(ab_rmse(rgb, truth_ab))

    for path in photos:
        truth = load(path)
        truth_lab = np.asarray(rgb_to_lab(truth.astype(np.float32) / 255.0))
        gray = truth_lab[..., :1]
        lightness = image_lightness(truth)
        zero = np.zeros(truth.shape[:2] + (2,), np.float32)
        add("gray", encode_lab(lightness, zero), truth, truth_lab[..., 1:])
        for k in KS:
            for _ in range(DRAWS):
                scribbles = patch_hints(truth, truth_lab, k, rng)
                hints = Hints(scribbles=scribbles)
                for name, model in models.items():
                    for strength in strengths:
                        row = f"{name} k={k}" + (f" strength={strength:g}" if strength else "")
                        if strength is None:
                            rgb = colorize(model, truth, hints=hints)
                        else:
                            rgb = colorize_guided(model, truth, hints=hints,
                                                  prior_strength=strength)
                        add(row, rgb, truth, truth_lab[..., 1:])
                if "levin" in models or strengths != (None,):
                    continue
                rows, cols, hint_ab = hint_pixels(hints, *truth.shape[:2])
                ab = levin_baseline(gray[..., 0], rows, cols, hint_ab) if k else zero
                add(f"levin k={k}", encode_lab(lightness, ab), truth, truth_lab[..., 1:])
    return {row: {metric: round(statistics.fmean(values), 3)
                  for metric, values in entry.items()} | {"n": len(entry["psnr"])}
            for row, entry in scores.items()}


def timing(models: dict, repeats: int = 2) -> dict:
    """Seconds per photo at 1 MP and 12 MP with 0, 10 and 100 hints, as ratios to the
    automatic model's plain colorize of the same photo in this run."""
    from colorizer import colorize
    from colorizer.guided.hints import Hints

    rng = np.random.default_rng(5)
    found = {}
    for megapixels, (height, width) in ((1, (866, 1155)), (12, (3000, 4000))):
        ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :]
        photo = np.clip(ramp + rng.normal(0, 20, (height, 1)), 0, 255).astype(np.uint8)
        photo = np.repeat(photo[..., None], 3, axis=-1)

        def best(function) -> float:
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                function()
                times.append(time.perf_counter() - start)
            return min(times)

        plain = best(lambda: colorize(models["guided"], photo))
        found[f"{megapixels} MP plain seconds"] = round(plain, 3)
        for k in (0, 10, 100):
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height)), "#aa3322")
                      for _ in range(k)]
            for name, model in models.items():
                seconds = best(lambda: colorize(model, photo, hints=Hints.from_value(points)))
                found[f"{megapixels} MP {name} k={k} / plain"] = round(seconds / plain, 2)
    return found


def figure(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    xs = list(KS)
    labels = {"learned": "learned hints (hint-taking model)",
              "guided": "guided colour on the automatic model (same minutes)",
              "levin": "propagation without a model (2004)"}
    for ax, metric in zip(axes, ("psnr", "ab_rmse")):
        acc = results["test"]
        for name, label in labels.items():
            ax.plot(xs, [acc[f"{name} k={k}"][metric] for k in xs], "o-", label=label)
        ax.axhline(acc["gray"][metric], color="gray", linestyle=":", label="gray")
        if metric == "psnr":
            ax.plot(xs, [ZHANG_PSNR[k] for k in xs], "k--", alpha=0.5,
                    label="Zhang et al. 2017 (ImageNet, 256 px: another data set)")
            ax.set_ylabel("PSNR, dB (higher is better)")
        else:
            ax.set_ylabel("ab RMSE (lower is better)")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xticks(xs, [str(k) for k in xs])
        ax.set_xlabel(f"hints ({PATCH} x {PATCH} px patches of the true mean colour)")
        ax.legend(fontsize=7)
    fig.suptitle(f"Held-out cats and dogs ({results['count']} test photos, {DRAWS} draws)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)


def preview_timing(models: dict, repeats: int = 15) -> dict:
    """Median seconds of the web app's preview per edit (``colorizer.app.guided.preview``) of a
    256 x 256 photo with 3 colour points, for each model."""
    from colorizer.app.guided import preview
    from colorizer.data.images import read_rgb
    from colorizer.data.samples import sample_path

    import cv2

    photo = cv2.resize(read_rgb(sample_path("skimage:chelsea.png")), (256, 256),
                       interpolation=cv2.INTER_AREA)
    points = [(40, 60, "#aa3322"), (200, 90, "#2a7f3a"), (128, 200, "#3355cc")]
    results = {}
    for name, model in models.items():
        preview(model, photo, points, None)  # the first run builds the model's graph
        seconds = []
        for _ in range(repeats):
            began = time.perf_counter()
            preview(model, photo, points, None)
            seconds.append(time.perf_counter() - began)
        results[f"{name} preview seconds (256 px, 3 points, median)"] = round(
            statistics.median(seconds), 3)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", required=True, help="the photo folder the models trained on")
    parser.add_argument("--hints-model", required=True, help="a model that takes hints")
    parser.add_argument("--auto-model", required=True, help="an automatic model, same minutes")
    parser.add_argument("--count", type=int, default=40, help="test photos measured")
    parser.add_argument("--prior-count", type=int, default=12,
                        help="validation photos on which the solve's strength is compared")
    parser.add_argument("--out", default=os.path.join(HERE, "learned_hints.json"))
    parser.add_argument("--figure", default=None)
    parser.add_argument("--preview-only", action="store_true",
                        help="measure only the web app's preview time, into the --out JSON")
    args = parser.parse_args(argv)

    from colorizer.model.network import load_colorizer

    models = {"learned": load_colorizer(args.hints_model),
              "guided": load_colorizer(args.auto_model)}
    if args.preview_only:
        with open(args.out, encoding="utf-8") as file:
            results = json.load(file)
        results["preview"] = preview_timing(models)
        with open(args.out, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=1)
            file.write("\n")
        print(json.dumps(results["preview"], indent=1))
        return 0
    started = time.time()
    results = {"count": args.count, "draws": DRAWS, "patch": PATCH, "ks": list(KS),
               "zhang_psnr": ZHANG_PSNR}
    results["prior"] = measure({"learned": models["learned"]},
                               split_photos(args.photos, "val", args.prior_count), seed=7,
                               strengths=STRENGTHS)
    print(json.dumps(results["prior"], indent=1), flush=True)
    results["test"] = measure(models, split_photos(args.photos, "test", args.count), seed=1)
    results["shipped"] = measure(models, list(SHIPPED), seed=2)
    results["timing"] = timing(models)
    results["preview"] = preview_timing(models)
    results["minutes"] = round((time.time() - started) / 60, 1)
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=1)
        file.write("\n")
    if args.figure:
        figure(results, args.figure)
    for key in ("test", "shipped"):
        acc = results[key]
        print(f"\n{key}: k  " + "  ".join(f"{name:>16}" for name in ("learned", "guided",
                                                                    "levin")))
        for k in KS:
            print(f"  {k:>4}  " + "  ".join(
                f"{acc[f'{name} k={k}']['psnr']:6.2f} dB {acc[f'{name} k={k}']['ab_rmse']:6.2f}"
                for name in ("learned", "guided", "levin")))
        print(f"  gray  {acc['gray']['psnr']:.2f} dB {acc['gray']['ab_rmse']:.2f}")
    print(json.dumps(results["timing"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
