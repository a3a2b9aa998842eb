"""Regression head versus classification head, trained the same way on the demo data.

Both models get the same crops of the bundled sample photos, the same seed, epochs, batches and
learning rate; the classification head's class weights come from the training crops' ab
distribution. Each is evaluated on the held-out crops (the paper's metrics beside the gray
baseline, and the Hasler-Suesstrunk colourfulness beside the true photos'), the classification
model at three annealed-mean temperatures, and both colorize the held-out photos.

Run (about 6 minutes on 2 CPU cores with the defaults)::

    python benchmarks/compare_heads.py --out runs/compare_heads

Writes ``results.md``, ``results.json`` and ``before_after.png`` into ``--out``.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

TEMPERATURES = (1.0, 0.38, 0.1)
"""Annealed-mean temperatures the classification model is evaluated at (0.38: its default)."""
ROWS = (("ab_rmse", "ab RMSE ↓"), ("pixel_accuracy", "pixel accuracy @10 ↑"),
        ("psnr", "PSNR dB ↑"), ("colorfulness", "colourfulness"))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default="runs/compare_heads", help="output folder")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per head")
    parser.add_argument("--steps-per-epoch", type=int, default=25)
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="safety time limit per head")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--crops", type=int, default=48, help="training crops per photo")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def evaluate(model, test_ds) -> dict[str, dict[str, float]]:
    """Mean metrics of the model, the gray baseline and the truth (colourfulness only)."""
    from colorizer.evaluation.colorfulness import colorfulness_batches
    from colorizer.evaluation.metrics import evaluate_batches, summarize

    summary = summarize(evaluate_batches(model, test_ds, progress=False))
    colourful = colorfulness_batches(model, test_ds, progress=False)
    summary["model"]["colorfulness"] = float(np.mean(colourful["model"]))
    summary["gray"]["colorfulness"] = 0.0
    summary["truth"] = {"colorfulness": float(np.mean(colourful["truth"]))}
    return summary


def table(results: dict) -> str:
    """Markdown: one column per model, the best model value of each metric in bold."""
    columns = list(results["models"])
    lines = ["| metric | gray baseline | " + " | ".join(columns) + " | ground truth |",
             "|---|" + "---|" * (len(columns) + 2)]
    for key, label in ROWS:
        values = [results["models"][c][key] for c in columns]
        if key == "colorfulness":  # closest to the truth is best
            target = results["truth"]["colorfulness"]
            best = int(np.argmin([abs(v - target) for v in values]))
        else:
            best = int(np.argmin(values) if key == "ab_rmse" else np.argmax(values))
        cells = [f"**{v:.4g}**" if i == best else f"{v:.4g}" for i, v in enumerate(values)]
        truth = f"{results['truth']['colorfulness']:.4g}" if key == "colorfulness" else ""
        lines.append(f"| {label} | {results['gray'][key]:.4g} | " + " | ".join(cells)
                     + f" | {truth} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    from colorizer.cli.demo import DemoConfig, build_crop_folders, colorize_holdout
    from colorizer.data.ab_distribution import ab_distribution_from_dataset
    from colorizer.data.pipeline import make_dataset
    from colorizer.fileio import write_json, write_text
    from colorizer.model.config import ModelConfig
    from colorizer.model.network import set_temperature
    from colorizer.plots import plot_before_after
    from colorizer.training.config import TrainConfig
    from colorizer.training.train import train

    demo = DemoConfig(out=args.out, image_size=args.image_size, crops_per_photo=args.crops,
                      batch_size=args.batch_size, seed=args.seed, validation_share=0.0)
    train_dir, test_dir, n_train, n_test = build_crop_folders(demo)
    common = dict(batch_size=args.batch_size, image_size=args.image_size, seed=args.seed)
    test_ds = make_dataset(test_dir, **common)
    # What `colorizer prepare` would save beside shards: the training crops' ab distribution.
    distribution = ab_distribution_from_dataset(make_dataset(train_dir, **common))
    train_config = TrainConfig(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                               learning_rate=args.learning_rate, batch_log_every=5,
                               max_minutes=args.minutes)

    results: dict = {"models": {}, "train_seconds": {}, "epochs": {},
                     "train_crops": n_train, "test_crops": n_test, "settings": vars(args)}
    photos = {}
    for head in ("regression", "classification"):
        train_ds = make_dataset(train_dir, training=True, repeat=True, **common)
        started = time.monotonic()
        result = train(train_ds, os.path.join(args.out, head), val_data=test_ds,
                       model_config=ModelConfig(weights=None, head=head),
                       train_config=train_config, ab_distribution=distribution, verbose=2)
        results["train_seconds"][head] = round(time.monotonic() - started, 1)
        results["epochs"][head] = len(result.history)
        model = result.model
        if head == "regression":
            summary = evaluate(model, test_ds)
            results["models"]["regression"] = summary["model"]
            results["gray"], results["truth"] = summary["gray"], summary["truth"]
        else:
            for temperature in TEMPERATURES:
                set_temperature(model, temperature)
                results["models"][f"classification T={temperature:g}"] = \
                    evaluate(model, test_ds)["model"]
            set_temperature(model, 0.38)
        photos[head] = colorize_holdout(model, os.path.join(args.out, head))

    markdown = table(results)
    write_text(os.path.join(args.out, "results.md"), markdown)
    write_json(os.path.join(args.out, "results.json"), results)
    rows = [[r["gray"], r["colorized"], c["colorized"], r["truth"]]
            for r, c in zip(photos["regression"], photos["classification"])]
    plot_before_after(rows, ["input (gray)", "regression", "classification T=0.38",
                             "ground truth"], os.path.join(args.out, "before_after.png"),
                      row_labels=[p["name"] for p in photos["regression"]])
    print(markdown)
    print(f"train seconds: {results['train_seconds']}, epochs: {results['epochs']}, "
          f"{n_train} training crops, {n_test} test crops -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
