"""Where runs go: the store (SQLite beside the project, or the main repository's under DVC), experiments, artifact roots."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import time
from pathlib import Path

import mlflow
import mlflow.data
from mlflow.entities import ExperimentTag
from mlflow.exceptions import MlflowException

from mmmlab.config import project_root
from mmmlab.errors import UserInputError

BATCH = 100  # MLflow accepts at most 100 params or metrics per request


STORE = "mlflow.db"


ARTIFACTS = "mlartifacts"  # beside the SQLite store


DEFAULT_EXPERIMENT = "0"  # MLflow's "Default": where `mlflow run` puts its run without --experiment-name


# empty stores, one per MLflow version, copied into place for a new store
TEMPLATES = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmmlab" / "mlflow-stores"


EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}  # the UI opens on the runs table


# --------------------------------------------------------------------------- the store
def store_root() -> Path:
    """The folder of the default store: ``DVC_ROOT`` when DVC runs the stage, else the project root."""
    return Path(os.environ["DVC_ROOT"]).resolve() if os.environ.get("DVC_ROOT") else project_root()


def tracking_uri() -> str:
    """The MLflow tracking store.

    Returns
    -------
    str
        ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<root>/mlflow.db`` with the root of
        :func:`store_root` (the main repository even when DVC's queue runs the stage in a copy).
    """
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{store_root() / STORE}"


def artifact_root(uri: str) -> str | None:
    """``<store folder>/mlartifacts`` (a ``file://`` URI) for a SQLite file store, else None (the server decides)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").split("?")[0]
    if not path or path == ":memory:":
        return None
    return (Path(path).resolve().parent / ARTIFACTS).as_uri()


def _client() -> mlflow.MlflowClient:
    """A client of :func:`tracking_uri` (also made the fluent API's); a new SQLite store keeps artifacts beside it.

    Opening a SQLite store creates or upgrades its tables; two stages doing it at once (two queued
    experiments starting on a project without a store) would both run the same migration and one
    would fail. So a store is opened under an exclusive lock on ``mlartifacts/.<store>.lock`` (in the
    artifacts folder beside it, which is never committed).
    """
    uri = tracking_uri()
    root = artifact_root(uri)
    if root:
        path = Path(uri.removeprefix("sqlite:///").split("?")[0])
        artifacts = path.resolve().parent / ARTIFACTS
        artifacts.mkdir(parents=True, exist_ok=True)
        with open(artifacts / f".{path.name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not path.exists():
                _new_store(path, root)
            _sqlite_store(uri, root)  # creates or upgrades the tables; a new store keeps artifacts beside it
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(uri)


def _new_store(path: Path, root: str) -> None:
    """A new SQLite store at ``path``: a copy of an empty store made once per MLflow version (making one runs
    every MLflow migration, seconds), its Default experiment's artifacts at ``<root>/0`` and created now, as
    MLflow would make it. Where no template can be kept, nothing is copied and MLflow makes the store."""
    try:
        template = _template()
    except OSError:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(template, partial)
        now = int(time.time() * 1000)
        with contextlib.closing(sqlite3.connect(partial)) as db, db:
            db.execute("UPDATE experiments SET artifact_location = ?, creation_time = ?, last_update_time = ? "
                       "WHERE experiment_id = ?", (f"{root}/{DEFAULT_EXPERIMENT}", now, now, int(DEFAULT_EXPERIMENT)))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _template() -> Path:
    """The empty store of this MLflow version in :data:`TEMPLATES`, made by MLflow when missing."""
    template = TEMPLATES / f"empty-mlflow-{mlflow.__version__}.db"
    if not template.exists():
        TEMPLATES.mkdir(parents=True, exist_ok=True)
        partial = TEMPLATES / f".{template.name}.{os.getpid()}.partial"
        try:
            _sqlite_store(f"sqlite:///{partial}", (TEMPLATES / "unused").as_uri()).engine.dispose()
            os.replace(partial, template)  # whole or not at all, whichever process gets there first
        finally:
            partial.unlink(missing_ok=True)
    return template


def _sqlite_store(uri: str, root: str):
    """MLflow's SQLite store with its default artifact root beside the file (experiments get ``<root>/<id>``)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(uri, root)


def experiment_id(client: mlflow.MlflowClient, name: str) -> str:
    """The id of experiment ``name``, created (artifacts beside a SQLite store) when missing.

    Raises
    ------
    UserInputError
        The experiment exists but is deleted.
    """
    uri = tracking_uri()
    root = artifact_root(uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            if root:
                _sqlite_store(uri, root).create_experiment(
                    name, tags=[ExperimentTag(k, v) for k, v in EXPERIMENT_KIND.items()])
            else:
                client.create_experiment(name, tags=EXPERIMENT_KIND)
        except MlflowException:  # another stage (a parallel queued experiment) created it meanwhile
            pass
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise UserInputError(f"tracking.experiment: could not create MLflow experiment {name!r} in {uri}")
    if experiment.lifecycle_stage != "active":
        raise UserInputError(f"tracking.experiment: MLflow experiment {name!r} is deleted; restore it (mlflow "
                             f"experiments restore --experiment-id {experiment.experiment_id}) or choose another name")
    if experiment.tags.get("mlflow.experimentKind") is None:
        for key, value in EXPERIMENT_KIND.items():
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id
