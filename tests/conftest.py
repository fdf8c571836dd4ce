"""Shared fixtures: an isolated project folder (params.yaml copy, own MLflow store)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
# PyTensor writes the source of every function it compiles with Numba to a new file in the system temp folder, never
# removed, unless generated_src_dir names a folder: there one content-addressed file per source, reused by later runs
# and pruned by PyTensor (the stages set it themselves; tests that compile outside a stage need it here, before any
# import of pytensor, and Dask workers inherit it)
if "generated_src_dir" not in os.environ.get("PYTENSOR_FLAGS", ""):
    _GENERATED_SOURCE = Path.home() / ".pytensor" / "mmmlab-tests-generated-src"
    os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"),
                                                          f"generated_src_dir={_GENERATED_SOURCE}"]))


@pytest.fixture(autouse=True)
def rewrites_kept_in_tests(request):
    """Every test's compiles take and keep rewritten graphs where a stage's do (mmmlab.rewrite_cache: a stage run
    in a test keeps its folder, nested blocks keep the outer one); the cache's own tests choose their folders."""
    if request.path.name == "test_rewrite_cache.py":
        yield
        return
    from mmmlab.rewrite_cache import rewrites_kept

    with rewrites_kept():
        yield


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A temporary project root holding a copy of params.yaml; the working directory moves there.

    Stages write data/, models/, reports/ and mlflow.db inside it, never in the repository.
    """
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "DVC_ROOT",
                "MMMLAB_OUT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def short_params(project):
    """Params of the project copy with two years of generated monthly data on disk."""
    from mmmlab.config import load_params
    from mmmlab.stages import generate

    params = load_params(project / "params.yaml", ("generate.end=2018-12-31",))
    generate.run(params)
    return params


@pytest.fixture(autouse=True)
def no_mlflow_run_left_active():
    """MLflow's fluent API keeps the active run in process-wide state: end any run a test leaves open, so the
    next test starts from a clean slate (a stage's own run is ended by tracking.stage_run)."""
    yield
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`make test`), every end-to-end test runs on one worker: they share one reproduced pipeline.

    First among the hooks: xdist's own (--dist loadgroup) reads the group marker into each test's id. pytest 9.2 stopped
    that from working (pytest-xdist#1386), so both workers reproduced the pipeline: pyproject.toml keeps pytest below it."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("e2e"))

