"""When the controls carry the yearly season, and how many Fourier modes `auto` takes: hand-made calendars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmmlab.config import load_params, simulation_spec
from mmmlab.dataset import Dataset
from mmmlab.seasonality import AUTO_MODES, calendar_months, yearly_modes
from mmmlab.simulate import simulate

DATES = pd.date_range("2019-01-01", periods=36, freq="MS")  # three years, monthly


def _dataset(controls: dict, dates=DATES, experiment_column=None) -> Dataset:
    n = len(dates)
    return Dataset(path=Path("by_hand.csv"), dates=dates, freq="MS", target_column="y", target=np.ones(n),
                   channels=("TV",), channel_columns=("TV_Spend",), spend=np.arange(1.0, n + 1)[:, None],
                   controls=pd.DataFrame(controls), content_hash="0", experiment_column=experiment_column)


def _holidays(months: dict[int, str]) -> list[str]:
    """A text column naming a holiday in the given months of every year, "None" otherwise."""
    return [months.get(d.month, "None") for d in DATES]


def test_holidays_that_recur_in_their_month_are_calendar_bound():
    events = _holidays({12: "Christmas", 7: "Summer", 8: "Summer"})
    assert calendar_months(_dataset({"Event": events})) == {"Event": {7, 8, 12}}


def test_a_level_spread_over_many_months_or_seen_in_one_year_is_not():
    economy = ["Growth" if i % 5 == 0 else "Stable" for i in range(36)]  # every month of the year, in turn
    one_off = ["Launch" if i == 4 else "None" for i in range(36)]
    continuous = np.linspace(0.0, 3.0, 36)
    assert calendar_months(_dataset({"Economy": economy, "Launch": one_off, "Index": continuous})) == {}


def test_a_recurring_indicator_counts_and_the_experiment_column_never_does():
    christmas = [float(d.month == 12) for d in DATES]
    trial = _holidays({3: "TV"})  # recurs every March, but it is the experiment column
    months = calendar_months(_dataset({"christmas": christmas, "Trial": trial}, experiment_column="Trial"))
    assert months == {"christmas": {12}}


@pytest.mark.parametrize("months, expected", [
    ({m: f"Holiday {m}" for m in range(1, 7)}, 0),  # six months of holidays carry the season
    ({m: f"Holiday {m}" for m in range(1, 6)}, AUTO_MODES),  # five do not
])
def test_auto_takes_fourier_modes_unless_the_controls_carry_the_season(months, expected):
    result = yearly_modes("auto", _dataset({"Event": _holidays(months)}))
    assert result.modes == expected
    assert ("Event" in result.reason) == (expected == 0)


def test_a_number_is_used_as_it_is_and_short_data_get_none():
    dataset = _dataset({"Event": _holidays({12: "Christmas"})})
    assert yearly_modes(3, dataset).modes == 3
    short = _dataset({}, dates=pd.date_range("2020-01-01", periods=11, freq="MS"))
    assert yearly_modes("auto", short).modes == 0 and "less than a year" in yearly_modes("auto", short).reason


@pytest.mark.parametrize("preset", [None, "identifiable"])
def test_the_simulators_seasonal_events_carry_the_season(repo_root, preset):
    """The generated designs keep their fits as they were: Seasonal_Event names a holiday in most months."""
    params = load_params(repo_root / "params.yaml", (f"generate.preset={preset or 'null'}",))
    frame = simulate(simulation_spec(params)).frame
    dataset = _dataset({"Seasonal_Event": frame["Seasonal_Event"].to_numpy()}, dates=pd.DatetimeIndex(frame["Date"]))
    assert yearly_modes("auto", dataset).modes == 0
