"""``colorizer demo``: the whole job on photos shipped with installed packages, offline.

1. Cut random crops: for training from the left three quarters of each training photo, for
   validation from the right quarter (pixels training never sees), and for the test from
   held-out photos.
2. Train the paper's model on them for a bounded time. The encoder starts from ImageNet
   weights when they are cached or downloadable (:mod:`colorizer.model.pretrained`), from
   scratch otherwise; the report says which.
3. Keep the epoch with the lowest validation loss, and shrink its ab output by the factor that
   minimises the validation error (``s = <p, t> / <p, p>``, clipped to [0, 1]): a model that
   has seen six photos is unsure, and the MSE-optimal answer to that is less colour, never
   louder guesses.
4. Evaluate on the held-out crops beside the gray baseline
   (:func:`colorizer.evaluation.evaluate.evaluate`, without the classifier).
5. Colorize gray versions of the held-out photos at full resolution.
6. Write ``model.keras`` (the selected, shrunk model), ``history.csv``, ``loss.png``,
   ``before_after.png``, ``metrics.md``/``metrics.json``, ``evaluation/`` and ``report.md``
   into the output folder.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time

import numpy as np

from colorizer.data import samples
from colorizer.data.images import read_rgb
from colorizer.fileio import write_json, write_text

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Settings of the demo; the defaults finish in a few minutes on 2 CPU cores.

    Attributes:
        out: Output folder.
        minutes: Training time budget.
        image_size: Crop size the model trains and is evaluated at.
        crops_per_photo: Training crops cut from each training photo.
        test_crops_per_photo: Evaluation crops cut from each held-out photo.
        validation_share: Share of each training photo's width (its right side) kept for
            validation crops; 0 validates on the test crops instead (as benchmarks that
            compare heads do).
        val_crops_per_photo: Validation crops cut from each training photo's right side.
        batch_size: Batch size.
        learning_rate: Adam's learning rate.
        batchnorm_momentum: Momentum of every BatchNormalization's moving statistics: with
            a few hundred steps, Keras's 0.99 leaves them far from the weights they serve,
            and the validation loss (and the model used after training) with them.
        shrink: Scale the selected model's ab by the validation-optimal factor.
        weights: ``"auto"`` (ImageNet when it can be had, else from scratch), ``None``
            (from scratch), ``"imagenet"`` or a weights file.
        epochs: Upper bound on epochs (the time budget usually ends training first).
        steps_per_epoch: Batches per epoch.
        seed: Seed for crops and training.
    """

    out: str = "runs/demo"
    minutes: float = 4.0
    image_size: int = 64
    crops_per_photo: int = 128
    test_crops_per_photo: int = 16
    validation_share: float = 0.25
    val_crops_per_photo: int = 32
    batch_size: int = 16
    learning_rate: float = 5e-4
    batchnorm_momentum: float = 0.9
    shrink: bool = True
    weights: str | None = "auto"
    epochs: int = 1000
    steps_per_epoch: int = 25
    seed: int = 0


def _training_part(photo: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Splits a photo into its left (training) and right (validation) parts."""
    if share <= 0:
        return photo, None
    cut = int(round(photo.shape[1] * (1 - share)))
    return photo[:, :cut], photo[:, cut:]


def build_crop_folders(config: DemoConfig) -> tuple[str, str, int, int]:
    """Writes training, validation and test crops as PNGs.

    Returns:
        (train dir, test dir, training crops, test crops); the validation crops, when
        ``config.validation_share`` > 0, are in ``OUT/data/val``.
    """
    import cv2
    from tqdm.auto import tqdm

    rng = np.random.default_rng(config.seed)
    size = int(round(config.image_size * 8 / 7))
    counts = {}
    folders = {split: os.path.join(config.out, "data", split) for split in ("train", "val",
                                                                            "test")}

    def write(split: str, stem: str, photo: np.ndarray, count: int) -> None:
        os.makedirs(folders[split], exist_ok=True)
        for i, crop in enumerate(samples.cut_crops(photo, count, size, rng)):
            target = os.path.join(folders[split], f"{stem}_{i:03d}.png")
            cv2.imwrite(target, cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            counts[split] = counts.get(split, 0) + 1

    for path in tqdm(samples.available(samples.TRAIN_PHOTOS), desc="train crops", unit="photo"):
        stem = os.path.splitext(os.path.basename(path))[0]
        left, right = _training_part(read_rgb(path), config.validation_share)
        write("train", stem, left, config.crops_per_photo)
        if right is not None:
            write("val", stem, right, config.val_crops_per_photo)
    for path in tqdm(samples.available(samples.HOLDOUT_PHOTOS), desc="test crops",
                     unit="photo"):
        stem = os.path.splitext(os.path.basename(path))[0]
        write("test", stem, read_rgb(path), config.test_crops_per_photo)
    return folders["train"], folders["test"], counts["train"], counts["test"]


def resolve_weights(weights: str | None) -> tuple[str | None, str]:
    """The encoder weights the demo starts from, and a phrase for the report."""
    if weights is None or weights == "none":
        return None, "none (trained from scratch)"
    if weights not in ("auto", "imagenet"):
        return weights, f"from {weights}"
    from colorizer.model.pretrained import imagenet_weights, imagenet_weights_if_available

    if weights == "auto":
        path, reason = imagenet_weights_if_available("densenet121_notop")
        if path is None:
            log.info("training from scratch: DenseNet121's ImageNet weights are %s", reason)
            return None, "none (trained from scratch: ImageNet weights unavailable offline)"
    else:
        path = imagenet_weights("densenet121_notop")
    return path, f"ImageNet ({path})"


def set_batchnorm_momentum(model, momentum: float) -> None:
    """Sets the momentum of every BatchNormalization layer, nested models included."""
    import keras

    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
        stack.extend(getattr(layer, "layers", []))


def validation_shrink(model, dataset) -> float:
    """The factor ``s`` in [0, 1] minimising the squared ab error of ``s * model(L)`` over
    ``dataset``: ``<p, t> / <p, p>``, summed over every pixel."""
    cross = power = 0.0
    for lightness, true_ab in dataset:
        predicted = np.asarray(model.predict_on_batch(lightness), np.float64)
        cross += float(np.sum(predicted * np.asarray(true_ab, np.float64)))
        power += float(np.sum(predicted * predicted))
    return float(np.clip(cross / power, 0.0, 1.0)) if power > 0 else 0.0


def colorize_holdout(model, out: str) -> list[dict]:
    """Colorizes gray versions of the held-out photos at full size; saves and returns them."""
    import cv2
    from tqdm.auto import tqdm

    from colorizer.color import lightness_to_gray_rgb
    from colorizer.guided.guided import colorize
    from colorizer.inference.full_resolution import image_lightness

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
    from colorizer.fileio import save_model
    from colorizer.model.network import (build_colorizer, count_macs, load_colorizer,
                                         scale_colour)
    from colorizer.plots import plot_before_after
    from colorizer.training.config import TrainConfig
    from colorizer.training.train import train

    started = time.monotonic()
    os.makedirs(config.out, exist_ok=True)
    weights, weights_phrase = resolve_weights(config.weights)
    print(f"encoder weights: {weights_phrase}")
    train_dir, test_dir, n_train, n_test = build_crop_folders(config)
    val_dir = os.path.join(config.out, "data", "val") if config.validation_share > 0 else test_dir

    train_ds = make_dataset(train_dir, batch_size=config.batch_size, image_size=config.image_size,
                            training=True, repeat=True, seed=config.seed)
    val_ds = make_dataset(val_dir, batch_size=config.batch_size, image_size=config.image_size)
    model = build_colorizer(weights)
    set_batchnorm_momentum(model, config.batchnorm_momentum)
    pretrained = weights is not None
    result = train(
        train_ds, config.out, val_data=val_ds, model=model,
        train_config=TrainConfig(epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
                                 learning_rate=config.learning_rate,
                                 freeze_encoder_epochs=2 if pretrained else 0,
                                 batch_log_every=5, max_minutes=config.minutes),
        verbose=1)
    trained = time.monotonic()

    # The epoch that generalises best, not the last one: lowest validation loss.
    losses = [row.get("val_loss", float("nan")) for row in result.history]
    best_epoch = int(np.nanargmin(losses)) + 1 if np.isfinite(losses).any() else len(losses)
    best_path = os.path.join(config.out, "best.keras")
    selected = load_colorizer(best_path) if os.path.exists(best_path) else result.model
    shrink = validation_shrink(selected, val_ds) if config.shrink else 1.0
    if shrink < 1.0:
        selected = scale_colour(selected, shrink)
    save_model(selected, os.path.join(config.out, "model.keras"))

    evaluation = evaluate(selected, test_dir, os.path.join(config.out, "evaluation"),
                          classifier=None, split=None, image_size=config.image_size,
                          batch_size=config.batch_size, examples=2)
    table = summary_markdown(evaluation["metrics"])
    summary = {row: {metric: stats["mean"] for metric, stats in evaluation["metrics"][row].items()}
               for row in ("model", "gray")}
    for row in summary.values():
        row["images"] = evaluation["images"]
    write_text(os.path.join(config.out, "metrics.md"), table)
    write_json(os.path.join(config.out, "metrics.json"), summary)

    photos = colorize_holdout(selected, config.out)
    plot_before_after([[p["gray"], p["colorized"], p["truth"]] for p in photos],
                      ["input (gray)", "colorized", "ground truth"],
                      os.path.join(config.out, "before_after.png"),
                      row_labels=[f"{p['name']} {p['truth'].shape[1]}x{p['truth'].shape[0]}"
                                  for p in photos])
    report = {
        "train_crops": n_train, "test_crops": n_test,
        "val_crops": len(os.listdir(val_dir)), "epochs": len(result.history),
        "selected_epoch": best_epoch, "val_loss": losses, "shrink": round(shrink, 4),
        "train_minutes": round((trained - started) / 60, 2),
        "total_minutes": round((time.monotonic() - started) / 60, 2),
        "parameters": int(selected.count_params()),
        "macs_224": count_macs(224), "metrics": summary, "weights": weights_phrase,
        "image_size": config.image_size,
    }
    write_text(os.path.join(config.out, "report.md"), render_report(report, table))
    write_json(os.path.join(config.out, "report.json"), report)
    return report


def render_report(report: dict, table: str) -> str:
    """The demo's ``report.md``."""
    model, gray = report["metrics"]["model"], report["metrics"]["gray"]
    verdict = ("beats or ties" if model["ab_rmse"] <= gray["ab_rmse"]
               and model["psnr"] >= gray["psnr"] else "does not beat")
    return f"""# colorizer demo report

Trained the paper's model (DenseNet121 cut at `pool2_pool` + upsampling decoder,
{report['parameters']:,} parameters, {report['macs_224'] / 1e9:.2f} GMACs per 224x224 image) on
{report['train_crops']} random {report['image_size']}x{report['image_size']} crops of sample
photos shipped with scikit-image and matplotlib, for {report['epochs']} short epochs
({report['train_minutes']} min, encoder weights: {report['weights']}).

`model.keras` is the model of epoch {report['selected_epoch']}, the one with the lowest loss
on {report['val_crops']} validation crops (the right quarter of each training photo, never
trained on), with its colour scaled by {report['shrink']:.3g}, the factor that minimises the
validation error. Evaluated on {report['test_crops']} crops of photos it never saw, it
{verdict} the gray baseline on ab RMSE and PSNR.

## Held-out metrics, beside the gray baseline

{table}
A handful of photos cannot teach a model the colours of the world: expect faint, broad
tints that are rarely the objects' own colours. Train on a real dataset (see the notebooks)
for useful colour.

![accuracy vs threshold](evaluation/figures/accuracy_curve.png)

Best and worst held-out crops by the paper's L2 distance:

![best and worst](evaluation/figures/examples_l2_distance.png)

Every metric per crop, their spread and more figures: `evaluation/summary.md`.

## Training loss

![loss](loss.png)

## Held-out photos, colorized at full resolution

![before and after](before_after.png)

Finished in {report['total_minutes']} minutes. Files: `model.keras` (the selected model,
scaled), `best.keras` (the same epoch, unscaled), `history.csv`, `batch_loss.csv`,
`metrics.json`, `colorized/`.
"""


def main_summary(report: dict) -> str:
    """A few lines for the terminal."""
    model, gray = report["metrics"]["model"], report["metrics"]["gray"]
    return (f"demo finished in {report['total_minutes']} min; held-out ab RMSE "
            f"{model['ab_rmse']:.2f} (gray {gray['ab_rmse']:.2f}), pixel accuracy "
            f"{model['pixel_accuracy']:.3f} (gray {gray['pixel_accuracy']:.3f}); "
            + json.dumps({"psnr": round(model["psnr"], 2), "gray_psnr": round(gray["psnr"], 2)}))
