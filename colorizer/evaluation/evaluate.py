"""Evaluate a colorizer: every metric per image, beside the gray baseline and the ground truth.

    data -> pass 1: ab histogram of the ground truth (rebalancing weights)
         -> pass 2: predict; metrics of model and gray per image; classifier top-1 on truth,
                    gray and colorized; colorized PNGs
         -> metrics.csv, summary.json, summary.md, figures/ (curve, histogram, best/worst)

The order of images is fixed and nothing is random, so the same model and data give the same
numbers. Files are written atomically.

Example:
    >>> summary = evaluate("runs/pets/best.keras", "data/pets/shards", "runs/pets/eval")
    >>> summary["metrics"]["model"]["auc_rebalanced"]["mean"]
"""
from __future__ import annotations

import os

import numpy as np

from colorizer.data.pipeline import DecodeStats
from colorizer.evaluation.auc import THRESHOLDS, AbHistogram, accuracy_curves, area_under_curve
from colorizer.evaluation.metrics import (
    DEFAULT_THRESHOLD, aggregate, image_metrics, metric_label, render_rgb, truth_metrics, verdict)
from colorizer.evaluation.report import render_summary, write_figures, write_metrics_csv
from colorizer.fileio import atomic_path, write_json, write_text

ROWS = ("model", "gray", "truth")
"""The versions of each image: the colorization, the gray baseline (ab = 0), the original."""


def _batches(dataset, limit: int | None):
    """NumPy ``(L, ab, names, breeds, species)`` batches of an evaluation or (L, ab) dataset."""
    seen = 0
    for batch in dataset:
        lightness, true_ab = np.asarray(batch[0]), np.asarray(batch[1])
        count = len(lightness) if limit is None else min(len(lightness), limit - seen)
        if count <= 0:
            return
        if len(batch) > 2:
            info = {k: [v.decode("utf-8") for v in np.asarray(batch[2][k])[:count].tolist()]
                    for k in ("name", "breed", "species")}
        else:
            info = {"name": [f"image-{seen + i:05d}" for i in range(count)],
                    "breed": [""] * count, "species": [""] * count}
        yield lightness[:count], true_ab[:count], info
        seen += count


def _unique_failures(stats: DecodeStats) -> list[dict]:
    """Each unreadable file once: every pass over the data meets the same ones."""
    first: dict[str, str] = {}
    for path, reason in stats.failures:
        first.setdefault(path, reason)
    return [{"file": path, "reason": reason} for path, reason in first.items()]


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(rgb) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _save_png(path: str, rgb: np.ndarray) -> None:
    import cv2

    with atomic_path(path, suffix=".png") as temporary:
        cv2.imwrite(temporary, cv2.cvtColor(_to_uint8(rgb), cv2.COLOR_RGB2BGR))


def _file_stem(index: int, name: str) -> str:
    stem = os.path.splitext(name)[0].replace("/", "_").replace("\\", "_")
    return f"{index:05d}_{stem}"


def evaluate(model, data, out_dir: str | os.PathLike, *, classifier="auto",
             classifier_weights: str | None = "imagenet", classifier_preprocess=None,
             threshold: float = DEFAULT_THRESHOLD, image_size: int = 224, batch_size: int = 16,
             split: str | None = "test", labels: str | os.PathLike | None = None,
             limit: int | None = None, examples: int = 3, progress: bool = True) -> dict:
    """Evaluates a colorizer and writes its report.

    Args:
        model: A colorizer (``keras.Model``) or the path of a ``.keras`` file.
        data: An image folder, image files or TFRecord shards (see
            :func:`colorizer.evaluation.dataset.make_eval_dataset`), or a ``tf.data.Dataset`` of
            ``(L, ab)`` or ``(L, ab, info)`` batches.
        out_dir: Output folder.
        classifier: ``"auto"`` (VGG16 when its ImageNet weights are cached or downloadable;
            otherwise every other metric, and one warning), ``"vgg16"`` (fails at once when
            its weights cannot be had), ``"none"``/``None``, a Keras model with 1000 outputs,
            or a :class:`colorizer.evaluation.semantic.Classifier`.
        classifier_weights: VGG16 weights: ``"imagenet"``, ``None``/``"none"`` or a file.
        classifier_preprocess: ``"caffe"``, ``"unit"`` or a callable (see
            :func:`colorizer.evaluation.semantic.load_classifier`).
        threshold: Pixel-by-pixel threshold in Lab units.
        image_size: Side of the centre crops evaluated (multiple of 8).
        batch_size: Images per batch.
        split: Which images of ``data``: ``"test"`` (the part training holds out: the test
            shards, or a folder's images whose path hashes to it), ``"val"``, ``"train"``,
            or ``None`` for all.
        labels: A ``file,breed,species`` CSV for an image folder.
        limit: Evaluate at most this many images.
        examples: Best and worst images drawn per metric.
        progress: Show tqdm progress bars.

    Returns:
        The summary (also ``summary.json``): ``settings``, ``images``, ``skipped``,
        ``metrics`` (``{row: {metric: {mean, median, std, p10, p90, n}}}`` for rows
        ``model``, ``gray``, ``truth``), ``verdicts`` and ``accuracy_curve``.
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    from colorizer.evaluation.dataset import make_eval_dataset
    from colorizer.evaluation.semantic import SKIP_HINT, load_classifier, semantic_hits
    from colorizer.runtimes.network import model_inputs

    # The classifier first: missing weights must stop a run before any work, not after it.
    judge = load_classifier(classifier, classifier_weights, preprocess=classifier_preprocess,
                            image_size=image_size)
    semantic_note = None
    if judge is None and isinstance(classifier, str) and classifier.lower() == "auto":
        semantic_note = f"skipped: VGG16's ImageNet weights could not be had; {SKIP_HINT}"
    model_name = "in-memory model"
    if isinstance(model, (str, os.PathLike)):
        from colorizer.runtimes.network import load_colorizer

        model_name, model = os.fspath(model), load_colorizer(model)
    stats = DecodeStats()
    used = {"split": None, "description": "an in-memory dataset"}
    if isinstance(data, tf.data.Dataset):
        dataset, data_name = data, "in-memory dataset"
    else:
        dataset = make_eval_dataset(data, image_size=image_size, batch_size=batch_size,
                                    split=split, labels=labels, limit=limit, stats=stats,
                                    used=used)
        data_name = os.fspath(data) if isinstance(data, (str, os.PathLike)) else f"{len(data)} files"
    out_dir = os.fspath(out_dir)
    colorized_dir = os.path.join(out_dir, "colorized")
    os.makedirs(colorized_dir, exist_ok=True)

    histogram = AbHistogram()
    crop_size = None
    for _, true_ab, _ in tqdm(_batches(dataset, limit), desc="ab histogram", unit="batch",
                              disable=not progress):
        histogram.add(true_ab)
        crop_size = list(true_ab.shape[1:3])
    if histogram.counts.sum() == 0:
        raise ValueError(f"no readable image to evaluate in {data_name}")

    per_image = {row: {} for row in ROWS}
    top1 = {row: [] for row in ROWS}
    info = {"name": [], "breed": [], "species": []}
    curve_sums = {}
    for lightness, true_ab, batch_info in tqdm(_batches(dataset, limit), desc="evaluate",
                                               unit="batch", disable=not progress):
        weights = histogram.pixel_weights(true_ab)
        colour = model.predict_on_batch(model_inputs(model, lightness))  # no hints
        predicted = {"model": np.asarray(colour, np.float32), "gray": np.zeros_like(true_ab)}
        rows = {name: image_metrics(lightness, ab, true_ab, threshold, pixel_weights=weights)
                for name, ab in predicted.items()}
        rows["truth"] = truth_metrics(lightness, true_ab)
        for name, ab in predicted.items():
            for suffix, pixel_weights in (("", None), ("_rebalanced", weights)):
                curves = accuracy_curves(ab, true_ab, pixel_weights)
                curve_sums[name + suffix] = curve_sums.get(name + suffix, 0) + curves.sum(0)
        if judge is not None:
            rgb = {name: render_rgb(lightness, ab) for name, ab in predicted.items()}
            rgb["truth"] = render_rgb(lightness, true_ab)
            classes = {name: judge.top1(images) for name, images in rgb.items()}
            for name in ROWS:
                hits = semantic_hits(classes[name], classes["truth"], batch_info["breed"],
                                     batch_info["species"], labels=judge.labels)
                top1[name].extend(hits.pop("top1").astype(int).tolist())
                if name == "truth":
                    hits.pop("agreement")  # always 1: nothing to learn
                rows[name].update(hits)
        start = len(info["name"])
        for i, (name, ab) in enumerate(zip(batch_info["name"], predicted["model"])):
            _save_png(os.path.join(colorized_dir, _file_stem(start + i, name) + ".png"),
                      render_rgb(lightness[i], ab))
        for key in info:
            info[key].extend(batch_info[key])
        for name, metrics in rows.items():
            for metric, values in metrics.items():
                per_image[name].setdefault(metric, []).extend(np.atleast_1d(values).tolist())

    per_image = {row: {m: np.asarray(v, np.float64) for m, v in metrics.items()}
                 for row, metrics in per_image.items()}
    count = len(info["name"])
    curves = {name: (total / count).tolist() for name, total in curve_sums.items()}
    summary = {
        "settings": {"model": model_name, "data": data_name, "image_size": crop_size,
                     "threshold": threshold, "batch_size": batch_size, "split": used["split"],
                     "data_used": used["description"],
                     "limit": limit, "ab_bin": 10.0, "occupied_ab_bins": histogram.occupied,
                     "classifier": None if judge is None else
                     {"name": judge.name, "weights": judge.weights,
                      "input_size": list(judge.input_size),
                      "labels": None if judge.labels is None else list(judge.labels)},
                     "semantic_note": semantic_note},
        "images": count,
        "skipped": _unique_failures(stats),
        "metrics": aggregate(per_image),
        "accuracy_curve": {"thresholds": THRESHOLDS.tolist(), **curves,
                           "auc": {k: float(area_under_curve(np.asarray(v)))
                                   for k, v in curves.items()}},
    }
    summary["verdicts"] = {m: verdict(summary["metrics"], m) for m in summary["metrics"]["model"]
                           if verdict(summary["metrics"], m)}

    write_metrics_csv(os.path.join(out_dir, "metrics.csv"), info, per_image, top1)
    summary["figures"] = write_figures(out_dir, summary, per_image, info, model,
                                       _batches(dataset, limit), examples, progress)
    write_json(os.path.join(out_dir, "summary.json"), summary)
    write_text(os.path.join(out_dir, "summary.md"), render_summary(summary))
    return summary


def main_metrics_line(summary: dict) -> str:
    """One line for the terminal: the headline metrics, model vs gray."""
    parts = []
    for metric in ("ab_rmse", "auc_rebalanced", "ssim", "agreement"):
        stats = summary["metrics"]["model"].get(metric)
        if stats is None:
            continue
        gray = summary["metrics"]["gray"][metric]["mean"]
        parts.append(f"{metric_label(metric)} {stats['mean']:.4g} (gray {gray:.4g})")
    return f"{summary['images']} images: " + "; ".join(parts)

