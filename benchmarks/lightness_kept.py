"""How far the colorized photo's lightness strays from the input's: channel clipping (the
earlier path) against gamut mapping at constant L and hue (the current one).

Real photos from scikit-image, an untrained colorizer (``weights=None``) as is and with its last
convolution scaled up 50 times (saturated predictions). L is measured with scikit-image's
``rgb2lab`` on the uint8 outputs. Prints a table and writes JSON (``--out``).

    python benchmarks/lightness_kept.py --out benchmarks/lightness_results.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def _stats(difference: np.ndarray) -> dict:
    return {"p99": float(np.percentile(difference, 99)), "max": float(difference.max()),
            "share_over_1": float(np.mean(difference > 1.0))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="lightness_results.json")
    args = parser.parse_args(argv)

    import cv2
    from skimage import data
    from skimage.color import rgb2lab

    from colorizer.color import l_ab_to_rgb
    from colorizer.inference.full_resolution import (
        image_lightness, merge_lightness_ab, model_input, predict_ab_batch)
    from colorizer.model.network import build_colorizer

    import keras

    keras.utils.set_random_seed(0)  # the same untrained weights each run
    model = build_colorizer(weights=None)
    layer = model.get_layer("ab_conv")
    original = layer.get_weights()
    results = {}
    for scale in (1.0, 50.0):
        layer.set_weights([w * scale for w in original])
        for name in PHOTOS:
            photo = getattr(data, name)()
            expected = rgb2lab(photo)[..., 0]
            lightness = image_lightness(photo)
            ab_small = predict_ab_batch(model, model_input(lightness)[None])[0]
            height, width = photo.shape[:2]
            ab = cv2.resize(ab_small, (width, height), interpolation=cv2.INTER_CUBIC)
            clipped = np.clip(l_ab_to_rgb(lightness, ab) * 255.0 + 0.5, 0, 255).astype(np.uint8)
            mapped = merge_lightness_ab(lightness, ab_small)
            results[f"{name}_x{scale:g}"] = {
                "clipping": _stats(np.abs(rgb2lab(clipped)[..., 0] - expected)),
                "gamut_mapping": _stats(np.abs(rgb2lab(mapped)[..., 0] - expected))}
    print(f"{'photo, last layer scaled':28} {'clipping: p99 / max / >1':>28} "
          f"{'mapping: p99 / max / >1':>28}")
    for key, value in results.items():
        row = [f"{v['p99']:6.2f} / {v['max']:6.2f} / {v['share_over_1']:5.1%}"
               for v in (value["clipping"], value["gamut_mapping"])]
        print(f"{key:28} {row[0]:>28} {row[1]:>28}")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
