"""Colour sample photos that ship inside installed packages: the demo's offline dataset.

scikit-image and matplotlib both bundle a few real colour photos. They are far too few to
learn colour well, but they let the whole pipeline run anywhere without a download.
"""
from __future__ import annotations

import os

# Photos the demo trains on, and photos it holds out for evaluation and colorizing. The two
# motorcycle shots are a stereo pair, so they stay together on the training side. The
# microscopy and retina images are left out: their false colours teach nothing about photos.
TRAIN_PHOTOS = (
    "skimage:astronaut.png", "skimage:rocket.jpg", "skimage:motorcycle_left.png",
    "skimage:motorcycle_right.png", "skimage:hubble_deep_field.jpg",
    "matplotlib:Minduka_Present_Blue_Pack.png",
)
HOLDOUT_PHOTOS = ("skimage:chelsea.png", "skimage:coffee.png", "matplotlib:grace_hopper.jpg")


def sample_path(spec: str) -> str:
    """The file of a sample photo named ``package:file`` (``skimage`` or ``matplotlib``)."""
    package, _, name = spec.partition(":")
    if package == "skimage":
        import skimage

        folder = os.path.join(os.path.dirname(skimage.__file__), "data")
    elif package == "matplotlib":
        import matplotlib

        folder = os.path.join(matplotlib.get_data_path(), "sample_data")
    else:
        raise ValueError(f"unknown sample package in {spec!r}")
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"sample photo {spec} is missing from the installed {package}")
    return path


def available(specs=TRAIN_PHOTOS + HOLDOUT_PHOTOS) -> list[str]:
    """The sample photos of ``specs`` that this installation has."""
    found = []
    for spec in specs:
        try:
            found.append(sample_path(spec))
        except FileNotFoundError:
            pass
    return found


def export_samples(folder: str, specs=TRAIN_PHOTOS + HOLDOUT_PHOTOS) -> str:
    """Copies the available sample photos into ``folder`` (a tiny offline dataset); returns it."""
    import shutil

    os.makedirs(folder, exist_ok=True)
    for path in available(specs):
        target = os.path.join(folder, os.path.basename(path))
        if not os.path.exists(target):
            shutil.copyfile(path, target)
    return folder
