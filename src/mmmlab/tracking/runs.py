"""Opening and closing runs: a stage's run, its parent (``mmmlab pipeline`` or one DVC invocation), its status."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mlflow
import mlflow.data
import psutil
from mlflow.entities import RunStatus

from mmmlab import interrupts
from mmmlab.config import experiment_name
from mmmlab.dataset import Dataset
from mmmlab.tracking.identity import (DVC_EXP, HOST, PID, RUN_POINTER, SEP, WRAPPER_POINTER,
                                      git_state, run_name)
from mmmlab.tracking.log import _param_value, log_dataset
from mmmlab.tracking.processes import DvcInvocation, ProcessId, _quote, _start_ms, dvc_invocation, mark_stale_runs
from mmmlab.tracking.store import BATCH, DEFAULT_EXPERIMENT, _client, experiment_id















































# --------------------------------------------------------------------------- runs
def _status(exc: BaseException | None, bookmark: int = 0) -> str:
    """FINISHED; KILLED for Ctrl-C, SIGTERM, or an error after a signal arrived; else FAILED."""
    if exc is None:
        return RunStatus.to_string(RunStatus.FINISHED)
    # mmmlab.errors.Interrupted is a KeyboardInterrupt; a library may swallow it and fail on what it was left with
    if isinstance(exc, KeyboardInterrupt) or interrupts.since(bookmark) is not None:
        return RunStatus.to_string(RunStatus.KILLED)
    return RunStatus.to_string(RunStatus.FAILED)


BAD = {"FAILED", "KILLED"}


@contextmanager
def _run(stage: str, params: dict, name: str | None = None) -> Iterator[str]:
    """Open the stage's run (see the module docstring for where), yield its id, end it with the outcome."""
    bookmark = interrupts.mark()
    start = _start_ms()  # before anything else: nothing here delays the run's recorded start
    client = _client()
    mark_stale_runs(client)
    run_id, parent = _open(client, stage, params, name or run_name(stage, params), start)
    outcome: BaseException | None = None
    try:
        mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None)
        yield run_id
    except BaseException as exc:
        outcome = exc
        raise
    finally:
        status = _status(outcome, bookmark)
        try:
            active = mlflow.active_run()
            if active is not None and active.info.run_id == run_id:
                mlflow.end_run(status)
            else:
                client.set_terminated(run_id, status)
            if parent is not None:  # the parent ends with this stage; a failed stage's status stays
                client.set_terminated(parent[0], parent[1] if parent[1] in BAD else status)
        except Exception:  # ending the run must not hide the stage's own exception
            if outcome is None:
                raise


def _open(client, stage: str, params: dict, name: str, start: int) -> tuple[str, tuple[str, str] | None]:
    """Create (or resume) the stage's run; returns its id and the DVC parent's (id, prior status) if any."""
    active = mlflow.active_run()
    # consumed once: a later nested start_run would otherwise resume it again
    wrapper = os.environ.pop("MLFLOW_RUN_ID", None) if active is None else None
    tags = {"stage": stage, **git_state(), **ProcessId.of(psutil.Process()).tags(),
            "mlflow.source.name": f"mmmlab {stage}", "mlflow.source.type": "LOCAL"}
    if os.environ.get("DVC_EXP_NAME"):
        tags[DVC_EXP] = os.environ["DVC_EXP_NAME"]
    if active is not None:  # nested in `mmmlab pipeline`'s run
        tags["mlflow.parentRunId"] = active.info.run_id
        run = client.create_run(active.info.experiment_id, start_time=start, run_name=name, tags=tags)
        return run.info.run_id, None

    experiment = experiment_name(params)
    exp_id = experiment_id(client, experiment)
    resumed = client.get_run(wrapper) if wrapper else None
    in_default = resumed is not None and resumed.info.experiment_id == DEFAULT_EXPERIMENT != exp_id
    if resumed is not None and not in_default:
        # `mlflow run` in this experiment (or in one the user chose): its run is the stage's run;
        # it keeps MLflow's own source tags (the project and entry point)
        for key in ("mlflow.source.name", "mlflow.source.type"):
            tags.pop(key)
        client.update_run(wrapper, name=name)
        for key, value in tags.items():
            client.set_tag(wrapper, key, value)
        return wrapper, None
    parent = None
    if in_default:  # `mlflow run` without --experiment-name
        tags |= {k: v for k, v in resumed.data.tags.items() if k.startswith("mlflow.project.")}
        tags[WRAPPER_POINTER] = wrapper
    elif (invocation := dvc_invocation()) is not None:
        parent = _dvc_parent(client, exp_id, invocation, start)
        tags["mlflow.parentRunId"] = parent[0]
    run_id = client.create_run(exp_id, start_time=start, run_name=name, tags=tags).info.run_id
    if in_default:
        _point_wrapper(client, wrapper, run_id, experiment, name)
    return run_id, parent


def _dvc_parent(client, exp_id: str, invocation: DvcInvocation, start: int) -> tuple[str, str]:
    """The parent run of this DVC invocation (found by its process, else created), RUNNING again; with its prior status.

    A run is this invocation's when host and pid match and it records the same process start
    (:meth:`~mmmlab.tracking.processes.ProcessId.recorded_in`: two stages can read the start time
    apart by any step of the clock between them, the start since boot never).
    """
    process = invocation.process
    candidates = client.search_runs(
        [exp_id], filter_string=f"tags.stage = 'dvc' and tags.`{HOST}` = '{_quote(process.host)}' "
                                f"and tags.`{PID}` = '{process.pid}'", max_results=1000)
    found = [r for r in candidates if process.recorded_in(r.data.tags)]
    if found:
        run = found[0]
        if run.info.status not in BAD:
            client.update_run(run.info.run_id, status="RUNNING")
        return run.info.run_id, run.info.status
    tags = {"stage": "dvc", **git_state(), **process.tags(),
            "mlflow.source.name": f"dvc {invocation.command}".strip(), "mlflow.source.type": "LOCAL"}
    if invocation.experiment:
        tags[DVC_EXP] = invocation.experiment
    run = client.create_run(exp_id, start_time=start, run_name=invocation.name, tags=tags)
    return run.info.run_id, "RUNNING"


def _point_wrapper(client, wrapper: str, run_id: str, experiment: str, name: str) -> None:
    """Tag the `mlflow run` run left in Default with where the stage's run is."""
    client.set_tag(wrapper, RUN_POINTER, run_id)
    client.set_tag(wrapper, "mmmlab.experiment", experiment)
    client.set_tag(wrapper, "mlflow.note.content",
                   f"`mlflow run` created this run in the Default experiment; the stage logged to run "
                   f"`{run_id}` ({name}) in experiment `{experiment}` (tracking.experiment in params.yaml).")
    client.update_run(wrapper, name=f"→ {experiment}{SEP}{name}")


@contextmanager
def pipeline_run(params: dict) -> Iterator[str]:
    """The parent run of the ``main`` entry point; stage runs started inside it are nested.

    Parameters
    ----------
    params : dict
        The raw params; they name the MLflow experiment and the run.

    Yields
    ------
    str
        The run id (the one ``mlflow run`` created when it is resumed, see :func:`stage_run`).
    """
    with _run("main", params) as run_id:
        yield run_id


@contextmanager
def stage_run(stage: str, params: dict, logged_params: dict[str, Any], dataset: Dataset | None = None,
              *, name: str | None = None) -> Iterator[str]:
    """Run one stage inside an MLflow run; yields the run id.

    The run is created first (its start is the stage's start), then tagged with the stage, the git
    commit, the DVC experiment and the dataset's content hash, and given its params and the dataset
    as an input. It ends FINISHED, FAILED when the stage raises, KILLED on Ctrl-C or SIGTERM
    (``KeyboardInterrupt`` and :class:`mmmlab.errors.Interrupted`). Where the run goes (nested,
    under the DVC invocation's parent, `mlflow run`'s run) is in the module docstring.

    Parameters
    ----------
    stage : str
        The stage's name (``"check"``, ``"fit"`` ...): the ``stage`` tag and the head of the run's name.
    params : dict
        The raw params; they name the MLflow experiment and the run.
    logged_params : dict
        Already namespaced (``data.channels.TV.decay``) values to log as run params; None is
        logged as ``"null"`` and values longer than MLflow's limit are cut.
    dataset : Dataset, optional
        The dataset the stage read, logged as the run's input.
    name : str, optional
        The run's name (default: :func:`run_name`).

    Yields
    ------
    str
        The run id.
    """
    with _run(stage, params, name) as run_id:
        if dataset is not None:
            mlflow.set_tag("dataset_hash", dataset.content_hash)
        items = [(k, _param_value(v)) for k, v in logged_params.items()]
        for i in range(0, len(items), BATCH):
            mlflow.log_params(dict(items[i : i + BATCH]))
        if dataset is not None:
            log_dataset(dataset, context=stage)
        yield run_id



























