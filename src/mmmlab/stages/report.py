"""`mmmlab report`: the technical validation report from the saved trace (never re-samples the posterior).

Reads ``models/mmm_fit.nc`` and the fit stage's ``reports/fit/tables``, or, with ``--run-id``, the
trace and tables logged to that fit run in MLflow (downloaded to a temporary folder); writes
``reports/validation/`` (``index.html`` with every figure embedded, ``figures/*.png``,
``tables/*.csv``, ``metrics.json``). Everything is computed first and written into a temporary
folder that then replaces the old report, so a failure never leaves a half-replaced report.
If the local trace lacks a posterior predictive group it is sampled once and saved into the trace
(a downloaded trace is not written back). The report is logged as artifacts to its own run and to
the fit's MLflow run.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from mmmlab import bayes, tracking
from mmmlab.config import flatten, output_path, report_settings, resolve
from mmmlab.errors import UserInputError
from mmmlab.report import build_report, read_fit_tables
from mmmlab.report.context import has_posterior_predictive, sample_posterior_predictive
from mmmlab.report.html import render
from mmmlab.report.output import render_figures, write_report

TRACE = "models/mmm_fit.nc"
FIT_TABLES = "reports/fit/tables"
FIT_VERDICT = "reports/fit/convergence.json"
FOLDER = "reports/validation"

_requested_run: ContextVar[str | None] = ContextVar("report_run_id", default=None)


@contextmanager
def from_run(run_id: str | None) -> Iterator[None]:
    """Inside the block, :func:`run` reports on the trace logged to MLflow run ``run_id`` (None: the local trace).

    The ``--run-id`` option of ``mmmlab report`` uses it: the command runs every stage through the
    same ``run(params)`` call.
    """
    token = _requested_run.set(run_id)
    try:
        yield
    finally:
        _requested_run.reset(token)


def run(params: dict, run_id: str | None = None) -> str:
    """Build the report from the trace, write it, log it; returns a one-line summary.

    Parameters
    ----------
    params : dict
        The raw params (sections ``report``, ``fit`` for the gates, ``data`` for the target's
        label, ``tracking``).
    run_id : str, optional
        Report on the trace logged to this MLflow fit run instead of ``models/mmm_fit.nc``
        (default: the one set by :func:`from_run`, else the local trace).

    Returns
    -------
    str
        Sections, figures and tables written, the convergence verdict, the headline's colour
        (green, amber or red), and the fit run the report was attached to.

    Raises
    ------
    UserInputError
        When the ``report`` or ``fit.gates`` settings are invalid, there is no trace yet, or
        ``run_id`` is not a run of the store or holds no trace.
    """
    run_id = run_id or _requested_run.get()
    settings, seed = report_settings(params)
    source = tracking.fit_run(run_id) if run_id else None  # checked before a report run is opened
    if source is None and not resolve(TRACE).exists():
        raise UserInputError(f"{TRACE}: no fitted trace; run `mmmlab fit` first")
    logged = flatten(params.get("report") or {}, "report")
    name = f"report{tracking.SEP}{source.label}" if source else None
    with tracking.stage_run("report", params, logged, name=name), \
            tempfile.TemporaryDirectory(prefix="mmmlab-report-") as scratch:
        if source is not None:
            trace = tracking.download(source.run_id, source.trace, Path(scratch))
            tables = tracking.download(source.run_id, "tables", Path(scratch)) or Path(scratch) / "tables"
            fit_run, trace_name = source.run_id, f"runs:/{source.run_id}/{source.trace}"
        else:
            trace, tables, fit_run, trace_name = resolve(TRACE), resolve(FIT_TABLES), fit_run_id(), TRACE
        mmm = bayes.load_fit(trace)
        sampled = False
        if not has_posterior_predictive(mmm.idata):
            sample_posterior_predictive(mmm, seed)
            if source is None:
                bayes.save_fit(mmm, trace)  # atomic: the trace is replaced only once the new file is complete
            sampled = True
        report = build_report(mmm, settings, read_fit_tables(tables), trace_name=trace_name, sampled_predictive=sampled)
        images = render_figures(report)
        page = render(report, images)
        folder = output_path(FOLDER)  # under --out when given, like every stage's outputs
        write_report(folder, page, images, report)

        attached = fit_run if fit_run and tracking.run_exists(fit_run) else None
        tracking.set_tags({"report.fit_run_id": attached or "none",
                           "report.convergence": "passed" if report.verdict.passed else "failed",
                           "report.headline": report.headline.level if report.headline else "none"})
        tracking.log_metrics({f"report.{k}": v for k, v in report.metrics.items()})
        tracking.log_artifacts(folder, "validation")
        if attached:
            tracking.log_artifacts_to_run(attached, folder, "validation")
    verdict = "PASSED" if report.verdict.passed else "FAILED"
    if attached:
        where = f"; logged to fit run {attached}"
    elif fit_run:
        where = f"; fit run {fit_run} is not in the MLflow store"
    else:
        where = "; no fit run found in MLflow"
    level = f", headline {report.headline.level}" if report.headline else ""
    return (f"report: {len(report.parts)} sections, {len(images)} figures, {len(report.tables)} tables, "
            f"convergence {verdict}{level}, in {FOLDER}/index.html{where}")


def fit_run_id() -> str | None:
    """The MLflow run of the fit that wrote the trace, as the fit stage recorded it (None if unknown).

    Returns
    -------
    str or None
        ``mlflow_run_id`` from ``reports/fit/convergence.json``; None when the file or the key
        is missing.
    """
    path = resolve(FIT_VERDICT)
    return json.loads(path.read_text()).get("mlflow_run_id") if path.exists() else None
