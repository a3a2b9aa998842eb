"""The hints tensor a hint-taking colorizer reads, in NumPy: no Keras imported.

Kept apart from :mod:`colorizer.model.hints` (the Keras layers of the hint branch) because a
model exported to ONNX or LiteRT (:mod:`colorizer.runtimes`) reads the very same tensor, and
such a runtime must not import Keras.

Example:
    >>> hints = encode_hints(np.full((8, 8, 2), 64.0), np.eye(8)[..., None])
    >>> float(hints[0, 0, 0]), float(hints[0, 1, 2])
    (0.5, 0.0)
"""
from __future__ import annotations

import numpy as np

from colorizer.color import AB_RANGE

HINTS_INPUT = "hints"
"""Name of the hints input (``model.inputs[1]``); its presence tells a hint-taking model."""
HINT_CHANNELS = 3
"""Hinted a and b (divided by ``AB_RANGE``), then the 0/1 mask."""


def encode_hints(ab, mask, xp=np):
    """The hints tensor a hint-taking colorizer reads, from hinted ab and a mask.

    Args:
        ab: ``(..., H, W, 2)`` hinted ab in Lab units (any value where the mask is 0).
        mask: ``(..., H, W, 1)`` (or ``(..., H, W)``), nonzero where a hint is given.
        xp: ``numpy`` (default) or ``keras.ops``.

    Returns:
        ``(..., H, W, 3)`` float32: ``ab / AB_RANGE`` under the mask, 0 elsewhere, and the mask.
    """
    if xp is np:
        ab, mask = np.asarray(ab, np.float32), np.asarray(mask, np.float32)
    else:
        ab, mask = xp.cast(ab, "float32"), xp.cast(mask, "float32")
    if len(mask.shape) == len(ab.shape) - 1:
        mask = xp.expand_dims(mask, -1)
    mask = xp.minimum(xp.abs(xp.sign(mask)), 1.0)  # nonzero -> 1, in float32 on both
    return xp.concatenate([ab * mask / np.float32(AB_RANGE), mask], axis=-1)


def no_hints_array(lightness: np.ndarray) -> np.ndarray:
    """All-zero hints for a NumPy batch of L ``(..., H, W, 1)``: the automatic colour."""
    return np.zeros(np.shape(lightness)[:-1] + (HINT_CHANNELS,), np.float32)
