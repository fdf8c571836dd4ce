"""`mmmlab recover`: classical joint recovery with intervals and identifiability verdicts.

Estimation (:mod:`mmmlab.recovery`) never sees the truth;
this stage reads it only afterwards, through :mod:`mmmlab.evaluation`, to compare.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab import evaluation, tracking
from mmmlab.config import data_spec, flatten, resolve
from mmmlab.config.recover import recovery_spec
from mmmlab.dataset import load_dataset
from mmmlab.files import write_figure, write_json, write_text
from mmmlab.plots import recovery as plots
from mmmlab.recovery.estimate import Recovery, recover

MODEL = "models/recovery.json"
FIGURES = "reports/recovery/figures"
TABLES = "reports/recovery/tables"
METRICS = "reports/recovery/metrics.json"


def run(params: dict) -> str:
    spec = recovery_spec(params)  # validate before any work
    dspec = data_spec(params)
    dataset = load_dataset(dspec)
    result = recover(dataset, spec)

    truth = evaluation.load_truth(dspec.truth)  # only now, after estimation
    if truth is not None and not set(dataset.channels) <= set(truth.channels):
        truth = None  # a truth file of another dataset: nothing to compare with
    if truth is not None:
        truth = evaluation.align_truth(truth, dataset.dates)  # by date; other dates are refused
    comparison = compare(result, truth) if truth is not None else None

    write_json(resolve(MODEL), model_record(result, dataset, spec))
    write_tables(result, dataset, comparison)
    write_figures(result, dataset, truth, comparison, spec.level)
    metrics = metric_values(result, comparison)
    write_json(resolve(METRICS), metrics)

    with tracking.stage_run("recover", params, flatten(params.get("recover") or {}, "recovery"), dataset):
        tracking.log_metrics({f"recovery.{k}": v for k, v in metrics.items()})
        tracking.log_artifact(resolve(MODEL))
        tracking.log_artifact(resolve(METRICS))
        tracking.log_artifacts(resolve(FIGURES), "figures")
        tracking.log_artifacts(resolve(TABLES), "tables")

    est = result.channel_estimates()
    n_id = int((est["verdict"] == "identified").sum())
    summary = (f"recovered {len(dataset.channels)} channels from {dataset.n_periods} periods in {result.seconds:.1f}s "
               f"({spec.uncertainty} intervals): {n_id}/{len(est)} parameters identified, "
               f"R2 {result.fit.fit_statistics()['r2']:.3f}")
    if comparison is not None:
        summary += f", truth inside {int(comparison['table']['covered'].sum())}/{len(comparison['table'])} intervals"
    return summary


# --------------------------------------------------------------------------- comparison (truth)
def compare(result: Recovery, truth: evaluation.Truth) -> dict:
    est = result.channel_estimates()
    table = evaluation.parameter_table(truth, est[["channel", "parameter", "estimate", "lower", "upper"]])
    table = table.merge(est[["channel", "parameter", "verdict"]], on=["channel", "parameter"], how="left")
    summary = evaluation.type_summary(table)
    recovered = result.fit.components()[list(result.fit.model.channels)]
    true = truth.channel_contributions  # on the data's dates (align_truth), as ``recovered`` is
    contrib = evaluation.contribution_errors(true, recovered)
    return {"table": table, "summary": summary, "contributions": contrib, "true_contributions": true}


def comparison_table(comparison: dict) -> pd.DataFrame:
    """The seed's comparison table, extended: one row per (channel, parameter), then per-type RMSE rows."""
    t = comparison["table"]
    rows = pd.DataFrame({
        "channel": t["channel"], "parameter": t["parameter"], "true": t["true"], "recovered": t["estimate"],
        "difference_pct": t["difference_pct"], "lower": t["lower"], "upper": t["upper"], "truth_inside": t["covered"],
        "verdict": t["verdict"], "rmse": np.nan, "nrmse_pct": np.nan,
    })
    s = comparison["summary"]
    summary = pd.DataFrame({"channel": "ALL", "parameter": s["parameter"], "difference_pct": s["nrmse_pct"],
                            "rmse": s["rmse"], "nrmse_pct": s["nrmse_pct"], "truth_inside": s["coverage"]})
    return pd.concat([rows, summary], ignore_index=True)


# --------------------------------------------------------------------------- outputs
def _clean(value):
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def model_record(result: Recovery, dataset, spec) -> dict:
    fit = result.fit
    comps = fit.components()
    totals = {ch: float(comps[ch].sum()) for ch in fit.model.channels}
    info = {k: _clean(v) for k, v in result.info.items() if not isinstance(v, dict)}
    record = {
        "method": spec.uncertainty,
        "level": spec.level,
        "data": {"path": str(dataset.path), "content_hash": dataset.content_hash, "n_periods": dataset.n_periods,
                 "freq": dataset.freq, "channels": list(dataset.channels)},
        "estimates": _records(result.estimates),
        "verdicts": result.notes,
        "baseline": fit.baseline_params(),
        "linear_coefficients": _records(fit.linear_table),
        "fit": {**fit.fit_statistics(), "uncertainty_seconds": float(result.info.get("seconds", np.nan)),
                "total_seconds": float(result.seconds)},
        "uncertainty": info,
        "contributions": {"total": totals, "share_of_sales": {ch: v / float(fit.model.y.sum()) for ch, v in totals.items()}},
        "search_bounds": {"decay": list(spec.decay_bounds), "gamma": list(spec.gamma_bounds),
                          "k_relative_to_median_adstock": list(spec.k_bounds)},
    }
    if "contribution_intervals" in result.info:
        record["contributions"]["total_interval"] = {k: list(v) for k, v in result.info["contribution_intervals"].items()}
    return record


def write_tables(result: Recovery, dataset, comparison: dict | None) -> None:
    folder = resolve(TABLES)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    est = result.estimates
    write_text(folder / "estimates.csv", est.to_csv(index=False))
    write_text(folder / "linear_coefficients.csv", result.fit.linear_table.to_csv(index=False))
    comps = result.fit.components()
    comps.index.name = "date"
    if comparison is not None:
        write_text(folder / "comparison.csv", comparison_table(comparison).to_csv(index=False))
        write_text(folder / "contribution_errors.csv", comparison["contributions"].to_csv(index=False))
        true = comparison["true_contributions"].add_suffix(".true")
        joined = pd.concat([comps.add_suffix(".recovered"), true], axis=1)
        joined.index.name = "date"
        write_text(folder / "contributions.csv", joined.to_csv())
    else:
        write_text(folder / "contributions.csv", comps.to_csv())


def write_figures(result: Recovery, dataset, truth, comparison: dict | None, level: float) -> None:
    folder = resolve(FIGURES)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    fit = result.fit
    channels = list(fit.model.channels)
    est = result.channel_estimates()
    if comparison is not None:
        table = comparison["table"]
        write_figure(folder / "parameters.png", plots.parameter_bars(table, comparison["summary"], level))
    else:
        write_figure(folder / "parameters.png", plots.parameter_bars(est, None, level))
    max_spend = {ch: float(dataset.spend[:, j].max()) for j, ch in enumerate(channels)}
    true_params = truth.channels if truth is not None else None
    write_figure(folder / "response_curves.png", plots.response_curves(max_spend, fit.channel_params(), true_params))
    actual = pd.Series(dataset.target, index=dataset.dates)
    write_figure(folder / "fit.png", plots.fitted_sales(actual, fit.components(), channels, fit.fit_statistics()))
    recovered = fit.components()[channels]
    true_contrib = comparison["true_contributions"] if comparison is not None else None
    write_figure(folder / "contributions.png", plots.contributions(recovered, true_contrib))


def metric_values(result: Recovery, comparison: dict | None) -> dict:
    stats = result.fit.fit_statistics()
    est = result.channel_estimates()
    metrics = {
        "r2": stats["r2"], "mape": stats["mape"], "rmse": stats["rmse"], "sigma": stats["sigma"],
        "seconds": result.seconds, "n_identified": int((est["verdict"] == "identified").sum()),
    }
    for rec in est.itertuples(index=False):
        metrics[f"{rec.channel}.{rec.parameter}.estimate"] = rec.estimate
        if np.isfinite(rec.lower) and np.isfinite(rec.upper):
            metrics[f"{rec.channel}.{rec.parameter}.interval_width"] = rec.upper - rec.lower
    if comparison is not None:
        for rec in comparison["table"].itertuples(index=False):
            key = f"{rec.channel}.{rec.parameter}"
            metrics[f"{key}.abs_error"] = rec.abs_error
            metrics[f"{key}.rel_error"] = rec.rel_error
            if rec.covered is not None:
                metrics[f"{key}.covered"] = float(rec.covered)
        for rec in comparison["summary"].itertuples(index=False):
            metrics[f"nrmse.{rec.parameter}"] = rec.nrmse_pct
            metrics[f"rmse.{rec.parameter}"] = rec.rmse
        covered = comparison["table"]["covered"].dropna()
        if len(covered):
            metrics["coverage"] = float(covered.astype(float).mean())
        for rec in comparison["contributions"].itertuples(index=False):
            metrics[f"contribution.{rec.channel}.total_error_pct"] = rec.total_error_pct
            metrics[f"contribution.{rec.channel}.srmse"] = rec.srmse
    return {k: _clean(v) for k, v in metrics.items() if v is not None and np.isfinite(float(v))}
