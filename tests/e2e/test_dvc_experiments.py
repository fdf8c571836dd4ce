"""End to end: queued DVC experiments run in isolation, `dvc exp show` compares their metrics, and an experiment
forced with the workspace's params writes the workspace's bytes (every stage's outputs depend only on its inputs)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import pytest
import yaml
from tests.e2e.helpers import copy_project, sh

from mmmlab.config import generate_section, project_root

OTHER_SEED = "seed12"  # queued with generate.seed=12
FORCED = "forced"  # queued with the workspace's params, forced: its stages run again in the queue's folder
EXPERIMENTS = (OTHER_SEED, FORCED)
QUEUED = {"generate", "recover", "fit"}  # the stages the queued experiments run
QUEUE_LIMIT_S = 900
PLOTS = ("contribution_srmse", "contribution_total_error")  # dvc.yaml's plots


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def workspace_files(root: Path) -> dict[str, tuple]:
    """The content of params.yaml and dvc.lock (`dvc exp run --queue -S` rewrites params.yaml and puts it back), and
    of every file under data/, models/ and reports/ with its modification time (same bytes written again count)."""
    files = {str(p.relative_to(root)): (md5(p),) for p in (root / "params.yaml", root / "dvc.lock")}
    outputs = [p for folder in ("data", "models", "reports") for p in (root / folder).rglob("*") if p.is_file()]
    return files | {str(p.relative_to(root)): (md5(p), p.stat().st_mtime_ns) for p in outputs}


def experiment_rows(shown: list) -> dict[str, dict]:
    """``dvc exp show --json``'s experiments by name: {name: its data (params, metrics, deps)}."""
    rows = {}
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            for rev in experiment.get("revs") or []:
                if rev.get("name"):
                    rows[rev["name"]] = rev.get("data") or {}
    return rows


def metrics_of(row: dict, path: str) -> dict:
    return ((row.get("metrics") or {}).get(path) or {}).get("data") or {}


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- no repository needed
def test_the_project_root_is_the_working_directory_not_dvc_root(tmp_path, monkeypatch):
    """A queued experiment runs in a copy of the repository while DVC_ROOT names the parent workspace."""
    parent, copy = tmp_path / "workspace", tmp_path / "workspace/.dvc/tmp/exps/tmp1234"
    (copy / "src").mkdir(parents=True)
    for folder in (parent, copy):
        (folder / "params.yaml").write_text("{}\n")
    monkeypatch.setenv("DVC_ROOT", str(parent))
    monkeypatch.chdir(copy / "src")
    assert project_root() == copy.resolve()


# --------------------------------------------------------------------------- queued experiments
@pytest.fixture(scope="session")
def queued(reproduced, tmp_path_factory) -> dict:
    """Two experiments queued and run by two workers, beside a workspace with data: one with generate.seed 12, one
    forced with the workspace's params.

    Session-scoped: pytest-xdist may interleave this module's tests with other modules', which would tear
    a module-scoped fixture down and queue the experiments again (3.5 min each time)."""
    # a copy of the reproduced project: the workspace's own data and outputs, which the experiments must leave alone
    root = copy_project(reproduced.root, tmp_path_factory.mktemp("queue") / "repo")
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-qm", "pipeline outputs")
    before = workspace_files(root)
    t0 = time.perf_counter()
    # the stages whose metrics exp show compares, and generate before them (--force runs every stage they depend on)
    targets = sorted(QUEUED - {"generate"})
    sh(root, "dvc", "exp", "run", "--queue", "-n", OTHER_SEED, "-S", "generate.seed=12", *targets)
    sh(root, "dvc", "exp", "run", "--queue", "-n", FORCED, "--force", *targets)
    sh(root, "dvc", "queue", "start", "-j", "2")
    while True:
        status = sh(root, "dvc", "queue", "status")
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        if time.perf_counter() - t0 > QUEUE_LIMIT_S:
            pytest.fail(f"the queue did not finish in {QUEUE_LIMIT_S} s:\n{status}")
        time.sleep(5)
    seconds = time.perf_counter() - t0
    shown = json.loads(sh(root, "dvc", "exp", "show", "--json"))
    return {"root": root, "before": before, "status": status, "seconds": seconds, "rows": experiment_rows(shown)}


@pytest.mark.slow
def test_both_queued_experiments_succeed(queued):
    lines = {name: line for line in queued["status"].splitlines() for name in EXPERIMENTS if f" {name} " in f" {line} "}
    logs = {name: sh(queued["root"], "dvc", "queue", "logs", name)[-3000:] for name in EXPERIMENTS
            if "Success" not in lines.get(name, "")}
    assert not logs, f"{queued['status']}\n{logs}"
    assert set(EXPERIMENTS) <= set(queued["rows"]), queued["rows"].keys()
    print(f"two queued experiments on two workers: {queued['seconds']:.0f} s")


@pytest.mark.slow
def test_the_workspace_is_untouched_by_the_queue(queued):
    assert workspace_files(queued["root"]) == queued["before"]


@pytest.mark.slow
def test_each_experiment_has_its_own_params_and_data(queued):
    rows = queued["rows"]
    workspace_seed = yaml.safe_load((queued["root"] / "params.yaml").read_text())["generate"]["seed"]
    seeds = {name: rows[name]["params"]["params.yaml"]["data"]["generate"]["seed"] for name in EXPERIMENTS}
    assert seeds == {OTHER_SEED: 12, FORCED: workspace_seed} and workspace_seed != 12
    data = {name: rows[name]["deps"]["data/mmm_data.csv"]["hash"] for name in EXPERIMENTS}
    workspace = queued["before"]["data/mmm_data.csv"][0]
    assert data[OTHER_SEED] != workspace, data  # its own params, not the workspace's
    assert data[FORCED] == workspace, data  # generated again from the same params: the same bytes


@pytest.mark.slow
def test_exp_show_lists_fit_and_recovery_metrics_with_numbers(queued):
    for name in EXPERIMENTS:
        fit = metrics_of(queued["rows"][name], "reports/fit/convergence.json")
        recovery = metrics_of(queued["rows"][name], "reports/recovery/metrics.json")
        numbers = [fit["metrics"][k] for k in ("max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences")]
        numbers += [fit["truth"][k] for k in ("srmse.max", "coverage.decay")]
        numbers += [recovery[k] for k in ("r2", "n_identified", "nrmse.decay", "contribution.TV.srmse")]
        assert all(is_number(v) for v in numbers), (name, numbers)
        assert isinstance(fit["passed"], bool)
    srmse = {name: metrics_of(queued["rows"][name], "reports/fit/convergence.json")["truth"]["srmse.max"]
             for name in EXPERIMENTS}
    assert len(set(srmse.values())) == 2  # their own fits


@pytest.mark.slow
def test_metrics_and_plots_compare_the_experiments(queued):
    root = queued["root"]
    diff = json.loads(sh(root, "dvc", "metrics", "diff", *EXPERIMENTS, "--json"))
    fit = diff["reports/fit/convergence.json"]
    assert is_number(fit["metrics.min_ess_bulk"]["old"]) and is_number(fit["metrics.min_ess_bulk"]["new"])
    assert "r2" in diff["reports/recovery/metrics.json"]
    channels = len(generate_section(yaml.safe_load((root / "params.yaml").read_text()))["channels"])
    plots = json.loads(sh(root, "dvc", "plots", "diff", *EXPERIMENTS, "--json"))["data"]
    for plot in PLOTS:
        values = plots[plot][0]["content"]["data"]["values"]
        assert {(v["rev"], v["filename"].split("/")[0]) for v in values} == {
            (name, stage) for name in EXPERIMENTS for stage in ("fit", "recovery")}, plot
        assert len(values) == 2 * 2 * channels  # two experiments x fit and recovery x each channel


# --------------------------------------------------------------------------- the forced experiment
@pytest.mark.slow
def test_the_forced_experiment_writes_the_workspaces_outputs(queued):
    """Its stages ran again in the queue's own folder, from the workspace's params and data, and wrote the bytes the
    workspace's `dvc repro` wrote (outputs depend on inputs, not on the folder; metrics files hold timings).
    `mlflow run main` checks the same of every stage against `dvc repro` (tests/e2e/test_pipeline.py)."""
    root = queued["root"]
    log = sh(root, "dvc", "queue", "logs", FORCED)
    assert all(f"Running stage '{stage}'" in log for stage in QUEUED), log[-3000:]  # run, not restored
    sh(root, "dvc", "exp", "branch", FORCED, f"exp-{FORCED}")
    forced = yaml.safe_load(sh(root, "git", "show", f"exp-{FORCED}:dvc.lock"))["stages"]
    workspace = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    metrics = {path for stage in yaml.safe_load((root / "dvc.yaml").read_text())["stages"].values()
               for item in stage.get("metrics", []) for path in item}
    outs = {name: {(stage, out["path"]): out["md5"] for stage in QUEUED for out in lock[stage]["outs"]
                   if out["path"] not in metrics} for name, lock in (("forced", forced), ("workspace", workspace))}
    assert len(outs["workspace"]) >= len(QUEUED)
    assert outs["forced"] == outs["workspace"], sorted(key for key in outs["workspace"]
                                                       if outs["forced"].get(key) != outs["workspace"][key])
