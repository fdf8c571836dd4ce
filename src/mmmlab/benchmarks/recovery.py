"""Benchmark of the classical joint recovery: errors, interval coverage and wall time over seeds.

For the default design and the ``identifiable`` preset, ``SEEDS`` datasets are simulated, each
is recovered with profile-likelihood intervals (on one core; two datasets at a time), and the
truth is compared only afterwards. Writes reports/benchmarks/recovery.json. A measurement,
never an assertion.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from mmmlab import evaluation
from mmmlab.config import data_spec, load_params, resolve, simulation_spec
from mmmlab.config.recover import recovery_spec
from mmmlab.dataset import load_dataset
from mmmlab.files import write_json
from mmmlab.recovery.estimate import recover
from mmmlab.simulate import simulate

OUTPUT = "reports/benchmarks/recovery.json"
SEEDS = tuple(range(1, 21))
DESIGNS = {"default": None, "identifiable": "identifiable"}


def _one(job) -> dict:
    params, design, preset, seed = job
    params = copy.deepcopy(params)
    params["generate"]["preset"] = preset
    params["generate"]["seed"] = seed
    params["recover"]["uncertainty"] = "profile"
    sim = simulate(simulation_spec(params))
    with tempfile.TemporaryDirectory() as tmp:
        csv, truth_path = Path(tmp) / "data.csv", Path(tmp) / "truth.json"
        sim.frame.to_csv(csv, index=False)
        truth_path.write_text(json.dumps(sim.truth))
        dataset = load_dataset(data_spec({"data": {**params["data"], "path": str(csv), "truth": None}}))
        t0 = time.perf_counter()
        result = recover(dataset, recovery_spec(params))
        seconds = time.perf_counter() - t0
        truth = evaluation.align_truth(evaluation.load_truth(truth_path), dataset.dates)  # after estimation
    recovered = result.fit.components()[list(dataset.channels)]
    comparison = evaluation.recovery_comparison(truth, result.channel_estimates(), recovered)
    table, contrib = comparison["table"], comparison["contributions"]
    table["width"] = table["upper"] - table["lower"]
    table["covered"] = (table["lower"] <= table["true"]) & (table["true"] <= table["upper"])  # open ends count
    return {"design": design, "seed": seed, "seconds": seconds, "table": table.to_dict(orient="list"),
            "contributions": contrib.to_dict(orient="list"), "r2": result.fit.fit_statistics()["r2"],
            "restarts": result.info.get("restarts", 0)}


def _summarise(runs: list[dict]) -> dict:
    table = pd.concat([pd.DataFrame(r["table"]).assign(seed=r["seed"]) for r in runs], ignore_index=True)
    contrib = pd.concat([pd.DataFrame(r["contributions"]) for r in runs], ignore_index=True)
    per_parameter = {}
    for (ch, p), g in table.groupby(["channel", "parameter"], sort=False):
        per_parameter[f"{ch}.{p}"] = {
            "true": float(g["true"].iloc[0]),
            "median_abs_error": float(g["abs_error"].median()),
            "median_rel_error": float(g["rel_error"].median()),
            "coverage": float(g["covered"].astype(float).mean()),
            "median_interval_width": float(g["width"].median()),
            "max_interval_width": float(g["width"].max()),
            "share_identified": float((g["verdict"] == "identified").mean()),
        }
    by_type = {}
    for p, g in table.groupby("parameter", sort=False):
        by_type[p] = {"coverage": float(g["covered"].astype(float).mean()),
                      "median_rel_error": float(g["rel_error"].median()),
                      "share_identified": float((g["verdict"] == "identified").mean())}
    contributions = {}
    for ch, g in contrib.groupby("channel", sort=False):
        contributions[ch] = {"median_abs_total_error_pct": float(g["total_error_pct"].abs().median()),
                             "median_srmse": float(g["srmse"].median())}
    seconds = [r["seconds"] for r in runs]
    return {
        "n_datasets": len(runs),
        "coverage_all_parameters": float(table["covered"].astype(float).mean()),
        "per_type": by_type,
        "per_parameter": per_parameter,
        "contributions": contributions,
        "seconds": {"median": float(np.median(seconds)), "max": float(np.max(seconds)), "mean": float(np.mean(seconds))},
        "median_r2": float(np.median([r["r2"] for r in runs])),
        "profile_restarts": int(sum(r["restarts"] for r in runs)),
    }


def run(seeds=SEEDS, designs=None, workers: int | None = None) -> Path:
    params = load_params()
    designs = designs or DESIGNS
    jobs = [(params, name, preset, seed) for name, preset in designs.items() for seed in seeds]
    t0 = time.perf_counter()
    workers = workers or min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(_one, jobs))
    report = {
        "what": "classical joint recovery (mmmlab recover), profile-likelihood 95% intervals, truth compared after "
                "estimation; each dataset fitted on one core, two at a time",
        "seeds": list(seeds),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "wall_seconds": time.perf_counter() - t0,
        "designs": {name: _summarise([r for r in runs if r["design"] == name]) for name in designs},
    }
    path = resolve(OUTPUT)
    write_json(path, report)
    return path
