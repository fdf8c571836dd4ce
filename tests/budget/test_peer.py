"""The window pymc-marketing's optimiser is asked to plan: the lab's horizon, right after the data."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from mmmlab.budget.peer import _optimizer, _window


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
