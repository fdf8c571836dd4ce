"""Residual checks against hand-computed values; each flag fails when its comparison is flipped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmmlab.residuals import autocorrelation, periods_per_year, residual_checks

MONTHS = pd.date_range("2020-01-01", periods=36, freq="MS")


def test_durbin_watson_and_lag1_autocorrelation_by_hand():
    checks = residual_checks([1.0, -1.0, 1.0, -1.0], pd.date_range("2020-01-06", periods=4, freq="W-MON"))
    # diffs -2, 2, -2: 12 over a sum of squares of 4; lag-1 products -1 x 3 over 4
    assert checks.durbin_watson == pytest.approx(3.0)
    assert checks.acf_lag1 == pytest.approx(-0.75)
    assert checks.acf_year is None  # four weeks: no yearly lag
    assert checks.band == pytest.approx(1.96 / 2)


def test_autocorrelation_centres_the_series():
    # mean 2: centred -1, 0, 1 -> lag-1 products 0 + 0 over 2
    assert autocorrelation(np.array([1.0, 2.0, 3.0]), 1) == pytest.approx(0.0)
    assert autocorrelation(np.array([1.0, 1.0, 3.0, 3.0]), 2) == pytest.approx(-0.5)  # (1)(-1) + (1)(-1) over 4


@pytest.mark.parametrize("dates, expected", [
    (pd.date_range("2020-01-01", periods=5, freq="MS"), 12),
    (pd.date_range("2020-01-06", periods=5, freq="W-MON"), 52),
    (pd.date_range("2020-01-01", periods=5, freq="D"), 365),
])
def test_periods_per_year(dates, expected):
    assert periods_per_year(dates) == expected


def test_a_yearly_cycle_left_in_the_residuals_is_named():
    season = np.cos(2 * np.pi * np.arange(36) / 12)
    checks = residual_checks(season, MONTHS)
    assert checks.year_lag == 12 and checks.acf_year > checks.band and checks.seasonal
    words = " ".join(checks.words("fit.model.yearly_seasonality"))
    assert "yearly seasonality" in words and "fit.model.yearly_seasonality" in words


def test_white_noise_is_not_flagged():
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(36)
    checks = residual_checks(noise, MONTHS)
    assert abs(checks.acf_lag1) < checks.band and abs(checks.acf_year) < checks.band
    assert not checks.autocorrelated and not checks.seasonal
    assert checks.words("k")[0].startswith("residuals look like white noise")


def test_a_slow_drift_is_autocorrelated_not_seasonal():
    drift = np.linspace(-1.0, 1.0, 36) ** 3
    checks = residual_checks(drift, MONTHS)
    assert checks.autocorrelated and checks.durbin_watson < 0.5
    assert "autocorrelated" in checks.words("k")[0]
    assert set(checks.metrics()) == {"residual_durbin_watson", "residual_acf_lag1", "residual_acf_year"}
