"""The prior chosen from the hints: exact leave-one-out, and what the choice does to a photo."""
import numpy as np

from colorizer.guided.guided import PRIOR_STRENGTH, guided_ab_at, guided_prior
from colorizer.guided.prior_choice import Prior, choose_prior, isolated_cells
from colorizer.guided.propagation import Propagation, neighbour_weights


def test_held_out_values_equal_a_solve_without_that_target():
    rng = np.random.default_rng(0)
    lightness = rng.uniform(0, 100, (12, 10))
    weights = neighbour_weights(lightness)
    cells = np.array([3, 40, 77, 101])
    values = rng.normal(0, 20, (4, 2))
    confidence = np.zeros(120)
    confidence[cells] = 100.0
    targets = np.zeros((120, 2))
    targets[cells] = values
    system = Propagation(weights, confidence, 1e-3)
    left_out = system.held_out(cells, values, system.solve(targets))
    for i, cell in enumerate(cells):
        without = confidence.copy()
        without[cell] = 0.0
        expected = Propagation(weights, without, 1e-3).solve(targets)[cell]
        np.testing.assert_allclose(left_out[i], expected, rtol=1e-6, atol=1e-6)


def test_hints_that_agree_with_the_model_keep_it_whole():
    rng = np.random.default_rng(1)
    lightness = rng.uniform(0, 100, (40, 40))
    cells = rng.choice(1600, 8, replace=False)
    model_ab = rng.normal(0, 20, (8, 2))
    prior = choose_prior(lightness, cells, model_ab, model_ab, default=Prior(PRIOR_STRENGTH))
    assert prior.chosen
    assert abs(prior.model_weight - 1.0) < 1e-6
    np.testing.assert_allclose(prior.offset, (0.0, 0.0), atol=1e-6)


def quadrants(size=96) -> np.ndarray:
    """Four regions of very different lightness: strong edges between them."""
    rng = np.random.default_rng(2)
    half = size // 2
    lightness = np.empty((size, size), np.float32)
    lightness[:half, :half], lightness[:half, half:] = 20, 45
    lightness[half:, :half], lightness[half:, half:] = 70, 95
    return (lightness + rng.uniform(-0.5, 0.5, lightness.shape)).astype(np.float32)[..., None]


def test_hints_that_all_say_the_model_is_off_move_a_region_no_hint_reaches():
    lightness = quadrants()
    model_ab = np.full((32, 32, 2), (25.0, 0.0), np.float32)  # the model: orange-red
    truth = np.array([0.0, 30.0], np.float32)  # the photo: yellow everywhere
    # One hint alone in each of three regions; the fourth (bottom right) gets none.
    rows, cols = np.array([20, 20, 70]), np.array([20, 70, 20])
    hint_ab = np.tile(truth, (3, 1))
    chosen = guided_ab_at(lightness, model_ab, rows, cols, hint_ab)
    fixed = guided_ab_at(lightness, model_ab, rows, cols, hint_ab, prior_strength=PRIOR_STRENGTH)
    unhinted = np.s_[60:, 60:]
    error_chosen = np.linalg.norm(chosen[unhinted] - truth, axis=-1).mean()
    error_fixed = np.linalg.norm(fixed[unhinted] - truth, axis=-1).mean()
    # A fixed prior keeps the model's colour where an edge cuts the region off from every
    # hint; the hints, all telling the same story, earn a smaller weight for the model.
    assert error_fixed > 35
    assert error_chosen < 0.3 * error_fixed
    prior = guided_prior(lightness, np.broadcast_to(model_ab[:1, :1], (96, 96, 2)), rows, cols,
                         hint_ab)
    assert prior.chosen and prior.model_weight < 0.5


def test_one_point_or_scribbles_alone_keep_the_default_prior():
    lightness = quadrants()
    ab = np.zeros((96, 96, 2), np.float32)
    one = guided_prior(lightness, ab, np.array([5]), np.array([5]), np.ones((1, 2)))
    assert one == Prior(PRIOR_STRENGTH)
    stroke = np.arange(10, 80)  # a diagonal stroke: its cells touch one another
    scribble = guided_prior(lightness, ab, stroke, stroke, np.ones((stroke.size, 2)))
    assert scribble == Prior(PRIOR_STRENGTH)
    fixed = guided_prior(lightness, ab, np.array([5, 90]), np.array([5, 90]), np.ones((2, 2)),
                         prior_strength=0.5)
    assert fixed == Prior(0.5)


def test_isolated_cells_are_those_without_a_hinted_neighbour():
    cells = np.array([0, 1, 25, 99])  # on a 10 x 10 grid: 0 and 1 touch; 25 and 99 alone
    np.testing.assert_array_equal(isolated_cells(cells, 10, 10), [False, False, True, True])
