"""Published MMM data layouts load with the right data section: pymc-marketing's, Robyn's and Meridian's.

Each CSV is a small synthetic stand-in with the layout's column names, date style and quirks (nothing is
downloaded); Meridian's geo layout, one row per (geo, week), is refused with what to do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmmlab.config import data_spec, load_params
from mmmlab.dataset import load_dataset
from mmmlab.errors import UserInputError

WEEKS = 52


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _spec(path, **roles):
    """params.yaml's data section (its experiment column included) with this file's path and roles."""
    return data_spec({"data": {**load_params()["data"], "path": str(path), "truth": None, **roles}})


def test_pymc_marketing_example_layout(tmp_path, rng):
    x2 = rng.uniform(100, 1000, WEEKS).round(2)
    x2[rng.permutation(WEEKS)[: int(0.8 * WEEKS)]] = 0.0  # x2 runs in one week out of five
    event_1, event_2 = np.zeros(WEEKS, int), np.zeros(WEEKS, int)
    event_1[10], event_2[40] = 1, 1
    frame = pd.DataFrame({
        "date_week": pd.date_range("2018-04-02", periods=WEEKS, freq="W-MON").strftime("%Y-%m-%d"),
        "y": rng.uniform(3000, 8000, WEEKS).round(2), "x1": rng.uniform(100, 1000, WEEKS).round(2), "x2": x2,
        "event_1": event_1, "event_2": event_2,
    })
    path = tmp_path / "data_mmm.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(_spec(path, date="date_week", target="y", channels=["x1", "x2"], controls=["event_1", "event_2"]))
    assert ds.channels == ("x1", "x2") and ds.n_periods == WEEKS and ds.freq == "W-MON"
    assert list(ds.controls.columns) == ["event_1", "event_2"] and ds.controls["event_2"].sum() == 1
    assert (ds.spend[:, 1] == 0).sum() == int(0.8 * WEEKS)
    # params.yaml's experiment column is the simulator's: absent here, so none, with a notice
    assert ds.experiment_column is None and len(ds.notices) == 1 and "'Experiment_Channel'" in ds.notices[0]


def test_robyn_weekly_layout(tmp_path, rng):
    events = np.full(WEEKS, "na", dtype=object)
    events[[5, 30]], events[[18, 44]] = "event1", "event2"
    channels = ["tv_S", "ooh_S", "print_S", "facebook_S", "search_S"]
    spend = {name: rng.uniform(100, 1000, WEEKS).round(2) for name in channels}
    spend["print_S"][::3] = 0.0  # print is off for weeks at a time
    frame = pd.DataFrame({
        "DATE": pd.date_range("2015-11-23", periods=WEEKS, freq="W-MON").strftime("%Y-%m-%d"),
        "revenue": rng.uniform(1e6, 3e6, WEEKS).round(), "tv_S": spend["tv_S"], "ooh_S": spend["ooh_S"],
        "print_S": spend["print_S"], "facebook_I": rng.integers(10**6, 10**7, WEEKS),
        "search_clicks_P": rng.integers(10**4, 10**5, WEEKS), "search_S": spend["search_S"],
        "competitor_sales_B": rng.uniform(5e6, 9e6, WEEKS).round(), "facebook_S": spend["facebook_S"], "events": events,
    })
    path = tmp_path / "dt_simulated_weekly.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(_spec(path, date="DATE", target="revenue", channels=channels,
                            controls=["competitor_sales_B", "events"], experiments={"column": None}))
    assert ds.channels == tuple(channels) and ds.n_periods == WEEKS and ds.freq == "W-MON"
    assert list(ds.controls.columns) == ["competitor_sales_B", "events"] and ds.notices == ()
    assert ds.controls["events"].iloc[5] == "event1"  # text: one-hot against the usual 'na'
    assert list(ds.control_matrix.columns) == ["competitor_sales_B", "events[event1]", "events[event2]"]


def _meridian(rng: np.random.Generator, geos: int) -> pd.DataFrame:
    """Meridian's simulated layout: one row per week (per geo and week with ``geos``, sorted by geo)."""
    rows = WEEKS * max(geos, 1)
    columns = {
        "time": np.tile(pd.date_range("2021-01-25", periods=WEEKS, freq="W-MON").strftime("%Y-%m-%d"), max(geos, 1)),
        "conversions": rng.uniform(1e4, 5e4, rows).round(), "revenue_per_conversion": np.full(rows, 0.5),
        **{f"Channel{c}_impression": rng.integers(10**5, 10**6, rows) for c in range(3)},
        **{f"Channel{c}_spend": rng.uniform(1e3, 1e4, rows).round(2) for c in range(3)},
        "GQV": rng.normal(0, 1, rows).round(4), "Discount": rng.normal(0, 1, rows).round(4),
        "Competitor_Sales": rng.normal(0, 1, rows).round(4),
    }
    if geos:
        columns = {"geo": np.repeat([f"Geo{g}" for g in range(geos)], WEEKS), **columns,
                   "population": np.repeat(rng.integers(10**5, 10**6, geos), WEEKS)}
    return pd.DataFrame(columns)


MERIDIAN = {"date": "time", "target": "conversions", "channels": [f"Channel{c}_spend" for c in range(3)],
            "controls": ["GQV", "Discount", "Competitor_Sales"], "experiments": {"column": None}}


def test_meridian_national_layout(tmp_path, rng):
    path = tmp_path / "national_all_channels.csv"
    _meridian(rng, geos=0).to_csv(path, index=False)
    ds = load_dataset(_spec(path, **MERIDIAN))
    assert ds.channels == ("Channel0_spend", "Channel1_spend", "Channel2_spend")
    assert ds.n_periods == WEEKS and ds.freq == "W-MON" and ds.target_column == "conversions"
    assert list(ds.controls.columns) == ["GQV", "Discount", "Competitor_Sales"]


def test_meridian_geo_layout_is_refused_with_what_to_do(tmp_path, rng):
    path = tmp_path / "geo_all_channels.csv"
    _meridian(rng, geos=3).to_csv(path)  # with pandas' unnamed index column, as the published file has
    with pytest.raises(UserInputError) as info:
        load_dataset(_spec(path, **MERIDIAN))
    assert str(info.value) == (f"{path}: column 'geo' has 3 values for each date: this looks like a geo panel; the "
                               "lab's model is national-level: sum the rows per date (e.g. df.groupby('time').sum()) "
                               "and drop 'geo'")
