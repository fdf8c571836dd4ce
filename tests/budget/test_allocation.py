"""Budget allocation on known curves: response by hand, the optimum against a brute-force grid, regret by hand."""

import numpy as np
import pytest

from mmmlab.budget import ResponseCurves, best_allocation, regret
from mmmlab.errors import UserInputError


def hill(x, alpha, gamma, k):
    return alpha * x**gamma / (x**gamma + k**gamma)


def test_incremental_sales_by_hand():
    """Horizon 2 after one period of history: adstock carried d*h, d^2*h; the plan adds s and s(1+d)."""
    d, a, g, k, h, s = 0.5, 100.0, 1.5, 40.0, 20.0, 30.0
    curves = ResponseCurves.from_parameters(["TV"], [d], [a], [g], [k], history=np.array([[h]]), horizon=2)
    carried = np.array([d * h, d * d * h])
    added = np.array([s, s * (1 + d)])
    expected = (hill(carried + added, a, g, k) - hill(carried, a, g, k)).sum()
    assert curves.incremental([s]) == pytest.approx([expected], rel=1e-12)
    assert curves.incremental([0.0]) == pytest.approx([0.0])


TRUE = {"decay": [0.8, 0.5], "alpha": [25000.0, 12000.0], "gamma": [0.7, 2.2], "k": [35000.0, 12000.0]}
HISTORY = np.column_stack([np.full(24, 20000.0), np.full(24, 5000.0)])


def _curves(**changes):
    values = {name: np.asarray(v, dtype=float) for name, v in (TRUE | changes).items()}
    return ResponseCurves.from_parameters(["TV", "Radio"], **values, history=HISTORY, horizon=12)


def test_the_optimum_matches_a_brute_force_grid_on_two_channels():
    curves, budget, lower, upper = _curves(), 25000.0, np.array([10000.0, 2500.0]), np.array([30000.0, 7500.0])
    best = best_allocation(lambda x: curves.incremental(x)[0], budget, lower, upper)
    tv = np.linspace(max(lower[0], budget - upper[1]), min(upper[0], budget - lower[1]), 20001)
    grid = np.array([curves.incremental([t, budget - t])[0] for t in tv])
    assert best.value >= grid.max() - 1e-6 * abs(grid.max())
    assert best.spend[0] == pytest.approx(tv[grid.argmax()], abs=2 * (tv[1] - tv[0]))
    assert best.spend.sum() == pytest.approx(budget) and np.all(best.spend >= lower) and np.all(best.spend <= upper)


def test_the_optimum_is_not_the_equal_split_or_a_bound():
    """Radio's S-shaped curve (gamma 2.2) wants more than its share here: a check that the search moves."""
    curves = _curves()
    best = best_allocation(lambda x: curves.incremental(x)[0], 25000.0, [0.0, 0.0], [25000.0, 25000.0])
    equal = curves.incremental([12500.0, 12500.0])[0]
    assert best.value > equal * 1.001
    assert 0 < best.spend[1] < 25000.0


def test_a_posterior_that_is_the_truth_recommends_the_true_optimum():
    truth, posterior = _curves(), _curves(**{n: np.tile(v, (50, 1)) for n, v in TRUE.items()})
    budget, lower, upper = 25000.0, np.array([10000.0, 2500.0]), np.array([30000.0, 7500.0])
    optimum = best_allocation(lambda x: truth.incremental(x)[0], budget, lower, upper)
    recommended = best_allocation(lambda x: posterior.incremental(x).mean(), budget, lower, upper)
    current = truth.incremental([20000.0, 5000.0])[0]
    assert regret(optimum.value, truth.incremental(recommended.spend)[0], current) == pytest.approx(0.0, abs=1e-6)


def test_regret_by_hand():
    assert regret(10.0, 8.0, 6.0) == pytest.approx(0.5)
    assert regret(10.0, 4.0, 6.0) == pytest.approx(1.5)  # worse than not moving
    assert regret(10.0, 10.0, 6.0) == 0.0
    assert np.isnan(regret(10.0, 9.0, 10.0))  # nothing to gain


@pytest.mark.parametrize(("budget", "lower", "upper", "key"), [
    (50000.0, [10000.0, 2500.0], [30000.0, 7500.0], "optimize.budget"),
    (5000.0, [10000.0, 2500.0], [30000.0, 7500.0], "optimize.budget"),
    (25000.0, [10000.0, 8000.0], [30000.0, 7500.0], "optimize.bounds"),
])
def test_a_budget_or_bounds_that_cannot_be_met_is_a_one_line_error(budget, lower, upper, key):
    curves = _curves()
    with pytest.raises(UserInputError, match=rf"^{key}: ") as caught:
        best_allocation(lambda x: curves.incremental(x)[0], budget, lower, upper)
    assert "\n" not in str(caught.value)
