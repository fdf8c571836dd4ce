"""`mmmlab calibrate`: one calibration study, its fits fanned out on Dask, its report from the per-fit records.

The study's plan (:mod:`mmmlab.calibration.sbc` or :mod:`mmmlab.calibration.simulated`) gives the
tasks and the worker's function; the fits not yet on disk run on the cluster, each written to
``models/calibration/<study>/`` as it finishes and logged as an MLflow run nested under the study's
run. The report (``reports/calibration/<study>/``) is rebuilt from every record, old and new, and
replaces the previous one as a whole (:class:`~mmmlab.files.OutputSet`).
"""

from __future__ import annotations

import click

from mmmlab import tracking
from mmmlab.calibration import report
from mmmlab.calibration.cluster import dask_client
from mmmlab.calibration.plan import child_metrics, child_params, plan_for
from mmmlab.calibration.progress import Progress
from mmmlab.calibration.runner import pending, run_tasks
from mmmlab.calibration.store import ResultStore
from mmmlab.config import fit_spec, flatten, output_path, relative
from mmmlab.config.calibrate import calibrate_spec

MODELS = "models/calibration"
REPORTS = "reports/calibration"


def run(params: dict, fresh: bool = False) -> str:
    """Run the selected study's missing fits (all of them with ``fresh``), then write its report; returns a summary."""
    spec = calibrate_spec(params)
    study = spec.selected
    store = ResultStore(output_path(f"{MODELS}/{study.name}"))
    plan = plan_for(study, params)  # validates the design and builds what every fit shares, before any fit
    logged = flatten(params["calibrate"]["studies"][study.name], f"calibrate.{study.name}")
    with tracking.stage_run("calibrate", params, logged, name=f"calibrate · {study.name}"):
        if fresh:
            store.clear()
        if store.claim(plan.key):
            click.echo(f"{study.name}: the settings or the code changed since the stored fits; starting afresh",
                       err=True)
        todo = pending(plan.tasks, store)
        done = len(plan.tasks) - len(todo)
        if todo:
            progress = Progress(study.name, len(plan.tasks), done)

            def on_result(record: dict) -> None:
                progress.update()
                tracking.log_child_run(f"{study.name} · fit {record['index']}", child_params(record),
                                       child_metrics(record), failed="error" in record)
                tracking.log_step("calibrate.fits_done", progress.done, progress.done)

            try:
                with dask_client(spec) as client:
                    run_tasks(client, todo, plan.work, store, on_result)
            finally:
                progress.close()
        records = [r for r in store.records() if r["index"] < study.fits]  # fewer fits asked: the first ones
        page = report.build(study, plan.description, records, fit_spec(params).prior_dominated_below)
        folder = output_path(f"{REPORTS}/{study.name}")
        report.write(folder, page)  # replaces the previous report as a whole
        if not todo:  # nothing ran: the running count still says where the study stands
            tracking.log_step("calibrate.fits_done", done, done)
        tracking.log_metrics({f"calibrate.{k}": v for k, v in page.metrics.items() if k != "fits_done"})
        tracking.log_artifacts(folder, "calibration")
    return report.summary_line(study, page.metrics, f"{relative(folder)}/index.html")
