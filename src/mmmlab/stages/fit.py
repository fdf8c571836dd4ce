"""`mmmlab fit`: the Bayesian MMM (pymc-marketing), its convergence gates and, when a truth file exists, recovery vs truth.

Writes ``models/mmm_fit.nc`` (the whole trace, atomically: an interrupted fit keeps the previous
file), ``reports/fit/convergence.json`` (gates, timings, identifiability, truth summary) and
``reports/fit/tables/*.csv``. The truth is read only after sampling. With ``fit.strict: true`` a
failed gate raises :class:`~mmmlab.errors.GateFailure` (the CLI exits with code 1) after
everything has been written and logged.
"""

from __future__ import annotations

import time

import arviz as az
import click
import numpy as np
import pandas as pd
import xarray as xr

from mmmlab import bayes, tracking
from mmmlab.config import data_spec, flatten, resolve
from mmmlab.config.fit import HILL_FORMS, SATURATION_PARAMETERS, FitSpec, fit_spec
from mmmlab.dataset import load_dataset
from mmmlab.diagnostics import check_convergence, parameter_summary
from mmmlab.errors import GateFailure
from mmmlab.evaluation import (
    PARAMETERS,
    contribution_errors,
    interval_table,
    load_truth,
    parameter_table,
    true_marginal_roas,
    true_roas,
    type_summary,
)
from mmmlab.files import write_json

TRACE = "models/mmm_fit.nc"
FOLDER = "reports/fit"
CONVERGENCE = f"{FOLDER}/convergence.json"
TABLES = f"{FOLDER}/tables"


def run(params: dict) -> str:
    """Fit, save the trace, apply the gates, compare with the truth, write tables, log; returns a summary line."""
    spec = fit_spec(params)  # every key validated before anything runs
    dspec = data_spec(params)
    dataset = load_dataset(dspec)
    d = bayes.design(dataset, spec.model)
    logged = flatten(params["fit"], "fit") | flatten(params["data"], "data.mapping")
    with tracking.stage_run("fit", params, logged, dataset) as run_id:
        t0 = time.perf_counter()
        mmm = bayes.build_mmm(spec, d)
        _autolog(spec, d)
        try:
            timings = bayes.sample(mmm, d, spec)
        finally:
            _autolog(None, d)
        t = time.perf_counter()
        trace = bayes.save_fit(mmm, resolve(TRACE))
        timings["save_s"] = time.perf_counter() - t
        timings["fit_stage_s"] = time.perf_counter() - t0
        idata = mmm.idata

        verdict = check_convergence(idata, spec.gates)
        metrics = verdict.metrics() | sampler_metrics(idata, timings, verdict.metrics()["min_ess_bulk"])
        tables = estimate_tables(idata, d, spec)
        contraction = tables["contraction"]
        dominated = contraction[contraction["prior_dominated"] & contraction["channel"].notna()]
        truth = load_truth(dspec.truth)  # only now, after sampling
        truth_summary = {}
        if truth is not None:
            truth_tables, truth_summary = truth_comparison(truth, tables, d, spec)
            tables |= truth_tables
        report = {
            **verdict.as_dict(),
            "sampler": spec.sampler.name,
            "metrics": metrics,
            "prior_dominated": [f"{r.parameter}.{r.channel}" for r in dominated.itertuples()],
            "truth": truth_summary or None,
            "mlflow_run_id": run_id,  # the report stage logs its artifacts to this run
        }
        folder = resolve(TABLES)
        for stale in set(folder.glob("*.csv")) - {folder / f"{name}.csv" for name in tables}:
            stale.unlink()
        for name, table in tables.items():
            _write_csv(folder / f"{name}.csv", table)
        write_json(resolve(CONVERGENCE), report)

        tracking.log_metrics({f"fit.{k}": v for k, v in metrics.items()}
                             | {"fit.gates_passed": float(verdict.passed), "fit.prior_dominated": float(len(dominated))}
                             | {f"fit.truth.{k}": v for k, v in truth_summary.items()})
        tracking.set_tags({"fit.trace": str(trace), "fit.gates": "passed" if verdict.passed else "failed"})
        tracking.log_artifact(resolve(CONVERGENCE))
        tracking.log_artifacts(folder, "tables")

    click.echo(plain_words(verdict, dominated, contraction, truth_summary))
    warning = truncation_warning(metrics["adstock_truncation_max"], bayes.adstock_of(idata)[0])
    if warning:
        click.echo(warning)
    summary = (f"fit {len(d.channels)} channels x {len(d.X)} periods with {spec.sampler.name} in "
               f"{timings['fit_stage_s']:.0f} s: convergence {'passed' if verdict.passed else 'FAILED'}; trace {TRACE}")
    if spec.strict and not verdict.passed:
        failed = ", ".join(c.name for c in verdict.checks if not c.passed)
        raise GateFailure(f"fit.strict is true and convergence gates failed ({failed}); see {CONVERGENCE}")
    return summary


def _autolog(spec: FitSpec | None, d: bayes.Design) -> None:
    """pymc-marketing's MLflow autolog around sampling (versions, model structure, summary.html), off afterwards.

    Its own MMM patch is off (it would upload a second copy of the trace); its names (draws, chains,
    ...) never collide with this stage's ``fit.*`` params.
    """
    import pymc_marketing.mlflow as pmm_mlflow

    if spec is None:
        pmm_mlflow.autolog(disable=True, silent=True)
        return
    names = ["intercept_contribution", "y_sigma", "adstock_alpha"]
    names += [f"saturation_{p}" for p in SATURATION_PARAMETERS[spec.model.saturation]]
    names += ["gamma_control"] * bool(d.controls) + ["gamma_fourier"] * bool(spec.model.yearly_seasonality)
    pmm_mlflow.autolog(log_mmm=False, log_clv=False, log_bass=False, log_metadata_info=False,
                       summary_var_names=names, silent=True)


def sampler_metrics(idata, timings: dict, min_ess: float) -> dict:
    """Timings, ESS per second and gradient evaluations per effective sample."""
    stats = idata["sample_stats"].to_dataset()
    steps = next((stats[n] for n in ("n_steps", "num_steps", "tree_size") if n in stats), None)
    metrics = dict(timings)
    metrics["ess_bulk_per_s"] = min_ess / timings["sampling_s"]
    metrics["ess_bulk_per_stage_s"] = min_ess / timings["fit_stage_s"]
    if steps is not None:
        metrics["grad_evals_per_ess"] = float(steps.sum()) / min_ess
    decay = idata["posterior"]["adstock_alpha"]
    lags = bayes.adstock_of(idata)[0]
    # kernel weight beyond l_max for the worst draw; none when the lags cover the whole series (then the
    # model's adstock equals the simulator's exactly: no spend before the first period)
    n_periods = idata["posterior"].sizes.get("date", lags + 1)
    metrics["adstock_truncation_max"] = 0.0 if lags >= n_periods else float((decay**lags).max())
    return metrics


def _interval(draws: xr.DataArray, prob: float, dims=("chain", "draw")) -> pd.DataFrame:
    """mean, median, HDI lower/upper over ``dims``, one row per remaining coordinate."""
    hdi = az.hdi(draws, prob=prob)
    frame = pd.DataFrame({
        "mean": draws.mean(dims).to_series(),
        "median": draws.median(dims).to_series(),
        "lower": hdi.isel(ci_bound=0).reset_coords(drop=True).to_series(),
        "upper": hdi.isel(ci_bound=1).reset_coords(drop=True).to_series(),
    })
    return frame


def estimate_tables(idata, d: bayes.Design, spec: FitSpec) -> dict[str, pd.DataFrame]:
    """Posterior tables in original units: parameters, contributions, ROAS, contraction, structural summary."""
    prob = spec.hdi_prob
    params = bayes.original_scale_parameters(idata)
    parameters = pd.concat({name: _interval(params[name], prob) for name in params.data_vars}, names=["parameter"])
    contributions = bayes.channel_contributions(idata)
    over_time = _interval(contributions, prob)
    totals = _interval(contributions.sum("date"), prob)
    spend = d.X[list(d.channels)]
    spend_total = xr.DataArray(spend.sum().to_numpy(), dims="channel", coords={"channel": list(d.channels)})
    roas = _interval(contributions.sum("date") / spend_total, prob)
    mroas = _interval(bayes.marginal_roas(idata, spend.mean()), prob)
    return {
        "parameters": parameters.reset_index(),
        "contributions": over_time.reset_index(),
        "contribution_totals": totals.reset_index(),
        "roas": pd.concat({"roas": roas, "marginal_roas": mroas}, names=["metric"]).reset_index(),
        "contraction": bayes.prior_posterior_contraction(idata, prob, spec.prior_dominated_below),
        "posterior_summary": parameter_summary(idata, prob).rename_axis("variable").reset_index(),
    }


def truth_comparison(truth, tables: dict, d: bayes.Design, spec: FitSpec) -> tuple[dict, dict]:
    """Tables vs the truth (parameters, contributions, ROAS) and headline numbers for metrics."""
    channels = [c for c in d.channels if c in truth.channels]
    summary: dict[str, float] = {}
    out: dict[str, pd.DataFrame] = {}
    parameters = tables["parameters"]
    if spec.model.saturation in HILL_FORMS:
        est = parameters.rename(columns={"mean": "estimate"})[["channel", "parameter", "estimate", "lower", "upper", "median"]]
        table = parameter_table(truth, est[est["parameter"].isin(PARAMETERS)])
        table = table.merge(est[["channel", "parameter", "median"]], on=["channel", "parameter"])
        out["parameters_vs_truth"] = table
        for row in type_summary(table).itertuples():
            summary[f"coverage.{row.parameter}"] = row.coverage
            summary[f"nrmse_pct.{row.parameter}"] = row.nrmse_pct
        for row in table.itertuples():
            summary[f"rel_error.{row.parameter}.{row.channel}"] = row.rel_error
    true_contrib = truth.channel_contributions[channels]
    over_time = tables["contributions"].copy()
    true_long = true_contrib.reset_index(drop=True).set_axis(d.X["date"].to_numpy()).rename_axis("date").stack()
    over_time = over_time.set_index(["date", "channel"])
    if len(true_contrib) == len(d.X):
        over_time["true"] = true_long.reindex(over_time.index).to_numpy()
        over_time["covered"] = (over_time["lower"] <= over_time["true"]) & (over_time["true"] <= over_time["upper"])
        out["contributions_vs_truth"] = over_time.reset_index()
        mean = over_time["mean"].unstack("channel")[channels]
        errors = contribution_errors(true_contrib.set_axis(mean.index), mean)
        totals = tables["contribution_totals"].set_index("channel").loc[channels]
        errors["lower"], errors["upper"] = totals["lower"].to_numpy(), totals["upper"].to_numpy()
        errors["covered"] = (errors["lower"] <= errors["true_total"]) & (errors["true_total"] <= errors["upper"])
        errors["coverage_over_time"] = over_time["covered"].groupby("channel").mean().reindex(channels).to_numpy()
        out["contribution_errors"] = errors
        for row in errors.itertuples():
            summary[f"srmse.{row.channel}"] = row.srmse
            summary[f"total_error_pct.{row.channel}"] = row.total_error_pct
        summary["srmse.max"] = float(errors["srmse"].max())
    spend = d.X[channels]
    roas = tables["roas"]
    rows = []
    for metric, true in [("roas", true_roas(truth, spend)), ("marginal_roas", true_marginal_roas(truth, spend.mean()))]:
        table = interval_table(true, roas[roas["metric"] == metric].set_index("channel")[["mean", "median", "lower", "upper"]])
        rows.append(table.assign(metric=metric).reset_index())
        for channel, row in table.iterrows():
            summary[f"{metric}_rel_error.{channel}"] = row["rel_error"]
    out["roas_vs_truth"] = pd.concat(rows, ignore_index=True)[["metric", "channel", "true", "mean", "median", "lower", "upper", "rel_error", "covered"]]
    return out, {k: float(v) for k, v in summary.items() if v is not None and np.isfinite(v)}


def plain_words(verdict, dominated: pd.DataFrame, contraction: pd.DataFrame, truth: dict) -> str:
    """The verdict, what the data inform, and the truth headline, as sentences."""
    lines = [verdict.plain_words()]
    channel_rows = contraction[contraction["channel"].notna()]
    informed = channel_rows[~channel_rows["prior_dominated"]]
    lines.append(f"Identifiability: {len(informed)} of {len(channel_rows)} channel parameters are informed by the data "
                 "(posterior interval at most half the prior's).")
    if len(dominated):
        names = ", ".join(f"{r.parameter} {r.channel} ({r.contraction:.0%})" for r in dominated.itertuples())
        lines.append(f"  Prior-dominated, read them as the prior, not as estimates: {names}.")
    if truth:
        covered = [f"{p} {truth[f'coverage.{p}']:.0%}" for p in PARAMETERS if f"coverage.{p}" in truth]
        if covered:
            lines.append(f"Truth inside the HDI: {', '.join(covered)} of channels.")
        srmse = [f"{k.split('.', 1)[1]} {v:.2f}" for k, v in truth.items() if k.startswith("srmse.") and k != "srmse.max"]
        if srmse:
            lines.append(f"Contribution SRMSE (RMSE / mean true contribution): {', '.join(srmse)}.")
    return "\n".join(lines)


def truncation_warning(truncation: float, lags: int) -> str | None:
    """A plain-words warning when a posterior decay loses more than ``bayes.TRUNCATION`` of its weight to l_max."""
    if truncation <= bayes.TRUNCATION:
        return None
    return (f"Adstock truncation: a posterior decay keeps {truncation:.1%} of its weight beyond l_max = {lags} lags; "
            "raise fit.model.adstock.l_max.")


def _write_csv(path, table: pd.DataFrame) -> None:
    from mmmlab.files import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
