"""What a run records: parameters, the dataset, metrics, artifacts, the fit's trace; and reading a fit run back."""

from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import mlflow.data
from mlflow.exceptions import MlflowException

from mmmlab.dataset import Dataset
from mmmlab.errors import UserInputError
from mmmlab.tracking.identity import SEP, relative
from mmmlab.tracking.store import BATCH, _client, tracking_uri

TRACE_FOLDER = "model"  # the fit run's trace: model/mmm_fit.nc


def metric_key(name: str) -> str:
    """``name`` as MLflow accepts it: ``"ranks.decay (TV)"`` -> ``"ranks.decay.TV"``, brackets to dots, other
    characters MLflow refuses dropped."""
    text = name.replace(" (", ".").replace("[", ".").replace(")", "").replace("]", "")
    return re.sub(r"[^0-9A-Za-z_\-. :/]", "", text)


def _param_value(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


def log_dataset(dataset: Dataset, context: str) -> None:
    """Log the dataset's columns in use as an input of the active run.

    Parameters
    ----------
    dataset : Dataset
        Named ``<file name>@<content hash>`` in MLflow, so runs on the same bytes share it; its
        source is the path relative to the project root.
    context : str
        The input's context tag (the stage's name).
    """
    with warnings.catch_warnings():  # MLflow guesses the source's kind and warns that a path is ambiguous
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        source = mlflow.data.from_pandas(
            dataset.frame(),
            source=relative(dataset.path),
            name=f"{dataset.path.name}@{dataset.content_hash}",
            targets=dataset.target_column,
        )
    mlflow.log_input(source, context=context)


def log_step(name: str, value: float, step: int) -> None:
    """Log one value of a metric that grows during the run (``calibrate.fits_done``), at ``step``."""
    mlflow.log_metric(name, float(value), step=step)


def log_child_run(name: str, params: dict[str, Any], metrics: dict[str, float], *, failed: bool = False) -> str:
    """A finished run nested under the active run: one fit of a study, logged by the driver.

    Parameters
    ----------
    name : str
        The run's name.
    params : dict
        Logged as strings (None as ``"null"``).
    metrics : dict
        Finite values only (the others are skipped, as in :func:`log_metrics`).
    failed : bool
        The run ends FAILED instead of FINISHED.

    Returns
    -------
    str
        The child run's id.
    """
    from mlflow.entities import Metric, Param

    parent = mlflow.active_run()
    client = _client()
    child = client.create_run(parent.info.experiment_id, run_name=name,
                              tags={"mlflow.parentRunId": parent.info.run_id})
    at = int(time.time() * 1000)
    values = [Metric(metric_key(k), float(v), at, 0) for k, v in metrics.items()
              if v is not None and math.isfinite(float(v))]
    texts = [Param(k, _param_value(v)) for k, v in params.items()]
    for i in range(0, max(len(values), len(texts)), BATCH):
        client.log_batch(child.info.run_id, metrics=values[i : i + BATCH], params=texts[i : i + BATCH])
    client.set_terminated(child.info.run_id, "FAILED" if failed else "FINISHED")
    return child.info.run_id


def log_metrics(metrics: dict[str, float]) -> None:
    """Log finite numeric metrics (NaN and infinities are skipped: MLflow cannot plot them).

    Parameters
    ----------
    metrics : dict of str to float
        Metric name to value, logged to the active run; None values are skipped too.
    """
    clean = [(metric_key(k), float(v)) for k, v in metrics.items() if v is not None and math.isfinite(float(v))]
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


def log_trace(path: Path) -> str:
    """Upload the fit's trace to the active run as ``model/<file name>``; returns that artifact path.

    The run then holds its own copy: the next fit may overwrite the file, and ``mmmlab report
    --run-id`` or :func:`mmmlab.load_fit` on the download reload it.
    """
    mlflow.log_artifact(str(path), artifact_path=TRACE_FOLDER)
    return f"{TRACE_FOLDER}/{Path(path).name}"


def log_posterior_summary(idata, var_names: list[str]) -> None:
    """pymc-marketing's ArviZ summary of ``var_names`` as ``summary.html`` of the active run."""
    import pymc_marketing.mlflow as pmm_mlflow

    pmm_mlflow.log_arviz_summary(idata, "summary.html", var_names=var_names)


def set_tags(tags: dict[str, str]) -> None:
    """Tag the active run.

    Parameters
    ----------
    tags : dict of str to str
        Tag name to value.
    """
    mlflow.set_tags(tags)


def run_exists(run_id: str) -> bool:
    """Whether ``run_id`` is a run of the store (and not deleted)."""
    try:
        return _client().get_run(run_id).info.lifecycle_stage == "active"
    except MlflowException:
        return False


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
    _client().log_artifacts(run_id, str(folder), artifact_path=artifact_path)


# --------------------------------------------------------------------------- a fit run's trace
@dataclass(frozen=True)
class FitRun:
    """A run that holds a fitted trace (``model/*.nc``)."""

    run_id: str
    name: str
    trace: str  # the artifact path, e.g. model/mmm_fit.nc

    @property
    def label(self) -> str:
        """The data part of the fit run's name (``seed 369``), else ``run <id prefix>``."""
        head, sep, rest = self.name.partition(SEP)
        return rest if sep and head == "fit" else f"run {self.run_id[:8]}"


def fit_run(run_id: str) -> FitRun:
    """The run ``run_id`` and its logged trace.

    Raises
    ------
    UserInputError
        No such run in the store, or the run holds no trace (one line each).
    """
    client = _client()
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise UserInputError(f"--run-id {run_id}: no such MLflow run in {tracking_uri()}") from None
    try:
        traces = [a.path for a in client.list_artifacts(run_id, TRACE_FOLDER) if a.path.endswith(".nc")]
    except (MlflowException, OSError):
        traces = []
    if not traces:
        raise UserInputError(f"--run-id {run_id}: run {run.info.run_name!r} holds no fitted trace "
                             f"({TRACE_FOLDER}/*.nc); pass the id of a fit run")
    return FitRun(run_id, run.info.run_name or "", min(traces))


def download(run_id: str, artifact_path: str, dest: Path) -> Path | None:
    """Download an artifact (file or folder) of ``run_id`` into ``dest``; None when it does not exist."""
    client = _client()
    parent = artifact_path.rpartition("/")[0] or None
    if artifact_path not in {a.path for a in client.list_artifacts(run_id, parent)}:
        return None
    return Path(client.download_artifacts(run_id, artifact_path, str(dest)))
