"""Fan a study's fits out on Dask and collect them as they finish: resumable, fault tolerant, one writer.

Each fit is a task ``work(task)`` on a worker. The driver takes results in the order they finish,
writes each one at once (:class:`~.store.ResultStore`), then hands it to ``on_result`` (MLflow, the
progress bar). A fit that raises is a result too: its record holds the error, and it is counted.
Dask reschedules the task of a worker that died. Ctrl-C stops the driver between two results (one
arriving while a result is written and logged waits until both are done): every finished fit is
already on disk with its MLflow run, and the next run skips them.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mmmlab import interrupts
from mmmlab.calibration.store import ResultStore


@dataclass(frozen=True)
class Task:
    """One fit of a study: its index and what the worker needs (picklable)."""

    study: str
    index: int
    payload: Any


def failure(task: Task, error: BaseException, seconds: float) -> dict:
    """The record of a fit that raised: its index, the error's type and message, and where."""
    return {"index": task.index, "error": f"{type(error).__name__}: {error}",
            "traceback": "".join(traceback.format_exception(error))[-4000:], "seconds": seconds}


def guarded(work: Callable[[Task], dict], task: Task) -> dict:
    """Run ``work(task)`` on a worker; an exception becomes a failure record instead of a lost task.

    Parameters
    ----------
    work : callable
        Task -> the fit's record (a dict of plain values).
    task : Task

    Returns
    -------
    dict
        The record with ``index``, ``seconds`` (the fit's wall time on the worker) and ``cpu_seconds`` (the
        worker process's CPU time meanwhile: below ``seconds`` when the worker waited for a core) added.
    """
    start, cpu = time.perf_counter(), time.process_time()
    try:
        record = work(task)
    except Exception as exc:  # a fit that fails is a result of the study, not a crash of it
        return failure(task, exc, time.perf_counter() - start)
    return {"index": task.index, **record, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu}


def pending(tasks: Iterable[Task], store: ResultStore) -> list[Task]:
    """The tasks without a record in ``store``."""
    done = store.done()
    return [task for task in tasks if task.index not in done]


def run_tasks(client, tasks: list[Task], work: Callable[[Task], dict], store: ResultStore,
              on_result: Callable[[dict], None]) -> int:
    """Submit every task and write each record as it arrives.

    Parameters
    ----------
    client : distributed.Client
    tasks : list of Task
        The fits still to do.
    work : callable
        Runs on a worker: Task -> record. Must be importable (or pickled by value) on the workers.
    store : ResultStore
    on_result : callable
        Called on the driver with each record, after it is written.

    Returns
    -------
    int
        How many records were written.
    """
    from distributed import as_completed

    futures = {client.submit(guarded, work, task, key=f"{task.study}-fit-{task.index:05d}", pure=False): task
               for task in tasks}
    written = 0
    try:
        for future in as_completed(futures):
            task = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # the task itself failed on Dask's side (e.g. its workers kept dying)
                record = failure(task, exc, float("nan"))
            with interrupts.deferred():  # a signal here waits until the record and its MLflow run are complete
                store.write(task.index, record)
                written += 1
                on_result(record)
    finally:
        client.cancel(list(futures))
    return written
