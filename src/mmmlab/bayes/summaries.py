"""Posterior summaries in the simulator's units: intervals, estimate tables, sampler efficiency, adstock truncation."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from mmmlab.bayes.contraction import prior_posterior_contraction
from mmmlab.bayes.design_matrix import Design
from mmmlab.bayes.lift import PREDICTED
from mmmlab.bayes.priors import TRUNCATION
from mmmlab.bayes.units import adstock_of, channel_contributions, marginal_roas, original_scale_parameters
from mmmlab.config.fit import FitSpec
from mmmlab.diagnostics import parameter_summary


def hdi(draws, prob: float):
    """Highest-density interval of the draws: the one HDI of the fit stage and the report.

    Parameters
    ----------
    draws : xarray.DataArray or numpy.ndarray
        A DataArray with dims ``chain`` and ``draw`` (both pooled), or an array whose axis 0
        holds the draws.
    prob : float
        Probability mass inside the interval.

    Returns
    -------
    lower, upper : xarray.DataArray or numpy.ndarray
        The bounds, without the draw dimensions: DataArrays with the remaining dims for a
        DataArray, arrays of shape ``draws.shape[1:]`` for an array.
    """
    if isinstance(draws, xr.DataArray):
        bounds = az.hdi(draws, prob=prob)
        return (bounds.isel(ci_bound=0).reset_coords(drop=True), bounds.isel(ci_bound=1).reset_coords(drop=True))
    samples = np.asarray(draws, dtype=float)
    flat = samples.reshape(samples.shape[0], -1)
    lower, upper = hdi(xr.DataArray(flat[None], dims=("chain", "draw", "item")), prob)
    return lower.values.reshape(samples.shape[1:]), upper.values.reshape(samples.shape[1:])


def interval(draws: xr.DataArray, prob: float) -> pd.DataFrame:
    """Mean, median and HDI over chain and draw, one row per remaining coordinate.

    Parameters
    ----------
    draws : xarray.DataArray
        Dims chain, draw and any others.
    prob : float
        The HDI's probability.

    Returns
    -------
    pandas.DataFrame
        Columns mean, median, lower, upper; indexed by the remaining coordinates.
    """
    lower, upper = hdi(draws, prob)
    dims = ("chain", "draw")
    return pd.DataFrame({
        "mean": draws.mean(dims).to_series(),
        "median": draws.median(dims).to_series(),
        "lower": lower.to_series(),
        "upper": upper.to_series(),
    })


def estimate_tables(idata, d: Design, spec: FitSpec) -> dict[str, pd.DataFrame]:
    """The posterior's tables in original units.

    Parameters
    ----------
    idata : xarray.DataTree
        A trace of :func:`mmmlab.bayes.sample`.
    d : Design
        The inputs it was fitted on (the spend behind ROAS).
    spec : FitSpec
        ``hdi_prob`` and ``prior_dominated_below``.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``parameters`` (parameter, channel), ``contributions`` (date, channel),
        ``contribution_totals`` (channel), ``roas`` (metric roas or marginal_roas, channel), each
        with mean, median, lower, upper; ``contraction`` (:func:`mmmlab.bayes.prior_posterior_contraction`)
        and ``posterior_summary`` (:func:`mmmlab.diagnostics.parameter_summary`); with lift tests,
        ``lift_tests`` (:func:`lift_table`).
    """
    prob = spec.hdi_prob
    params = original_scale_parameters(idata)
    parameters = pd.concat({name: interval(params[name], prob) for name in params.data_vars}, names=["parameter"])
    contributions = channel_contributions(idata)
    over_time = interval(contributions, prob)
    totals = interval(contributions.sum("date"), prob)
    spend = d.X[list(d.channels)]
    spend_total = xr.DataArray(spend.sum().to_numpy(), dims="channel", coords={"channel": list(d.channels)})
    roas = interval(contributions.sum("date") / spend_total, prob)
    mroas = interval(marginal_roas(idata, spend.mean()), prob)
    return {
        "parameters": parameters.reset_index(),
        "contributions": over_time.reset_index(),
        "contribution_totals": totals.reset_index(),
        "roas": pd.concat({"roas": roas, "marginal_roas": mroas}, names=["metric"]).reset_index(),
        "contraction": prior_posterior_contraction(idata, prob, spec.prior_dominated_below),
        "posterior_summary": parameter_summary(idata, prob).rename_axis("variable").reset_index(),
    } | ({"lift_tests": lift_table(idata, d, prob)} if d.lift is not None else {})


def lift_table(idata, d: Design, prob: float) -> pd.DataFrame:
    """Each lift test's readout beside the lift the model predicts for it, under the prior and the posterior.

    Returns
    -------
    pandas.DataFrame
        One row per test: ``lift_test``, ``channel``, ``measured``, ``se``, then ``prior_`` and
        ``posterior_`` mean, lower and upper (HDI at ``prob``) of the predicted lift, and
        ``narrowing``: 1 - posterior width / prior width.
    """
    out = pd.DataFrame({"lift_test": d.lift.labels, "channel": [d.channels[i] for i in d.lift.channel],
                        "measured": d.lift.lift, "se": d.lift.se})
    for group in ("prior", "posterior"):
        summary = interval(idata[group][PREDICTED], prob)[["mean", "lower", "upper"]].to_numpy()
        out[[f"{group}_mean", f"{group}_lower", f"{group}_upper"]] = summary
    width = {g: out[f"{g}_upper"] - out[f"{g}_lower"] for g in ("prior", "posterior")}
    out["narrowing"] = 1 - width["posterior"] / width["prior"]
    return out


def adstock_truncation(idata) -> float:
    """The largest share of a posterior decay's kernel weight that falls beyond l_max.

    Parameters
    ----------
    idata : xarray.DataTree
        A trace of :func:`mmmlab.bayes.sample`.

    Returns
    -------
    float
        ``max decay**l_max`` over draws and channels; 0 when the lags cover the whole series (then
        the model's adstock equals the simulator's exactly: there is no spend before the first period).
    """
    decay = idata["posterior"]["adstock_alpha"]
    lags = adstock_of(idata)[0]
    n_periods = idata["posterior"].sizes.get("date", lags + 1)
    return 0.0 if lags >= n_periods else float((decay**lags).max())


def sampler_metrics(idata, timings: dict[str, float], min_ess: float) -> dict[str, float]:
    """Timings, effective samples per second, gradient evaluations per effective sample, adstock truncation.

    Parameters
    ----------
    idata : xarray.DataTree
        A trace of :func:`mmmlab.bayes.sample`.
    timings : dict of str to float
        Seconds, with at least ``sampling_s`` and ``fit_stage_s``.
    min_ess : float
        The smallest bulk ESS of the structural parameters.

    Returns
    -------
    dict of str to float
        ``timings`` plus ``ess_bulk_per_s``, ``ess_bulk_per_stage_s``, ``grad_evals_per_ess``
        (when the sampler records its leapfrog steps) and ``adstock_truncation_max``.
    """
    stats = idata["sample_stats"].to_dataset()
    steps = next((stats[n] for n in ("n_steps", "num_steps", "tree_size") if n in stats), None)
    metrics = dict(timings)
    metrics["ess_bulk_per_s"] = min_ess / timings["sampling_s"]
    metrics["ess_bulk_per_stage_s"] = min_ess / timings["fit_stage_s"]
    if steps is not None:
        metrics["grad_evals_per_ess"] = float(steps.sum()) / min_ess
    metrics["adstock_truncation_max"] = adstock_truncation(idata)
    return metrics


def residuals(idata) -> np.ndarray:
    """Observed target minus the posterior mean of the likelihood's mean ``mu``, in the target's units.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fitted trace (``constant_data`` holds the target and its scale).

    Returns
    -------
    numpy.ndarray, shape (periods,)
    """
    scale = float(idata["constant_data"]["target_scale"])
    fitted = idata["posterior"]["mu"].mean(("chain", "draw")).to_numpy() * scale
    return idata["constant_data"]["target_data"].to_numpy() - fitted


def truncation_warning(truncation: float, lags: int) -> str | None:
    """A plain-words warning when a posterior decay loses more than ``TRUNCATION`` of its weight to l_max.

    Parameters
    ----------
    truncation : float
        :func:`adstock_truncation` of the fit.
    lags : int
        The model's l_max.

    Returns
    -------
    str or None
        The warning, or None when the truncation is within ``TRUNCATION``.
    """
    if truncation <= TRUNCATION:
        return None
    return (f"Adstock truncation: a posterior decay keeps {truncation:.1%} of its weight beyond l_max = {lags} lags; "
            "raise fit.model.adstock.l_max.")
