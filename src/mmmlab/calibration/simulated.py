"""Coverage against the simulator: many datasets with known truth, each fitted as the stages fit it.

Dataset ``i`` is the simulator's design with seed ``design.seed + i`` and, when the study varies them,
true channel parameters drawn uniformly from the study's ranges (decay and gamma as values, alpha and
k as multiples of the design's). A worker simulates it, fits it (``fit``: the Bayesian model compiled
once per worker with nutpie, each dataset's own data and scales swapped in; ``recover``: the classical
joint recovery with its profile intervals) and records, for each channel's decay, alpha, gamma, k,
total contribution and ROAS, the truth, the estimate and whether each interval holds the truth, and
for each channel parameter how much the fit narrowed it (the fit stage's prior-to-posterior contraction).
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from mmmlab import bayes
from mmmlab.bayes.sampling import attempts_record, compiles_kept, until_gates_pass
from mmmlab.calibration.coverage import interval_fields, interval_record, level_tag
from mmmlab.calibration.plan import Plan, settings_key
from mmmlab.calibration.runner import Task
from mmmlab.config import GENERATED_COLUMNS, data_spec, fit_spec, simulation_spec
from mmmlab.config.calibrate import ArmSpec, Method, StudySpec, design_params
from mmmlab.config.fit import HILL_FORMS, FitSpec
from mmmlab.config.loading import deep_merge
from mmmlab.config.optimize import optimize_spec
from mmmlab.config.simulation import generate_section
from mmmlab.dataset import Dataset, load_dataset
from mmmlab.evaluation import Truth, truth_from_record
from mmmlab.lift_data import LiftTests, chosen_lift_tests
from mmmlab.simulate import simulate
from mmmlab.simulate.lift_tests import readout_frame

PARAMETERS = ("decay", "alpha", "gamma", "k")
SEED_STRIDE = 1_000_003


def study_fit_spec(params: dict, study: StudySpec) -> FitSpec:
    """The fit's spec with the study's sampler settings (chains, draws, tune, ...) and no progress bar."""
    return fit_spec(deep_merge(params, {"fit": {"sampler": {**study.sampler, "progressbar": False}}}))


def simulated_dataset(params: dict) -> tuple[Dataset, Truth, LiftTests | None]:
    """The simulator's dataset, truth and lift-test readouts for ``params``' generate section, loaded as
    the stages load their CSVs (no readouts: None)."""
    sim = simulate(simulation_spec(params))
    with tempfile.TemporaryDirectory() as folder:
        path, lifts = Path(folder) / "mmm_data.csv", Path(folder) / "lift_tests.csv"
        sim.frame.to_csv(path, index=False)
        readout_frame(sim.lift_tests).to_csv(lifts, index=False)
        dataset = load_dataset(data_spec({"data": {"path": str(path), "truth": None, **GENERATED_COLUMNS}}))
        tests = chosen_lift_tests(str(lifts), dataset, "generate.experiments.windows")
    return dataset, truth_from_record(sim.truth), tests


def varied_params(params: dict, study: StudySpec, index: int,
                  arm: ArmSpec | None = None) -> tuple[dict, dict[str, float]]:
    """Dataset ``index``'s params: the design (and arm) with this dataset's seed and its drawn channel parameters.

    The draws depend on the study's seed and ``index`` only: every arm fits the same true parameters.

    Returns
    -------
    params : dict
        A copy, ready for :func:`simulated_dataset`.
    drawn : dict
        ``"<parameter>.<channel>"`` -> the value drawn (empty when the study varies nothing).
    """
    chosen = copy.deepcopy(design_params(params, study, index, arm))
    rng = np.random.default_rng([study.seed, index])
    channels = generate_section(chosen)["channels"]
    drawn = {}
    for channel, values in channels.items():
        for name, (low, high) in study.vary.items():
            u = float(rng.uniform(low, high))
            values[name] = u if name in ("decay", "gamma") else u * float(values[name])
            drawn[f"{name}.{channel}"] = values[name]
    return chosen, drawn


@dataclass(frozen=True)
class CoverageContext:
    """What every coverage task of a study shares."""

    key: str
    params: dict
    study: StudySpec
    fit: FitSpec


def coverage_plan(study: StudySpec, params: dict) -> Plan:
    """Tasks of a coverage study: one simulated dataset per fit (made on the worker from its index)."""
    fit = study_fit_spec(params, study)
    varied_params(params, study, 0)  # a bad design (or optimize section) fails here, before any task is sent
    optimize_spec(params)
    key = settings_key(study, params)
    context = CoverageContext(key, params, study, fit)
    tasks = [Task(study.name, i, {"seed": study.design.seed + i}) for i in range(study.fits)]
    ranges = ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in study.vary.items()) or "none (the design's values)"
    description = [
        f"Design: the simulator (preset {study.design.preset or 'none'}), dataset i with seed {study.design.seed} + i; "
        f"true channel parameters drawn per dataset: {ranges}.",
        f"Methods judged: {', '.join(study.methods)}; intervals at {', '.join(f'{p:.0%}' for p in study.levels)} "
        "(Bayesian: HDI of the posterior; recover: its profile intervals at recover.level).",
        *(f"Arm {arm.name}: the Bayesian fit {'with' if arm.lift_tests else 'without'} the dataset's lift tests"
          + (f"; generate overrides {arm.generate}" if arm.generate else "") + "." for arm in study.arms),
    ]
    return Plan(tasks=tasks, work=partial(coverage_fit, context), description=description, key=key)


@compiles_kept()  # each fit builds a model, and the first compiles it: later workers reuse the rewrites
def coverage_fit(context: CoverageContext, task: Task) -> dict:
    """One dataset on a worker: simulate, fit with every method (in every arm), record each interval against the truth.

    Returns
    -------
    dict
        ``seed``, ``drawn``, ``intervals`` (method label -> quantity -> interval record), ``srmse``
        (method label -> channel -> contribution SRMSE), ``budget`` (Bayesian label -> objective -> the
        optimize stage's recommendation judged against the truth, :func:`budget_record`), ``gates``
        (label -> the gate metrics), ``runs`` (label -> each sampling run's settings and missed gates),
        ``gates_by_method`` (label -> passed) and ``gates_passed`` (every Bayesian fit passed).
    """
    record = {"seed": task.payload["seed"], "intervals": {}, "srmse": {}, "budget": {}, "gates": {}, "runs": {},
              "gates_by_method": {}}
    for arm in context.study.arms or (None,):
        params, record["drawn"] = varied_params(context.params, context.study, task.index, arm)
        dataset, truth, lift = simulated_dataset(params)
        if Method.fit in context.study.methods:
            label = context.study.method_label(Method.fit, arm)
            calibrated = lift if arm is not None and arm.lift_tests else None
            attempts, intervals, srmse, budget = _bayesian(context, dataset, truth, task, calibrated)
            record["intervals"][label], record["srmse"][label], record["budget"][label] = intervals, srmse, budget
            record["gates"][label], record["runs"][label] = attempts_record(attempts), [a.as_dict() for a in attempts]
            record["gates_by_method"][label] = bool(attempts[-1].verdict.passed)
        if Method.recover in context.study.methods:
            label = context.study.method_label(Method.recover, arm)
            record["intervals"][label] = _recovered(context, dataset, truth)
            record["gates_by_method"][label] = True  # the classical fit has no sampler gates
    record["gates_passed"] = all(record["gates_by_method"].values())
    return record


def _bayesian(context: CoverageContext, dataset: Dataset, truth: Truth, task: Task, lift: LiftTests | None):
    from mmmlab.calibration.compiled import compiled_for

    d = bayes.design(dataset, context.fit.model, lift)
    # datasets whose controls differ (an economic state never visited) or with other lift tests need a model of their own
    tests = [] if lift is None else lift.labels
    structure = hashlib.sha256(json.dumps([list(d.X.columns), len(d.X), tests]).encode()).hexdigest()[:8]
    compiled = compiled_for(f"{context.key}-{structure}", context.fit, d)  # compiled once per worker and structure
    sampler = replace(context.fit.sampler, random_seed=context.study.seed * SEED_STRIDE + task.index)
    trace, attempts = until_gates_pass(
        lambda s: compiled.sample(d.y.to_numpy(), seed=s.random_seed, design=d, scales="data", sampler=s),
        sampler, context.fit.gates)
    parameters = bayes.original_scale_parameters(trace)
    contraction = _contraction(trace, compiled.prior, context.fit.hdi_prob)
    contributions = bayes.channel_contributions(trace).sum("date")
    spend = pd.Series({c: float(d.X[c].sum()) for c in d.channels})
    true_totals = truth.channel_contributions.sum()
    out = {}
    for channel in d.channels:
        for name in PARAMETERS:
            out[f"{name} ({channel})"] = _record(truth.channels[channel][name],
                                                 parameters[name].sel(channel=channel), context.study.levels)
            out[f"{name} ({channel})"]["contraction"] = contraction[(name, channel)]
        total = contributions.sel(channel=channel)
        out[f"contribution ({channel})"] = _record(true_totals[channel], total, context.study.levels)
        out[f"ROAS ({channel})"] = _record(true_totals[channel] / spend[channel], total / spend[channel],
                                           context.study.levels)
    srmse = contribution_srmse(bayes.channel_contributions(trace).mean(("chain", "draw")), truth, d.channels)
    budget = budget_record(trace, d, truth, context) if context.fit.model.saturation in HILL_FORMS else {}
    return attempts, out, srmse, budget


def _contraction(trace, prior, hdi_prob: float) -> dict[tuple[str, str], float]:
    """(parameter, channel) -> 1 - posterior over prior interval width, as the fit stage measures what the data inform."""
    from mmmlab.bayes.contraction import prior_posterior_contraction

    both = trace.copy()
    both["prior"] = prior
    table = prior_posterior_contraction(both, hdi_prob)
    return {(r.parameter, r.channel): float(r.contraction) for r in table.itertuples() if r.channel is not None}


def budget_record(trace, d, truth: Truth, context: CoverageContext) -> dict[str, dict[str, float]]:
    """The optimize stage's recommendations on this fit (params' ``optimize`` section), judged against the truth.

    Returns
    -------
    dict
        Objective -> ``regret``, ``true_gain``, ``promised_gain``, ``over_promise`` and ``supported``
        (1.0 when the posterior's gain HDI excludes zero, else 0.0).
    """
    from mmmlab.budget.recommend import optimise

    spend = d.X.set_index(bayes.DATE)[list(d.channels)]
    outcome = optimise(trace, spend, truth, optimize_spec(context.params), context.fit.hdi_prob)
    keys = ("regret", "true_gain", "promised_gain", "over_promise")
    return {name: {k: float(outcome.judgement[name][k]) for k in keys} | {"supported": float(r["supported"])}
            for name, r in outcome.recommended.items()}


def contribution_srmse(mean, truth: Truth, channels) -> dict[str, float]:
    """Per channel: RMSE of the posterior mean contribution per period against the truth, over the mean true contribution."""
    out = {}
    for channel in channels:
        true = truth.channel_contributions[channel].to_numpy()
        estimate = mean.sel(channel=channel).to_numpy()
        out[channel] = float(np.sqrt(np.mean((estimate - true) ** 2)) / np.mean(true))
    return out


def _record(truth: float, draws, levels) -> dict:
    return interval_record(float(truth), np.asarray(draws).reshape(-1), levels)


def _recovered(context: CoverageContext, dataset: Dataset, truth: Truth) -> dict:
    """The classical recovery's profile intervals (at recover.level only) against the truth."""
    from mmmlab.config.recover import recovery_spec
    from mmmlab.recovery.estimate import recover

    spec = recovery_spec(context.params)
    result = recover(dataset, spec)
    estimates = result.channel_estimates()
    tag = level_tag(spec.level)
    out = {}
    for row in estimates.itertuples():
        true = truth.channels[row.channel][row.parameter]
        out[f"{row.parameter} ({row.channel})"] = {
            "truth": true, "estimate": float(row.estimate), "error": float(row.estimate) - true,
            **interval_fields(true, float(row.lower), float(row.upper), tag)}
    return out
