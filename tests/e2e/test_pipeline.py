"""End to end: real `dvc repro`, `dvc exp run` and `mlflow run` in a temporary copy of the repository."""

from __future__ import annotations

import mlflow
import pytest
import yaml
from tests.e2e.helpers import REPO, STAGES, digest, output_digests, runs, sh

from mmmlab.config import generate_section

pytestmark = pytest.mark.slow


def test_first_repro_runs_every_stage_in_order(reproduced):
    root, out = reproduced.root, reproduced.output
    order = [out.index(f"Running stage '{stage}'") for stage in ("generate", "recover", "fit", "report")]
    assert order == sorted(order) and "Running stage 'check'" in out
    for name in ["data/mmm_data.csv", "data/truth.json", "reports/generate/metrics.json", "reports/data_check/summary.md",
                 "models/recovery.json", "reports/recovery/metrics.json", "models/mmm_fit.nc",
                 "reports/fit/convergence.json", "reports/validation/index.html"]:
        assert (root / name).stat().st_size > 0, name
    assert len(list((root / "reports/data_check/figures").glob("*.png"))) == 8
    report_deps = {d["path"] for d in yaml.safe_load((root / "dvc.lock").read_text())["stages"]["report"]["deps"]}
    assert "models/mmm_fit.nc" in report_deps and "data/mmm_data.csv" not in report_deps  # the trace, not raw data


def _source_file(module: str) -> str:
    """The project's source file of a module: its file, or its package's __init__."""
    path = "src/" + module.replace(".", "/")
    return f"{path}/__init__.py" if (REPO / path).is_dir() else f"{path}.py"


def test_every_stage_imports_only_its_deps(reproduced):
    """Every source file a stage imported in the first `dvc repro` is one of its deps in dvc.yaml (or inside one of
    its folders), so editing it re-runs the stage."""
    stages = yaml.safe_load((reproduced.root / "dvc.yaml").read_text())["stages"]
    assert set(reproduced.imported) == set(STAGES), reproduced.output[-3000:]
    uncovered = {}
    for stage, modules in reproduced.imported.items():
        deps = [d.rstrip("/") for d in stages[stage]["deps"] if d.startswith("src/")]
        # the command line imports the stage's module through importlib, which the profile does not report
        files = {_source_file(module) for module in modules} | {f"src/mmmlab/stages/{stage}.py"}
        assert "src/mmmlab/cli.py" in files, (stage, sorted(files))  # the profile reached the stage's process
        uncovered[stage] = sorted(f for f in files if not any(f == d or f.startswith(d + "/") for d in deps))
    assert not any(uncovered.values()), {stage: files for stage, files in uncovered.items() if files}


def test_report_artifacts_land_in_the_fit_run(reproduced):
    client, fit_runs = runs(reproduced.root, "fit")
    assert len(fit_runs) == 1
    top = {a.path for a in client.list_artifacts(fit_runs[0].info.run_id)}
    assert "validation" in top
    inside = {a.path for a in client.list_artifacts(fit_runs[0].info.run_id, "validation")}
    assert "validation/index.html" in inside


def test_stage_runs_are_logged_with_params_dataset_and_figures(reproduced):
    root = reproduced.root
    data_hash = digest(root / "data/mmm_data.csv")[:16]
    client, generate_runs = runs(root, "generate")
    assert len(generate_runs) == 1
    run = generate_runs[0]
    design = generate_section(yaml.safe_load((root / "params.yaml").read_text()))  # the copy's, whatever its values
    assert run.data.params["data.channels.TV.decay"] == str(design["channels"]["TV"]["decay"])
    assert run.data.params["data.seed"] == str(design["seed"])
    assert run.data.tags["dataset_hash"] == data_hash
    assert run.inputs.dataset_inputs and data_hash in run.inputs.dataset_inputs[0].dataset.name
    _, check_runs = runs(root, "check")
    assert len(check_runs) == 1 and check_runs[0].data.tags["dataset_hash"] == data_hash
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "mmm-lab"  # tracking.experiment in params.yaml
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # the UI opens on the runs table
    artifacts = mlflow.artifacts.list_artifacts(run_id=check_runs[0].info.run_id, tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    names = {a.path for a in artifacts}
    listed = names | {a.path for folder in names for a in client.list_artifacts(check_runs[0].info.run_id, folder)}
    assert sum(p.endswith(".png") for p in listed) == 8


def test_second_repro_does_nothing(project_copy):
    out = sh(project_copy, "dvc", "repro")
    assert "Running stage" not in out


def test_changing_a_check_param_reruns_only_check(project_copy):
    root = project_copy
    before = digest(root / "data/mmm_data.csv")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["check"]["pulse_periods"] = 12
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = sh(root, "dvc", "repro", "check")
    assert "Running stage 'check'" in out and "Running stage 'generate'" not in out
    assert digest(root / "data/mmm_data.csv") == before


def test_exp_run_with_another_seed_changes_the_data(project_copy):
    root = project_copy
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-qm", "pipeline outputs", "--allow-empty")
    before = digest(root / "data/mmm_data.csv")
    out = sh(root, "dvc", "exp", "run", "generate", "-S", "generate.seed=7")
    assert "Running stage 'generate'" in out
    assert digest(root / "data/mmm_data.csv") != before
    shown = sh(root, "dvc", "exp", "show", "--csv")
    assert "generate.seed" in shown and ",7," in shown


def test_mlflow_run_main_nests_every_stage_and_rewrites_dvc_repros_outputs(project_copy):
    """Every stage again, in one process and in another folder: each output but the metrics (timings) has the bytes
    `dvc repro` wrote (a stage's outputs depend only on its inputs)."""
    root = project_copy
    before = output_digests(root)
    sh(root, "mlflow", "run", ".", "-e", "main", "--env-manager", "local", "--experiment-name", "mmm-lab")
    after = output_digests(root)
    assert after == before, sorted(name for name in {*before, *after} if before.get(name) != after.get(name))
    client, parents = runs(root, "main")
    assert len(parents) == 1
    parent = parents[0].info.run_id
    children = client.search_runs([parents[0].info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    assert sorted(r.data.tags["stage"] for r in children) == sorted(STAGES)
