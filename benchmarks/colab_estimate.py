"""Estimates the time per training epoch on a Colab T4 from the model's counted FLOPs.

No GPU was measured: the estimate combines
- the model's FLOPs per 224 x 224 image, counted layer by layer (``count_macs``), times 3 for
  a training step (forward, plus a backward pass of about twice its cost);
- the T4's peak FP16 tensor-core rate from NVIDIA's datasheet (65 TFLOPS) at an *assumed*
  sustained share of 5-15%: convolutional networks with BatchNorm, concatenations and
  few-channel layers at high resolution (this decoder) are bound by the T4's memory
  bandwidth far below its peak;
- the input pipeline's rate measured on 2 CPU cores (``benchmarks/results.json``, TFRecord
  shards, cached crops without augmentation: the augmentation runs on the GPU, inside the
  training step, by default; its GPU time is not measured and is counted as nothing beside
  the model's 11 GFLOP per photo), since a Colab T4 runtime has 2 vCPUs to feed the GPU;
- Oxford-IIIT Pet's 7,349 photos, 80% of them in the training split.

An epoch takes about the larger of the GPU time and the pipeline time (they overlap).

It also measures the size of a saved model, and the Drive space of prepared shards per photo, on the bundled sample photos
prepared as ``colorizer prepare`` does by default (short side 256, JPEG quality 95), and scales
it to Oxford-IIIT Pet.

    python benchmarks/colab_estimate.py     # prints the estimate, writes colab_estimate.json
"""
from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

T4_PEAK_FP16_FLOPS = 65e12
SUSTAINED_SHARE = (0.05, 0.15)
PETS_PHOTOS = 7349
TRAIN_SHARE = 0.8
TRAINING_COST = 3.0  # forward + backward, in forward passes


def main() -> dict:
    from colorizer.model.network import count_macs

    forward = 2.0 * count_macs(224)  # 2 FLOPs per multiply-accumulate
    with open(os.path.join(HERE, "results.json")) as f:
        pipeline = json.load(f)["pipeline"]["shards_train_no_augment"]
    images = round(PETS_PHOTOS * TRAIN_SHARE)
    epoch_flops = images * forward * TRAINING_COST
    gpu_seconds = [epoch_flops / (T4_PEAK_FP16_FLOPS * s) for s in reversed(SUSTAINED_SHARE)]
    pipeline_seconds = images / pipeline["images_per_s"]
    first_epoch_pipeline = images / pipeline["first_epoch_images_per_s"]
    shard_bytes_per_photo = _shard_bytes_per_photo()
    result = {
        "gflop_per_image_forward": forward / 1e9,
        "train_images": images,
        "tflop_per_epoch": epoch_flops / 1e12,
        "t4_gpu_seconds_per_epoch": gpu_seconds,
        "pipeline_seconds_per_epoch_2_cores": pipeline_seconds,
        "first_epoch_pipeline_seconds_2_cores": first_epoch_pipeline,
        "epoch_seconds": [max(g, pipeline_seconds) for g in gpu_seconds],
        "first_epoch_seconds": [max(g, first_epoch_pipeline) for g in gpu_seconds],
        "minutes_for_40_epochs": [(max(g, first_epoch_pipeline) + 39 * max(g, pipeline_seconds))
                                  / 60 for g in gpu_seconds],
        "shard_bytes_per_sample_photo": shard_bytes_per_photo,
        "pets_shards_mb": shard_bytes_per_photo * PETS_PHOTOS / 1e6,
        "model_file_mb": _model_file_mb(),
    }
    with open(os.path.join(HERE, "colab_estimate.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


def _model_file_mb() -> float:
    import tempfile

    from colorizer.fileio import save_model
    from colorizer.model.network import build_colorizer

    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "model.keras")
        save_model(build_colorizer(weights=None), path)
        return os.path.getsize(path) / 1e6


def _shard_bytes_per_photo() -> float:
    import tempfile

    from colorizer.data import samples
    from colorizer.data.prepare import prepare_dataset

    with tempfile.TemporaryDirectory() as work:
        photos = samples.export_samples(os.path.join(work, "photos"))
        index = prepare_dataset(photos, os.path.join(work, "shards"), progress=False)
    total = sum(info["bytes"] for info in index["splits"].values())
    return total / index["images"]


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value}")
