"""What names a run: its readable name, the git commit and dirty flag, paths relative to the project."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from mmmlab.config import GENERATED_CSV, project_root, resolve, simulation_spec
from mmmlab.config.loading import relative as project_relative
from mmmlab.errors import UserInputError

SEP = " · "


# tags of this project (MLflow's own start with "mlflow.")
GIT_COMMIT = "mmmlab.git_commit"


GIT_DIRTY = "mmmlab.git_dirty"


DVC_EXP = "mmmlab.dvc_exp"


PID = "mmmlab.pid"


HOST = "mmmlab.host"


PROCESS_START = "mmmlab.process_start"  # epoch ms: with the pid, tells a live process from a reused pid


# <boot id>:<start in clock ticks since boot> (Linux): the same, and no step of the wall clock moves it
PROCESS_SINCE_BOOT = "mmmlab.process_since_boot"


MARKED_KILLED = "mmmlab.marked_killed"


RUN_POINTER = "mmmlab.run_id"  # on an `mlflow run` run in Default: the stage's run


WRAPPER_POINTER = "mmmlab.mlflow_run_id"  # on the stage's run: the `mlflow run` run in Default


# --------------------------------------------------------------------------- names and tags
def data_label(params: dict, stage: str) -> str:
    """What a run was about, for its name: ``seed 369`` (``· identifiable``) or the data file's name.

    ``generate`` names the seed and preset it simulates, and so does the whole pipeline (``main``)
    when it analyses the data it generates; the other stages name the seed and preset of the
    generated data they read (from its truth file), or the file name of the user's data.
    """
    data = params.get("data") or {}
    path = str(data.get("path") or GENERATED_CSV)
    generated = Path(path).as_posix() == GENERATED_CSV
    if stage == "generate" or (stage == "main" and generated):
        spec = simulation_spec(params)
        return _seed_label(spec.seed, spec.preset)
    truth = data.get("truth")
    if generated and truth:
        label = _truth_label(resolve(truth))
        if label:
            return label
    return Path(path).name


def _seed_label(seed: Any, preset: Any) -> str:
    return f"seed {seed}" + (f"{SEP}{preset}" if preset else "")


def _truth_label(path: Path) -> str | None:
    """``seed N`` (``· preset``) from the head of a generated truth file (None when unreadable)."""
    import json

    try:
        with path.open() as handle:
            truth = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    return _seed_label(truth["seed"], truth.get("preset")) if isinstance(truth, dict) and "seed" in truth else None


def run_name(stage: str, params: dict) -> str:
    """A run name a person can read in the list: ``fit · seed 369``, ``check · mine.csv``.

    Parameters
    ----------
    stage : str
        The stage (``main`` for the whole pipeline is shown as ``pipeline``).
    params : dict
        The raw params (with overrides).

    Returns
    -------
    str
    """
    try:
        label = data_label(params, stage)
    except (UserInputError, KeyError, TypeError):
        label = ""
    head = "pipeline" if stage == "main" else stage
    return f"{head}{SEP}{label}" if label else head


def relative(path: str | Path) -> str:
    """``path`` as a tag shows it: relative to the project root (:func:`mmmlab.config.loading.relative`), and
    only its name when it lies outside the project (never a local absolute path in a tag)."""
    shown = project_relative(path)
    return Path(shown).name if Path(shown).is_absolute() else shown


def git_state(root: Path | None = None) -> dict[str, str]:
    """``mmmlab.git_commit`` and ``mmmlab.git_dirty`` of the project (empty outside a git repository).

    Dirty means a tracked file differs from the commit or an untracked file is not ignored. DVC's
    own records do not count: ``dvc.lock`` and the outputs ``dvc.yaml`` declares (metrics files
    that git tracks among them), which the stages of a run rewrite one after the other.
    """
    root = root or project_root()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], check=False, cwd=root, capture_output=True, text=True,
                                timeout=20)
        if commit.returncode != 0:
            return {}
        excluded = [f":(exclude){path}" for path in ("dvc.lock", *dvc_outputs(root))]
        status = subprocess.run(["git", "status", "--porcelain", "--", ".", *excluded],
                                check=False, cwd=root, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return {}
    tags = {GIT_COMMIT: commit.stdout.strip(), "mlflow.source.git.commit": commit.stdout.strip()}
    if status.returncode == 0:
        tags[GIT_DIRTY] = "true" if status.stdout.strip() else "false"
    return tags


def dvc_outputs(root: Path) -> list[str]:
    """The outs, metrics and plots files that ``dvc.yaml`` at ``root`` declares (templated paths skipped)."""
    import yaml

    try:
        stages = (yaml.safe_load((root / "dvc.yaml").read_text()) or {}).get("stages") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    paths = []
    for stage in stages.values() if isinstance(stages, dict) else []:
        for kind in ("outs", "metrics", "plots"):
            for item in (stage.get(kind) or []) if isinstance(stage, dict) else []:
                for path in item if isinstance(item, dict) else [item]:
                    if isinstance(path, str) and "${" not in path:
                        paths.append(path)
    return paths
