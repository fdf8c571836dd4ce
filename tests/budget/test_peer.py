"""The window pymc-marketing's optimiser is asked to plan: the lab's horizon, right after the data."""

from __future__ import annotations

import pandas as pd
import pytest

from mmmlab.budget.peer import _window


@pytest.mark.parametrize(("freq", "start", "end"), [
    ("MS", "2022-01-01", "2023-01-01"),  # monthly: 12 planned months, the window's end one period past the last
    ("W-MON", "2022-01-03", "2022-03-28"),
])
def test_the_window_starts_one_period_after_the_data_and_ends_one_period_past_the_horizon(freq, start, end):
    dates = pd.date_range(end="2021-12-27" if freq == "W-MON" else "2021-12-01", periods=60, freq=freq)
    assert _window(dates, 12) == (pd.Timestamp(start), pd.Timestamp(end))
