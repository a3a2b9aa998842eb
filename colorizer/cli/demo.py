"""``colorizer demo``: the whole job on photos shipped with installed packages, offline.

1. Cut random crops from the training sample photos (and test crops from held-out photos).
2. Train the paper's model on them for a bounded time.
3. Evaluate on the held-out crops beside the gray baseline (:func:`colorizer.evaluation.evaluate.evaluate`,
   without the classifier, whose ImageNet weights would need a download).
4. Colorize gray versions of the held-out photos at full resolution.
5. Write ``model.keras``, ``history.csv``, ``loss.png``, ``before_after.png``,
   ``metrics.md``/``metrics.json``, ``evaluation/`` and ``report.md`` into the output folder.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from colorizer.data import samples
from colorizer.data.images import read_rgb
from colorizer.fileio import write_json, write_text


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo; the defaults finish in a few minutes on 2 CPU cores.

    Attributes:
        out: Output folder.
        minutes: Training time budget.
        image_size: Crop size the model trains and is evaluated at.
        crops_per_photo: Training crops cut from each training photo.
        test_crops_per_photo: Evaluation crops cut from each held-out photo.
        batch_size: Batch size.
        weights: ``None`` (train from scratch), ``"imagenet"`` or a weights file.
        epochs: Upper bound on epochs (the time budget usually ends training first).
        steps_per_epoch: Batches per epoch.
        seed: Seed for crops and training.
    """

    out: str = "runs/demo"
    minutes: float = 4.0
    image_size: int = 96
    crops_per_photo: int = 64
    test_crops_per_photo: int = 16
    batch_size: int = 16
    weights: str | None = None
    epochs: int = 1000
    steps_per_epoch: int = 25
    seed: int = 0


def build_crop_folders(config: DemoConfig) -> tuple[str, str, int, int]:
    """Writes training and test crops as PNGs; returns (train dir, test dir, counts)."""
    import cv2
    from tqdm.auto import tqdm

    rng = np.random.default_rng(config.seed)
    size = int(round(config.image_size * 8 / 7))
    counts = {}
    folders = {}
    for split, specs, per_photo in (("train", samples.TRAIN_PHOTOS, config.crops_per_photo),
                                    ("test", samples.HOLDOUT_PHOTOS, config.test_crops_per_photo)):
        folder = folders[split] = os.path.join(config.out, "data", split)
        os.makedirs(folder, exist_ok=True)
        counts[split] = 0
        for path in tqdm(samples.available(specs), desc=f"{split} crops", unit="photo"):
            stem = os.path.splitext(os.path.basename(path))[0]
            for i, crop in enumerate(samples.cut_crops(read_rgb(path), per_photo, size, rng)):
                target = os.path.join(folder, f"{stem}_{i:03d}.png")
                cv2.imwrite(target, cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
                counts[split] += 1
    return folders["train"], folders["test"], counts["train"], counts["test"]


def colorize_holdout(model, out: str) -> list[dict]:
    """Colorizes gray versions of the held-out photos at full size; saves and returns them."""
    import cv2
    from tqdm.auto import tqdm

    from colorizer.color import lightness_to_gray_rgb
    from colorizer.inference.full_resolution import colorize, image_lightness

    folder = os.path.join(out, "colorized")
    os.makedirs(folder, exist_ok=True)
    results = []
    for path in tqdm(samples.available(samples.HOLDOUT_PHOTOS), desc="colorize", unit="photo"):
        truth = read_rgb(path)
        gray = (lightness_to_gray_rgb(image_lightness(truth))[..., 0] * 255 + 0.5).astype(np.uint8)
        colored = colorize(model, gray)
        stem = os.path.splitext(os.path.basename(path))[0]
        cv2.imwrite(os.path.join(folder, f"{stem}.png"), cv2.cvtColor(colored, cv2.COLOR_RGB2BGR))
        results.append({"name": stem, "gray": gray, "colorized": colored, "truth": truth})
    return results


def run_demo(config: DemoConfig = DemoConfig()) -> dict:
    """Runs the demo end to end and returns its summary (also written as ``report.md``)."""
    from colorizer.data.pipeline import make_dataset
    from colorizer.evaluation.evaluate import evaluate
    from colorizer.evaluation.metrics import summary_markdown
    from colorizer.model.config import ModelConfig
    from colorizer.model.network import count_macs
    from colorizer.plots import plot_before_after
    from colorizer.training.config import TrainConfig
    from colorizer.training.train import train

    started = time.monotonic()
    os.makedirs(config.out, exist_ok=True)
    train_dir, test_dir, n_train, n_test = build_crop_folders(config)

    train_ds = make_dataset(train_dir, batch_size=config.batch_size, image_size=config.image_size,
                            training=True, repeat=True, seed=config.seed)
    test_ds = make_dataset(test_dir, batch_size=config.batch_size, image_size=config.image_size)
    result = train(
        train_ds, config.out, val_data=test_ds,
        model_config=ModelConfig(weights=config.weights),
        train_config=TrainConfig(epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
                                 batch_log_every=5, max_minutes=config.minutes),
        verbose=1)
    trained = time.monotonic()

    evaluation = evaluate(result.model, test_dir, os.path.join(config.out, "evaluation"),
                          classifier=None, split=None, image_size=config.image_size,
                          batch_size=config.batch_size, examples=2)
    table = summary_markdown(evaluation["metrics"])
    summary = {row: {metric: stats["mean"] for metric, stats in evaluation["metrics"][row].items()}
               for row in ("model", "gray")}
    for row in summary.values():
        row["images"] = evaluation["images"]
    write_text(os.path.join(config.out, "metrics.md"), table)
    write_json(os.path.join(config.out, "metrics.json"), summary)

    photos = colorize_holdout(result.model, config.out)
    plot_before_after([[p["gray"], p["colorized"], p["truth"]] for p in photos],
                      ["input (gray)", "colorized", "ground truth"],
                      os.path.join(config.out, "before_after.png"),
                      row_labels=[f"{p['name']} {p['truth'].shape[1]}x{p['truth'].shape[0]}"
                                  for p in photos])
    report = {
        "train_crops": n_train, "test_crops": n_test, "epochs": len(result.history),
        "train_minutes": round((trained - started) / 60, 2),
        "total_minutes": round((time.monotonic() - started) / 60, 2),
        "parameters": int(result.model.count_params()),
        "macs_224": count_macs(224), "metrics": summary, "weights": config.weights,
        "image_size": config.image_size,
    }
    write_text(os.path.join(config.out, "report.md"), render_report(report, table))
    write_json(os.path.join(config.out, "report.json"), report)
    return report


def render_report(report: dict, table: str) -> str:
    """The demo's ``report.md``."""
    weights = report["weights"] or "none (trained from scratch)"
    return f"""# colorizer demo report

Trained the paper's model (DenseNet121 cut at `pool2_pool` + upsampling decoder,
{report['parameters']:,} parameters, {report['macs_224'] / 1e9:.2f} GMACs per 224x224 image) on
{report['train_crops']} random {report['image_size']}x{report['image_size']} crops of sample
photos shipped with scikit-image and matplotlib, for {report['epochs']} short epochs
({report['train_minutes']} min, encoder weights: {weights}). Evaluated on {report['test_crops']}
crops of photos it never saw.

## Held-out metrics, beside the gray baseline

{table}
A handful of photos cannot teach a model the colours of the world: expect sepia-like,
desaturated results. Train on a real dataset (see the notebooks) for useful colour.

![accuracy vs threshold](evaluation/figures/accuracy_curve.png)

Best and worst held-out crops by the paper's L2 distance:

![best and worst](evaluation/figures/examples_l2_distance.png)

Every metric per crop, their spread and more figures: `evaluation/summary.md`.

## Training loss

![loss](loss.png)

## Held-out photos, colorized at full resolution

![before and after](before_after.png)

Finished in {report['total_minutes']} minutes. Files: `model.keras` (final), `best.keras`
(lowest validation loss), `history.csv`, `batch_loss.csv`, `metrics.json`, `colorized/`.
"""


def main_summary(report: dict) -> str:
    """A few lines for the terminal."""
    model, gray = report["metrics"]["model"], report["metrics"]["gray"]
    return (f"demo finished in {report['total_minutes']} min; held-out ab RMSE "
            f"{model['ab_rmse']:.2f} (gray {gray['ab_rmse']:.2f}), pixel accuracy "
            f"{model['pixel_accuracy']:.3f} (gray {gray['pixel_accuracy']:.3f}); "
            + json.dumps({"psnr": round(model["psnr"], 2), "gray_psnr": round(gray["psnr"], 2)}))
