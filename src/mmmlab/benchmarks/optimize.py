"""Budget allocation: the lab's optimiser beside pymc-marketing's BudgetOptimizer, both judged by the truth.

For the default data and the identifiable preset, three seeds each: ``mmmlab generate`` and ``fit``
(params.yaml's sampler), then ``mmmlab optimize`` without and with ``optimize.pymc_marketing``, in
a scratch output folder and MLflow store. Records per dataset the fit's gates and, per allocation
(the lab's ``mean`` and ``cvar``, pymc-marketing's ``pymc_marketing_mean`` and
``pymc_marketing_cvar``), the true regret, the promised and the true gain, and the optimize
stage's wall time without and with pymc-marketing.

    python -m mmmlab.benchmarks optimize       # writes reports/benchmarks/optimize.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmmlab.benchmarks import write_result

NOTES = ("regret = (true sales at the true optimum - at the allocation) / (at the optimum - at the current "
         "allocation), all under the lab's definition of a plan's incremental sales; pymc-marketing optimises "
         "its own response (no carried-in spend, carry-over after the horizon counted). Wall times include "
         "the process start. The machine's cores may be shared.")
OUTPUT = "reports/benchmarks/optimize.json"
PRESET = ("generate.preset=identifiable",)
DESIGNS = {
    "default": (),
    "default seed 1": ("generate.seed=1",),
    "default seed 2": ("generate.seed=2",),
    "identifiable": PRESET,
    "identifiable seed 1": (*PRESET, "generate.seed=1"),
    "identifiable seed 2": (*PRESET, "generate.seed=2"),
}
ALLOCATIONS = ("mean", "cvar", "pymc_marketing_mean", "pymc_marketing_cvar")
NUMBERS = ("regret", "promised_gain", "true_gain")


def run() -> Path:
    rows = []
    with tempfile.TemporaryDirectory(prefix="mmmlab-bench-optimize-") as tmp:
        env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db"}
        for design, overrides in DESIGNS.items():
            print(f"benchmark optimize: {design}", file=sys.stderr, flush=True)
            out = Path(tmp) / design.replace(" ", "_")
            sets = [arg for o in overrides for arg in ("--set", o)]
            try:
                for stage in ("generate", "fit"):
                    _stage(stage, out, sets, env)
                lab_s = _stage("optimize", out, sets, env)
                both_s = _stage("optimize", out, [*sets, "--set", "optimize.pymc_marketing=true"], env)
            except RuntimeError as error:
                rows.append({"design": design, "error": str(error)})
                continue
            rows.append({"design": design} | _row(out) | {"optimize_wall_s": lab_s, "with_pymc_marketing_wall_s": both_s})
            write_result(OUTPUT, {"notes": NOTES, "runs": rows})  # after every row: a stopped benchmark keeps them
    return write_result(OUTPUT, {"notes": NOTES, "runs": rows})


def _stage(name: str, out: Path, sets: list[str], env: dict) -> float:
    """Run one stage as a user would; its wall time in seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from mmmlab.cli import main; main()", name, "--out", str(out), *sets],
                          check=False, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(f"{name}: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return time.perf_counter() - t0


def _row(out: Path) -> dict:
    metrics = json.loads((out / "reports/optimize/metrics.json").read_text())
    convergence = json.loads((out / "reports/fit/convergence.json").read_text())
    allocations = {name: {n: metrics[f"{name}.truth.{n}"] for n in NUMBERS} | {"supported": metrics[f"{name}.supported"]}
                   for name in ALLOCATIONS}
    return {"gates_passed": convergence["passed"], "allocations": allocations}

