"""`mmmlab generate`: simulate a dataset with known truth."""

from __future__ import annotations

import numpy as np

from mmmlab import tracking
from mmmlab.config import (
    GENERATED_COLUMNS,
    GENERATED_CSV,
    GENERATED_TRUTH,
    data_spec,
    flatten,
    generate_section,
    resolve,
    simulation_spec,
)
from mmmlab.dataset import load_dataset
from mmmlab.files import atomic_path, write_json
from mmmlab.simulate import Simulation, simulate

METRICS = "reports/generate/metrics.json"


def run(params: dict) -> str:
    """Simulate, write the CSV and truth.json, log the run; returns a one-line summary.

    Both files are written in full before either replaces its old version, so a failed write
    does not leave a CSV beside the truth of another dataset.

    Parameters
    ----------
    params : dict
        The raw params (sections ``generate`` and ``tracking``).

    Returns
    -------
    str
        Periods written, where, and the mean sales.

    Raises
    ------
    UserInputError
        When the ``generate`` section is invalid; nothing is written then.
    """
    spec = simulation_spec(params)  # validates everything before anything is written
    sim = simulate(spec)
    csv, truth = resolve(GENERATED_CSV), resolve(GENERATED_TRUTH)
    with atomic_path(csv) as tmp_csv, atomic_path(truth) as tmp_truth:
        sim.frame.to_csv(tmp_csv, index=False)
        write_json(tmp_truth, sim.truth)
    metrics = summary_metrics(sim)
    write_json(resolve(METRICS), metrics)

    # the generated CSV has its own schema; the user's data mapping (maybe for their own CSV) does not apply
    dataset = load_dataset(data_spec({"data": {"path": GENERATED_CSV, "truth": GENERATED_TRUTH, **GENERATED_COLUMNS}}))
    logged = flatten(generate_section(params), "data")
    with tracking.stage_run("generate", params, logged, dataset):
        tracking.log_metrics({f"data.{k}": v for k, v in metrics.items()})
        tracking.log_artifact(truth)
        tracking.log_artifact(resolve(METRICS))
    return f"generated {metrics['n_periods']} periods into {GENERATED_CSV}, mean sales {metrics['sales_mean']:,.0f}"


def summary_metrics(sim: Simulation) -> dict:
    """Headline numbers of the generated data: size, sales level and the true sales shares.

    Parameters
    ----------
    sim : Simulation
        The generated dataset and its truth.

    Returns
    -------
    dict
        ``n_periods``, ``sales_mean``, ``sales_sd``, and ``share.<component>`` for the baseline,
        the experiments and each channel: its share of the summed true contributions (before
        noise).
    """
    contributions = sim.truth["contributions"]
    total = sum(np.sum(v) for v in contributions.values())
    shares = {f"share.{name}": float(np.sum(v) / total) for name, v in contributions.items()}
    sales = sim.frame["Total_Sales"]
    return {"n_periods": len(sim.frame), "sales_mean": float(sales.mean()), "sales_sd": float(sales.std()), **shares}
