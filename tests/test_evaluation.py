"""Truth-vs-estimate arithmetic against hand-computed values."""

import numpy as np
import pandas as pd
import pytest

from mmmlab.evaluation import Truth, contribution_errors, parameter_table, type_summary


def truth() -> Truth:
    channels = {"TV": {"decay": 0.8, "alpha": 25000.0, "gamma": 0.7, "k": 35000.0}}
    return Truth(freq="MS", channels=channels, contributions=pd.DataFrame({"TV": [10.0, 20.0]}))


def estimates(lower, upper, estimate=0.6) -> pd.DataFrame:
    return pd.DataFrame([{"channel": "TV", "parameter": "decay", "estimate": estimate, "lower": lower, "upper": upper}])


def test_errors_and_coverage_by_hand():
    row = parameter_table(truth(), estimates(0.5, 0.9)).iloc[0]
    assert row["difference_pct"] == pytest.approx(-25.0)
    assert row["abs_error"] == pytest.approx(0.2) and row["rel_error"] == pytest.approx(0.25)
    assert row["covered"] == True  # noqa: E712 (numpy bool)
    assert parameter_table(truth(), estimates(0.1, 0.7)).iloc[0]["covered"] == False  # noqa: E712


def test_an_open_ended_interval_still_covers():
    """[0, inf) (an effect indistinguishable from zero) covers the truth; only a missing bound is unknown."""
    assert parameter_table(truth(), estimates(0.0, np.inf)).iloc[0]["covered"] == True  # noqa: E712
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
