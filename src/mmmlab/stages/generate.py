"""`mmmlab generate`: simulate a dataset with known truth."""

from __future__ import annotations

import dataclasses

import numpy as np

from mmmlab import tracking
from mmmlab.config import (
    GENERATED_COLUMNS,
    GENERATED_CSV,
    GENERATED_LIFT_TESTS,
    GENERATED_TRUTH,
    data_spec,
    flatten,
    generate_section,
    output_path,
    simulation_spec,
)
from mmmlab.dataset import load_dataset
from mmmlab.files import OutputSet, write_json
from mmmlab.simulate import Simulation, readout_frame, simulate

METRICS = "reports/generate/metrics.json"


def run(params: dict) -> str:
    """Simulate, write the CSV, truth.json, the lift tests and the metrics, log the run; returns a one-line summary.

    The four files are one :class:`~mmmlab.files.OutputSet`: they replace their previous versions
    together at the end, so a failure or an interrupt never leaves a CSV beside the truth (or the
    lift tests) of another dataset.

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
    logged = flatten(generate_section(params), "data")
    csv, truth, lift_tests, metrics_file = (
        output_path(p) for p in (GENERATED_CSV, GENERATED_TRUTH, GENERATED_LIFT_TESTS, METRICS)
    )
    # the dataset is this stage's output: it is logged once written, not when the run opens
    with tracking.stage_run("generate", params, logged), OutputSet([csv, truth, lift_tests, metrics_file]) as out:
        sim = simulate(spec)
        sim.frame.to_csv(out.path(csv), index=False)
        write_json(out.path(truth), sim.truth)
        readout_frame(sim.lift_tests).to_csv(out.path(lift_tests), index=False)
        metrics = summary_metrics(sim)
        write_json(out.path(metrics_file), metrics)

        # the generated CSV has its own schema; the user's data mapping (maybe for their own CSV) does not apply
        staged = data_spec({"data": {"path": str(out.path(csv)), "truth": str(out.path(truth)), **GENERATED_COLUMNS}})
        dataset = dataclasses.replace(load_dataset(staged), path=csv)  # the same bytes, at their final place
        tracking.set_tags({"dataset_hash": dataset.content_hash})
        tracking.log_dataset(dataset, context="generate")
        tracking.log_metrics({f"data.{k}": v for k, v in metrics.items()})
        tracking.log_artifact(out.path(truth))
        tracking.log_artifact(out.path(lift_tests))
        tracking.log_artifact(out.path(metrics_file))
        out.commit()
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
