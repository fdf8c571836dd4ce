"""The window pymc-marketing's optimiser is asked to plan: the lab's horizon, right after the data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mmmlab.budget.peer import _optimizer, _window, allocations


@pytest.mark.parametrize(("freq", "start", "ends"), [
    ("MS", "2022-01-01", ("2022-12-01", "2023-01-01")),  # 12 planned months: the last planned, or one past it
    ("W-MON", "2022-01-03", ("2022-03-21", "2022-03-28")),
])
def test_the_window_starts_one_period_after_the_data_and_ends_on_or_one_past_the_last_planned(freq, start, ends):
    dates = pd.date_range(end="2021-12-27" if freq == "W-MON" else "2021-12-01", periods=60, freq=freq)
    assert _window(dates, 12) == (pd.Timestamp(start), tuple(pd.Timestamp(e) for e in ends))


class _Planner:
    """Stands in for a fitted MMM: plans the periods from start to end inclusive, less ``short``."""

    def __init__(self, short: int):
        self.short, self.asked = short, []

    def budget_optimizer(self, start, end, utility_function):
        self.asked.append(end)
        return SimpleNamespace(num_periods=len(pd.date_range(start, end, freq="W-MON")) - self.short)


@pytest.mark.parametrize("short", [0, 1])
def test_the_first_end_that_plans_the_horizon_is_taken(short):
    dates = pd.date_range(end="2021-12-27", periods=60, freq="W-MON")
    start, ends = _window(dates, 12)
    planner = _Planner(short)
    assert _optimizer(planner, start, ends, 12, None).num_periods == 12
    assert planner.asked == list(ends[: short + 1])


def test_a_window_that_never_plans_the_horizon_is_an_error():
    start, ends = _window(pd.date_range(end="2021-12-27", periods=60, freq="W-MON"), 12)
    with pytest.raises(RuntimeError, match=r"planned \[10, 11\] periods, not 12"):
        _optimizer(_Planner(2), start, ends, 12, None)


def test_an_objective_whose_optimisation_fails_is_reported_and_left_out():
    from pymc_marketing.mmm.budget_optimizer import MinimizeException
    from pymc_marketing.mmm.utility import average_response

    dates = pd.date_range(end="2021-12-27", periods=60, freq="W-MON")
    channels = ["TV", "Radio"]

    class Optimizer:
        num_periods = 12

        def __init__(self, utility):
            self.utility = utility

        def allocate_budget(self, total_budget, budget_bounds, x0):
            if self.utility is average_response:
                raise MinimizeException("Optimization failed: Positive directional derivative for linesearch")
            return SimpleNamespace(budgets=xr.DataArray([30.0, 70.0], dims="channel", coords={"channel": channels[::-1]}))

    class Model:
        idata = xr.DataTree.from_dict({"posterior": xr.Dataset({"x": (("chain", "draw"), np.zeros((2, 50)))}),
                                       "fit_data": xr.Dataset(coords={"date": dates})})

        def budget_optimizer(self, start, end, utility_function):
            return Optimizer(utility_function)

    plan = SimpleNamespace(channels=tuple(channels), budget=100.0, current=np.array([50.0, 50.0]),
                           lower=np.array([25.0, 25.0]), upper=np.array([75.0, 75.0]))
    failures = []
    out = allocations(Model(), plan, SimpleNamespace(max_draws=20, horizon=12, risk_quantile=0.1),
                      lambda name, message: failures.append((name, message)))
    assert failures == [("pymc_marketing_mean", "Optimization failed: Positive directional derivative for linesearch")]
    assert list(out) == ["pymc_marketing_cvar"] and out["pymc_marketing_cvar"].tolist() == [70.0, 30.0]  # by channel
    assert Model.idata["posterior"].sizes["draw"] == 10  # thinned: 2 chains x every 5th of 50 draws = 20 draws
