"""Learned colour on real photos: the training presets and their ablations, on a photo folder.

Every row runs the product's own commands on the folder given (``--photos``, an image folder
with a ``labels.csv``; split into train/val/test by the hash of each file's path, the same
split for every row)::

    colorizer train --data PHOTOS --run-dir OUT/ROW ROW_OPTIONS --max-minutes M
    colorizer evaluate --model OUT/ROW/best.keras --data PHOTOS --split test \\
        --image-size SIZE --classifier OUT/judge.keras

and the offline judge of the semantic metric is trained once, on the training split only::

    colorizer train-classifier --data PHOTOS --out OUT/judge.keras

A row whose run folder already holds a ``model.keras`` is not trained again (an interrupted
benchmark resumes row by row; ``--retrain`` forces it), so rows may be run one at a time with
``--rows``. The results JSON holds, per row: the change, the options, the budget, the steps and
epochs it trained, the temperature or colour gain chosen, and on the test split the model's ab RMSE, AuC,
rebalanced AuC, PSNR, colourfulness and its gap to the truth, and the judge's cat-vs-dog
accuracy, beside gray and the ground truth, with the goal checked; and its loss curves (also
drawn in a PNG beside the JSON).

Run (the budget row alone takes 30 minutes plus evaluation on 2 CPU cores)::

    python benchmarks/learned_colour.py --photos PHOTOS --out runs/learned_colour \\
        --rows budget --json benchmarks/learned_colour.json

Timings on a shared machine are noisy: each row records the steps it managed in its minutes.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time

ROWS = {
    "budget": ("the budget preset: 128 px, regression (MSE), warm-up and cosine decay to the "
               "end of the minutes, colour gain chosen on validation",
               ["--preset", "budget", "--weights", "none"], 30.0),
    "budget-classification": ("the budget preset with the classification head (rebalanced), "
                              "its temperature chosen on validation",
                              ["--preset", "budget", "--weights", "none", "--head",
                               "classification"], 30.0),
    "paper-128": ("the paper's setting from scratch at 128 px: regression (MSE), constant "
                  "learning rate", ["--preset", "paper", "--weights", "none",
                                    "--freeze-encoder-epochs", "0", "--image-size", "128"],
                  30.0),
    "classification-constant": ("today's classification head (rebalanced, temperature 0.38) "
                                "at 128 px with a constant learning rate",
                                ["--preset", "paper", "--weights", "none",
                                 "--freeze-encoder-epochs", "0", "--image-size", "128",
                                 "--head", "classification"], 10.0),
}
"""name -> (the change, ``colorizer train`` options, default minutes)."""
METRICS = ("ab_rmse", "auc", "auc_rebalanced", "psnr", "ssim", "colorfulness",
           "colorfulness_gap", "species_hit")
LOWER_IS_BETTER = {"ab_rmse"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--photos", required=True,
                        help="an image folder with labels.csv (file,breed,species)")
    parser.add_argument("--out", default="runs/learned_colour", help="run folders")
    parser.add_argument("--json", default="benchmarks/learned_colour.json",
                        help="results JSON (a PNG of the loss curves goes beside it)")
    parser.add_argument("--rows", nargs="+", default=["budget"], choices=sorted(ROWS))
    parser.add_argument("--minutes", type=float,
                        help="time budget of every row trained (default: each row's own)")
    parser.add_argument("--image-size", type=int, default=128,
                        help="side of the centre crops evaluated")
    parser.add_argument("--judge-minutes", type=float, default=8.0,
                        help="time budget of the judge's training")
    parser.add_argument("--figure", default="assets/learned_colour_samples.jpg",
                        help="before / colorized / truth of photos the project may show "
                             "(scikit-image's and matplotlib's), by the first row's model")
    parser.add_argument("--retrain", action="store_true",
                        help="train rows again even when their run folder holds a model")
    return parser.parse_args(argv)


def colorizer(*args: str) -> None:
    """Runs ``colorizer ARGS`` (this interpreter's), failing loudly."""
    command = [sys.executable, "-m", "colorizer", *args]
    print("$", " ".join(command[2:]), flush=True)
    subprocess.run(command, check=True)


def read_csv(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def curves(run_dir: str) -> dict:
    """The run's training loss every N steps and its per-epoch validation loss."""
    batches = read_csv(os.path.join(run_dir, "batch_loss.csv"))
    history = read_csv(os.path.join(run_dir, "history.csv"))
    return {"steps": [int(r["step"]) for r in batches],
            "loss": [float(r["loss"]) for r in batches],
            "step_epochs": [int(r["epoch"]) for r in batches],
            "epochs": [int(r["epoch"]) + 1 for r in history],
            "val_loss": [float(r.get("val_loss") or "nan") for r in history]}


def goal(metrics: dict) -> dict:
    """Each part of the goal, checked on the test split's means."""
    model, gray, truth = (metrics[row] for row in ("model", "gray", "truth"))
    checks = {f"beats_gray_{m}": (model[m] < gray[m]) if m in LOWER_IS_BETTER
              else (model[m] > gray[m]) for m in ("ab_rmse", "auc", "auc_rebalanced", "psnr")}
    checks["colourful_half_of_truth"] = model["colorfulness"] >= 0.5 * truth["colorfulness"]
    if "species_hit" in model and "species_hit" in gray:
        checks["judge_prefers_colorized_to_gray"] = model["species_hit"] > gray["species_hit"]
    checks["met"] = all(checks.values())
    return checks


def evaluate_model(model_file: str, eval_dir: str, args, judge: str) -> tuple[dict, dict]:
    """``colorizer evaluate`` of one model on the test split (reused while the model file is
    older than its summary); returns the summary and the mean of each metric per row."""
    done = os.path.join(eval_dir, "summary.json")
    fresh = os.path.exists(done) and os.path.getmtime(done) > os.path.getmtime(model_file)
    if not fresh:
        colorizer("evaluate", "--model", model_file, "--data", args.photos, "--out", eval_dir,
                  "--split", "test", "--image-size", str(args.image_size),
                  "--classifier", judge, "--examples", "0")
    with open(done) as f:
        summary = json.load(f)
    metrics = {row: {m: summary["metrics"][row][m]["mean"] for m in METRICS
                     if m in summary["metrics"][row]} for row in ("model", "gray", "truth")}
    return summary, metrics


def run_row(name: str, args, judge: str) -> dict:
    change, options, minutes = ROWS[name]
    minutes = args.minutes or minutes
    run_dir = os.path.join(args.out, name)
    model_file = os.path.join(run_dir, "model.keras")
    if args.retrain or not os.path.exists(model_file):
        started = time.monotonic()
        colorizer("train", "--data", args.photos, "--run-dir", run_dir, *options,
                  "--max-minutes", str(minutes))
        print(f"{name}: trained in {(time.monotonic() - started) / 60:.1f} minutes")
    summary, metrics = evaluate_model(os.path.join(run_dir, "best.keras"),
                                      os.path.join(run_dir, "evaluation"), args, judge)
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    temperature, gain = None, None
    tuning = os.path.join(run_dir, "colour_tuning.json")
    if os.path.exists(tuning):
        with open(tuning) as f:
            chosen = json.load(f).get("best.keras", {})
        temperature, gain = chosen.get("temperature"), chosen.get("gain")
    if temperature is None and config["model"]["head"] == "classification":
        temperature = config["model"]["temperature"]
    as_trained = None
    if gain not in (None, 1.0):
        # The same model without its colour gain: what the gain alone changed, on the same
        # test photos (no second training run, whose noise would hide it).
        from colorizer.fileio import save_model
        from colorizer.model.network import load_colorizer, scale_colour

        plain = os.path.join(run_dir, "as_trained.keras")
        best_file = os.path.join(run_dir, "best.keras")
        if not os.path.exists(plain) or os.path.getmtime(plain) < os.path.getmtime(best_file):
            save_model(scale_colour(load_colorizer(best_file), 1.0 / gain), plain)
        _, plain_metrics = evaluate_model(plain, os.path.join(run_dir, "evaluation_as_trained"),
                                          args, judge)
        as_trained = {"change": "the same best.keras without its colour gain",
                      "metrics": plain_metrics, "goal": goal(plain_metrics)}
    best = {}
    if os.path.exists(os.path.join(run_dir, "best.keras.json")):
        with open(os.path.join(run_dir, "best.keras.json")) as f:
            best = json.load(f)
    loss = curves(run_dir)
    return {"row": name, "change": change, "options": options,
            "budget_minutes": config["train"]["max_minutes"],
            "head": config["model"]["head"], "image_size": config["data"]["image_size"],
            "schedule": config["train"].get("schedule", "constant"),
            "steps": loss["steps"][-1] if loss["steps"] else 0,
            "completed_epochs": len(loss["epochs"]), "best_model": best,
            "temperature": temperature, "colour_gain": gain, "test_images": summary["images"],
            "metrics": metrics, "goal": goal(metrics), "as_trained": as_trained,
            "curves": loss}


def plot_curves(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(rows), figsize=(4.5 * len(rows), 3.4), squeeze=False)
    for ax, row in zip(axes[0], rows):
        c = row["curves"]
        ax.plot(c["steps"], c["loss"], lw=1.2, label="training loss")
        # An epoch's last logged step is its end (each epoch's last batch is logged).
        ends = {epoch: step for step, epoch in zip(c["steps"], c["step_epochs"])}
        shown = [(ends[e], v) for e, v in zip(c["epochs"], c["val_loss"]) if e in ends]
        if shown:
            ax.plot(*zip(*shown), "o", label="validation loss")
        ax.set_title(f"{row['row']} ({row['head']}, {row['budget_minutes']:g} min)", fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("MSE on ab" if row["head"] == "regression" else "rebalanced CE")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


FIGURE_PHOTOS = ("skimage:chelsea.png", "skimage:coffee.png", "skimage:astronaut.png",
                 "matplotlib:grace_hopper.jpg")
"""Photos shipped with scikit-image and matplotlib: none is a training photo."""


def _small(image, height: int = 240):
    """The image scaled to ``height`` rows for the figure (it was colorized at full size)."""
    import numpy as np
    from PIL import Image

    width = round(image.shape[1] * height / image.shape[0])
    return np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS))


def sample_figure(model_path: str, out_png: str, render_size: int) -> list[str]:
    """Gray / colorized / truth of :data:`FIGURE_PHOTOS`; returns the photos drawn."""
    import numpy as np

    from colorizer.color import lightness_to_gray_rgb, rgb_to_l_ab
    from colorizer.data.images import read_rgb
    from colorizer.data.samples import sample_path
    from colorizer import colorize
    from colorizer.model.network import load_colorizer
    from colorizer.plots import plot_before_after

    model = load_colorizer(model_path)
    rows, names = [], []
    for spec in FIGURE_PHOTOS:
        try:
            photo = read_rgb(sample_path(spec))
        except FileNotFoundError:
            continue
        lightness, _ = rgb_to_l_ab(photo.astype(np.float32) / 255.0)
        gray = np.asarray(lightness_to_gray_rgb(lightness), np.float32)
        gray = np.clip(np.broadcast_to(gray, photo.shape) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        rows.append([_small(image) for image in
                     (gray, colorize(model, photo, render_size=render_size), photo)])
        names.append(spec)
    import matplotlib.pyplot as plt

    from colorizer.fileio import atomic_path

    figure = plot_before_after(rows, ["gray input", "colorized", "truth"], None,
                               row_labels=names)
    with atomic_path(out_png, suffix=os.path.splitext(out_png)[1]) as temporary:
        figure.savefig(temporary, dpi=90)
    plt.close(figure)
    return names


def main(argv=None) -> int:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    judge = os.path.join(args.out, "judge.keras")
    if not os.path.exists(judge):
        colorizer("train-classifier", "--data", args.photos, "--out", judge,
                  "--max-minutes", str(args.judge_minutes))
    with open(judge + ".labels.json") as f:
        judge_report = json.load(f)
    previous = {}
    if os.path.exists(args.json):
        with open(args.json) as f:
            previous = {row["row"]: row for row in json.load(f).get("rows", [])}
    for name in args.rows:
        previous[name] = run_row(name, args, judge)
    rows = [previous[name] for name in ROWS if name in previous]
    result = {
        "data": "6,000 cat and dog photos (short side 224), split by file hash "
                "80/10/10; test split evaluated",
        "image_size": args.image_size,
        "machine": "2 shared CPU cores (other jobs running): the steps each row managed in "
                   "its minutes are recorded",
        "judge": {k: judge_report[k] for k in ("labels", "image_size", "train_photos",
                                              "val_photos", "val_accuracy", "epochs")},
        "rows": rows,
    }
    from colorizer.fileio import write_json

    if args.figure and rows:
        first = rows[0]["row"]
        result["figure"] = {"file": args.figure, "model": f"{first} (best.keras)",
                            "photos": sample_figure(os.path.join(args.out, first, "best.keras"),
                                                    args.figure, args.image_size)}
    write_json(args.json, result)
    plot_curves(rows, os.path.splitext(args.json)[0] + "_curves.png")
    for row in rows:
        m = row["metrics"]
        print(f"{row['row']}: " + ", ".join(
            f"{k} {m['model'][k]:.4g} (gray {m['gray'][k]:.4g})" for k in m["model"]
            if k in m["gray"]) + f"; goal met: {row['goal']['met']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
