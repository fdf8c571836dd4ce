"""The fan-out on a real Dask LocalCluster (2 single-threaded worker processes): every task ends as one record,
a task that raises is recorded with its error, a worker that dies is replaced and its task rerun, and a second
run resumes where the first stopped."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import cloudpickle
import pytest

from mmmlab import interrupts
from mmmlab.calibration.cluster import dask_client
from mmmlab.calibration.runner import Task, pending, run_tasks
from mmmlab.calibration.store import ResultStore
from mmmlab.config.calibrate import CalibrateSpec
from mmmlab.errors import Interrupted

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import a test module by name


def square(task: Task) -> dict:
    if task.payload.get("spin"):  # CPU work: the worker's CPU time counts it
        end = time.process_time() + task.payload["spin"]
        while time.process_time() < end:
            pass
    if task.payload.get("sleep"):  # waiting: wall time, no CPU
        time.sleep(task.payload["sleep"])
    if task.payload.get("raise"):
        raise ValueError(f"fit {task.index} failed")
    marker = task.payload.get("die_once")
    if marker and not Path(marker).exists():
        Path(marker).write_text("died")
        os._exit(1)  # the worker process dies mid-task, as on a SIGKILL or an out-of-memory kill
    return {"value": task.index**2, "pid": os.getpid()}


@pytest.fixture(scope="module")
def client():
    with dask_client(CalibrateSpec(studies={}, workers=2)) as c:
        yield c


def test_the_workers_run_without_dask_s_profiler_and_with_a_slow_system_monitor(client):
    def settings():
        import dask

        return (dask.config.get("distributed.worker.profile.enabled"),
                dask.config.get("distributed.admin.system-monitor.interval"))

    assert set(client.run(settings).values()) == {(False, "5s")}


def test_a_ctrl_c_reaching_the_workers_leaves_them_running_for_the_driver_to_close(client, tmp_path):
    pids = client.run(os.getpid)  # worker address -> process id
    for pid in pids.values():
        os.kill(pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches every process of the command
    time.sleep(1.0)
    assert client.run(os.getpid) == pids  # the same processes (a worker that died would be replaced)
    store = ResultStore(tmp_path / "study")
    assert run_tasks(client, [Task("i", i, {}) for i in range(2)], square, store, lambda record: None) == 2


def test_every_task_gives_one_record_and_a_failure_is_recorded(client, tmp_path):
    store = ResultStore(tmp_path / "study")
    tasks = [Task("s", i, {"raise": i == 3}) for i in range(6)]
    seen = []
    assert run_tasks(client, tasks, square, store, seen.append) == 6
    records = {r["index"]: r for r in store.records()}
    assert sorted(records) == list(range(6)) and sorted(r["index"] for r in seen) == list(range(6))
    assert records[3]["error"] == "ValueError: fit 3 failed" and "value" not in records[3]
    assert [records[i]["value"] for i in (0, 1, 2, 4, 5)] == [0, 1, 4, 16, 25]
    assert len({records[i]["pid"] for i in records if i != 3}) >= 1 and all(records[i]["seconds"] >= 0 for i in records)


def test_a_record_holds_the_worker_s_cpu_seconds_beside_its_wall_seconds(client, tmp_path):
    store = ResultStore(tmp_path / "study")
    tasks = [Task("c", 0, {"spin": 0.5}), Task("c", 1, {"sleep": 0.5})]
    run_tasks(client, tasks, square, store, lambda record: None)
    spun, slept = store.records()
    assert spun["cpu_seconds"] >= 0.5 and spun["seconds"] >= 0.5
    assert slept["seconds"] >= 0.5 and slept["cpu_seconds"] < 0.25


def test_a_worker_that_dies_is_replaced_and_its_task_rerun(client, tmp_path):
    store = ResultStore(tmp_path / "study")
    marker = tmp_path / "died"
    tasks = [Task("k", i, {"die_once": str(marker) if i == 1 else None}) for i in range(4)]
    run_tasks(client, tasks, square, store, lambda record: None)
    assert marker.exists()  # the worker did die
    records = {r["index"]: r for r in store.records()}
    assert sorted(records) == [0, 1, 2, 3] and records[1]["value"] == 1 and "error" not in records[1]


def test_a_second_run_does_only_the_missing_fits(client, tmp_path):
    store = ResultStore(tmp_path / "study")
    tasks = [Task("r", i, {}) for i in range(5)]
    run_tasks(client, tasks[:2], square, store, lambda record: None)  # a study stopped after two fits
    left = pending(tasks, store)
    assert [t.index for t in left] == [2, 3, 4]
    done = []
    run_tasks(client, left, square, store, done.append)
    assert sorted(r["index"] for r in done) == [2, 3, 4] and sorted(store.done()) == [0, 1, 2, 3, 4]
    store.clear()
    assert store.done() == set()


def test_ctrl_c_while_a_result_is_logged_stops_after_it_is_complete(client, tmp_path):
    store = ResultStore(tmp_path / "study")
    tasks = [Task("c", i, {}) for i in range(6)]
    logged = []

    def on_result(record: dict) -> None:
        if not logged:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of logging the first result
            time.sleep(0.2)  # time for the handler to run, were the signal not held back
        logged.append(record["index"])

    with interrupts.handled(), pytest.raises(Interrupted):
        run_tasks(client, tasks, square, store, on_result)
    assert len(logged) == 1 and store.done() == set(logged)  # the first result whole, nothing after it
