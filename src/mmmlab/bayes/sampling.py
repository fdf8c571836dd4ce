"""Sampling: prior, posterior and posterior predictive of a built MMM, with their timings."""

from __future__ import annotations

import time

from mmmlab.bayes.build import quiet_pymc_marketing
from mmmlab.bayes.design_matrix import Design
from mmmlab.config.fit import FitSpec


def sample(mmm, d: Design, spec: FitSpec) -> dict[str, float]:
    """Build, draw the prior, sample the posterior and the posterior predictive; the draws extend ``mmm.idata``.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        The configured model (:func:`mmmlab.bayes.build_mmm`).
    d : Design
        The inputs it is fitted on.
    spec : FitSpec
        Prior draws, seed, progress bar; the sampler settings are already in ``mmm``.

    Returns
    -------
    dict of str to float
        Seconds: ``build_s``, ``prior_s``, ``sample_wall_s`` (compile, tune and draws),
        ``sampling_s`` (the sampler's own time when it reports one) and ``posterior_predictive_s``.
    """
    seed = spec.sampler.random_seed
    timings, t0 = {}, time.perf_counter()
    with quiet_pymc_marketing():
        mmm.build_model(d.X, d.y)  # before fit, which would otherwise build on its own and skip the next line
        mmm.add_original_scale_contribution_variable(var=["channel_contribution", "y"])
        timings["build_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        mmm.sample_prior_predictive(d.X, d.y, samples=spec.sampler.prior_samples, random_seed=seed + 1)
        timings["prior_s"] = time.perf_counter() - t
        t = time.perf_counter()
        mmm.fit(d.X, d.y, progressbar=spec.sampler.progressbar, random_seed=seed)
        timings["sample_wall_s"] = time.perf_counter() - t  # compile + tune + draws
        sampling = mmm.idata.posterior.attrs.get("sampling_time", mmm.idata.sample_stats.attrs.get("sampling_time"))
        timings["sampling_s"] = float(sampling) if sampling is not None else timings["sample_wall_s"]
        t = time.perf_counter()
        mmm.sample_posterior_predictive(d.X, extend_idata=True, combined=False, random_seed=seed + 2,
                                        progressbar=spec.sampler.progressbar)
        timings["posterior_predictive_s"] = time.perf_counter() - t
    return timings
