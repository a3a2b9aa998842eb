"""``colorizer train-classifier``: the offline judge of the semantic metric."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train-classifier", help="train a small classifier for the semantic metric (offline)",
        description="Trains a small convolutional classifier from scratch on the training "
                    "split of a photo folder (the hash split `colorizer train` uses, so test "
                    "photos stay unseen) to tell the labels of its labels.csv apart (species: "
                    "cat or dog, by default). `colorizer evaluate --classifier FILE` then "
                    "scores the ground truth, gray and colorized test photos with it: the "
                    "paper's semantic interpretability without VGG16's ImageNet weights.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", required=True,
                        help="an image folder with a labels.csv (file,breed,species), or "
                             "prepared shards")
    parser.add_argument("--out", required=True, help="the .keras file to write (its labels go "
                                                     "beside it in FILE.labels.json)")
    parser.add_argument("--labels", help="a labels CSV (file,breed,species)")
    parser.add_argument("--column", default="species", choices=("species", "breed"),
                        help="what to tell apart")
    parser.add_argument("--image-size", type=int, default=64, help="side of its input")
    parser.add_argument("--epochs", type=int, default=30, help="most epochs")
    parser.add_argument("--max-minutes", type=float, help="stop after this many minutes")
    parser.set_defaults(run=run)


def run(args) -> int:
    from colorizer.evaluation.stand_in import train_label_classifier

    report = train_label_classifier(args.data, args.out, image_size=args.image_size,
                                    epochs=args.epochs, max_minutes=args.max_minutes,
                                    labels=args.labels, column=args.column)
    print(f"{args.out}: {', '.join(report['labels'])}; validation accuracy "
          f"{report['val_accuracy']:.3f} on {report['val_photos']} photos after "
          f"{report['epochs']} epochs ({report['train_photos']} training photos)")
    return 0
