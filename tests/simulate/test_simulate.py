"""The simulator: sales recomputed from its own components, reproducibility, experiments, calendar."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmmlab.config import load_params, simulation_spec
from mmmlab.simulate import simulate
from mmmlab.simulate.calendar import easter


def _experiment_boost(g: dict, frame: pd.DataFrame) -> np.ndarray:
    """The linear experiment boost, recomputed from the spend columns and the windows in params."""
    e = g["experiments"]
    dates = pd.to_datetime(frame["Date"])
    boost = np.zeros(len(frame))
    for w in e["windows"]:
        rows = ((dates >= pd.Timestamp(w["start"])) & (dates <= pd.Timestamp(w["end"]))).to_numpy()
        spend = frame[f"{w['channel']}_Spend"].to_numpy()[rows]
        planned = spend / e["spend_multiplier"]
        extra = spend - planned
        boost[rows] += e["realism"] * (w["response_rate"] * extra + e["base_lift"] * planned)
    return boost


def _baseline(g: dict, frame: pd.DataFrame) -> np.ndarray:
    """level * (1+g)^t * event multiplier (from Seasonal_Event) * economic index (from Economic_Condition)."""
    months_per_period = 1.0 if g["freq"] == "MS" else 7.0 / (365.2425 / 12)
    t = np.arange(len(frame)) * months_per_period
    trend = g["baseline"]["level"] * (1.0 + g["baseline"]["monthly_growth"]) ** t
    multipliers = {"None": 1.0, **{e["name"]: e["multiplier"] for e in g["events"]}}
    event = frame["Seasonal_Event"].map(multipliers).to_numpy(dtype=float)
    economy = frame["Economic_Condition"].map(g["economy"]["index"]).to_numpy(dtype=float)
    assert not np.isnan(event).any() and not np.isnan(economy).any()
    return trend * event * economy


def _adstock_loop(x, decay):
    out, carry = [], 0.0
    for value in x:
        carry = value + decay * carry
        out.append(carry)
    return np.array(out)


CASES = {
    "monthly": (),
    "weekly": ("generate.freq=W-MON", "generate.end=2019-12-31"),
    "identifiable": ("generate.preset=identifiable",),
}


# --------------------------------------------------------------------------- Total_Sales from components
@pytest.mark.parametrize("case", CASES)
def test_total_sales_recomputed_from_output_components(make, case):
    g, sim = make(*CASES[case])
    frame, truth = sim.frame, sim.truth
    names = list(g["channels"])

    # the media columns follow from the spend columns by hand-written adstock and Hill
    for ch in names:
        c = g["channels"][ch]
        adstocked = _adstock_loop(frame[f"{ch}_Spend"].to_numpy(), c["decay"])
        np.testing.assert_allclose(frame[f"{ch}_Adstocked"], adstocked, rtol=1e-10)
        s = adstocked
        impact = c["alpha"] * s ** c["gamma"] / (s ** c["gamma"] + c["k"] ** c["gamma"])
        np.testing.assert_allclose(frame[f"{ch}_Impact"], impact, rtol=1e-10)
        np.testing.assert_allclose(truth["contributions"][ch], impact, rtol=1e-10)

    baseline = _baseline(g, frame)
    boost = _experiment_boost(g, frame)
    np.testing.assert_allclose(truth["contributions"]["baseline"], baseline, rtol=1e-10)
    np.testing.assert_allclose(truth["contributions"]["experiments"], boost, rtol=1e-10, atol=1e-9)
    assert boost.sum() > 0

    noise = np.array(truth["noise"])
    assert len(noise) == len(frame)
    expected = (baseline + frame[[f"{ch}_Impact" for ch in names]].sum(axis=1).to_numpy() + boost) * noise
    unit = g["noise"].get("round_to", 0)
    sales = frame["Total_Sales"].to_numpy()
    if unit:
        assert np.all(np.abs(sales - expected) <= unit / 2 + 1e-6)
        np.testing.assert_allclose(sales % unit, 0.0, atol=1e-6)
        np.testing.assert_array_equal(sales, np.round(expected, -int(np.log10(unit))))
    else:
        np.testing.assert_allclose(sales, expected, rtol=1e-12)


def test_noise_has_the_configured_spread(make):
    g, sim = make("generate.end=2030-12-31")
    noise = np.array(sim.truth["noise"])
    sd = g["noise"]["sd"]
    assert abs(noise.mean() - 1.0) < 4 * sd / np.sqrt(len(noise))
    assert 0.7 * sd < noise.std(ddof=1) < 1.3 * sd


def test_truth_records_parameters_and_dates(make):
    g, sim = make()
    truth = sim.truth
    assert truth["seed"] == g["seed"] and truth["freq"] == "MS"
    assert truth["dates"] == list(sim.frame["Date"])
    for ch, c in g["channels"].items():
        recorded = truth["channels"][ch]
        assert recorded["spend_column"] == f"{ch}_Spend"
        assert {k: recorded[k] for k in ("decay", "alpha", "gamma", "k")} == {
            k: c[k] for k in ("decay", "alpha", "gamma", "k")
        }
        assert (sim.frame[f"{ch}_Decay"] == c["decay"]).all()
        assert (sim.frame[f"{ch}_k"] == c["k"]).all()
    json.dumps(truth)  # serialisable as is


# --------------------------------------------------------------------------- spend and experiment columns
def test_spend_starts_at_base_respects_floor_and_rounding(make):
    g, sim = make()
    frame = sim.frame
    exp_rows = frame["Is_Experiment"].to_numpy() == 1
    for ch, c in g["channels"].items():
        spend = frame[f"{ch}_Spend"].to_numpy()
        assert spend[0] == c["base_spend"]
        assert np.all(spend >= g["spend"]["floor"] * c["base_spend"] - 1e-9)
        planned = np.where(frame["Experiment_Channel"] == ch, spend / g["experiments"]["spend_multiplier"], spend)
        np.testing.assert_allclose(planned, np.round(planned), atol=1e-9)  # round_to: 1
        assert spend.std() > 0
    assert exp_rows.sum() == 8


def test_experiment_flags_follow_the_windows(make):
    g, sim = make()
    frame = sim.frame
    expected = pd.Series("None", index=frame.index)
    dates = pd.to_datetime(frame["Date"])
    for w in g["experiments"]["windows"]:
        expected[(dates >= pd.Timestamp(w["start"])) & (dates <= pd.Timestamp(w["end"]))] = w["channel"]
    assert list(frame["Experiment_Channel"]) == list(expected)
    assert list(frame["Is_Experiment"]) == [int(v != "None") for v in expected]
    # by hand: TV is tested in March and April 2018
    assert list(frame.loc[frame["Experiment_Channel"] == "TV", "Date"]) == ["2018-03-01", "2018-04-01"]


def test_experiment_multiplies_planned_spend(make):
    _, base = make("generate.experiments.spend_multiplier=1.0")
    _, exp = make()
    rows = exp.frame["Experiment_Channel"] == "Digital"
    np.testing.assert_allclose(exp.frame.loc[rows, "Digital_Spend"], 1.5 * base.frame.loc[rows, "Digital_Spend"])
    np.testing.assert_array_equal(exp.frame.loc[~rows, "Digital_Spend"], base.frame.loc[~rows, "Digital_Spend"])


# --------------------------------------------------------------------------- experiment_realism
@pytest.mark.parametrize("realism", [0.0, 0.3, 0.7])
def test_experiment_realism_scales_only_the_linear_boost(make, realism):
    overrides = ("generate.noise.round_to=0",)
    _, full = make(*overrides, "generate.experiments.realism=1")
    _, part = make(*overrides, f"generate.experiments.realism={realism}")
    boost_full = np.array(full.truth["contributions"]["experiments"])
    boost_part = np.array(part.truth["contributions"]["experiments"])
    exp_rows = full.frame["Is_Experiment"].to_numpy() == 1

    assert boost_full[exp_rows].min() > 0 and np.all(boost_full[~exp_rows] == 0)
    np.testing.assert_allclose(boost_part, realism / 1.0 * boost_full, rtol=1e-12, atol=0)
    if realism == 0:
        assert np.all(boost_part == 0)

    # spend, adstock, impacts, noise, economy and events do not depend on realism
    unaffected = [c for c in full.frame.columns if c != "Total_Sales"]
    pd.testing.assert_frame_equal(full.frame[unaffected], part.frame[unaffected])
    assert full.truth["noise"] == part.truth["noise"]
    assert full.truth["contributions"]["baseline"] == part.truth["contributions"]["baseline"]

    # sales move in experiment rows only, by exactly the noisy change of the boost
    sales_full, sales_part = full.frame["Total_Sales"].to_numpy(), part.frame["Total_Sales"].to_numpy()
    np.testing.assert_array_equal(sales_full[~exp_rows], sales_part[~exp_rows])
    assert np.all(sales_full[exp_rows] > sales_part[exp_rows])
    noise = np.array(full.truth["noise"])
    np.testing.assert_allclose((sales_full - sales_part)[exp_rows], (noise * (1 - realism) * boost_full)[exp_rows])
    assert part.truth["experiments"]["realism"] == realism


def test_experiment_realism_with_rounded_sales_changes_experiment_rows_only(make):
    _, full = make("generate.experiments.realism=1")
    _, none = make("generate.experiments.realism=0")
    exp_rows = full.frame["Is_Experiment"].to_numpy() == 1
    changed = full.frame["Total_Sales"].to_numpy() != none.frame["Total_Sales"].to_numpy()
    assert changed.any()
    assert not changed[~exp_rows].any()


# --------------------------------------------------------------------------- reproducibility
def test_same_seed_same_frame_different_seed_different(make):
    _, a = make()
    _, b = make()
    _, c = make("generate.seed=370")
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.truth == b.truth
    assert not a.frame["Total_Sales"].equals(c.frame["Total_Sales"])
    assert not a.frame["TV_Spend"].equals(c.frame["TV_Spend"])
    assert a.truth["noise"] != c.truth["noise"]


def test_generate_stage_same_seed_identical_bytes_different_seed_differs(project, quiet_tracking):
    generate = quiet_tracking

    csv, truth = project / "data" / "mmm_data.csv", project / "data" / "truth.json"
    generate.run(load_params())
    first = csv.read_bytes(), truth.read_bytes()
    generate.run(load_params())
    assert (csv.read_bytes(), truth.read_bytes()) == first
    generate.run(load_params(overrides=["generate.seed=370"]))
    other = csv.read_bytes(), truth.read_bytes()
    assert other[0] != first[0]
    assert other[1] != first[1]
    # no temporary files left beside the outputs
    assert sorted(p.name for p in (project / "data").iterdir()) == ["lift_tests.csv", "mmm_data.csv", "truth.json"]
    assert not (project / "mlflow.db").exists()
    # the written CSV carries what the simulator produced
    written = pd.read_csv(csv)
    sim = simulate(simulation_spec(load_params(overrides=["generate.seed=370"])))
    np.testing.assert_array_equal(written["Total_Sales"], sim.frame["Total_Sales"])
    np.testing.assert_allclose(written["TV_Impact"], sim.frame["TV_Impact"], rtol=1e-15)
    assert json.loads(other[1]) == json.loads(json.dumps(sim.truth))


# --------------------------------------------------------------------------- calendar
@pytest.mark.parametrize(
    "year, day",
    [
        (2024, "2024-03-31"),
        (2025, "2025-04-20"),
        (2019, "2019-04-21"),
        (2038, "2038-04-25"),
        (2008, "2008-03-23"),
        (2000, "2000-04-23"),
        (1943, "1943-04-25"),
        (2285, "2285-03-22"),
        (2018, "2018-04-01"),
    ],
)
def test_easter_known_years(year, day):
    assert easter([year]) == [pd.Timestamp(day)]


def test_monthly_columns_and_dates(make):
    _, sim = make()
    frame = sim.frame
    assert len(frame) == 60
    assert frame["Date"].iloc[0] == "2017-01-01" and frame["Date"].iloc[-1] == "2021-12-01"
    assert frame["Time_Period"].iloc[0] == "Jan 2017" and frame["Time_Period"].iloc[-1] == "Dec 2021"
    assert list(frame.columns[:9]) == [
        "Date", "Year", "Month", "Time_Period",
        "TV_Spend", "Digital_Spend", "Radio_Spend", "Print_Spend", "Total_Sales",
    ]
    for col in ("Economic_Condition", "Seasonal_Event", "Is_Experiment", "Experiment_Channel"):
        assert col in frame.columns


def test_monthly_events_fall_in_their_month(make):
    _, sim = make("generate.start=2024-01-01", "generate.end=2025-12-31", "generate.experiments.windows=[]")
    events = dict(zip(sim.frame["Date"], sim.frame["Seasonal_Event"]))
    assert events["2024-03-01"] == "Easter"  # Easter 2024 is March 31
    assert events["2024-04-01"] == "None"
    assert events["2025-03-01"] == "None"
    assert events["2025-04-01"] == "Easter"  # April 20
    assert events["2024-01-01"] == "New Year" and events["2024-02-01"] == "Valentine's Day"
    assert events["2025-11-01"] == "Thanksgiving"  # first of the table wins over Black Friday
    assert events["2025-12-01"] == "Christmas"
    assert events["2025-06-01"] == "None" and events["2025-08-01"] == "None"


def test_weekly_generation(make):
    g, sim = make("generate.freq=W-MON")
    frame = sim.frame
    dates = pd.to_datetime(frame["Date"])
    assert (dates.dt.dayofweek == 0).all()
    assert (dates.diff().dropna() == pd.Timedelta(days=7)).all()
    per_year = dates.dt.year.value_counts()
    assert set(per_year) <= {52, 53}
    assert len(frame) == 261  # Mondays from 2017-01-02 to 2021-12-27
    assert frame["Time_Period"].iloc[0] == "02 Jan 2017"

    # the week holding Easter Sunday (it starts six days earlier, on Monday) is labelled Easter
    easter_weeks = [(d - pd.Timedelta(days=6)).strftime("%Y-%m-%d") for d in easter(range(2017, 2022))]
    assert sorted(frame.loc[frame["Seasonal_Event"] == "Easter", "Date"]) == easter_weeks
    # Christmas 2019 is a Wednesday: the week of Monday 23 December
    assert frame.loc[frame["Date"] == "2019-12-23", "Seasonal_Event"].item() == "Christmas"
    # New Year 2018 is a Monday
    assert frame.loc[frame["Date"] == "2018-01-01", "Seasonal_Event"].item() == "New Year"

    # the economy steps once per calendar month
    assert (frame.groupby(["Year", "Month"])["Economic_Condition"].nunique() == 1).all()
    # experiment windows cover the weeks starting inside them
    tv = frame.loc[frame["Experiment_Channel"] == "TV", "Date"]
    assert tv.min() == "2018-03-05" and tv.max() == "2018-04-30"
    assert sim.truth["freq"] == "W-MON"
