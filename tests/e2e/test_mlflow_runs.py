"""End to end: the MLflow runs a real `dvc repro` leaves stand alone (parent and children, commit, names,
no local paths, the trace as an artifact that reloads), `mmmlab report --run-id` rebuilds the report from
a run, and `mlflow run` without --experiment-name lands in the project's experiment."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.e2e.helpers import STAGES, runs, sh

pytestmark = pytest.mark.slow

NAMESPACE = {"generate": "data.", "check": "check.", "recover": "recovery.", "fit": "fit.", "report": "report.",
             "optimize": "optimize."}


@pytest.fixture(scope="module")
def repro(reproduced) -> dict:
    """The shared reproduced project's runs (read only)."""
    client, all_runs = runs(reproduced.root)
    return {"root": reproduced.root, "head": reproduced.head, "client": client, "runs": all_runs,
            "seconds": reproduced.seconds}


def _stage_runs(all_runs) -> dict:
    return {r.data.tags["stage"]: r for r in all_runs if r.data.tags.get("stage") in STAGES}


def test_one_parent_run_holds_one_child_per_stage(repro):
    parents = [r for r in repro["runs"] if r.data.tags.get("stage") == "dvc"]
    assert len(parents) == 1
    parent = parents[0]
    children = [r for r in repro["runs"] if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.data.tags["stage"] for r in children) == sorted(STAGES)
    assert len(repro["runs"]) == len(STAGES) + 1
    assert parent.info.run_name.startswith("dvc repro · ")
    assert {r.info.status for r in [parent, *children]} == {"FINISHED"}
    assert repro["client"].get_experiment(parent.info.experiment_id).name == "mmm-lab"
    # the parent spans its stages; each stage's duration is its own, and they follow one another
    first, last = min(r.info.start_time for r in children), max(r.info.end_time for r in children)
    assert parent.info.start_time <= first and parent.info.end_time >= last
    by_start = sorted(children, key=lambda r: r.info.start_time)
    order = [r.data.tags["stage"] for r in by_start]
    assert order[0] == "generate" and set(order[-2:]) == {"report", "optimize"}  # both after the fit, in DVC's order
    for earlier, later in itertools.pairwise(by_start):
        assert earlier.info.end_time <= later.info.start_time  # one stage after the other, no overlap
    assert sum(r.info.end_time - r.info.start_time for r in children) <= parent.info.end_time - parent.info.start_time
    assert by_start[-1].info.end_time - parent.info.start_time <= repro["seconds"] * 1000


def test_every_run_carries_commit_name_and_no_local_paths(repro):
    root = str(repro["root"])
    for run in repro["runs"]:
        tags = run.data.tags
        assert tags["mmmlab.git_commit"] == repro["head"] and tags["mmmlab.git_dirty"] == "false", run.info.run_name
        for key, value in [*tags.items(), *run.data.params.items()]:
            assert root not in value and not re.match(r"(/|file:)", value), (run.info.run_name, key, value)
    names = {stage: run.info.run_name for stage, run in _stage_runs(repro["runs"]).items()}
    assert names == {stage: f"{stage} · seed 369" for stage in STAGES}
    assert _stage_runs(repro["runs"])["fit"].data.tags["fit.trace"] == "models/mmm_fit.nc"


def test_metrics_stay_in_their_stage_namespace(repro):
    for stage, run in _stage_runs(repro["runs"]).items():
        strays = [k for k in run.data.metrics if not k.startswith(NAMESPACE[stage])]
        assert not strays, (stage, strays)
    assert "fit.divergences" in _stage_runs(repro["runs"])["fit"].data.metrics


def test_the_fit_run_holds_the_trace_beside_the_store_and_it_reloads_in_a_fresh_process(repro, tmp_path):
    root, client = repro["root"], repro["client"]
    fit = _stage_runs(repro["runs"])["fit"]
    assert fit.data.tags["fit.trace_artifact"] == "model/mmm_fit.nc"
    assert fit.info.artifact_uri.startswith((root / "mlartifacts").as_uri())
    path = Path(client.download_artifacts(fit.info.run_id, "model/mmm_fit.nc", str(tmp_path)))
    assert path.read_bytes() == (root / "models/mmm_fit.nc").read_bytes()
    code = ("import sys, mmmlab\n"
            "m = mmmlab.load_fit(sys.argv[1])\n"
            "print(m.idata['posterior'].sizes['draw'], sorted(m.channel_columns))\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "60 ['Digital', 'Print', 'Radio', 'TV']"


def test_report_from_a_run_id_uses_the_logged_trace(project_copy):
    root = project_copy
    client, all_runs = runs(root)
    fit = _stage_runs(all_runs)["fit"]
    fit_id = fit.info.run_id
    local = root / "models/mmm_fit.nc"
    local.rename(root / "aside.nc")  # the report must come from the run, not the file
    try:
        out = sh(root, "mmmlab", "report", "--run-id", fit_id)
    finally:
        (root / "aside.nc").rename(local)
    assert f"logged to fit run {fit_id}" in out
    assert (root / "reports/validation/index.html").stat().st_size > 0
    report_runs = client.search_runs([fit.info.experiment_id],
                                     filter_string="tags.stage = 'report'", order_by=["attributes.start_time DESC"])
    assert len(report_runs) == 2
    latest = report_runs[0]
    assert latest.info.run_name == "report · seed 369" and latest.data.tags["report.fit_run_id"] == fit_id
    assert latest.info.status == "FINISHED"
    html = (root / "reports/validation/index.html").read_text()
    assert f"runs:/{fit_id}/model/mmm_fit.nc" in html


def test_mlflow_run_without_experiment_name_lands_in_the_project_experiment(project_copy):
    root = project_copy
    client, _ = runs(root)
    sh(root, "mlflow", "run", ".", "-e", "generate", "--env-manager", "local", "-P", "seed=12")
    project = client.get_experiment_by_name("mmm-lab")
    generate_runs = client.search_runs([project.experiment_id], filter_string="tags.stage = 'generate'")
    entry = [r for r in generate_runs if r.data.params.get("data.seed") == "12"]
    assert len(entry) == 1
    run = entry[0]
    assert run.info.run_name == "generate · seed 12" and run.info.status == "FINISHED"
    assert run.data.tags["mlflow.project.entryPoint"] == "generate"
    wrapper = client.get_run(run.data.tags["mmmlab.mlflow_run_id"])
    assert client.get_experiment(wrapper.info.experiment_id).name == "Default"
    assert wrapper.data.tags["mmmlab.run_id"] == run.info.run_id
    assert "data.seed" not in wrapper.data.params and not wrapper.data.metrics  # the stage logged elsewhere
