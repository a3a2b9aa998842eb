import json

import numpy as np
import pytest

from colorizer.color import lab_to_rgb, rgb_to_lab
from colorizer.gamut import (
    ASSET_PATH, BIN_SIZE, EXPECTED_BIN_COUNT, ab_cells, compute_gamut_bins, load_gamut_bins,
    rgb_cube_surface)


@pytest.fixture(scope="module")
def bins():
    return load_gamut_bins()


def _in_gamut(lab):
    rgb = lab_to_rgb(lab, clip=False)
    return np.all((rgb >= 0.0) & (rgb <= 1.0), axis=-1)


def _cell_grid(centre, per_side=21, levels=201):
    """Lab points filling the cell around ``centre`` at every lightness."""
    offsets = (np.arange(per_side) + 0.5) / per_side * BIN_SIZE - BIN_SIZE / 2
    a, b, lightness = np.meshgrid(offsets, offsets, np.linspace(0, 100, levels), indexing="ij")
    return np.stack([lightness.ravel(), centre[0] + a.ravel(), centre[1] + b.ravel()], axis=-1)


def test_recomputing_gives_the_stored_asset(bins):
    recomputed = compute_gamut_bins()
    np.testing.assert_array_equal(recomputed, bins)
    with open(ASSET_PATH) as f:
        stored = json.load(f)
    assert stored["count"] == len(bins) == EXPECTED_BIN_COUNT
    assert np.all(bins % BIN_SIZE == 0) and len(np.unique(bins, axis=0)) == len(bins)


def test_every_srgb_colour_falls_into_a_bin(bins):
    rng = np.random.default_rng(0)
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T
    rgb = np.concatenate([rng.uniform(0, 1, (200_000, 3)), corners,
                          rgb_cube_surface(101)]).astype(np.float64)
    ab = rgb_to_lab(rgb)[:, 1:]
    stored = set(map(tuple, (bins / BIN_SIZE).astype(int)))
    assert set(map(tuple, ab_cells(ab))) <= stored
    sample = ab[rng.choice(len(ab), 20_000, replace=False)]
    nearest = np.sqrt(((sample[:, None, :] - bins[None]) ** 2).sum(-1)).min(axis=1)
    assert nearest.max() <= BIN_SIZE / 2 * np.sqrt(2) + 1e-6


def test_every_bin_holds_an_srgb_colour(bins):
    surface = rgb_cube_surface(700)  # a density the asset was not computed with
    surface_ab = rgb_to_lab(surface)[:, 1:]
    for centre in bins:
        lab = _cell_grid(centre)
        if _in_gamut(lab).any():
            continue
        # A few cells meet the gamut in a sliver thinner than the grid: find a witness colour
        # on the cube's surface and check that it really lies inside the cell.
        inside = np.all(np.abs(surface_ab - centre) < BIN_SIZE / 2, axis=-1)
        assert inside.any(), f"no sRGB colour in the cell of bin {centre}"
        witness = rgb_to_lab(surface[inside][:1])
        assert _in_gamut(witness).all()


def test_no_colour_of_the_gamut_is_left_outside_the_bins(bins):
    stored = set(map(tuple, (bins / BIN_SIZE).astype(int)))
    border = {(a + da, b + db) for a, b in stored for da in (-1, 0, 1) for db in (-1, 0, 1)}
    for cell in sorted(border - stored):
        lab = _cell_grid(np.array(cell) * BIN_SIZE, per_side=11, levels=101)
        assert not _in_gamut(lab).any(), f"cell {cell} holds sRGB colours but is no bin"


def test_unclipped_lab_to_rgb_matches_clipped_inside_the_gamut():
    rgb = np.random.default_rng(1).uniform(0, 1, (1000, 3))
    lab = rgb_to_lab(rgb)
    np.testing.assert_allclose(lab_to_rgb(lab, clip=False), rgb, atol=1e-6)
    np.testing.assert_allclose(lab_to_rgb(lab), rgb, atol=1e-6)
    vivid = np.array([[50.0, 120.0, -120.0]])
    assert lab_to_rgb(vivid, clip=False).min() < 0 and lab_to_rgb(vivid).min() >= 0
