"""Calibration throughput: Bayesian fits per hour of the SBC study on the default design.

Each configuration runs ``mmmlab calibrate`` (the ``sbc_default`` study with ``FITS`` fits and its own sampler
settings from params.yaml) in a fresh project folder and a fresh process: with 1 and 2 single-threaded workers,
each compiling the model once and swapping data between fits, and with 2 workers compiling for every fit
(``MMMLAB_COMPILE_EACH_FIT=1``). The wall time is the whole command's (cluster start, the driver's prior draws,
the workers' compiles, the fits, the report); fits per hour = fits / wall. ``cpu_s`` is the CPU time of the
command and its workers together; ``cpu_s_outside_fits`` what is left of it after the workers' CPU time in the
fits (start-up, compiles, prior draws, the driver's writing and logging, the report). Beside them, the machine's own
ceiling: one single-threaded numeric loop timed alone and as two processes at once (``machine_two_processes``).

    python -m mmmlab.benchmarks calibrate      # writes reports/benchmarks/calibrate.json
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmmlab.benchmarks import write_result
from mmmlab.calibration.cluster import ONE_THREAD

OUTPUT = "reports/benchmarks/calibrate.json"
FITS = 12
CEILING_LOOP = ("import time, numpy as np; a = np.random.default_rng(0).normal(size=(64, 64)) / 16; "
                "x = np.ones(64); t = time.perf_counter()\n"
                "for _ in range(1_500_000): x = np.tanh(a @ x)\nprint(time.perf_counter() - t)")
CONFIGS = {"1 worker, compile once": (1, False), "2 workers, compile once": (2, False),
           "2 workers, compile per fit": (2, True)}


def run() -> Path:
    from mmmlab.config import project_root

    root = project_root()
    ceiling, rows = _two_processes(), []
    for name, (workers, each_fit) in CONFIGS.items():
        print(f"benchmark calibrate: {name}", file=sys.stderr, flush=True)
        rows.append({"config": name, "workers": workers, "compile_per_fit": each_fit,
                     **_measure(root / "params.yaml", workers, each_fit)})
        _write(rows, ceiling)  # after every row, so a stopped benchmark keeps what it measured
    return _write(rows, ceiling)


def _two_processes() -> dict:
    """Seconds of :data:`CEILING_LOOP` alone and in each of two processes at once; ``speedup`` is twice the
    first over the mean of the others (2.0: a second process gets a whole second core)."""
    def start() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", CEILING_LOOP], env={**os.environ, **ONE_THREAD},
                                stdout=subprocess.PIPE, text=True)

    alone = float(start().communicate()[0])
    pair = [start(), start()]
    together = [float(proc.communicate()[0]) for proc in pair]
    return {"alone_s": alone, "together_s": together, "speedup": 2 * alone / (sum(together) / 2)}


def _measure(params_file: Path, workers: int, each_fit: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="mmmlab-bench-calibrate-") as tmp:
        shutil.copy(params_file, Path(tmp) / "params.yaml")
        env = {**os.environ, "MMMLAB_COMPILE_EACH_FIT": "1" if each_fit else "0",
               "MLFLOW_TRACKING_URI": f"sqlite:///{Path(tmp) / 'mlflow.db'}"}
        command = [sys.executable, "-m", "mmmlab.cli", "calibrate", "--study", "sbc_default",
                   "--set", f"calibrate.studies.sbc_default.fits={FITS}",
                   "--set", f"calibrate.cluster.workers={workers}"]
        t0, cpu0 = time.perf_counter(), _children_cpu()
        proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
        records = [json.loads(p.read_text()) for p in (Path(tmp) / "models/calibration/sbc_default").glob("fit-*.json")]
        seconds = [r["seconds"] for r in records if "seconds" in r]
        cpu_fits = [r["cpu_seconds"] for r in records if "cpu_seconds" in r]
        return {"fits": len(records), "wall_s": wall, "fits_per_hour": 3600 * len(records) / wall,
                "wall_s_per_fit": wall / len(records), "worker_s_per_fit_mean": sum(seconds) / len(seconds),
                "worker_cpu_s_per_fit_mean": sum(cpu_fits) / len(cpu_fits), "cpu_s": cpu,
                "cpu_s_outside_fits": cpu - sum(cpu_fits),
                "gates_passed": sum(bool(r.get("gates_passed")) for r in records),
                "summary": proc.stdout.strip().splitlines()[-1]}


def _children_cpu() -> float:
    """User and system CPU seconds of every finished child process (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _write(rows: list[dict], ceiling: dict) -> Path:
    from mmmlab.config import load_params

    by = {r["config"]: r for r in rows}
    one, two = by.get("1 worker, compile once", {}), by.get("2 workers, compile once", {})
    speedup = two["fits_per_hour"] / one["fits_per_hour"] if "fits_per_hour" in one and "fits_per_hour" in two else None
    sampler = load_params()["calibrate"]["studies"]["sbc_default"]["sampler"]
    result = {
        "notes": f"sbc_default study, {FITS} fits per row, sampler {sampler}; one fresh project and process per row; "
                 "wall_s is the whole `mmmlab calibrate` command. Aims (issue 16): at least 240 fits per hour with "
                 "2 workers, and 2 workers at least 1.7x one. machine_two_processes: a numeric loop alone and as two "
                 "processes at once, the most two single-threaded workers can gain on this machine.",
        "two_workers_over_one": speedup,
        "machine_two_processes": ceiling,
        "runs": rows,
    }
    return write_result(OUTPUT, result)
