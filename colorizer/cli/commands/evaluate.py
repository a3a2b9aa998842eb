"""``colorizer evaluate``: every metric of a trained model, beside the gray baseline."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="measure a model against the gray baseline and the ground truth",
        description="Evaluates a colorizer on centre crops of a data set: the paper's L2 "
                    "distance and pixel-by-pixel accuracy, AuC (plain and class-rebalanced), "
                    "PSNR, SSIM, colorfulness, out-of-gamut pixels, and an ImageNet "
                    "classifier's top-1 on the ground truth, the grayscale and the "
                    "colorized images. Writes metrics.csv, summary.json, summary.md, the "
                    "colorized images and figures into --out. The same model and data give "
                    "the same numbers.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True,
                        help="a .keras model file, or a file `colorizer export` wrote")
    parser.add_argument("--data", required=True,
                        help="a prepared dataset's TFRecord shards (folder or glob; a folder "
                             "holding one, such as data/pets for data/pets/shards, is found), or "
                             "an image folder (labels from a labels.csv with file,breed,species "
                             "inside or beside it, or from Oxford-IIIT Pet file names)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--split", default="test", choices=["test", "val", "train", "all"],
                        help="which images: the shards of that split, or the images of a folder "
                             "that fall in it by the hash of their path relative to the folder "
                             "(as `colorizer train --data FOLDER` splits it); all: every image")
    parser.add_argument("--labels", default=None, help="a labels CSV (file,breed,species)")
    parser.add_argument("--classifier", default="auto",
                        help="classifier for the semantic metric: auto, vgg16, none, or a "
                             ".keras classifier of its own labels (such as one from `colorizer "
                             "train-classifier`, offline). auto: VGG16 when its weights are in "
                             "~/.keras/models or can be downloaded, otherwise the semantic "
                             "metric is skipped with a warning; vgg16: stop at once when they "
                             "cannot be had")
    parser.add_argument("--classifier-labels",
                        help="labels of a .keras --classifier's outputs, in order: cat,dog or "
                             "a file with one a line (default: its FILE.labels.json)")
    parser.add_argument("--classifier-weights", default="imagenet",
                        help="imagenet (Keras's cache, else downloaded), none (random: runs, "
                             "means nothing), or a VGG16 .h5 weights file (offline machines)")
    parser.add_argument("--threshold", type=float, default=10.0,
                        help="pixel-by-pixel threshold in Lab units")
    parser.add_argument("--image-size", type=int, default=224,
                        help="side of the centre crops evaluated (multiple of 8)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=None, help="evaluate the first N images")
    parser.add_argument("--examples", type=int, default=3,
                        help="best and worst images drawn per metric")
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.evaluation.evaluate import evaluate, main_metrics_line

    split = None if args.split == "all" else args.split
    weights = None if args.classifier_weights.lower() == "none" else args.classifier_weights
    classifier = args.classifier
    if classifier.lower() not in ("auto", "vgg16", "none"):
        from colorizer.evaluation.stand_in import load_label_classifier, parse_labels

        classifier = load_label_classifier(
            classifier, parse_labels(args.classifier_labels) if args.classifier_labels else None)
    summary = evaluate(args.model, args.data, args.out, classifier=classifier,
                       classifier_weights=weights, threshold=args.threshold,
                       image_size=args.image_size, batch_size=args.batch_size, split=split,
                       labels=args.labels, limit=args.limit, examples=args.examples)
    print(f"evaluated {summary['images']} images: {summary['settings']['data_used']}")
    print(main_metrics_line(summary))
    print(f"report: {args.out}/summary.md")
    for failure in summary["skipped"]:
        print(f"failed: {failure['file']}: {failure['reason']}", file=sys.stderr)
    return 1 if summary["skipped"] else 0
