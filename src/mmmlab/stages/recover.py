"""`mmmlab recover`: classical joint recovery with intervals and identifiability verdicts.

Estimation (:mod:`mmmlab.recovery`) never sees the truth; this stage reads it only afterwards and
compares through :mod:`mmmlab.evaluation`. The record, tables and metrics come from
:mod:`mmmlab.recovery.tables` and the figures from :mod:`mmmlab.plots.recovery`; this module
orchestrates them and writes its outputs as one :class:`~mmmlab.files.OutputSet` (they replace the
previous ones together, at the end, or not at all).
"""

from __future__ import annotations

from mmmlab import evaluation, tracking
from mmmlab.config import data_spec, flatten, output_path
from mmmlab.config.recover import recovery_spec
from mmmlab.dataset import load_dataset
from mmmlab.files import OutputSet, write_figures, write_json, write_tables
from mmmlab.plots.recovery import recovery_figures
from mmmlab.recovery import tables
from mmmlab.recovery.estimate import recover
from mmmlab.residuals import residual_checks
from mmmlab.seasonality import yearly_modes

MODEL = "models/recovery.json"
FIGURES = "reports/recovery/figures"
TABLES = "reports/recovery/tables"
METRICS = "reports/recovery/metrics.json"


def run(params: dict) -> str:
    """Recover, compare with the truth when there is one, write the outputs, log; returns a summary line."""
    spec = recovery_spec(params)  # validate before any work
    dspec = data_spec(params)
    dataset = load_dataset(dspec)
    model, figures, tables_dir, metrics_file = (output_path(p) for p in (MODEL, FIGURES, TABLES, METRICS))
    with tracking.stage_run("recover", params, flatten(params.get("recover") or {}, "recovery"), dataset), \
            OutputSet([model, figures, tables_dir, metrics_file]) as out:
        result = recover(dataset, spec)
        residuals = residual_checks(dataset.target - result.fit.fitted(), dataset.dates)

        truth = evaluation.load_truth(dspec.truth)  # only now, after estimation
        if truth is not None and not set(dataset.channels) <= set(truth.channels):
            truth = None  # a truth file of another dataset: nothing to compare with
        comparison = None
        if truth is not None:
            truth = evaluation.align_truth(truth, dataset.dates)  # by date; other dates are refused
            recovered = result.fit.components()[list(result.fit.model.channels)]
            comparison = evaluation.recovery_comparison(truth, result.channel_estimates(), recovered)

        write_json(out.path(model), tables.model_record(result, dataset, spec))
        outputs = tables.estimate_tables(result)
        metrics = tables.metric_values(result) | residuals.metrics()
        if comparison is not None:
            outputs |= evaluation.recovery_tables(comparison, result.fit.components())
            metrics |= evaluation.recovery_metrics(comparison)
        write_tables(out.path(tables_dir), outputs)
        write_figures(out.path(figures), recovery_figures(result, dataset, spec.level, truth, comparison))
        write_json(out.path(metrics_file), metrics)

        tracking.log_metrics({f"recovery.{k}": v for k, v in metrics.items()})
        tracking.log_artifact(out.path(model))
        tracking.log_artifact(out.path(metrics_file))
        tracking.log_artifacts(out.path(figures), "figures")
        tracking.log_artifacts(out.path(tables_dir), "tables")
        out.commit()

    n_id = int(metrics["n_identified"])
    n_params = len(result.channel_estimates())
    summary = (f"recovered {len(dataset.channels)} channels from {dataset.n_periods} periods in {result.seconds:.1f}s "
               f"({spec.uncertainty} intervals): {n_id}/{n_params} parameters identified, "
               f"R2 {result.fit.fit_statistics()['r2']:.3f}")
    if comparison is not None:
        summary += f", truth inside {int(comparison['table']['covered'].sum())}/{len(comparison['table'])} intervals"
    fourier, seasonality = "recover.baseline.fourier with recover.baseline.form: additive", []
    if spec.baseline == "additive":
        fourier, seasonality = "recover.baseline.fourier", [f"baseline: {yearly_modes(spec.fourier, dataset).reason}"]
    return "\n".join([*dataset.notices, *seasonality, *residuals.words(fourier), summary])
