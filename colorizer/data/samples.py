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


def cut_crops(photo, count: int, size: int, rng):
    """Random square windows of 1/4 to 3/4 of the short side, resized to ``size``.

    Args:
        photo: uint8 RGB array.
        count: Number of crops.
        size: Side of each crop, in pixels.
        rng: A ``numpy.random.Generator``.
    """
    import cv2

    height, width = photo.shape[:2]
    crops = []
    for _ in range(count):
        side = int(rng.uniform(0.25, 0.75) * min(height, width))
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        window = photo[top:top + side, left:left + side]
        crops.append(cv2.resize(window, (size, size), interpolation=cv2.INTER_AREA))
    return crops


def export_samples(folder: str, specs=TRAIN_PHOTOS + HOLDOUT_PHOTOS, crops_per_photo: int = 0,
                   crop_size: int = 128, seed: int = 0) -> str:
    """Writes the available sample photos into ``folder`` (a tiny offline dataset).

    Args:
        folder: Destination, created if needed; existing files are kept.
        specs: Which sample photos.
        crops_per_photo: Also write this many random crops of each photo (more, smaller
            images: enough for train/validation/test splits).
        crop_size: Side of the crops.
        seed: Seed of the crops.

    Returns:
        ``folder``.
    """
    import shutil

    import numpy as np
    from PIL import Image

    from colorizer.data.images import read_rgb

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for path in available(specs):
        target = os.path.join(folder, os.path.basename(path))
        if not os.path.exists(target):
            shutil.copyfile(path, target)
        stem = os.path.splitext(os.path.basename(path))[0]
        for i, crop in enumerate(cut_crops(read_rgb(path), crops_per_photo, crop_size, rng)):
            crop_path = os.path.join(folder, f"{stem}_crop{i:02d}.png")
            if not os.path.exists(crop_path):
                Image.fromarray(crop).save(crop_path)
    return folder


def export_sample_film(path: str, frames: int = 24, size: tuple[int, int] = (96, 128),
                       spec: str = "skimage:coffee.png", fps: int = 24) -> str:
    """Writes a short H.264 film of a camera panning over a sample photo (a film to try the
    video path on without a download); an existing file is kept. Returns ``path``."""
    if os.path.exists(path):
        return path
    import av
    import numpy as np

    from colorizer.data.images import read_rgb

    photo = read_rgb(sample_path(spec))
    height, width = size
    step = max(1, (photo.shape[1] - width) // max(1, frames))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial.mp4"
    with av.open(partial, "w", format="mp4") as film:
        stream = film.add_stream("libx264", rate=fps)
        stream.height, stream.width, stream.pix_fmt = height, width, "yuv420p"
        for t in range(frames):
            crop = np.ascontiguousarray(photo[:height, t * step:t * step + width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")):
                film.mux(packet)
        for packet in stream.encode(None):
            film.mux(packet)
    os.replace(partial, path)
    return path
