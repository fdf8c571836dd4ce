"""`mmmlab fit`: the Bayesian MMM (pymc-marketing), its convergence gates and, when a truth file exists, recovery vs truth.

Writes ``models/mmm_fit.nc`` (the trace), ``reports/fit/convergence.json`` (gates, timings,
identifiability, truth summary) and ``reports/fit/tables/*.csv`` as one
:class:`~mmmlab.files.OutputSet`: they replace the previous three together at the very end, so an
interrupted or failed fit keeps the previous ones, and partial chains (a sampler that caught
Ctrl-C) are never saved. The truth is read only after sampling and matched to the data by
date (:func:`mmmlab.evaluation.align_truth`: a truth of other dates is a one-line user error). The
analysis lives in the library (:mod:`mmmlab.bayes`, :mod:`mmmlab.diagnostics`,
:mod:`mmmlab.evaluation`); this module orchestrates it. With ``fit.strict: true`` a
failed gate raises :class:`~mmmlab.errors.GateFailure` (the CLI exits with code 1) after
everything has been written and logged.
"""

from __future__ import annotations

import time

import click

from mmmlab import bayes, evaluation, tracking
from mmmlab.bayes.sampling import compiles_kept
from mmmlab.config import data_spec, flatten, output_path, relative
from mmmlab.config.fit import HILL_FORMS, FitSpec, fit_spec
from mmmlab.dataset import load_dataset
from mmmlab.errors import GateFailure
from mmmlab.files import OutputSet, write_json, write_tables
from mmmlab.lift_data import chosen_lift_tests
from mmmlab.residuals import residual_checks

TRACE = "models/mmm_fit.nc"
FOLDER = "reports/fit"
CONVERGENCE = f"{FOLDER}/convergence.json"
TABLES = f"{FOLDER}/tables"


def run(params: dict) -> str:
    """Fit, save the trace, apply the gates, compare with the truth, write tables, log; returns a summary line."""
    spec = fit_spec(params)  # every key validated before anything runs
    dspec = data_spec(params)
    dataset = load_dataset(dspec)
    lift = chosen_lift_tests(spec.lift_tests, dataset, "fit.calibration.lift_tests")
    d = bayes.design(dataset, spec.model, lift)
    logged = flatten(params["fit"], "fit") | flatten(params["data"], "data.mapping")
    trace_path, tables_path, convergence_path = (output_path(p) for p in (TRACE, TABLES, CONVERGENCE))
    with (tracking.stage_run("fit", params, logged, dataset) as run_id,
          OutputSet([trace_path, tables_path, convergence_path]) as out,
          compiles_kept()):
        t0 = time.perf_counter()
        mmm = bayes.build_mmm(spec, d)
        _autolog(spec, d)
        try:
            timings, attempts = bayes.sample(mmm, d, spec)
        finally:
            _autolog(None, d)
        t = time.perf_counter()
        trace = bayes.save_fit(mmm, out.path(trace_path))
        timings["save_s"] = time.perf_counter() - t
        timings["fit_stage_s"] = time.perf_counter() - t0
        idata = mmm.idata

        verdict = attempts[-1].verdict
        residuals = residual_checks(bayes.residuals(idata), dataset.dates)
        metrics = (verdict.metrics() | bayes.sampler_metrics(idata, timings, verdict.metrics()["min_ess_bulk"])
                   | residuals.metrics() | {"sampling_attempts": float(len(attempts)),
                                              "lift_tests": float(0 if lift is None else len(lift.lift))})
        tables = bayes.estimate_tables(idata, d, spec)
        dominated = bayes.prior_dominated(tables["contraction"])
        truth = evaluation.load_truth(dspec.truth)  # only now, after sampling
        truth_summary = {}
        if truth is not None:
            truth = evaluation.align_truth(truth, d.X[bayes.DATE])
            spend = d.X.set_index(bayes.DATE)[list(d.channels)]
            truth_tables, truth_summary = evaluation.fit_comparison(truth, tables, spend,
                                                                    parameters=spec.model.saturation in HILL_FORMS)
            tables |= truth_tables
        report = {
            **verdict.as_dict(),
            "sampler": spec.sampler.name,
            "attempts": [a.as_dict() for a in attempts],
            "metrics": metrics,
            "prior_dominated": [f"{r.parameter}.{r.channel}" for r in dominated.itertuples()],
            "truth": truth_summary or None,
            "mlflow_run_id": run_id,  # the report stage logs its artifacts to this run
        }
        write_tables(out.path(tables_path), tables)
        write_json(out.path(convergence_path), report)

        tracking.log_metrics({f"fit.{k}": v for k, v in metrics.items()}
                             | {"fit.gates_passed": float(verdict.passed), "fit.prior_dominated": float(len(dominated))}
                             | {f"fit.truth.{k}": v for k, v in truth_summary.items()})
        artifact = tracking.log_trace(trace)  # the run keeps its own copy: the next fit overwrites the file
        tracking.set_tags({"fit.trace": TRACE, "fit.trace_artifact": artifact,
                           "fit.gates": "passed" if verdict.passed else "failed"})
        tracking.log_artifact(out.path(convergence_path))
        tracking.log_artifacts(out.path(tables_path), "tables")
        out.commit()  # the last step: trace, tables and verdict replace the previous ones together

    click.echo("\n".join([*dataset.notices, f"seasonality: {d.seasonality.reason}", *lift_words(lift),
                           *rerun_words(attempts),
                           verdict.plain_words(),
                           *bayes.identifiability_words(tables["contraction"]),
                           *residuals.words("fit.model.yearly_seasonality"), *evaluation.headline(truth_summary)]))
    warning = bayes.truncation_warning(metrics["adstock_truncation_max"], bayes.adstock_of(idata)[0])
    if warning:
        click.echo(warning)
    summary = (f"fit {len(d.channels)} channels x {len(d.X)} periods with {spec.sampler.name} in "
               f"{timings['fit_stage_s']:.0f} s: convergence {'passed' if verdict.passed else 'FAILED'}; "
               f"trace {relative(trace_path)}")
    if spec.strict and not verdict.passed:
        failed = ", ".join(c.name for c in verdict.checks if not c.passed)
        raise GateFailure(f"fit.strict is true and convergence gates failed ({failed}); see {CONVERGENCE}")
    return summary


def lift_words(lift) -> list[str]:
    """Which lift tests calibrate the fit, if any."""
    if lift is None:
        return ["lift tests: none (fit.calibration.lift_tests)"]
    return [f"lift tests: {len(lift.lift)} from {relative(lift.path)} ({', '.join(lift.labels)}), "
            "each a likelihood term on the lift the model predicts"]


def rerun_words(attempts: list[bayes.Attempt]) -> list[str]:
    """One line per run that missed a gate and was sampled again."""
    return [f"sampling run {i} ({a.sampler.draws} draws, target_accept {a.sampler.target_accept:g}, "
            f"{a.sampler.geometry} coordinates) missed {', '.join(a.as_dict()['failed'])}: sampled again with "
            f"{_changes(a.sampler, after.sampler)}"
            for i, (a, after) in enumerate(zip(attempts, attempts[1:]), start=1)]


def _changes(before, after) -> str:
    """What a rerun changed: more draws, smaller steps, other coordinates."""
    changed = ["twice the draws" if after.draws != before.draws else "as many draws"]
    changed += [f"target_accept {after.target_accept:g}"] if after.target_accept != before.target_accept else []
    changed += [f"in the {after.geometry} coordinates"] if after.geometry != before.geometry else []
    return ", ".join(changed[:-1]) + (" and " if len(changed) > 1 else "") + changed[-1]


def _autolog(spec: FitSpec | None, d: bayes.Design) -> None:
    """pymc-marketing's MLflow autolog around sampling (library versions, model structure), off afterwards.

    Its own MMM patch is off (the stage logs the trace itself, as ``model/mmm_fit.nc``); so are its
    sampler diagnostics: they would add metrics outside the ``fit.`` namespace (``total_divergences``,
    ``sampling_time``) that this stage already logs as ``fit.divergences``, ``fit.sampling_s``, ...
    """
    import pymc_marketing.mlflow as pmm_mlflow

    if spec is None:
        pmm_mlflow.autolog(disable=True, silent=True)
        return
    pmm_mlflow.autolog(log_mmm=False, log_clv=False, log_bass=False, log_metadata_info=False,
                       log_sampler_info=False, silent=True)
