"""The files of an evaluation: ``metrics.csv``, the figures, and ``summary.md``."""
from __future__ import annotations

import csv
import io
import os

import numpy as np

from colorizer.evaluation.metrics import (
    HIGHER_IS_BETTER, metric_label, render_rgb, summary_markdown)
from colorizer.evaluation.summaries import format_value
from colorizer.fileio import write_text

COLOUR_METRICS = ("l2_distance", "ab_rmse", "pixel_accuracy", "pixel_errors", "auc",
                  "auc_rebalanced", "psnr", "ssim", "colorfulness", "colorfulness_gap",
                  "out_of_gamut")
SEMANTIC_METRICS = ("breed_hit", "species_hit", "agreement")
EXAMPLE_METRICS = ("l2_distance", "auc_rebalanced", "ssim", "colorfulness_gap")
"""Metrics whose best and worst images are drawn."""


def write_metrics_csv(path: str, info: dict, per_image: dict, top1: dict) -> None:
    """One row per image: its name and labels, then every metric of every row
    (``model_*``, ``gray_*``, ``truth_*``) and each version's classifier top-1."""
    columns = [(row, metric) for row, metrics in per_image.items() for metric in metrics]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["index", "name", "breed", "species"] + [f"{r}_{m}" for r, m in columns]
    header += [f"{row}_top1" for row, classes in top1.items() if classes]
    writer.writerow(header)
    for i, name in enumerate(info["name"]):
        cells = [i, name, info["breed"][i], info["species"][i]]
        cells += [_cell(per_image[row][metric][i]) for row, metric in columns]
        cells += [classes[i] for classes in top1.values() if classes]
        writer.writerow(cells)
    write_text(path, buffer.getvalue())


def _cell(value: float) -> str:
    if np.isnan(value):
        return ""
    return repr(float(value)) if np.isfinite(value) else ("inf" if value > 0 else "-inf")


def _gather_examples(model, batches, wanted: set[int]) -> dict[int, list[np.ndarray]]:
    """``{index: [gray, colorized, truth]}`` (uint8 RGB) of the wanted images."""
    from colorizer.runtimes.network import model_inputs

    found, seen = {}, 0
    for lightness, true_ab, _ in batches:
        here = [i for i in range(len(lightness)) if seen + i in wanted]
        if here:
            picked = lightness[here]
            pred_ab = np.asarray(model.predict_on_batch(model_inputs(model, picked)), np.float32)
            versions = (np.zeros_like(pred_ab), pred_ab, true_ab[here])
            images = [render_rgb(picked, ab) for ab in versions]
            for j, i in enumerate(here):
                found[seen + i] = [np.clip(v[j] * 255 + 0.5, 0, 255).astype(np.uint8)
                                   for v in images]
        seen += len(lightness)
        if len(found) == len(wanted):
            break
    return found


def write_figures(out_dir: str, summary: dict, per_image: dict, info: dict, model, batches,
                  examples: int = 3, progress: bool = True) -> dict[str, str]:
    """Draws the accuracy curve, the L2 histogram and best/worst grids into ``figures/``.

    Returns:
        ``{figure name: path relative to out_dir}``.
    """
    from colorizer.evaluation.figures import (
        pick_best_worst, plot_accuracy_curves, plot_examples, plot_histograms)

    folder = os.path.join(out_dir, "figures")
    written = {}
    curve = summary["accuracy_curve"]
    plot_accuracy_curves(np.asarray(curve["thresholds"]),
                         {k: np.asarray(v) for k, v in curve.items()
                          if k not in ("thresholds", "auc")},
                         os.path.join(folder, "accuracy_curve.png"),
                         threshold=summary["settings"]["threshold"], aucs=curve["auc"])
    written["accuracy_curve"] = "figures/accuracy_curve.png"
    plot_histograms({row: per_image[row]["l2_distance"] for row in ("model", "gray")},
                    "L2 distance (Lab units)", os.path.join(folder, "l2_histogram.png"))
    written["l2_histogram"] = "figures/l2_histogram.png"

    picks = {}
    for metric in EXAMPLE_METRICS:
        if metric in per_image["model"]:
            picks[metric] = pick_best_worst(per_image["model"][metric], examples,
                                            HIGHER_IS_BETTER[metric])
    wanted = {i for best, worst in picks.values() for i in best + worst}
    found = _gather_examples(model, batches, wanted) if wanted else {}
    for metric, (best, worst) in picks.items():
        if not best:
            continue
        chosen = [(f"best {n + 1}", i) for n, i in enumerate(best)]
        chosen += [(f"worst {n + 1}", i) for n, i in enumerate(worst)]
        labels = [f"{tag}: {info['name'][i]}\n{metric_label(metric)} "
                  f"{per_image['model'][metric][i]:.4g}" for tag, i in chosen]
        name = f"examples_{metric}"
        plot_examples([found[i] for _, i in chosen], labels,
                      os.path.join(folder, f"{name}.png"))
        written[name] = f"figures/{name}.png"
    return written


def _spread_table(metrics: dict, names) -> str:
    lines = ["| metric | model median | model p10 – p90 | model std | gray median | "
             "gray p10 – p90 | gray std |", "|---|---|---|---|---|---|---|"]
    for metric in names:
        cells = []
        for row in ("model", "gray"):
            s = metrics[row][metric]
            cells += [format_value(s["median"]),
                      f"{format_value(s['p10'])} – {format_value(s['p90'])}",
                      format_value(s["std"])]
        lines.append(f"| {metric_label(metric)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_summary(summary: dict) -> str:
    """The Markdown report of an evaluation (``summary.md``)."""
    settings, metrics = summary["settings"], summary["metrics"]
    threshold = settings["threshold"]
    height, width = settings["image_size"]
    colour = [m for m in COLOUR_METRICS if m in metrics["model"]]
    # Breed and species accuracies need labels: without any, only agreement is shown.
    semantic = [m for m in SEMANTIC_METRICS
                if m in metrics["model"] and metrics["model"][m]["n"] > 0]
    losses = [metric_label(m, threshold) for m, v in summary["verdicts"].items()
              if v == "loses to gray"]
    text = [f"# Evaluation of `{settings['model']}`\n",
            f"Data: `{settings['data']}`: {settings.get('data_used') or 'as given'}; "
            f"{summary['images']} images, centre crops of "
            f"{height}x{width}; {len(summary['skipped'])} unreadable file(s) skipped. "
            f"Pixel-by-pixel threshold: {threshold:g} Lab units; rebalancing over "
            f"{settings['occupied_ab_bins']} occupied 10x10 ab bins.\n",
            "**The model loses to the gray baseline on: " + ", ".join(losses) + ".**\n"
            if losses else "The model beats or ties the gray baseline on every metric.\n",
            "## Colour accuracy and image quality (means over images)\n",
            summary_markdown(metrics, threshold, metrics=colour)]
    classifier = settings["classifier"]
    text.append("## Semantic interpretability (classifier top-1)\n")
    if classifier is None or not semantic:
        note = settings.get("semantic_note")
        text.append(f"Semantic metric {note}.\n" if note else "Skipped: no classifier.\n")
    else:
        text.append(f"Classifier: {classifier['name']}, weights: {classifier['weights']}, "
                    f"input {classifier['input_size'][0]}x{classifier['input_size'][1]}.\n")
        if classifier["weights"].startswith("none"):
            text.append("*Random weights: the pipeline ran, but these numbers say nothing about "
                        "the model. Use ImageNet weights for a real measure.*\n")
        text.append(summary_markdown(metrics, threshold, metrics=semantic))
        counts = ", ".join(f"{metric_label(m).rstrip(' ↑↓')}: {metrics['model'][m]['n']} images"
                           for m in semantic)
        text.append(f"Images counted: {counts} (breed accuracy counts only breeds with an "
                    "ImageNet class, cat-vs-dog only labelled images; without labels, only "
                    "agreement with the classifier's top-1 on the ground truth is shown).\n")
    text += ["## Spread over images\n", _spread_table(metrics, colour + semantic),
             "## Figures\n",
             "![accuracy vs threshold](figures/accuracy_curve.png)\n",
             "![per-image L2](figures/l2_histogram.png)\n"]
    for name, path in summary.get("figures", {}).items():
        if name.startswith("examples_"):
            metric = name.removeprefix("examples_")
            text.append(f"Best and worst by {metric_label(metric, threshold)}: "
                        f"![{name}]({path})\n")
    text.append("Files: `metrics.csv` (one row per image, every metric of model, gray and "
                "ground truth), `summary.json`, `colorized/` (the model's colorizations).\n")
    return "\n".join(text)
