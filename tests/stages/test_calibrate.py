"""`mmmlab calibrate` end to end on a real 2-worker Dask LocalCluster with real (tiny) nutpie fits: SBC interrupted
with Ctrl-C and resumed, coverage against the simulator with both methods, one nested MLflow run per fit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import psutil
import pytest
from click.testing import CliRunner

from mmmlab.cli import main

pytestmark = pytest.mark.slow

TINY = "{chains: 2, draws: 60, tune: 60, geometry: level, reruns: 0}"  # short fits miss the gates: sample each once
SBC = ("--set", "calibrate.cluster.workers=2", "--set", "calibrate.studies.sbc_default.ranks_draws=9",
       "--set", f"calibrate.studies.sbc_default.sampler={TINY}")


def _children(project: Path, study: str) -> list:
    """The finished runs nested under the study's latest run."""
    client = mlflow.MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mmm-lab")
    parents = client.search_runs([experiment.experiment_id], f"tags.mlflow.runName = 'calibrate · {study}'",
                                 order_by=["attributes.start_time DESC"])
    return client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parents[0].info.run_id}'"), \
        client.get_metric_history(parents[0].info.run_id, "calibrate.fits_done"), parents[0]


def _stopped(process: subprocess.Popen, seconds: float = 120) -> str:
    """The stderr of a process that was sent Ctrl-C, once it and every process holding its pipes have exited;
    the test fails with the stacks of its threads and the processes left when that takes over ``seconds``."""
    tree = psutil.Process(process.pid).children(recursive=True)
    try:
        return process.communicate(timeout=seconds)[1]
    except subprocess.TimeoutExpired:
        left = [f"{p.pid} {' '.join(p.cmdline())[:150]}" for p in tree if p.is_running()]
        main_alive = process.poll() is None
        if main_alive:
            process.send_signal(signal.SIGABRT)  # faulthandler prints the stacks, then the process ends
        for p in tree:
            with contextlib.suppress(psutil.Error):
                p.kill()
        err = process.communicate(timeout=60)[1]
        pytest.fail(f"{seconds:.0f} s after Ctrl-C the command {'still ran' if main_alive else 'had exited'}; "
                    f"processes left: {left}\n{err[-6000:]}")


def test_sbc_interrupted_keeps_its_fits_and_resumes(project):
    folder = project / "models" / "calibration" / "sbc_default"
    command = [sys.executable, "-m", "mmmlab.cli", "calibrate", "--set", "calibrate.studies.sbc_default.fits=8", *SBC]
    # PYTHONFAULTHANDLER: a SIGABRT makes the process print every thread's stack (see _stopped)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}", "PYTHONFAULTHANDLER": "1"}
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 300
    while len(list(folder.glob("fit-*.json"))) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # Ctrl-C after two fits were written
    err = _stopped(process)
    assert process.returncode == 130, err[-2000:]
    kept = {p.name: p.read_bytes() for p in folder.glob("fit-*.json")}
    assert 2 <= len(kept) < 8, err[-2000:]
    assert not (project / "reports" / "calibration" / "sbc_default" / "index.html").exists()

    result = CliRunner().invoke(main, ["calibrate", "--set", "calibrate.studies.sbc_default.fits=8", *SBC])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("calibrate sbc_default: 8/8 fits done, 0 failed")
    assert {p.name: p.read_bytes() for p in folder.glob("fit-*.json") if p.name in kept} == kept  # resumed, not redone
    children, steps, parent = _children(project, "sbc_default")
    assert len(children) == 8 - len(kept)  # the resumed run logged only the fits it made, one nested run each
    assert [m.step for m in steps] == list(range(len(kept) + 1, 9))
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("fit-*.json"))]
    assert all(set(r["ranks"]) >= {"decay (TV)", "contribution (TV)", "log-likelihood"} for r in records)
    assert all(0 <= v <= 9 for r in records for v in r["ranks"].values())
    assert all([(run["draws"], run["geometry"]) for run in r["runs"]] == [(60, "level")] for r in records)  # reruns: 0
    page = project / "reports" / "calibration" / "sbc_default"
    table = pd.read_csv(page / "tables" / "sbc_ranks.csv")
    assert len(table) == len(records[0]["ranks"]) and set(table["fits"]) == {8}
    assert (page / "index.html").read_text().count("<img") >= 1
    assert json.loads((page / "metrics.json").read_text())["fits_done"] == 8
    assert parent.data.metrics["calibrate.fits_done"] == 8


def test_coverage_with_both_methods(project):
    result = CliRunner().invoke(main, [
        "calibrate", "--study", "coverage_default", "--set", "calibrate.cluster.workers=2",
        "--set", "calibrate.studies.coverage_default.fits=2", "--set", "calibrate.studies.coverage_default.methods=[fit, recover]",
        "--set", f"calibrate.studies.coverage_default.sampler={TINY}"])
    assert result.exit_code == 0, result.output
    records = [json.loads(p.read_text()) for p in (project / "models/calibration/coverage_default").glob("fit-*.json")]
    assert sorted(r["seed"] for r in records) == [1000, 1001]
    for r in records:
        assert set(r["intervals"]) == {"fit", "recover"}
        assert {"hit_50", "hit_80", "hit_94"} <= set(r["intervals"]["fit"]["contribution (TV)"])
        assert "hit_95" in r["intervals"]["recover"]["decay (TV)"]
        assert 0.1 <= r["drawn"]["decay.TV"] <= 0.9 and r["intervals"]["fit"]["decay (TV)"]["truth"] == r["drawn"]["decay.TV"]
        assert set(r["budget"]) == {"fit"} and set(r["budget"]["fit"]) == {"mean", "cvar"}
        assert r["budget"]["fit"]["mean"]["regret"] >= -1e-9  # the true optimum is searched from the recommendation too
        contraction = [r["intervals"]["fit"][f"{p} (TV)"]["contraction"] for p in ("decay", "alpha", "gamma", "k")]
        assert all(c < 1 for c in contraction)  # 1 - posterior over prior width: below 1 for a posterior with width
        assert "contraction" not in r["intervals"]["recover"]["decay (TV)"]
        assert [(run["draws"], run["geometry"], run["passed"]) for run in r["runs"]["fit"]] == \
            [(60, "level", r["gates_by_method"]["fit"])] and "recover" not in r["runs"]
    budget = pd.read_csv(project / "reports/calibration/coverage_default/tables/budget.csv")
    assert list(budget["objective"]) == ["mean", "cvar"] and (budget["fits"] == 2).all()
    informed = pd.read_csv(project / "reports/calibration/coverage_default/tables/informed.csv")
    assert set(informed["method"]) == {"fit"} and len(informed) == 16 and (informed["fits"] == 2).all()
    table = pd.read_csv(project / "reports/calibration/coverage_default/tables/coverage.csv")
    assert set(table["method"]) == {"fit", "recover"} and set(table.loc[table["method"] == "recover", "level"]) == {0.95}
    children, _, _ = _children(project, "coverage_default")
    assert len(children) == 2
