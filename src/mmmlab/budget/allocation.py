"""The allocation of a budget per period that maximises an objective, within per-channel bounds, and its regret."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from mmmlab.errors import UserInputError


@dataclass(frozen=True)
class Allocation:
    """Spend per period and channel, and the objective's value there."""

    spend: np.ndarray
    value: float


def best_allocation(objective: Callable[[np.ndarray], float], budget: float, lower, upper, *,
                    starts: int = 8, seed: int = 0, key: str = "optimize", also_from=()) -> Allocation:
    """Maximise ``objective(spend)`` subject to ``sum(spend) == budget`` and ``lower <= spend <= upper``.

    SLSQP from several starts (the budget split equally, random feasible points and ``also_from``),
    on the objective divided by its size at the first start; the best local optimum is kept, as Hill
    curves with a shape above 1 are not concave.

    Parameters
    ----------
    objective : callable
        Spend per period (channels,) -> a number to maximise.
    budget : float
        Total spend per period.
    lower, upper : array-like, shape (channels,)
        Per-channel bounds on spend per period.
    starts : int
        Starting points.
    seed : int
        Draws the random starts.
    key : str
        The params section named in errors.
    also_from : sequence of array-like
        Further starting points (e.g. other allocations the optimum must be at least as good as).

    Returns
    -------
    Allocation

    Raises
    ------
    UserInputError
        The budget cannot be met within the bounds, naming ``<key>.budget``.
    """
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if np.any(lower > upper) or np.any(lower < 0):
        raise UserInputError(f"{key}.bounds: each channel needs 0 <= lower <= upper, got {lower} and {upper}")
    if not lower.sum() - 1e-9 * budget <= budget <= upper.sum() + 1e-9 * budget:
        raise UserInputError(f"{key}.budget: {budget:g} per period cannot be spent within the channels' bounds "
                             f"(together {lower.sum():g} to {upper.sum():g})")
    scale = budget if budget > 0 else 1.0
    constraint = {"type": "eq", "fun": lambda x: x.sum() - budget / scale}
    bounds = list(zip(lower / scale, upper / scale))
    first = [_feasible(np.asarray(x, dtype=float), budget, lower, upper) for x in also_from]
    size = max(abs(objective(x)) for x in [*first, *_starts(budget, lower, upper, 1, seed)]) or 1.0
    best = None
    for start in [*_starts(budget, lower, upper, starts, seed), *first]:
        result = minimize(lambda x: -objective(x * scale) / size, start / scale, method="SLSQP", bounds=bounds,
                          constraints=[constraint], options={"ftol": 1e-14, "maxiter": 1000})
        spend = _feasible(result.x * scale, budget, lower, upper)
        value = float(objective(spend))
        if best is None or value > best.value:
            best = Allocation(spend=spend, value=value)
    return best


def regret(true_at_optimum: float, true_at_recommended: float, true_at_current: float) -> float:
    """Share of the achievable gain the recommendation loses: 0 is perfect, above 1 worse than not moving.

    ``(optimum - recommended) / (optimum - current)``; NaN when nothing can be gained (optimum = current).
    """
    achievable = true_at_optimum - true_at_current
    if not achievable > 0:
        return float("nan")
    return (true_at_optimum - true_at_recommended) / achievable


def _starts(budget, lower, upper, n, seed):
    """Feasible starting points: the bounds' proportional split, then random ones."""
    rng = np.random.default_rng(seed)
    yield _feasible(np.full(len(lower), budget / len(lower)), budget, lower, upper)
    for _ in range(n - 1):
        yield _feasible(lower + rng.dirichlet(np.ones(len(lower))) * (budget - lower.sum()), budget, lower, upper)


def _feasible(spend, budget, lower, upper, rounds: int = 50):
    """``spend`` clipped to the bounds with the sum restored to ``budget``, spread over channels with room."""
    x = np.clip(spend, lower, upper)
    for _ in range(rounds):
        gap = budget - x.sum()
        if abs(gap) <= 1e-12 * max(budget, 1.0):
            break
        room = (upper - x) if gap > 0 else (x - lower)
        if room.sum() <= 0:
            break
        x = np.clip(x + gap * room / room.sum(), lower, upper)
    return x
