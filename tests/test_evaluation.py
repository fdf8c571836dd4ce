"""Truth-vs-estimate arithmetic against hand-computed values."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmmlab.errors import UserInputError
from mmmlab.evaluation import (
    Truth,
    align_truth,
    contribution_errors,
    contributions_vs_truth,
    fit_comparison,
    interval_table,
    parameter_table,
    recovery_comparison,
    recovery_metrics,
    recovery_tables,
    type_summary,
)


def truth() -> Truth:
    channels = {"TV": {"decay": 0.8, "alpha": 25000.0, "gamma": 0.7, "k": 35000.0}}
    return Truth(freq="MS", channels=channels, contributions=pd.DataFrame({"TV": [10.0, 20.0]}))


def estimates(lower, upper, estimate=0.6) -> pd.DataFrame:
    return pd.DataFrame([{"channel": "TV", "parameter": "decay", "estimate": estimate, "lower": lower, "upper": upper}])


def test_errors_and_coverage_by_hand():
    row = parameter_table(truth(), estimates(0.5, 0.9)).iloc[0]
    assert row["difference_pct"] == pytest.approx(-25.0)
    assert row["abs_error"] == pytest.approx(0.2) and row["rel_error"] == pytest.approx(0.25)
    assert row["covered"] == True
    assert parameter_table(truth(), estimates(0.1, 0.7)).iloc[0]["covered"] == False


def test_an_open_ended_interval_still_covers():
    """[0, inf) (an effect indistinguishable from zero) covers the truth; only a missing bound is unknown."""
    assert parameter_table(truth(), estimates(0.0, np.inf)).iloc[0]["covered"] == True
    assert parameter_table(truth(), estimates(0.0, np.nan)).iloc[0]["covered"] is None


def test_type_summary_rmse_and_nrmse():
    table = pd.DataFrame({"parameter": ["decay", "decay"], "true": [0.8, 0.4], "estimate": [0.5, 0.8],
                          "covered": [True, False]})
    row = type_summary(table).iloc[0]
    assert row["rmse"] == pytest.approx(np.sqrt((0.09 + 0.16) / 2))
    assert row["nrmse_pct"] == pytest.approx(100 * np.sqrt(0.125) / 0.6)
    assert row["coverage"] == 0.5


def test_contribution_srmse_is_rmse_over_mean_truth():
    true = pd.DataFrame({"TV": [10.0, 20.0, 30.0]})
    est = pd.DataFrame({"TV": [12.0, 18.0, 33.0]})
    row = contribution_errors(true, est).iloc[0]
    assert row["srmse"] == pytest.approx(np.sqrt((4 + 4 + 9) / 3) / 20.0)
    assert row["total_error_pct"] == pytest.approx(100 * 3 / 60)


# --------------------------------------------------------------------------- the truth on the data's dates
def _dated_truth(dates, values) -> Truth:
    channels = {"TV": {"decay": 0.8, "alpha": 25000.0, "gamma": 0.7, "k": 35000.0}}
    contributions = pd.DataFrame({"TV": values}, index=pd.DatetimeIndex(dates, name="date"))
    return Truth(freq="MS", channels=channels, contributions=contributions, path=Path("data/truth.json"))


DATES = pd.DatetimeIndex(["2020-01-01", "2020-02-01", "2020-03-01"])


def test_truth_aligns_by_date_not_by_position():
    truth = _dated_truth(["2020-03-01", "2020-01-01", "2020-02-01"], [3.0, 1.0, 2.0])
    aligned = align_truth(truth, DATES)
    assert list(aligned.contributions.index) == list(DATES)
    assert list(aligned.channel_contributions["TV"]) == [1.0, 2.0, 3.0]
    assert aligned.channels == truth.channels


def test_truth_of_other_dates_is_refused_naming_the_file_and_the_date():
    truth = _dated_truth(["2020-02-01", "2020-03-01", "2020-04-01"], [1.0, 2.0, 3.0])  # same length, a month later
    with pytest.raises(UserInputError, match=r"^data/truth\.json: .*2020-01-01") as caught:
        align_truth(truth, DATES)
    assert "\n" not in str(caught.value)


def test_truth_of_another_length_is_refused():
    shorter = _dated_truth(["2020-01-01", "2020-02-01"], [1.0, 2.0])
    with pytest.raises(UserInputError, match=r"data/truth\.json: .*2020-03-01"):
        align_truth(shorter, DATES)
    longer = _dated_truth([*DATES.strftime("%Y-%m-%d"), "2020-04-01"], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(UserInputError, match=r"data/truth\.json: .*2020-04-01"):
        align_truth(longer, DATES)


# --------------------------------------------------------------------------- coverage: bounds, just outside, unknown
# Each case is (lower, true, upper, covered), with covered worked out by hand: the interval is closed.
CASES = {
    "on_lower": (1.0, 1.0, 3.0, True),
    "on_upper": (1.0, 3.0, 3.0, True),
    "inside": (1.0, 2.0, 3.0, True),
    "just_below": (1.0, 0.999, 3.0, False),
    "just_above": (1.0, 3.001, 3.0, False),
}


def test_interval_table_coverage_by_hand():
    names = [*CASES, "unknown"]
    estimates = pd.DataFrame({"mean": 2.0, "median": 2.0, "lower": [c[0] for c in CASES.values()] + [1.0],
                              "upper": [c[2] for c in CASES.values()] + [3.0]}, index=pd.Index(names, name="channel"))
    true = pd.Series([c[1] for c in CASES.values()] + [np.nan], index=names)
    covered = interval_table(true, estimates)["covered"]
    for name, (_, _, _, expected) in CASES.items():
        assert covered[name] == expected, name
        assert isinstance(covered[name], (bool, np.bool_)), name
    assert covered["unknown"] is None  # no truth: coverage unknown, neither True nor False


def test_parameter_table_coverage_by_hand():
    for name, (lower, true, upper, expected) in CASES.items():
        t = Truth(freq="MS", channels={"TV": {"decay": true}}, contributions=pd.DataFrame())
        assert parameter_table(t, estimates(lower, upper, estimate=2.0)).iloc[0]["covered"] == expected, name


def test_per_period_contribution_coverage_by_hand():
    dates = pd.DatetimeIndex(["2020-01-01", "2020-02-01"], name="date")
    true = pd.DataFrame({"TV": [10.0, 20.0], "Radio": [5.0, 3.0]}, index=dates).iloc[::-1]  # matched by date, not row
    intervals = pd.DataFrame({
        "date": [dates[0], dates[0], dates[1], dates[1]],
        "channel": ["TV", "Radio", "TV", "Radio"],
        "mean": [11.0, 4.5, 22.0, 2.0], "median": [11.0, 4.5, 22.0, 2.0],
        "lower": [10.0, 4.0, 20.001, 1.0],  # TV on its lower bound, then just below it
        "upper": [12.0, 5.0, 25.0, 2.999],  # Radio on its upper bound, then just above it
    })
    table = contributions_vs_truth(true, intervals)
    assert list(table["true"]) == [10.0, 5.0, 20.0, 3.0]
    assert list(table["covered"]) == [True, True, False, False]
    assert list(table.columns) == ["date", "channel", "mean", "median", "lower", "upper", "true", "covered"]


def _fit_tables(totals: tuple[tuple[float, float], tuple[float, float]]) -> dict[str, pd.DataFrame]:
    dates = pd.DatetimeIndex(["2020-01-01", "2020-02-01"])
    contributions = pd.DataFrame({"date": [dates[0], dates[0], dates[1], dates[1]], "channel": ["TV", "Radio"] * 2,
                                  "mean": [11.0, 4.0, 19.0, 3.0], "median": 0.0, "lower": [9.0, 4.0, 18.0, 3.5],
                                  "upper": [12.0, 6.0, 21.0, 4.0]})
    (tv_lo, tv_hi), (radio_lo, radio_hi) = totals
    contribution_totals = pd.DataFrame({"channel": ["TV", "Radio"], "mean": [30.0, 7.0], "median": 0.0,
                                        "lower": [tv_lo, radio_lo], "upper": [tv_hi, radio_hi]})
    roas = pd.DataFrame({"metric": ["roas", "roas", "marginal_roas", "marginal_roas"], "channel": ["TV", "Radio"] * 2,
                         "mean": 1.0, "median": 1.0, "lower": [1.0, 0.5, 1.0, 7.0], "upper": [2.0, 1.0, 2.0, 8.0]})
    return {"contributions": contributions, "contribution_totals": contribution_totals, "roas": roas}


def _fit_truth() -> Truth:
    channels = {"TV": {"decay": 0.5, "alpha": 100.0, "gamma": 1.0, "k": 30.0},
                "Radio": {"decay": 0.5, "alpha": 100.0, "gamma": 1.0, "k": 8.0}}
    contributions = pd.DataFrame({"TV": [10.0, 20.0], "Radio": [5.0, 3.0]},
                                 index=pd.DatetimeIndex(["2020-01-01", "2020-02-01"], name="date"))
    return Truth(freq="MS", channels=channels, contributions=contributions)


SPEND = pd.DataFrame({"TV": [10.0, 20.0], "Radio": [4.0, 4.0]}, index=pd.DatetimeIndex(["2020-01-01", "2020-02-01"]))


def test_fit_comparison_totals_coverage_by_hand():
    # true totals: TV 10 + 20 = 30, Radio 5 + 3 = 8
    on_bounds, _ = fit_comparison(_fit_truth(), _fit_tables(((30.0, 40.0), (1.0, 8.0))), SPEND, parameters=False)
    errors = on_bounds["contribution_errors"].set_index("channel")
    assert list(errors["true_total"]) == [30.0, 8.0]
    assert list(errors["covered"]) == [True, True]
    outside, _ = fit_comparison(_fit_truth(), _fit_tables(((30.001, 40.0), (1.0, 7.999))), SPEND, parameters=False)
    assert list(outside["contribution_errors"]["covered"]) == [False, False]
    # per period: TV 10 in [9, 12], 20 in [18, 21]; Radio 5 in [4, 6], 3 below [3.5, 4]
    assert list(errors["coverage_over_time"]) == [1.0, 0.5]
    assert "parameters_vs_truth" not in on_bounds


def test_fit_comparison_roas_by_hand():
    tables, summary = fit_comparison(_fit_truth(), _fit_tables(((0.0, 1.0), (0.0, 1.0))), SPEND, parameters=False)
    roas = tables["roas_vs_truth"].set_index(["metric", "channel"])
    # ROAS: TV 30 / 30 = 1 (on the lower bound 1), Radio 8 / 8 = 1 (on the upper bound 1)
    assert roas.loc[("roas", "TV"), "true"] == pytest.approx(1.0) and roas.loc[("roas", "TV"), "covered"]
    assert roas.loc[("roas", "Radio"), "true"] == pytest.approx(1.0) and roas.loc[("roas", "Radio"), "covered"]
    # marginal ROAS at mean spend held forever, decay 0.5 (adstock = 2 x spend), Hill with gamma 1:
    # alpha k / (S + k)^2 x 2. TV: S = 30, 100 * 30 / 60^2 * 2 = 5/3; Radio: S = 8, 100 * 8 / 16^2 * 2 = 6.25
    assert roas.loc[("marginal_roas", "TV"), "true"] == pytest.approx(5 / 3)
    assert roas.loc[("marginal_roas", "Radio"), "true"] == pytest.approx(6.25)
    assert roas.loc[("marginal_roas", "TV"), "covered"]  # 5/3 inside [1, 2]
    assert not roas.loc[("marginal_roas", "Radio"), "covered"]  # 6.25 below [7, 8]
    assert summary["roas_rel_error.TV"] == pytest.approx(0.0)  # mean 1 vs true 1
    assert summary["marginal_roas_rel_error.Radio"] == pytest.approx(abs(1.0 - 6.25) / 6.25)


# --------------------------------------------------------------------------- the classical recovery
def test_recovery_comparison_tables_and_metrics_by_hand():
    dates = pd.DatetimeIndex(["2020-01-01", "2020-02-01"], name="date")
    true = Truth(freq="MS", channels=truth().channels, contributions=pd.DataFrame({"TV": [10.0, 20.0]}, index=dates))
    est = pd.DataFrame({"channel": "TV", "parameter": ["decay", "gamma"], "estimate": [0.6, 0.7],
                        "lower": [0.5, np.nan], "upper": [0.9, np.nan], "verdict": ["identified", "not assessed"]})
    recovered = pd.DataFrame({"TV": [12.0, 24.0]}, index=dates)
    comparison = recovery_comparison(true, est, recovered)
    assert list(comparison["table"]["verdict"]) == ["identified", "not assessed"]
    assert comparison["contributions"].iloc[0]["total_error_pct"] == pytest.approx(100 * 6 / 30)

    components = recovered.assign(baseline=[100.0, 100.0])
    tables = recovery_tables(comparison, components)
    table = tables["comparison"]
    assert list(table["channel"]) == ["TV", "TV", "ALL", "ALL"]  # then one summary row per parameter type
    assert table.iloc[0]["difference_pct"] == pytest.approx(-25.0) and table.iloc[0]["truth_inside"] == True
    assert table.iloc[2]["rmse"] == pytest.approx(0.2) and table.iloc[2]["nrmse_pct"] == pytest.approx(25.0)
    assert list(tables["contributions"].columns) == ["date", "TV.recovered", "baseline.recovered", "TV.true"]

    metrics = recovery_metrics(comparison)
    assert metrics["TV.decay.abs_error"] == pytest.approx(0.2) and metrics["TV.decay.covered"] == 1.0
    assert "TV.gamma.covered" not in metrics  # no interval: coverage unknown, not False
    assert metrics["coverage"] == 1.0 and metrics["rmse.decay"] == pytest.approx(0.2)
    assert metrics["contribution.TV.srmse"] == pytest.approx(np.sqrt((4 + 16) / 2) / 15.0)
    assert all(isinstance(v, float) and np.isfinite(v) for v in metrics.values())
