"""`mmmlab report`: the technical validation report from the saved trace (never re-samples the posterior).

Reads ``models/mmm_fit.nc`` and the fit stage's ``reports/fit/tables``; writes
``reports/validation/`` (``index.html`` with every figure embedded, ``figures/*.png``,
``tables/*.csv``, ``metrics.json``). Everything is computed first and written into a temporary
folder that then replaces the old report, so a failure never leaves a half-replaced report.
If the trace lacks a posterior predictive group it is sampled once and saved into the trace.
The report is logged as artifacts to its own run and to the fit's MLflow run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from mmmlab import bayes, tracking
from mmmlab.config import flatten, report_settings, resolve
from mmmlab.files import atomic_path, write_json, write_text
from mmmlab.report import build_report, read_fit_tables
from mmmlab.report.context import has_posterior_predictive, sample_posterior_predictive
from mmmlab.report.html import png_bytes, render
from mmmlab.report.model import Report

TRACE = "models/mmm_fit.nc"
FIT_TABLES = "reports/fit/tables"
FIT_VERDICT = "reports/fit/convergence.json"
FOLDER = "reports/validation"




def run(params: dict) -> str:
    """Build the report from the trace, write it, log it; returns a one-line summary.

    Parameters
    ----------
    params : dict
        The raw params (sections ``report``, ``fit`` for the gates, ``data`` for the target's
        label, ``tracking``).

    Returns
    -------
    str
        Sections, figures and tables written, the convergence verdict, and the fit run the
        report was attached to.

    Raises
    ------
    UserInputError
        When the ``report`` or ``fit.gates`` settings are invalid or there is no trace yet.
    """
    settings, seed = report_settings(params)
    trace = resolve(TRACE)
    mmm = bayes.load_fit(trace)
    sampled = False
    if not has_posterior_predictive(mmm.idata):
        sample_posterior_predictive(mmm, seed)
        bayes.save_fit(mmm, trace)  # atomic: the trace is replaced only once the new file is complete
        sampled = True
    report = build_report(mmm, settings, read_fit_tables(resolve(FIT_TABLES)),
                          trace_name=TRACE, sampled_predictive=sampled)
    images = render_figures(report)
    page = render(report, images)
    folder = resolve(FOLDER)
    write_report(folder, page, images, report)

    fit_run = fit_run_id()
    logged = flatten(params.get("report") or {}, "report")
    with tracking.stage_run("report", params, logged):
        tracking.set_tags({"report.fit_run_id": fit_run or "none",
                           "report.convergence": "passed" if report.verdict.passed else "failed"})
        tracking.log_metrics({f"report.{k}": v for k, v in report.metrics.items()})
        tracking.log_artifacts(folder, "validation")
    if fit_run:
        tracking.log_artifacts_to_run(fit_run, folder, "validation")
    verdict = "PASSED" if report.verdict.passed else "FAILED"
    where = f"; logged to fit run {fit_run}" if fit_run else "; no fit run found in MLflow"
    return (f"report: {len(report.parts)} sections, {len(images)} figures, {len(report.tables)} tables, "
            f"convergence {verdict}, in {FOLDER}/index.html{where}")


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


def render_figures(report: Report) -> dict[str, bytes]:
    """Every figure as PNG bytes (the figures are closed afterwards).

    Parameters
    ----------
    report : Report
        The built report.

    Returns
    -------
    dict of str to bytes
        PNG bytes by figure name: the same bytes go into the page and the PNG files.
    """
    images = {}
    for name, figure in report.figures.items():
        images[name] = png_bytes(figure)
        plt.close(figure)
    return images


def write_report(folder: Path, page: str, images: dict[str, bytes], report: Report) -> None:
    """Write the report into a temporary sibling folder, then swap it in place of ``folder``.

    The swap is two renames, so a failure while writing leaves the previous report whole.

    Parameters
    ----------
    folder : pathlib.Path
        The report's folder (``reports/validation``).
    page : str
        ``index.html``.
    images : dict of str to bytes
        PNG bytes by figure name, written as ``figures/<name>.png``.
    report : Report
        Its tables are written as ``tables/<name>.csv`` and its metrics as ``metrics.json``.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, data in images.items():
            with atomic_path(staging / "figures" / f"{name}.png") as tmp:
                tmp.write_bytes(data)
        for name, table in report.tables.items():
            with atomic_path(staging / "tables" / f"{name}.csv") as tmp:
                table.to_csv(tmp, index=False)
        write_json(staging / "metrics.json", report.metrics)
        write_text(staging / "index.html", page)
        os.chmod(staging, 0o777 & ~_umask())
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, old / folder.name)
        os.replace(staging, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
