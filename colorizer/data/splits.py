"""Train/validation/test assignment that is fixed by a seed and stable as images are added.

Each image's split depends only on its key (a file name or a content hash) and the seed, never
on which other images exist, so adding photos to a dataset never moves old ones between splits.

Example:
    >>> assign_split("cat_001.jpg") in ("train", "val", "test")
    True
"""
from __future__ import annotations

import hashlib
from typing import Mapping

DEFAULT_FRACTIONS: Mapping[str, float] = {"train": 0.8, "val": 0.1, "test": 0.1}


def unit_hash(key: str, seed: int = 0) -> float:
    """Maps ``key`` to a number in [0, 1) that is uniform over keys and fixed for a seed."""
    digest = hashlib.sha256(f"{seed}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_split(key: str, fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
                 seed: int = 0) -> str:
    """Returns the name of the split that ``key`` belongs to.

    Args:
        key: A stable identifier of the image (its relative path or content hash).
        fractions: Split names and their shares; they must sum to 1.
        seed: Changes the assignment as a whole.
    """
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6 or any(v < 0 for v in fractions.values()):
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {dict(fractions)}")
    point, edge = unit_hash(key, seed), 0.0
    name = next(iter(fractions))
    for name, share in fractions.items():
        edge += share
        if point < edge:
            return name
    return name
