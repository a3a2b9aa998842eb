"""Telling photos from label maps that share their folders and file types.

Datasets ship per-pixel annotations as images beside their photos: Oxford-IIIT Pet's
``annotations/trimaps/*.png`` (8-bit gray, values 1-3), Pascal VOC's palette PNGs, masks of 0
and 255. Taken as photos they would be scored as colourless pictures of blobs. A label map is
recognised by what it holds, whatever its folder is called: a single-channel or palette image
(modes ``1``, ``L``, ``P``, ``I``, ``I;16``) whose pixels take only a handful of values. A real
grayscale photo has hundreds of gray levels; a colour photo is never single-channel, so it is
decided from its header alone, without decoding it.

Example:
    >>> is_label_map("pets/annotations/trimaps/Abyssinian_1.png")
    True
"""
from __future__ import annotations

import os

from PIL import Image

MAX_LABELS = 32
"""A single-channel or palette image with at most this many distinct values is a label map."""
SINGLE_CHANNEL_MODES = frozenset({"1", "L", "P", "I", "I;16", "I;16B", "I;16L"})


def is_label_map(path: str | os.PathLike) -> bool:
    """True for an annotation image (a segmentation mask or trimap), False for a photo or an
    unreadable file (which the readers report on their own)."""
    try:
        with Image.open(path) as image:
            if image.mode not in SINGLE_CHANNEL_MODES:
                return False
            if image.mode == "1":
                return True
            image.seek(0)
            # getcolors gives None as soon as there are more than MAX_LABELS values.
            return image.getcolors(MAX_LABELS) is not None
    except (OSError, ValueError, SyntaxError):
        return False


def without_label_maps(paths: list[str]) -> tuple[list[str], list[str]]:
    """Splits image files into ``(photos, label maps)``, each in the order given."""
    photos, label_maps = [], []
    for path in paths:
        (label_maps if is_label_map(path) else photos).append(path)
    return photos, label_maps
