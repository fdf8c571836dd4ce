"""Which process a run belongs to: the DVC invocation above a stage, and runs whose process died (marked KILLED)."""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import mlflow
import mlflow.data
import psutil
from mlflow.entities import RunStatus

from mmmlab.tracking.identity import HOST, MARKED_KILLED, PID, PROCESS_SINCE_BOOT, PROCESS_START, SEP
from mmmlab.tracking.store import _client


# --------------------------------------------------------------------------- processes
_opened_in_process = False  # the first run of the `mmmlab` command starts when the process started


@dataclass(frozen=True)
class ProcessId:
    """A process as the store records it: host, pid, start time (epoch ms; a reused pid differs) and, where the
    system tells it, its start since boot (:func:`since_boot`)."""

    host: str
    pid: int
    started_ms: int
    since_boot: str | None = None

    @classmethod
    def of(cls, process: psutil.Process) -> ProcessId:
        return cls(socket.gethostname(), process.pid, round(process.create_time() * 1000), since_boot(process.pid))

    def tags(self) -> dict[str, str]:
        tags = {HOST: self.host, PID: str(self.pid), PROCESS_START: str(self.started_ms)}
        return tags | ({PROCESS_SINCE_BOOT: self.since_boot} if self.since_boot else {})

    def recorded_in(self, tags: dict[str, str]) -> bool:
        """Whether a run's tags record this process (host and pid already matched): by the start since boot where
        both have one, else by the start time (:func:`same_start`)."""
        recorded = tags.get(PROCESS_SINCE_BOOT)
        if recorded and self.since_boot:
            return recorded == self.since_boot
        return same_start(float(tags.get(PROCESS_START, "nan")), self.started_ms)


def since_boot(pid: int) -> str | None:
    """The start of process ``pid`` as ``<boot id>:<clock ticks since boot>``, read from Linux's /proc; None elsewhere.

    psutil's start time adds those ticks to a boot time the kernel derives from the wall clock, so a
    step of the clock (a virtual machine or laptop resumed from a pause, a time sync) moves it by the
    step: two readings of one process then differ by seconds or hours. This reading does not move.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces: field 3 onwards
    return f"{boot}:{fields[19]}" if boot and len(fields) > 19 else None  # field 22: starttime


def same_start(recorded_ms: float, started_ms: float) -> bool:
    """Whether two readings of a process's start time (epoch ms) are of one process, where no start since boot was
    recorded (another system, or runs recorded before it was).

    psutil's start time is the boot time plus the ticks since boot, and the boot time the kernel
    reports moves when the clock is stepped: two readings of one process can differ by a second
    (or by a whole pause, which only :func:`since_boot` survives). A pid is not reused within two.
    """
    return abs(recorded_ms - started_ms) < 2000


def process_alive(tags: dict[str, str]) -> bool:
    """Whether the process a run's tags record (pid and start on this host) still runs."""
    try:
        return ProcessId.of(psutil.Process(int(tags[PID]))).recorded_in(tags)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # it exists but we may not look at it
        return True


def _is_dvc(cmdline: list[str]) -> bool:
    names = [Path(arg).name for arg in cmdline[:2]]
    return "dvc" in names or cmdline[1:3] == ["-m", "dvc"]


@dataclass(frozen=True)
class DvcInvocation:
    """One ``dvc repro`` / ``dvc exp run`` (or one queued experiment's ``dvc exp exec-run``)."""

    process: ProcessId
    command: str  # e.g. "repro", "exp"
    experiment: str | None  # DVC_EXP_NAME

    @property
    def name(self) -> str:
        if self.experiment:
            return f"dvc exp{SEP}{self.experiment}"
        started = datetime.fromtimestamp(self.process.started_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
        return f"dvc {self.command}{SEP}{started}"


def dvc_invocation() -> DvcInvocation | None:
    """The DVC invocation running this stage: the nearest ancestor process that is ``dvc``.

    Returns
    -------
    DvcInvocation or None
        None unless DVC runs the stage (``DVC_STAGE`` or ``DVC_ROOT`` set) and a ``dvc`` process
        is found among the ancestors. Every stage of one invocation finds the same process; two queued
        experiments running at once each have their own ``dvc exp exec-run`` process.
    """
    if not (os.environ.get("DVC_STAGE") or os.environ.get("DVC_ROOT")):
        return None
    try:
        parents = psutil.Process().parents()
    except psutil.Error:
        return None
    for process in parents:
        try:
            cmdline = process.cmdline()
            if _is_dvc(cmdline):
                start = 2 if cmdline[1:3] == ["-m", "dvc"] else [Path(a).name for a in cmdline[:2]].index("dvc")
                words = [a for a in cmdline[start + 1:] if not a.startswith("-")]
                return DvcInvocation(ProcessId.of(process), words[0] if words else "",
                                     os.environ.get("DVC_EXP_NAME") or None)
        except (psutil.Error, IndexError):
            continue
    return None


def mark_stale_runs(client: mlflow.MlflowClient | None = None) -> list[str]:
    """Mark RUNNING runs of this store whose process is gone from this host as KILLED.

    A process killed without a chance to clean up (SIGKILL, a power cut) leaves its run RUNNING;
    every stage start calls this. Runs of other hosts and runs without a recorded process are left
    alone.

    Returns
    -------
    list of str
        The ids of the runs marked.
    """
    client = client or _client()
    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    running = client.search_runs(
        experiments, filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST}` = '{_quote(host)}'",
        max_results=1000)
    marked = []
    for run in running:
        tags = run.data.tags
        try:
            pid, _ = int(tags[PID]), int(tags[PROCESS_START])
        except (KeyError, ValueError):
            continue
        if process_alive(tags):
            continue
        client.set_tag(run.info.run_id, MARKED_KILLED,
                       f"process {pid} on {host} was gone at {datetime.now().isoformat(timespec='seconds')}")
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
        marked.append(run.info.run_id)
    return marked


def _quote(value: str) -> str:
    return value.replace("'", "\\'")


def _start_ms() -> int:
    """When the run starts: the process's start for the first run of the ``mmmlab`` command, else now.

    So a stage run's duration includes the interpreter and library start-up the user waited for,
    and nothing stage_run does itself delays the recorded start.
    """
    global _opened_in_process
    first, _opened_in_process = not _opened_in_process, True
    if first and Path(sys.argv[0]).name == "mmmlab":
        try:
            return round(psutil.Process().create_time() * 1000)
        except psutil.Error:
            pass
    return round(time.time() * 1000)
