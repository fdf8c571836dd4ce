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

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

import mlflow  # noqa: E402
import mlflow.data  # noqa: E402

from mmmlab.config import experiment_name, project_root  # noqa: E402
from mmmlab.dataset import Dataset  # noqa: E402

BATCH = 100  # MLflow accepts at most 100 params or metrics per request


def tracking_uri() -> str:
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
    """The parent run of the ``main`` entry point; stage runs started inside it are nested."""
    with _run(params, "main") as run_id:
        mlflow.set_tag("stage", "main")
        yield run_id


@contextmanager
def stage_run(stage: str, params: dict, logged_params: dict[str, Any], dataset: Dataset | None = None) -> Iterator[str]:
    """Run one stage inside an MLflow run; yields the run id.

    ``logged_params`` are already namespaced (``data.channels.TV.decay``). The run is tagged
    with the stage and the dataset's content hash, and the dataset is logged as an input.
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
    warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
    source = mlflow.data.from_pandas(
        dataset.frame(),
        source=str(dataset.path),
        name=f"{dataset.path.name}@{dataset.content_hash}",
        targets=dataset.target_column,
    )
    mlflow.log_input(source, context=context)


def log_metrics(metrics: dict[str, float]) -> None:
    """Log finite numeric metrics (NaN and infinities are skipped: MLflow cannot plot them)."""
    clean = [(k, float(v)) for k, v in metrics.items() if v is not None and math.isfinite(float(v))]
    for i in range(0, len(clean), BATCH):
        mlflow.log_metrics(dict(clean[i : i + BATCH]))


def log_artifacts(folder: Path, artifact_path: str | None = None) -> None:
    mlflow.log_artifacts(str(folder), artifact_path=artifact_path)


def log_artifact(path: Path, artifact_path: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=artifact_path)


def set_tags(tags: dict[str, str]) -> None:
    mlflow.set_tags(tags)


def log_artifacts_to_run(run_id: str, folder: Path, artifact_path: str | None = None) -> None:
    """Upload ``folder`` to an existing (possibly finished) run, without making it the active run."""
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.MlflowClient().log_artifacts(run_id, str(folder), artifact_path=artifact_path)
