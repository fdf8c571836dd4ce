"""The Dask cluster a study runs on: a scheduler named in params (or the environment), else a LocalCluster.

The LocalCluster has one single-threaded worker process per core, BLAS and OpenMP held to one
thread, no dashboard, and Dask's own monitoring slowed down (:data:`QUIET`). Its workers ignore
Ctrl-C, which a terminal sends to every process of the command: the driver stops the study and
closes the cluster. Only the driver writes files and MLflow; workers compute and return.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import WorkerPlugin

from mmmlab.config.calibrate import CalibrateSpec

ONE_THREAD = {var: "1" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
# Dask's statistical profiler samples each worker's stack every 10 ms and its system monitor reads psutil every
# 0.5 s, in every worker and in the driver: CPU the fits share on a 2-core machine, for a dashboard a study has not.
QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.interval": "5s"}
COMPILE_SLOTS = Path.home() / ".pytensor" / "mmmlab-workers"  # one compile folder per worker, kept warm between runs


class OwnCompileFolder(WorkerPlugin):
    """A Dask worker plugin: the worker compiles into a folder of its own before it imports pytensor.

    PyTensor's compile lock and Numba's cache are not safe with several processes compiling into
    one folder (:func:`mmmlab.calibration.compiled.worker_compiledir`).
    """

    name = "mmmlab-compile-folder"

    def setup(self, worker) -> None:
        from mmmlab.calibration.compiledir import worker_compiledir

        worker_compiledir(COMPILE_SLOTS)


class DriverStops(WorkerPlugin):
    """A Dask worker plugin: the worker ignores SIGINT (Ctrl-C), so only the driver reacts to it.

    Without it a Ctrl-C at the terminal also reaches each local worker process, which dies printing
    Dask's traceback while the driver is still closing the study.
    """

    name = "mmmlab-driver-stops"

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():  # a worker thread cannot set handlers
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def dask_client(spec: CalibrateSpec) -> Iterator:
    """A ``distributed.Client`` for the study; a LocalCluster is started here and closed on the way out.

    Parameters
    ----------
    spec : CalibrateSpec
        ``scheduler`` (an address, or None for a LocalCluster of ``workers`` processes; 0: one per core).

    Yields
    ------
    distributed.Client
    """
    import dask
    from distributed import Client, LocalCluster

    if spec.scheduler:
        with Client(spec.scheduler) as client:
            client.register_plugin(OwnCompileFolder())
            yield client
        return
    workers = spec.workers or os.cpu_count() or 1
    with (dask.config.set(QUIET),
          LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                       silence_logs=logging.ERROR, env=ONE_THREAD) as cluster,
          Client(cluster) as client):
        client.register_plugin(OwnCompileFolder())
        client.register_plugin(DriverStops())
        yield client
