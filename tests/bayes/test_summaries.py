"""Posterior summaries by hand: the one HDI, adstock truncation and sampler efficiency on tiny made-up traces."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from mmmlab import bayes


def test_hdi_of_a_point_mass_is_the_point_for_arrays_and_dataarrays():
    # 95 of 100 draws sit at 1.0 (or 2.0): any 90% interval of highest density is that single value
    first = np.r_[np.full(95, 1.0), np.full(5, 50.0)]
    second = np.r_[np.full(95, 2.0), np.full(5, -50.0)]
    samples = np.stack([first, second], axis=1)  # (draws, items)
    lower, upper = bayes.hdi(samples, 0.9)
    assert lower.shape == upper.shape == (2,)
    np.testing.assert_array_equal(lower, [1.0, 2.0])
    np.testing.assert_array_equal(upper, [1.0, 2.0])
    # the same draws split over two chains, labelled by channel: chains are pooled, labels kept
    draws = xr.DataArray(samples.reshape(2, 50, 2), dims=("chain", "draw", "channel"), coords={"channel": ["TV", "Radio"]})
    lower, upper = bayes.hdi(draws, 0.9)
    assert lower.dims == ("channel",) and list(lower["channel"].values) == ["TV", "Radio"]
    np.testing.assert_array_equal(lower.values, [1.0, 2.0])
    np.testing.assert_array_equal(upper.values, [1.0, 2.0])


def test_interval_table_columns_by_hand():
    values = np.r_[np.full(95, 1.0), np.full(5, 21.0)]  # mean 1 + 5 * 20 / 100 = 2, median 1
    draws = xr.DataArray(values.reshape(1, 100, 1), dims=("chain", "draw", "channel"), coords={"channel": ["TV"]})
    row = bayes.interval(draws, 0.9).loc["TV"]
    assert row["mean"] == pytest.approx(2.0) and row["median"] == 1.0
    assert row["lower"] == 1.0 and row["upper"] == 1.0


def _trace(decay, n_periods: int, l_max: int, steps=None) -> xr.DataTree:
    posterior = xr.Dataset({"adstock_alpha": (("chain", "draw", "channel"), np.asarray(decay, dtype=float)),
                            "mu": (("chain", "draw", "date"), np.zeros((1, np.shape(decay)[1], n_periods)))})
    stats = xr.Dataset({"n_steps": (("chain", "draw"), np.asarray(steps, dtype=float))} if steps is not None else {})
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    tree.attrs["adstock"] = json.dumps({"l_max": l_max, "normalize": False, "prefix": "adstock", "priors": {}})
    return tree


def test_adstock_truncation_is_the_worst_decays_weight_beyond_l_max():
    # decays 0.5 and 0.9, three lags of ten periods: the worst keeps 0.9**3 = 0.729 of its weight beyond them
    assert bayes.adstock_truncation(_trace([[[0.5, 0.9]]], n_periods=10, l_max=3)) == pytest.approx(0.729)
    # lags covering every period: nothing before the first period, so nothing is cut
    assert bayes.adstock_truncation(_trace([[[0.5, 0.9]]], n_periods=10, l_max=10)) == 0.0


def test_sampler_metrics_by_hand():
    trace = _trace([[[0.5], [0.5]]], n_periods=10, l_max=2, steps=[[7, 13]])  # 20 leapfrog steps in all
    metrics = bayes.sampler_metrics(trace, {"sampling_s": 2.0, "fit_stage_s": 4.0}, min_ess=100.0)
    assert metrics["ess_bulk_per_s"] == 50.0 and metrics["ess_bulk_per_stage_s"] == 25.0
    assert metrics["grad_evals_per_ess"] == pytest.approx(0.2)
    assert metrics["adstock_truncation_max"] == pytest.approx(0.25)  # 0.5**2
    assert metrics["sampling_s"] == 2.0  # the timings are kept
