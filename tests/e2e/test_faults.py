"""Fault injection: each stage stopped by SIGINT, SIGTERM or SIGKILL at a seeded moment of its run leaves its outputs
all previous or all new, never a mixture; `dvc repro` recovers afterwards; a whole pipeline leaves nothing in the
temp folder."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from tests.e2e.helpers import UP_TO_DATE, copy_project, digest, env, sh, stage_outputs

pytestmark = pytest.mark.slow

KEPT = "interrupted: previous outputs kept"
REPLACED = "interrupted: new outputs complete"
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
SCHEDULE_SEED = 14  # the moments to stop each stage: the same on every run of the test
# a parameter per stage whose change makes new outputs (the stage is run with --set key=value)
CHANGED = {"generate": ("generate.seed", 1000), "check": ("check.pulse_periods", 12),
           "recover": ("recover.search.seed", 100), "fit": ("fit.sampler.random_seed", 500)}


def state(root: Path, outputs: list[str]) -> dict:
    """Each output's inode and content: a file's digest, a folder's files and their digests (None: missing).

    A replaced output always has another inode (the new one is written before the old goes), so an
    output rewritten with the same bytes still counts as new.
    """
    result = {}
    for name in outputs:
        path = root / name
        if not path.exists():
            result[name] = None
        elif path.is_dir():
            files = {str(f.relative_to(path)): digest(f) for f in sorted(path.rglob("*")) if f.is_file()}
            result[name] = (path.stat().st_ino, files)
        else:
            result[name] = (path.stat().st_ino, digest(path))
    return result


def outcome(before: dict, after: dict, complete: dict) -> str:
    """"previous" (every output as it was), "new" (every output replaced, complete) or "mixed"."""
    if after == before:
        return "previous"

    def replaced(name):
        now = after[name]
        if now is None or now == before[name]:
            return False
        return now[1] != {} and (set(now[1]) == complete[name] if isinstance(now[1], dict) else True)

    return "new" if all(replaced(name) for name in after) else "mixed"


@pytest.fixture(scope="module")
def pipeline(reproduced, tmp_path_factory) -> dict:
    """A copy of the reproduced project, with each stage's duration in its first `dvc repro`."""
    root = copy_project(reproduced.root, tmp_path_factory.mktemp("faults") / "repo")
    seconds = dict(reproduced.stage_seconds)
    assert set(seconds) >= set(CHANGED), reproduced.output[-3000:]
    # generate's time in the first run includes creating the MLflow store: time a run of its own (new data, as the
    # stopped runs would write)
    key, value = CHANGED["generate"]
    t0 = time.monotonic()
    sh(root, "mmmlab", "generate", "--set", f"{key}={value}")
    seconds["generate"] = time.monotonic() - t0
    return {"root": root, "seconds": seconds, "env": env(root)}


def test_a_whole_pipeline_leaves_nothing_in_the_temp_folder(reproduced):
    """PyTensor once wrote each compiled function's source to a new temp file and never removed it (~35 a fit)."""
    assert sorted(p.name for p in reproduced.temp.iterdir()) == []


def _posterior_size(root: Path) -> tuple[int, int]:
    import xarray as xr

    with xr.open_datatree(root / "models" / "mmm_fit.nc") as tree:
        sizes = tree["posterior"].sizes
        return sizes["chain"], sizes["draw"]


def _asked(root: Path) -> tuple[int, int]:
    sampler = yaml.safe_load((root / "params.yaml").read_text())["fit"]["sampler"]
    return sampler["chains"], sampler["draws"]


def _stop(root: Path, env: dict, command: list[str], signum: int, delay: float) -> subprocess.CompletedProcess:
    process = subprocess.Popen(command, cwd=root, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(delay, lambda: process.poll() is None and process.send_signal(signum))
    timer.start()
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        timer.cancel()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_every_stage_stopped_at_any_moment_keeps_all_previous_or_all_new_outputs(pipeline):
    root, env = pipeline["root"], pipeline["env"]
    rng = np.random.default_rng(SCHEDULE_SEED)
    report = []
    for stage, (key, base) in CHANGED.items():
        outputs = stage_outputs(root, stage)
        baseline = state(root, outputs)
        complete = {name: set(value[1]) for name, value in baseline.items() if isinstance(value[1], dict)}
        duration = pipeline["seconds"][stage]
        for i, signum in enumerate(SIGNALS):
            delay = float(rng.uniform(0.2, duration))
            before = state(root, outputs)
            command = ["mmmlab", stage, "--set", f"{key}={base + i + 1}"]
            done = _stop(root, env, command, signum, delay)
            result = outcome(before, state(root, outputs), complete)
            lines = done.stderr.strip().splitlines()
            what = f"{stage} {signal.Signals(signum).name} at {delay:.1f} s of {duration:.1f}: {result}, exit {done.returncode}"
            report.append(what)
            assert result in ("previous", "new"), f"{what}\n{done.stderr[-3000:]}"
            if stage == "fit" and result == "new":  # never the partial chains of a sampler that caught the signal
                assert _posterior_size(root) == _asked(root), what
            if signum == signal.SIGKILL:
                assert done.returncode in (-signal.SIGKILL, 0), what
                continue
            assert "Traceback" not in done.stderr, f"{what}\n{done.stderr[-3000:]}"
            if done.returncode == 0:  # the stage was done before the signal came
                assert result == "new", what
            else:
                assert done.returncode == 128 + signum, f"{what}\n{done.stderr[-3000:]}"
                assert lines[-1] == (KEPT if result == "previous" else REPLACED), f"{what}\n{done.stderr[-3000:]}"
    print("\n".join(report))

    out = sh(root, "dvc", "repro")
    assert "ERROR" not in out
    assert UP_TO_DATE in sh(root, "dvc", "status", "dvc.yaml")
