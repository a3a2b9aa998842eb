"""Guided colour against the ground truth: how much a few hints, or a reference, help.

Held-out colour photos that ship with scikit-image and matplotlib (the demo's held-out
photos; none of them is a training photo of the demo) are made gray and colorized

* as gray (ab = 0) and by the model alone (automatic);
* with k = 0, 1, 2, 5, 10, 50 hints at random pixels, and with a few scribble strokes, each
  hint taking the ground truth's colour there: guided by default (the prior chosen from the
  hints) and with each fixed ``prior_strength`` of STRENGTHS;
* by a plain 2004-style propagation with no model prior (Levin et al.'s row-normalised
  affinities on a 256-pixel grid, upsampled bilinearly): the baseline to beat;
* with a reference photo: the ground truth mirrored, cropped and shifted.

Errors are ab RMSE (the root of the mean squared ab distance per pixel) and PSNR of the 8-bit
RGB, averaged over photos and hint draws. Times of plain and guided colorize for 1 MP and
12 MP photos with 0, 20 and 200 points are reported as ratios to plain colorize measured in
the same run (the machine may be shared).

    python benchmarks/guided_colour.py --model runs/demo/model.keras \\
        --out benchmarks/guided_colour.json --figure docs/assets/guided-colour-error.png

With ``--photos FOLDER`` (the folder the model was trained on), ``--count`` photos of its test
split are measured the same way as a second set (``accuracy_folder`` in the JSON); nothing of
them is written but the figures.

Without ``--model``, the demo is trained first (``colorizer demo``, a few minutes).
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
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

PHOTOS = ("skimage:chelsea.png", "skimage:coffee.png", "matplotlib:grace_hopper.jpg")
KS = (0, 1, 2, 5, 10, 50)
DRAWS = 3
"""Random draws of the hint pixels per photo and k."""
BASELINE_SIZE = 256
STROKES = 4
STRENGTHS = (0.01, 0.1, 1.0)
"""Fixed prior_strength values compared with the default (the prior chosen from the hints)."""
FOLDER_COUNT = 30
"""Photos drawn from the test split of ``--photos``."""


def ab_rmse(rgb: np.ndarray, truth_ab: np.ndarray) -> float:
    from colorizer.color import rgb_to_lab

    ab = np.asarray(rgb_to_lab(rgb.astype(np.float32) / 255.0))[..., 1:]
    return float(np.sqrt(np.mean(np.sum((ab - truth_ab) ** 2, axis=-1))))


def psnr(rgb: np.ndarray, truth: np.ndarray) -> float:
    error = np.mean((rgb.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(error, 1e-12)))


def random_points(truth: np.ndarray, k: int, rng) -> list:
    height, width = truth.shape[:2]
    flat = rng.choice(height * width, size=k, replace=False)
    return [(int(i % width), int(i // width), tuple(int(c) for c in truth[i // width, i % width]))
            for i in flat]


def scribbles(truth: np.ndarray, rng, strokes: int = STROKES) -> np.ndarray:
    """A few straight strokes, 3 pixels wide, each pixel of the true colour there."""
    height, width = truth.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    for _ in range(strokes):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        angle, length = rng.uniform(0, np.pi), rng.uniform(0.15, 0.3) * min(height, width)
        x1 = int(np.clip(x0 + length * np.cos(angle), 0, width - 1))
        y1 = int(np.clip(y0 + length * np.sin(angle), 0, height - 1))
        cv2.line(mask, (int(x0), int(y0)), (x1, y1), 255, 3)
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = truth
    rgba[..., 3] = mask
    return rgba


def levin_baseline(lightness: np.ndarray, rows, cols, hint_ab, size: int = BASELINE_SIZE):
    """Plain colorization by optimisation (Levin et al. 2004): ab from the hints alone.

    Row-normalised affinities over the 3x3 window, ``exp(-(Y_r - Y_s)^2 / (2 var_r))`` with
    ``var_r`` the window's variance (Y in [0, 1]), hinted pixels fixed; solved on a grid whose
    longest side is ``size``; ab upsampled bilinearly.
    """
    import scipy.sparse
    import scipy.sparse.linalg

    height, width = lightness.shape
    scale = min(1.0, size / max(height, width))
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    y = cv2.resize(lightness, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64) / 100.0
    n = h * w
    r = np.minimum(rows * h // height, h - 1)
    c = np.minimum(cols * w // width, w - 1)
    fixed = np.zeros(n, bool)
    target = np.zeros((n, 2))
    cells = r * w + c
    for channel in range(2):
        total = np.bincount(cells, hint_ab[:, channel], minlength=n)
        count = np.bincount(cells, minlength=n)
        target[count > 0, channel] = total[count > 0] / count[count > 0]
    fixed[cells] = True
    mean = cv2.blur(y, (3, 3))
    var = np.maximum((cv2.blur(y * y, (3, 3)) - mean * mean) * 0.6, 2e-6)
    index = np.arange(n).reshape(h, w)
    pad_y = np.pad(y, 1, mode="edge")
    pad_i = np.pad(index, 1, mode="edge")
    neighbours, weights = [], []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            other = pad_y[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            neighbours.append(pad_i[1 + dy:1 + dy + h, 1 + dx:1 + dx + w].ravel())
            weights.append(np.exp(-(other - y) ** 2 / (2 * var)).ravel())
    neighbours, weights = np.stack(neighbours, 1), np.stack(weights, 1)
    weights /= weights.sum(axis=1, keepdims=True)
    weights[fixed] = 0.0
    rows_index = np.repeat(np.arange(n), 8)
    matrix = scipy.sparse.identity(n) - scipy.sparse.csr_matrix(
        (weights.ravel(), (rows_index, neighbours.ravel())), shape=(n, n))
    solved = scipy.sparse.linalg.spsolve(matrix.tocsc(), target)
    return cv2.resize(solved.reshape(h, w, 2).astype(np.float32), (width, height),
                      interpolation=cv2.INTER_LINEAR)


def mirrored_crop(truth: np.ndarray) -> np.ndarray:
    """Another view of the scene: mirrored, 80% of it, shifted off the centre."""
    height, width = truth.shape[:2]
    flipped = truth[:, ::-1]
    return np.ascontiguousarray(flipped[int(0.15 * height):int(0.95 * height),
                                        int(0.05 * width):int(0.85 * width)])


def folder_photos(folder: str, count: int) -> list[str]:
    """``count`` photos of ``folder``'s test split (the split training leaves out), drawn
    with a fixed seed."""
    from colorizer.data.pipeline import resolve_files

    photos = sorted(resolve_files(folder, "test"))
    chosen = np.random.default_rng(1).choice(len(photos), min(count, len(photos)), replace=False)
    return [photos[i] for i in sorted(chosen)]


def accuracy(model, rng, photos: list[str]) -> dict:
    """The errors of every way of colouring, over ``photos`` (paths) and hint draws."""
    from colorizer.color import rgb_to_lab
    from colorizer.data.images import read_rgb
    from colorizer.inference.full_resolution import (
        encode_lab, image_lightness, merge_lightness_ab, model_input, predict_ab_batch)
    from colorizer.guided.guided import guided_ab
    from colorizer.guided.hints import Hints, hint_pixels

    rows_out: dict[str, list] = {}

    def add(name, rgb, truth, truth_ab):
        rows_out.setdefault(name, []).append((ab_rmse(rgb, truth_ab), psnr(rgb, truth)))

    for path in photos:
        truth = read_rgb(path)
        truth_ab = np.asarray(rgb_to_lab(truth.astype(np.float32) / 255.0))[..., 1:]
        lightness = image_lightness(truth)
        height, width = truth.shape[:2]
        gray = encode_lab(lightness, np.zeros((height, width, 2), np.float32))
        ab_small = predict_ab_batch(model, model_input(lightness)[None])[0]
        automatic = merge_lightness_ab(lightness, ab_small)
        for _ in range(DRAWS):
            add("gray", gray, truth, truth_ab)
            add("automatic", automatic, truth, truth_ab)
            draws = {f"k={k}": Hints.from_value(random_points(truth, k, rng)) for k in KS}
            draws["scribbles"] = Hints(scribbles=scribbles(truth, rng))
            for label, hints in draws.items():
                ab = guided_ab(lightness, ab_small, hints)
                add(f"guided {label}", encode_lab(lightness, ab), truth, truth_ab)
                for strength in STRENGTHS:
                    ab = guided_ab(lightness, ab_small, hints, prior_strength=strength)
                    add(f"guided {label} strength={strength:g}", encode_lab(lightness, ab),
                        truth, truth_ab)
                rows, cols, hint_ab = hint_pixels(hints, height, width)
                if rows.size:
                    ab = levin_baseline(lightness[..., 0], rows, cols, hint_ab)
                    ab[rows, cols] = hint_ab
                    add(f"baseline {label}", encode_lab(lightness, ab), truth, truth_ab)
                else:
                    add(f"baseline {label}", gray, truth, truth_ab)
        ab = guided_ab(lightness, ab_small, None, mirrored_crop(truth))
        for _ in range(DRAWS):  # the same weight as the other rows in the means
            add("reference", encode_lab(lightness, ab), truth, truth_ab)
    return {name: {"ab_rmse": round(float(np.mean([v[0] for v in values])), 3),
                   "psnr": round(float(np.mean([v[1] for v in values])), 3),
                   "runs": len(values)}
            for name, values in rows_out.items()}


def timing(model, rng, repeats: int = 3) -> dict:
    from colorizer.data.images import read_rgb
    from colorizer.data.samples import sample_path
    from colorizer import colorize
    from colorizer.guided.guided import colorize_guided

    photo = read_rgb(sample_path("skimage:chelsea.png"))
    results = {}
    for label, (width, height) in {"1MP": (1155, 866), "12MP": (4000, 3000)}.items():
        big = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
        colorize(model, big)  # warm: tables, the model's first call

        def best(function):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                function()
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        plain = best(lambda: colorize(model, big))
        row = {"plain_colorize_s": round(plain, 3)}
        for k in (0, 20, 200):
            hints = random_points(big, k, rng)
            seconds = best(lambda: colorize_guided(model, big, hints=hints))
            row[f"points={k}_s"] = round(seconds, 3)
            row[f"points={k}_ratio"] = round(seconds / plain, 3)
        results[label] = row
        print(label, row, flush=True)
    return results


GROUPS = {"accuracy": "photos shipped with scikit-image and matplotlib",
          "accuracy_folder": "held out from training: test split of --photos"}


def figure(results: dict, path: str) -> None:
    """Error against k for each photo set measured: guided (prior chosen from the hints),
    the best fixed strength, the prior-free baseline, gray and the automatic colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [key for key in GROUPS if key in results]
    xs = list(KS)
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4), squeeze=False)
    for ax, key in zip(axes[0], groups):
        acc = results[key]
        ax.plot(xs, [acc[f"guided k={k}"]["ab_rmse"] for k in xs], "o-",
                label="guided (prior chosen from the hints)")
        for strength in STRENGTHS:
            ax.plot(xs, [acc[f"guided k={k} strength={strength:g}"]["ab_rmse"] for k in xs],
                    ".:", alpha=0.6, label=f"guided, fixed strength {strength:g}")
        ax.plot(xs, [acc[f"baseline k={k}"]["ab_rmse"] for k in xs], "s--",
                label=f"propagation without prior ({BASELINE_SIZE} px)")
        ax.axhline(acc["gray"]["ab_rmse"], color="gray", linestyle=":", label="gray")
        ax.axhline(acc["automatic"]["ab_rmse"], color="tab:green", linestyle="-.",
                   label="automatic")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xticks(xs, [str(k) for k in xs])
        ax.set_xlabel("hints at random pixels (k)")
        ax.set_ylabel("ab RMSE (lower is better)")
        ax.set_title(GROUPS[key])
        ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a .keras colorizer (default: train the demo's)")
    parser.add_argument("--demo-out", default="runs/guided-benchmark-demo",
                        help="where the demo trains when --model is not given")
    parser.add_argument("--out", default="benchmarks/guided_colour.json")
    parser.add_argument("--figure", default="docs/assets/guided-colour-error.png")
    parser.add_argument("--photos", help="a folder of colour photos; its test split (by file "
                        "hash, as training splits it) is measured too")
    parser.add_argument("--count", type=int, default=FOLDER_COUNT,
                        help="photos drawn from that test split")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true",
                        help="measure the times again and replace them in --out, keeping its "
                             "accuracy results")
    args = parser.parse_args(argv)

    from colorizer.data.samples import sample_path
    from colorizer.guided.guided import PRIOR_STRENGTH
    from colorizer.model.network import load_colorizer

    model_path = args.model
    if model_path is None:
        from colorizer.cli.demo import DemoConfig, run_demo

        run_demo(DemoConfig(out=args.demo_out))
        model_path = os.path.join(args.demo_out, "model.keras")
    model = load_colorizer(model_path)
    rng = np.random.default_rng(0)
    if args.timing_only:
        with open(args.out) as file:
            results = json.load(file)
        results["timing"] = timing(model, rng)
        with open(args.out, "w") as file:
            json.dump(results, file, indent=2)
        return 0
    results = {"photos": list(PHOTOS), "draws": DRAWS, "ks": list(KS),
               "default_prior_strength": PRIOR_STRENGTH, "model": os.path.basename(model_path),
               "accuracy": accuracy(model, rng, [sample_path(spec) for spec in PHOTOS])}
    if args.photos:
        chosen = folder_photos(args.photos, args.count)
        results["folder"] = {"photos": len(chosen), "split": "test",
                             "note": "the test split of the folder the model was trained on"}
        results["accuracy_folder"] = accuracy(model, rng, chosen)
    for key in GROUPS:
        for name, row in results.get(key, {}).items():
            print(f"{key:16s} {name:36s} ab RMSE {row['ab_rmse']:7.3f}  "
                  f"PSNR {row['psnr']:7.3f}", flush=True)
    if not args.skip_timing:
        results["timing"] = timing(model, rng)
        results["timing_note"] = ("seconds are medians of 3 on a shared 2-core machine; "
                                  "compare the ratios to plain colorize of the same run")
    with open(args.out, "w") as file:
        json.dump(results, file, indent=2)
    figure(results, args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
