"""MLflow tracking: the only module that imports mlflow.

The store is ``sqlite:///<project root>/mlflow.db`` unless ``MLFLOW_TRACKING_URI`` says
otherwise; under ``mlflow run`` the run it created (``MLFLOW_RUN_ID``) is resumed; inside an
active run (the ``main`` entry point) each stage is a nested run.
"""

from __future__ import annotations

import math
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import mlflow
import mlflow.data

from mmmlab.config import experiment_name, project_root
from mmmlab.dataset import Dataset

BATCH = 100  # MLflow accepts at most 100 params or metrics per request


def tracking_uri() -> str:
    """The MLflow tracking store.

    Returns
    -------
    str
        ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<project root>/mlflow.db``.
    """
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{project_root() / 'mlflow.db'}"


@contextmanager
def _run(params: dict, name: str) -> Iterator[str]:
    """Start a run: resume the one ``mlflow run`` created, nest inside an active run, or start anew."""
    mlflow.set_tracking_uri(tracking_uri())
    # consumed once: mlflow.start_run would otherwise resume it again for the first nested run
    resume = os.environ.pop("MLFLOW_RUN_ID", None) if mlflow.active_run() is None else None
    if resume is None and mlflow.active_run() is None:
        mlflow.set_experiment(experiment_name(params))
    with mlflow.start_run(run_id=resume, run_name=None if resume else name, nested=mlflow.active_run() is not None) as run:
        # the MLflow UI then opens the experiment on its runs table (model training), not the GenAI views
        mlflow.MlflowClient().set_experiment_tag(run.info.experiment_id, "mlflow.experimentKind", "custom_model_development")
        yield run.info.run_id


@contextmanager
def pipeline_run(params: dict) -> Iterator[str]:
    """The parent run of the ``main`` entry point; stage runs started inside it are nested.

    Parameters
    ----------
    params : dict
        The raw params; they name the MLflow experiment when a new run is started.

    Yields
    ------
    str
        The run id (the one ``mlflow run`` created when ``MLFLOW_RUN_ID`` is set).
    """
    with _run(params, "main") as run_id:
        mlflow.set_tag("stage", "main")
        yield run_id


@contextmanager
def stage_run(stage: str, params: dict, logged_params: dict[str, Any], dataset: Dataset | None = None) -> Iterator[str]:
    """Run one stage inside an MLflow run; yields the run id.

    The run is tagged with the stage and the dataset's content hash, and the dataset is logged
    as an input. Inside :func:`pipeline_run` the run is nested under it.

    Parameters
    ----------
    stage : str
        The stage's name (``"check"``, ``"fit"`` ...): the run's name and its ``stage`` tag.
    params : dict
        The raw params; they name the MLflow experiment when a new top-level run is started.
    logged_params : dict
        Already namespaced (``data.channels.TV.decay``) values to log as run params; None is
        logged as ``"null"`` and values longer than MLflow's limit are cut.
    dataset : Dataset, optional
        The dataset the stage read, logged as the run's input.

    Yields
    ------
    str
        The run id.
    """
    with _run(params, stage) as run_id:
        mlflow.set_tags({"stage": stage, **({"dataset_hash": dataset.content_hash} if dataset else {})})
        items = [(k, _param_value(v)) for k, v in logged_params.items()]
        for i in range(0, len(items), BATCH):
            mlflow.log_params(dict(items[i : i + BATCH]))
        if dataset is not None:
            log_dataset(dataset, context=stage)
        yield run_id


def _param_value(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


def log_dataset(dataset: Dataset, context: str) -> None:
    """Log the dataset's columns in use as an input of the active run.

    Parameters
    ----------
    dataset : Dataset
        Named ``<file name>@<content hash>`` in MLflow, so runs on the same bytes share it.
    context : str
        The input's context tag (the stage's name).
    """
    with warnings.catch_warnings():  # MLflow guesses the source's kind and warns that a path is ambiguous
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        source = mlflow.data.from_pandas(
            dataset.frame(),
            source=str(dataset.path),
            name=f"{dataset.path.name}@{dataset.content_hash}",
            targets=dataset.target_column,
        )
    mlflow.log_input(source, context=context)


def log_metrics(metrics: dict[str, float]) -> None:
    """Log finite numeric metrics (NaN and infinities are skipped: MLflow cannot plot them).

    Parameters
    ----------
    metrics : dict of str to float
        Metric name to value, logged to the active run; None values are skipped too.
    """
    clean = [(k, float(v)) for k, v in metrics.items() if v is not None and math.isfinite(float(v))]
    for i in range(0, len(clean), BATCH):
        mlflow.log_metrics(dict(clean[i : i + BATCH]))


def log_artifacts(folder: Path, artifact_path: str | None = None) -> None:
    """Upload every file under ``folder`` to the active run.

    Parameters
    ----------
    folder : pathlib.Path
        The local folder.
    artifact_path : str, optional
        The folder inside the run's artifacts (None: the artifacts' root).
    """
    mlflow.log_artifacts(str(folder), artifact_path=artifact_path)


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    """Upload the local file ``path`` to the active run; ``artifact_path`` as in :func:`log_artifacts`."""
    mlflow.log_artifact(str(path), artifact_path=artifact_path)


def set_tags(tags: dict[str, str]) -> None:
    """Tag the active run.

    Parameters
    ----------
    tags : dict of str to str
        Tag name to value.
    """
    mlflow.set_tags(tags)


def log_artifacts_to_run(run_id: str, folder: Path, artifact_path: str | None = None) -> None:
    """Upload ``folder`` to an existing (possibly finished) run, without making it the active run.

    The report stage uses it to attach the report to the fit's run as well as its own.

    Parameters
    ----------
    run_id : str
        The run to upload to.
    folder : pathlib.Path
        The local folder.
    artifact_path : str, optional
        The folder inside the run's artifacts (None: the artifacts' root).
    """
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.MlflowClient().log_artifacts(run_id, str(folder), artifact_path=artifact_path)
