"""What the end-to-end tests share: running commands in a copy of the repository, the copy itself, small settings."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAGES = ["generate", "check", "recover", "fit", "report", "optimize"]
UP_TO_DATE = "Data and pipelines are up to date."

# small enough for a test: a short sampler run and no recovery intervals (the stages are the real ones)
SMALL = {
    ("fit", "sampler", "chains"): 2,
    ("fit", "sampler", "draws"): 60,
    ("fit", "sampler", "tune"): 60,
    ("fit", "sampler", "prior_samples"): 50,
    ("fit", "sampler", "progressbar"): False,
    ("fit", "sampler", "reruns"): 0,  # a short run misses the gates: keep its own trace (draws as asked), sample once
    ("recover", "uncertainty"): "none",
}


def env(root: Path) -> dict:
    """The environment of a command in a copy: this venv's commands first, no MLflow or DVC variables of the caller."""
    result = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    result.update(
        PATH=f"{BIN}{os.pathsep}{result['PATH']}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="e2e",
        GIT_AUTHOR_EMAIL="e2e@example.invalid",
        GIT_COMMITTER_NAME="e2e",
        GIT_COMMITTER_EMAIL="e2e@example.invalid",
    )
    return result


def sh(root: Path, *cmd: str) -> str:
    done = subprocess.run(cmd, cwd=root, env=env(root), capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def copy_repository(dest: Path) -> Path:
    """The repository's files as git sees them (tracked, and untracked but not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    sh(dest, "git", "init", "-q")
    if not (dest / ".dvc").exists():
        sh(dest, "dvc", "init", "-q")
    sh(dest, "git", "add", "-A")
    sh(dest, "git", "commit", "-qm", "copy")
    return dest


def small_params(text: str) -> str:
    params = yaml.safe_load(text)
    for keys, value in SMALL.items():
        node = params
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return yaml.safe_dump(params, sort_keys=False)


def copy_project(source: Path, dest: Path) -> Path:
    """A copy of a project copy that stands alone: its files, git history, DVC cache and MLflow store, whose runs keep
    their artifacts in the new copy (the store records absolute artifact locations). DVC's temporary state stays."""
    shutil.copytree(source, dest, symlinks=True, ignore=lambda folder, _: ["tmp"] if folder == str(source / ".dvc") else [])
    if (dest / "mlflow.db").exists():
        old, new = f"{source.as_uri()}/", f"{dest.as_uri()}/"
        with contextlib.closing(sqlite3.connect(dest / "mlflow.db")) as db, db:
            for table, column in (("experiments", "artifact_location"), ("runs", "artifact_uri")):
                db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (old, new))
    return dest


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage_outputs(root: Path, stage: str, metrics: bool = True) -> list[str]:
    """The stage's outs, and its metrics unless ``metrics`` is False, as dvc.yaml lists them."""
    definition = yaml.safe_load((root / "dvc.yaml").read_text())["stages"][stage]
    items = definition.get("outs", []) + (definition.get("metrics", []) if metrics else [])
    return [item if isinstance(item, str) else next(iter(item)) for item in items]


def output_digests(root: Path) -> dict[str, str]:
    """Every file of every stage's outs except metrics (timings change on every run), by path: its digest."""
    files = {}
    for stage in STAGES:
        for name in stage_outputs(root, stage, metrics=False):
            path = root / name
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file():
                    files[str(file.relative_to(root))] = digest(file)
    return files


def runs(root: Path, stage: str | None = None):
    """The MLflow client of the copy's store and its runs in every experiment (of one stage when named)."""
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(experiments, filter_string=f"tags.stage = '{stage}'" if stage else "")
