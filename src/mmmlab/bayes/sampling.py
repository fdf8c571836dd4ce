"""Sampling: prior, posterior and posterior predictive of a built MMM, with their timings.

An interrupt never passes for a result: nutpie catches KeyboardInterrupt and returns the draws made
so far, PyMC's posterior predictive stops early and returns what it has. :func:`sample` asks
:mod:`mmmlab.interrupts` whether a signal arrived, and counts the draws, after each step.
"""

from __future__ import annotations

import signal
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mmmlab import interrupts
from mmmlab.bayes import callbacks
from mmmlab.bayes.build import quiet_pymc_marketing
from mmmlab.bayes.design_matrix import Design
from mmmlab.bayes.lift import add_lift_likelihood
from mmmlab.config.fit import LEVEL_GEOMETRIES, FitSpec, SamplerSpec
from mmmlab.diagnostics import Gates, Verdict, check_convergence
from mmmlab.errors import Interrupted, UserInputError
from mmmlab.rewrite_cache import rewrites_kept

GENERATED_SOURCE = "generated_src"  # under pytensor's compiledir
MIXING_GATES = {"max_r_hat", "min_ess_bulk", "min_ess_tail"}  # missed: the chains mix too slowly
Trace = TypeVar("Trace")


@dataclass(frozen=True)
class Attempt:
    """One sampling run and the gates' verdict on it."""

    sampler: SamplerSpec
    verdict: Verdict
    seconds: float

    def as_dict(self) -> dict:
        s = self.sampler
        return {"draws": s.draws, "tune": s.tune, "target_accept": s.target_accept, "random_seed": s.random_seed,
                "geometry": str(s.geometry), "passed": self.verdict.passed,
                "failed": [c.name for c in self.verdict.checks if not c.passed],
                "seconds": self.seconds}


def attempts_record(attempts: list[Attempt]) -> dict[str, float]:
    """The kept run's gate metrics, the number of runs and whether the kept run sampled in other
    coordinates than the first (``rerun_geometry``): what a study records per fit."""
    first, kept = attempts[0].sampler, attempts[-1].sampler
    return attempts[-1].verdict.metrics() | {"attempts": len(attempts),
                                             "other_geometry": float(kept.geometry != first.geometry)}


def until_gates_pass(draw: Callable[[SamplerSpec], Trace], sampler: SamplerSpec,
                     gates: Gates) -> tuple[Trace, list[Attempt]]:
    """Sample with ``sampler``; after a missed gate sample again with :meth:`SamplerSpec.escalated` settings.

    At most ``sampler.reruns`` reruns; the gates never change. The last trace is returned, whether
    it passed or not (its verdict is the last attempt's).

    Parameters
    ----------
    draw : callable
        Samples the posterior with the given settings and returns a trace with ``posterior`` and
        ``sample_stats`` groups.
    sampler : SamplerSpec
        The first run's settings.
    gates : Gates
        The thresholds.

    Returns
    -------
    trace
        ``draw``'s last result.
    list of Attempt
        Every run, in order.
    """
    attempts, settings = [], sampler
    while True:
        t = time.perf_counter()
        trace = draw(settings)
        verdict = check_convergence(trace, gates)
        attempts.append(Attempt(settings, verdict, time.perf_counter() - t))
        if verdict.passed or len(attempts) > sampler.reruns:
            return trace, attempts
        missed = {c.name for c in verdict.checks if not c.passed}
        settings = settings.escalated(divergent="divergences" in missed, slow=bool(missed & MIXING_GATES),
                                      first=sampler.geometry, diverged_in=_diverged_in(attempts))


def _diverged_in(attempts: list[Attempt]) -> frozenset:
    """The coordinates in which a run of this fit missed the divergences gate."""
    return frozenset(a.sampler.geometry for a in attempts
                     if any(c.name == "divergences" and not c.passed for c in a.verdict.checks))


def sample(mmm, d: Design, spec: FitSpec) -> tuple[dict[str, float], list[Attempt]]:
    """Build, draw the prior, sample the posterior (again after a missed gate: :func:`until_gates_pass`)
    and the posterior predictive; the draws extend ``mmm.idata``.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        The configured model (:func:`mmmlab.bayes.build_mmm`).
    d : Design
        The inputs it is fitted on.
    spec : FitSpec
        Prior draws, the sampler settings of the first run, the gates.

    Returns
    -------
    dict of str to float
        Seconds: ``build_s``, ``prior_s``, ``sample_wall_s`` (compile, tune and draws of every
        attempt), ``sampling_s`` (the sampler's own time for the kept trace when it reports one)
        and ``posterior_predictive_s``.
    list of Attempt
        The sampling runs; the trace is the last one's.

    Raises
    ------
    UserInputError
        The data have no more periods than the model has free parameters.
    Interrupted
        When SIGINT or SIGTERM arrived while sampling, even if the sampler caught it and returned
        (or failed on) what it had, or when fewer chains or draws than asked came back: the
        samplers stop early only on a KeyboardInterrupt they caught (one the command's handlers
        did not see when this runs outside `mmmlab`), so that counts as SIGINT.
    """
    seed = spec.sampler.random_seed
    timings, t0 = {}, time.perf_counter()
    bookmark = interrupts.mark()
    with quiet_pymc_marketing(), _stopped_by(bookmark):
        build(mmm, d)  # before fit, which would otherwise build on its own, without the additions
        timings["build_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        mmm.sample_prior_predictive(d.X, d.y, samples=spec.sampler.prior_samples, random_seed=seed + 1)
        timings["prior_s"] = time.perf_counter() - t
        t = time.perf_counter()
        with compiled_once(), nuts_assigned_directly():
            _, attempts = until_gates_pass(lambda s: _fitted(mmm, d, s, bookmark), spec.sampler, spec.gates)
        timings["sample_wall_s"] = time.perf_counter() - t  # compile + tune + draws, every attempt
        sampling = mmm.idata.posterior.attrs.get("sampling_time", mmm.idata.sample_stats.attrs.get("sampling_time"))
        timings["sampling_s"] = float(sampling) if sampling is not None else timings["sample_wall_s"]
        t = time.perf_counter()
        with _warnings_unless_interrupted(bookmark):
            mmm.sample_posterior_predictive(d.X, extend_idata=True, combined=False, random_seed=seed + 2,
                                            progressbar=spec.sampler.progressbar)
        timings["posterior_predictive_s"] = time.perf_counter() - t
    return timings, attempts


def _fitted(mmm, d: Design, sampler: SamplerSpec, bookmark: int):
    """``mmm.fit`` with these sampler settings (a refit replaces the posterior); returns ``mmm.idata``.

    The settings go in whole and afresh: ``pm.sample`` moves ``target_accept`` into the ``nuts``
    mapping it is given, so the model's own ``sampler_config`` cannot be reused for a second run.
    A level geometry's model samples in the settings' coordinates (a rerun may switch them).
    """
    if sampler.geometry in LEVEL_GEOMETRIES:
        mmm.coordinates = sampler.geometry.value
    with _stopped_by(bookmark), _warnings_unless_interrupted(bookmark):
        mmm.fit(d.X, d.y, **sampler.sampler_config())
    all_draws(mmm.idata["posterior"], sampler.chains, sampler.draws)
    return mmm.idata


def build(mmm, d: Design, y=None) -> None:
    """Build ``mmm.model`` on ``d`` as every stage fits it.

    pymc-marketing's ``build_model`` on the design and sales ``y`` (default ``d.y``), then the
    lift tests' likelihood when the design has lift tests (:func:`mmmlab.bayes.lift.add_lift_likelihood`)
    and the deterministic ``channel_contribution_original_scale``.

    Raises
    ------
    UserInputError
        The data have no more periods than the model has free parameters.
    """
    with quiet_pymc_marketing():
        mmm.build_model(d.X, d.y if y is None else y)
        enough_periods(mmm, len(d.X))
        if d.lift is not None:
            add_lift_likelihood(mmm, d.lift)
        mmm.add_original_scale_contribution_variable(var=["channel_contribution", "y"])


def enough_periods(mmm, periods: int) -> None:
    """Refuse data with no more periods than the built model's free parameters (each scalar counts)."""
    parameters = sum(int(value.size) for value in mmm.model.initial_point().values())
    if periods <= parameters:
        raise UserInputError(f"data.path: {periods} periods are too few for the fit's {parameters} parameters; "
                             "use more data, or fewer channels, controls and Fourier modes (fit.model)")


@contextmanager
def _stopped_by(bookmark: int) -> Iterator[None]:
    """Raise Interrupted after the block if a signal arrived since ``bookmark``, also in place of the block's error."""
    try:
        yield
    except Exception:
        interrupts.check(bookmark)  # an error from a library left with what the interrupt cut short
        raise
    interrupts.check(bookmark)


@contextmanager
def _warnings_unless_interrupted(bookmark: int) -> Iterator[None]:
    """Hold the block's warnings back and show them after it, unless a signal arrived.

    A sampler that caught the interrupt warns about the draws it was left with (arviz: "chain
    dimension longer than draw dimension"); those are not news to whoever pressed Ctrl-C.
    """
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:  # the filters in force still decide what is caught
            yield
    finally:
        if interrupts.since(bookmark) is None:
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def all_draws(posterior, chains: int, draws: int) -> None:
    came = (posterior.sizes.get("chain", 0), posterior.sizes.get("draw", 0))
    if came != (chains, draws):
        raise Interrupted(signal.SIGINT)


@contextmanager
def compiled_once() -> Iterator[None]:
    """Inside the block nutpie compiles the sampled model once: a rerun reuses the first compile.

    ``mmm.fit`` compiles through ``pm.sample``, which calls ``nutpie.compile_pymc_model`` on a model
    it rebuilds from ``mmm`` at every call; a rerun samples that same model on the same data with
    other settings (draws, tuning, seed, target_accept are arguments of ``nutpie.sample``, not of
    the compile), so compiling it again only repeats the work. The first compile is kept per set of
    compile arguments and the value variables' names; nutpie's C callbacks come from the disk cache
    when they can (:func:`mmmlab.bayes.callbacks.compile_pymc_model`). The function is restored
    after the block.

    Yields
    ------
    None
    """
    import nutpie

    compile_model, compiled = nutpie.compile_pymc_model, {}

    def once(model, **kwargs):
        key = (tuple(v.name for v in model.value_vars), repr(sorted(kwargs.items())))
        if key not in compiled:
            compiled[key] = callbacks.compile_pymc_model(compile_model, model, **kwargs)
        return compiled[key]

    nutpie.compile_pymc_model = once
    try:
        yield
    finally:
        nutpie.compile_pymc_model = compile_model


@contextmanager
def nuts_assigned_directly() -> Iterator[None]:
    """Inside the block ``pm.sample`` assigns NUTS to a model whose value variables are all continuous without
    differentiating its log-density once per variable first.

    PyMC's ``assign_step_methods`` builds the gradient of the log-density with respect to each value
    variable only to learn that NUTS can take it (1.3-2.5 s of a fit stage here, the level geometry's
    log-density being the whole model's); nutpie then compiles its own gradient, and fails loudly where
    there is none. A model with a discrete variable, or a step given, goes through PyMC's function. The
    function is restored after the block.

    Yields
    ------
    None
    """
    import pymc.sampling.mcmc as mcmc
    from pymc.vartypes import continuous_types

    assign = mcmc.assign_step_methods

    def nuts_for_continuous(model, step=None, methods=None):
        if step is None and all(v.dtype in continuous_types for v in model.value_vars):
            return [], {mcmc.NUTS: list(model.value_vars)}
        return assign(model, step, methods)

    mcmc.assign_step_methods = nuts_for_continuous
    try:
        yield
    finally:
        mcmc.assign_step_methods = assign


@contextmanager
def compiles_kept() -> Iterator[None]:
    """Inside the block PyTensor's compiles leave their generated source in its compile folder
    (:func:`generated_source_kept`) and their rewritten graphs for later processes
    (:func:`mmmlab.rewrite_cache.rewrites_kept`).

    Yields
    ------
    None
    """
    with generated_source_kept(), rewrites_kept():
        yield


@contextmanager
def generated_source_kept() -> Iterator[Path]:
    """PyTensor's generated source goes under its compile folder during the block, not into the temp folder.

    Unless ``pytensor.config.generated_src_dir`` is set, PyTensor writes the Python source of every
    function it compiles with Numba to a new file in the system temp folder and never removes it
    (~35 files a fit). Inside the block the setting points at ``<compiledir>/generated_src``:
    one file per distinct source, reused by later fits and pruned by PyTensor when unused for a
    long time. The setting is restored afterwards (importing this module changes nothing).

    Yields
    ------
    pathlib.Path
        The folder.
    """
    import pytensor

    folder = Path(pytensor.config.compiledir) / GENERATED_SOURCE
    with pytensor.config.change_flags(generated_src_dir=str(folder)):
        yield folder
