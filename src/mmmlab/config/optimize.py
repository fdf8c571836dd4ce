"""The ``optimize`` section: the budget, horizon and bounds of the allocation, and its objectives."""

from __future__ import annotations

from dataclasses import dataclass

from mmmlab.config.section import Section, defaults
from mmmlab.errors import UserInputError


@dataclass(frozen=True, kw_only=True)
class OptimizeSpec:
    """What to allocate and how; the defaults are params.yaml's."""

    budget: float | None = None  # total spend per period; None: the last year's average (current) spend
    horizon: int = 12  # periods planned
    bounds: tuple[float, float] = (0.5, 1.5)  # each channel's spend per period, as multiples of its current spend
    risk_quantile: float = 0.1  # the risk-aware objective: mean sales over the worst this share of posterior draws
    max_draws: int = 1000  # posterior draws the objectives average over (evenly thinned)
    starts: int = 8  # optimiser starting points
    seed: int = 0  # draws the random starting points
    pymc_marketing: bool = False  # also ask pymc-marketing's BudgetOptimizer, and judge its allocations beside these


def optimize_spec(params: dict) -> OptimizeSpec:
    """Validate the ``optimize`` section (every key optional); errors name the key."""
    d = defaults(OptimizeSpec)
    o = Section(params.get("optimize") or {}, "optimize")
    budget = o.get("budget", d.budget)
    if budget is not None:
        budget = o.number("budget", lo=0, lo_open=True)
    bounds = o.get("bounds", list(d.bounds))
    if (not isinstance(bounds, list) or len(bounds) != 2
            or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
            or not 0 <= bounds[0] <= 1 <= bounds[1]):
        raise UserInputError(f"optimize.bounds: expected [low, high] multiples of current spend with "
                             f"0 <= low <= 1 <= high, got {bounds!r}")
    return OptimizeSpec(
        budget=budget,
        horizon=int(o.number("horizon", d.horizon, lo=1, hi=1000, integer=True)),
        bounds=(float(bounds[0]), float(bounds[1])),
        risk_quantile=o.number("risk_quantile", d.risk_quantile, lo=0, hi=1, lo_open=True, hi_open=True),
        max_draws=int(o.number("max_draws", d.max_draws, lo=10, integer=True)),
        starts=int(o.number("starts", d.starts, lo=1, hi=100, integer=True)),
        seed=int(o.number("seed", d.seed, lo=0, integer=True)),
        pymc_marketing=o.flag("pymc_marketing", d.pymc_marketing),
    )
