"""The quantised ab gamut: the 10x10 ab cells that some sRGB colour falls into.

Colour as classification (Zhang, Isola and Efros, ECCV 2016) chooses each pixel's colour among
a fixed set of ab bins: the points of a grid of step 10 whose cells hold a displayable colour.
This module computes that set from the sRGB gamut itself, with no downloaded file:

* a cell is the square ``[c - 5, c + 5)`` around a grid point ``c`` (multiples of 10), so a
  colour belongs to the cell of its rounded ab;
* the projection of the sRGB solid onto the ab plane is the projection of its surface (for any
  ab the solid holds, the lightest colour with that ab lies on the surface of the RGB cube), so
  sampling the six faces of the cube densely finds every cell the gamut reaches.

With D65 white this gives :data:`EXPECTED_BIN_COUNT` = 262 bins, stable from 257 to 2049
samples per cube edge. Zhang et al. report 313: their set is wider than the sRGB projection
(about 50 cells more). It does not match any exact sRGB construction we tried (cells a gamut
colour falls into: 262; cells meeting the convex hull of the gamut: 269; centres within 10 of
a gamut colour: 290), so it probably came from a looser test; the set here holds every
displayable colour and nothing else.

The result is stored in ``colorizer/assets/ab_gamut_bins.json``; ``python -m colorizer.gamut``
recomputes and rewrites it.

Example:
    >>> bins = load_gamut_bins()
    >>> bins.shape
    (262, 2)
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from colorizer.color import rgb_to_lab
from colorizer.fileio import write_text

BIN_SIZE = 10
"""Side of a square ab cell, in Lab units."""
FACE_SAMPLES = 513
"""Samples per edge of each cube face (1/512 of the sRGB range apart, ab steps under 0.6)."""
EXPECTED_BIN_COUNT = 262
"""Bins the sRGB gamut (D65) gives at a step of 10."""
ASSET_PATH = os.path.join(os.path.dirname(__file__), "assets", "ab_gamut_bins.json")
"""The stored bins, shipped with the package."""


def rgb_cube_surface(samples_per_edge: int = FACE_SAMPLES) -> np.ndarray:
    """Points on the six faces of the sRGB cube, ``(6 * samples_per_edge**2, 3)`` float64."""
    t = np.linspace(0.0, 1.0, samples_per_edge)
    u, v = (g.ravel() for g in np.meshgrid(t, t, indexing="ij"))
    faces = []
    for axis in range(3):
        free = [i for i in range(3) if i != axis]
        for value in (0.0, 1.0):
            face = np.empty((u.size, 3))
            face[:, axis] = value
            face[:, free[0]], face[:, free[1]] = u, v
            faces.append(face)
    return np.concatenate(faces)


def ab_cells(ab: np.ndarray, bin_size: float = BIN_SIZE) -> np.ndarray:
    """The grid cell (integer index, ``round(ab / bin_size)``) of each ab value, ``(N, 2)``."""
    return np.round(np.asarray(ab, np.float64).reshape(-1, 2) / bin_size).astype(np.int64)


def compute_gamut_bins(bin_size: int = BIN_SIZE,
                       samples_per_edge: int = FACE_SAMPLES) -> np.ndarray:
    """Computes the centres of the ab cells that the sRGB gamut reaches.

    Args:
        bin_size: Grid step and cell side, in Lab units.
        samples_per_edge: Density of the sampling of each face of the RGB cube.

    Returns:
        ``(Q, 2)`` int64 bin centres (a, b), sorted by a, then b.
    """
    surface = rgb_cube_surface(samples_per_edge)
    cells = set()
    # Chunks of half a million colours keep the Lab conversion's temporaries small.
    for chunk in np.array_split(surface, max(1, len(surface) // 500_000)):
        cells.update(map(tuple, np.unique(ab_cells(rgb_to_lab(chunk)[:, 1:], bin_size), axis=0)))
    return np.array(sorted(cells), dtype=np.int64) * bin_size


def save_gamut_bins(bins: np.ndarray, path: str = ASSET_PATH, bin_size: int = BIN_SIZE) -> None:
    """Writes the bins as JSON (one bin per line, for readable diffs), atomically."""
    header = {"bin_size": bin_size, "count": int(len(bins)), "white": "D65",
              "method": "ab cells (round(ab / bin_size)) of points on the faces of the sRGB cube",
              "samples_per_edge": FACE_SAMPLES}
    rows = ",\n    ".join(json.dumps(pair) for pair in np.asarray(bins).astype(int).tolist())
    head = json.dumps(header, indent=2, sort_keys=True)[:-2]
    write_text(path, f'{head},\n  "bins": [\n    {rows}\n  ]\n}}\n')


_CACHE: dict[str, np.ndarray] = {}


def load_gamut_bins(path: str = ASSET_PATH) -> np.ndarray:
    """The stored ab bin centres, ``(Q, 2)`` float32 (cached after the first call)."""
    if path not in _CACHE:
        with open(path, encoding="utf-8") as f:
            _CACHE[path] = np.asarray(json.load(f)["bins"], np.float32).reshape(-1, 2)
    return _CACHE[path].copy()


def main(argv: list[str] | None = None) -> int:
    """``python -m colorizer.gamut [--out FILE]``: recompute the bins and write them."""
    parser = argparse.ArgumentParser(prog="python -m colorizer.gamut",
                                     description="Recomputes the quantised sRGB ab gamut.")
    parser.add_argument("--out", default=ASSET_PATH, help="JSON file to write")
    args = parser.parse_args(argv)
    bins = compute_gamut_bins()
    save_gamut_bins(bins, args.out)
    print(f"{len(bins)} bins of size {BIN_SIZE}: a in [{bins[:, 0].min()}, {bins[:, 0].max()}], "
          f"b in [{bins[:, 1].min()}, {bins[:, 1].max()}] -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
