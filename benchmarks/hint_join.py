"""Where colour hints should join the decoder: the same short training run, one row per join.

Each row trains a hint-taking colorizer (``build_colorizer(hint_inputs=True)``) from scratch
with ``train(..., TrainConfig(hints="simulated"))`` on a photo folder's training split (split
by the hash of each file's path), for the same number of steps, with only the strides at which
the hint branch joins the decoder changed (``colorizer.model.network.JOIN_STRIDES``). Then it
scores the model on the validation split with no hints and with a fixed number of simulated
hints per image (the same hints for every row): the ab RMSE over all pixels, in Lab units.

The ``automatic`` row trains the same network without hint inputs (from the same initial
weights: the hint branch draws nothing from the global seed), the reference at 0 hints.

Run (4 to 8 minutes of training per row at 64 px on 2 shared CPU cores)::

    python benchmarks/hint_join.py --photos PHOTOS --out runs/hint_join \\
        --json benchmarks/hint_join.json
    python benchmarks/hint_join.py --photos PHOTOS --out runs/hint_join --seed 1 \\
        --rows coarse every-scale --json benchmarks/hint_join.json

The photos stay where they are: nothing of them is written but the run folders under --out.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

ROWS = {
    "automatic": (None, False, "no hint inputs: the automatic colorizer, the reference at 0 "
                  "hints"),
    "full-resolution": ((1,), False, "added once, before the ab head (stride 1)"),
    "coarse": ((8,), False, "added once, to the encoder's output (stride 8)"),
    "every-scale": ((8, 4, 2, 1), False, "added at strides 8, 4, 2 and 1"),
    "spread": ((8, 4, 2, 1), "features", "added at strides 8, 4, 2 and 1, and at stride 8 the "
               "hints spread over 1, 5, 13 cells and the whole photo"),
    "spread-mix": ((8, 4, 2, 1), "mix", "as spread, and the head mixes the spread colours into "
                   "its own by learned weights"),
    "lightness-spread-mix": ((8, 4, 2, 1), "mix-lightness", "as spread-mix, and each window "
                             "also weighs its hints by how close their L is to the cell's"),
    "affinity-spread-mix": ((8, 4, 2, 1), "mix-affinity", "as lightness-spread-mix, and each "
                            "cell also gets the hints of the cells whose learned keys are like "
                            "its own, anywhere in the photo (the package's choice)"),
}
"""name -> (join strides, the spread hints: False, joined at stride 8 (``features``), also
mixed into the head's colour (``mix``), with the lightness-weighted half (``mix-lightness``),
and with the spread by learned keys as well (``mix-affinity``), what it is)."""


def evaluate(model, batches, counts, seed: int = 123) -> dict:
    """ab RMSE of ``model`` on ``batches`` with each number of simulated hints."""
    import numpy as np

    from colorizer.model.network import model_inputs
    from colorizer.training.hint_simulation import HintSimulation

    sums = {count: 0.0 for count in counts}
    pixels = 0
    for lightness, ab in batches:
        lightness, ab = np.asarray(lightness), np.asarray(ab)
        for count in counts:
            hints = None
            if count:
                simulate = HintSimulation(seed=seed, count=count)
                hints = np.asarray(simulate(ab, training=False))
            predicted = np.asarray(model.predict_on_batch(model_inputs(model, lightness, hints)))
            sums[count] += float(np.sum((predicted - ab) ** 2))
        pixels += ab.size // 2
    return {str(count): math.sqrt(total / pixels) for count, total in sums.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--json")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--val-batches", type=int, default=25)
    parser.add_argument("--hints", type=int, nargs="+", default=[0, 1, 5, 20])
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and hints")
    args = parser.parse_args(argv)

    import keras

    from colorizer.data.config import AugmentConfig
    from colorizer.data.pipeline import make_dataset
    from colorizer.model import hints as hint_branch
    from colorizer.model import network
    from colorizer.model.config import ModelConfig
    from colorizer.training.config import TrainConfig
    from colorizer.training.train import train

    SPREAD_RADII = hint_branch.SPREAD_RADII
    LIGHTNESS_BINS = hint_branch.SPREAD_LIGHTNESS_BINS
    AFFINITY_KEYS = hint_branch.AFFINITY_KEYS

    train_ds = make_dataset(args.photos, split="train", batch_size=args.batch_size,
                            image_size=args.image_size, training=True, repeat=True, seed=0,
                            augment=AugmentConfig.none())
    val_ds = make_dataset(args.photos, split="val", batch_size=args.batch_size,
                          image_size=args.image_size).take(args.val_batches)
    val = [(lightness.numpy(), ab.numpy()) for lightness, ab in val_ds]  # the same every row
    results = {"settings": {**vars(args), "backend": keras.backend.backend(),
                            "validation_images": sum(len(b[0]) for b in val)}, "rows": {}}
    if args.json and os.path.exists(args.json):
        with open(args.json) as f:
            results["rows"] = json.load(f).get("rows", {})
    for name in args.rows:
        strides, spread, what = ROWS[name]
        network.JOIN_STRIDES = strides or ()
        hint_branch.SPREAD_RADII = SPREAD_RADII if spread else ()
        hint_branch.MIX_SPREAD = spread in ("mix", "mix-lightness", "mix-affinity")
        lightness = spread in ("mix-lightness", "mix-affinity")
        hint_branch.SPREAD_LIGHTNESS_BINS = LIGHTNESS_BINS if lightness else 0
        hint_branch.AFFINITY_KEYS = AFFINITY_KEYS if spread == "mix-affinity" else 0
        keras.utils.set_random_seed(args.seed)
        row = name if args.seed == 0 else f"{name}-seed{args.seed}"
        start = time.monotonic()
        result = train(train_ds, os.path.join(args.out, row),
                       model_config=ModelConfig(weights=None),
                       train_config=TrainConfig(epochs=1, steps_per_epoch=args.steps,
                                                schedule="cosine", warmup_steps=30,
                                                hints="none" if strides is None else
                                                "simulated"),
                       augment=AugmentConfig(), augment_seed=args.seed, verbose=0)
        minutes = (time.monotonic() - start) / 60
        joined = sum(layer.count_params() for layer in result.model.layers
                     if layer.name.startswith("hints") or layer.name.endswith("_hint_join"))
        rmse = evaluate(result.model, val, args.hints if strides else [0])
        results["rows"][row] = {"joins": what, "seed": args.seed, "strides": list(strides or ()),
                                 "spread": spread,
                                 "hint_parameters": int(joined), "train_minutes": minutes,
                                 "train_loss": result.history[-1]["loss"],
                                 "ab_rmse_by_hints": rmse}
        print(row, json.dumps(results["rows"][row]), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
