"""Simulation-based calibration of the fit's own model on one design (Talts et al. 2018; Modrák et al. 2023).

The driver builds the fit stage's model on the study's design (the simulator's dataset: its spend,
controls and scales), draws the true values of every parameter from the model's priors and sales
from its likelihood, and sends one draw to each task. A worker fits those sales with the model it
compiled once (the base design's scales held fixed, :mod:`.compiled`) and ranks each true value among
``ranks_draws`` posterior draws thinned evenly from the chains. Test quantities: every free parameter
(per channel: decay, alpha, gamma, k; the intercept, the noise sd, each control and Fourier
coefficient), each channel's total contribution, contribution share and ROAS, and the log-likelihood
of the simulated sales (a data-dependent quantity that catches what the parameters' ranks miss).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import norm

from mmmlab import bayes
from mmmlab.bayes.design_matrix import Design
from mmmlab.bayes.sampling import attempts_record, compiles_kept, until_gates_pass
from mmmlab.calibration.compiled import CONTRIBUTIONS, built_model, compiled_for, prior_draws
from mmmlab.calibration.plan import Plan, settings_key
from mmmlab.calibration.ranks import rank, thinned
from mmmlab.calibration.runner import Task
from mmmlab.calibration.simulated import simulated_dataset, study_fit_spec
from mmmlab.config.calibrate import StudySpec, design_params
from mmmlab.config.fit import FitSpec
from mmmlab.report.words import label

MU = "mu"  # the likelihood's mean on pymc-marketing's scale (date)
SIGMA = "y_sigma"
SAMPLE = ("chain", "draw")
SEED_STRIDE = 1_000_003  # fit i of a study samples with seed study.seed * SEED_STRIDE + i


@dataclass(frozen=True)
class SbcContext:
    """What every SBC task of a study shares (pickled to the workers once per task; small)."""

    key: str  # names the compiled model: the study and a digest of its settings
    fit: FitSpec
    design: Design
    draws: int  # L


def sbc_plan(study: StudySpec, params: dict) -> Plan:
    """Tasks of an SBC study: one prior draw (true values and simulated sales) per fit.

    Parameters
    ----------
    study : StudySpec
    params : dict
        All params: the fit's model, priors and gates, and the simulator for the design.

    Returns
    -------
    Plan
    """
    fit = study_fit_spec(params, study)
    dataset, _, _ = simulated_dataset(design_params(params, study))
    design = bayes.design(dataset, fit.model)
    mmm = built_model(fit, design)
    prior = prior_draws(mmm, study.fits, study.seed)
    truths = quantities(prior.rename(draw="sample"), mmm, design, prior["y"].values / _target_scale(mmm))
    tasks = [Task(study.name, i, {"seed": study.seed * SEED_STRIDE + i, "y": prior["y"].values[i],
                                  "truth": {q: float(v[i]) for q, v in truths.items()}})
             for i in range(study.fits)]
    key = settings_key(study, params)
    context = SbcContext(key, fit, design, study.ranks_draws)
    description = [
        f"Design: the simulator's dataset (preset {study.design.preset or 'none'}, seed {study.design.seed}), "
        f"{len(design.X)} periods, channels {', '.join(design.channels)}; its spend, controls and scales are held fixed.",
        f"Model: the fit stage's ({fit.model.saturation}, {design.seasonality.reason}); true values drawn from its "
        f"priors (seed {study.seed}), sales from its likelihood.",
        f"Ranks among {study.ranks_draws} posterior draws thinned evenly from {fit.sampler.chains} chains x "
        f"{fit.sampler.draws} draws.",
    ]
    return Plan(tasks=tasks, work=partial(sbc_fit, context), description=description, key=key)


@compiles_kept()  # each fit builds a model, and the first compiles it: later workers reuse the rewrites
def sbc_fit(context: SbcContext, task: Task) -> dict:
    """One SBC fit on a worker: sample the posterior of the task's sales, check the gates, rank every true value.

    Returns
    -------
    dict
        ``seed``, ``gates_passed``, ``gates`` (the gate metrics), ``runs`` (each sampling run's settings and
        missed gates) and ``ranks`` (quantity -> rank in 0..L).
    """
    compiled = compiled_for(context.key, context.fit, context.design)
    y = np.asarray(task.payload["y"], dtype=float)
    trace, attempts = until_gates_pass(lambda s: compiled.sample(y, seed=s.random_seed, scales="base", sampler=s),
                                       replace(context.fit.sampler, random_seed=task.payload["seed"]),
                                       context.fit.gates)
    verdict = attempts[-1].verdict
    posterior = trace["posterior"].to_dataset().stack(sample=SAMPLE).transpose("sample", ...)
    draws = quantities(posterior, compiled.mmm, context.design, y[None, :] / _target_scale(compiled.mmm))
    ranks = {q: rank(task.payload["truth"][q], thinned(v, context.draws)) for q, v in draws.items()}
    return {"seed": task.payload["seed"], "gates_passed": bool(verdict.passed),
            "gates": attempts_record(attempts), "runs": [a.as_dict() for a in attempts], "ranks": ranks}


def quantities(draws: xr.Dataset, mmm, design: Design, y_scaled: np.ndarray) -> dict[str, np.ndarray]:
    """Every test quantity per sample: free parameters, contributions, shares, ROAS and the log-likelihood.

    Parameters
    ----------
    draws : xarray.Dataset
        Dim ``sample`` first: the free parameters, ``mu``, ``y_sigma`` and the contributions in sales.
    mmm : pymc_marketing.mmm.MMM
        The built model (names its free parameters).
    design : Design
        Total spend per channel, for ROAS.
    y_scaled : numpy.ndarray, shape (samples, periods) or (1, periods)
        The sales each sample's log-likelihood is taken of, on the model's scale.

    Returns
    -------
    dict
        Quantity label (``"decay (TV)"``, ``"contribution (TV)"``, ``"log-likelihood"``) -> values per sample.
    """
    out = {}
    for name in (rv.name for rv in mmm.model.free_RVs):
        values = draws[name]
        extra = [dim for dim in values.dims if dim != "sample"]
        if not extra:
            out[label(name)] = values.to_numpy()
            continue
        for coord in values[extra[0]].values:
            out[label(name, str(coord))] = values.sel({extra[0]: coord}).to_numpy()
    contribution = draws[CONTRIBUTIONS].sum("date").transpose("sample", "channel")
    total = contribution.sum("channel")
    spend = pd.Series({c: float(design.X[c].sum()) for c in design.channels})
    for channel in design.channels:
        mine = contribution.sel(channel=channel).to_numpy()
        out[f"contribution ({channel})"] = mine
        out[f"share ({channel})"] = mine / total.to_numpy()
        out[f"ROAS ({channel})"] = mine / spend[channel]
    mu = draws[MU].transpose("sample", "date").to_numpy()
    sigma = draws[SIGMA].to_numpy()[:, None]
    out["log-likelihood"] = norm.logpdf(y_scaled, mu, sigma).sum(axis=1)
    return out


def _target_scale(mmm) -> float:
    return float(mmm.model["target_scale"].get_value())
