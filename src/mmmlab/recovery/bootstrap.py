"""Parametric-bootstrap intervals for the joint recovery.

New sales from the fitted mean and the fitted (relative) noise, refitted from the estimate and a
few space-filling starts, in parallel on every core; percentile intervals. Every draw is a table
keyed by ``(channel, parameter)``, so a draw is matched to its parameter by name, never by position.

Nothing here reads the truth.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config.recover import RecoverySpec
from mmmlab.errors import UserInputError
from mmmlab.recovery.model import CHANNEL_PARAMETERS, JointModel
from mmmlab.recovery.search import PointFit, least_squares_fit, multistart, point_from
from mmmlab.recovery.targets import Interval, Target, targets

REDRAW_ROUNDS = 100  # with a positive fitted mean each round succeeds with probability > 1/2


# --------------------------------------------------------------------------- simulated sales
def simulated_sales(mu: np.ndarray, sigma: float, model: JointModel,
                    rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One bootstrap draw of sales: the fitted mean plus the fitted noise.

    With relative residuals the noise is ``mu * sigma * eps`` and sales must stay positive (the
    residuals are divided by them). A draw at or below zero is *redrawn*, not clamped: a clamped
    value near zero would get a weight ``1 / y`` large enough to dominate its refit, while a redraw
    samples the noise cut off at zero sales, which the relative model assumes anyway. The redrawn
    periods are counted so the caller can say how often it happened (only when ``sigma`` is large,
    i.e. when relative noise is a poor description of the data). Absolute residuals keep every draw.

    Parameters
    ----------
    mu : numpy.ndarray, shape (periods,)
        Fitted sales.
    sigma : float
        Residual sd on the weighted scale (relative noise sd for relative residuals).
    model : JointModel
        Supplies the residual scale and the absolute weights.
    rng : numpy.random.Generator

    Returns
    -------
    sales : numpy.ndarray, shape (periods,)
    redrawn : int
        Periods whose first draw was not positive.
    """
    eps = rng.standard_normal(model.n)
    if model.spec.residuals != "relative":
        return mu + sigma / model.w * eps, 0
    y = mu * (1.0 + sigma * eps)
    bad = y <= 0
    redrawn = int(bad.sum())
    for _ in range(REDRAW_ROUNDS):
        if not bad.any():
            return y, redrawn
        y[bad] = mu[bad] * (1.0 + sigma * rng.standard_normal(int(bad.sum())))
        bad = y <= 0
    if not bad.any():
        return y, redrawn
    period = int(np.flatnonzero(bad)[0])
    raise UserInputError(f"recover.residuals: relative noise cannot simulate positive sales in period {period + 1} "
                         f"(fitted sales {mu[period]:g}); use 'absolute' residuals for the bootstrap")


# --------------------------------------------------------------------------- one draw
def draw_summary(fit: PointFit) -> tuple[dict, dict]:
    """The values a bootstrap draw reports, by name.

    Parameters
    ----------
    fit : PointFit
        A refit on simulated sales.

    Returns
    -------
    parameters : dict
        ``{(channel, parameter): value}`` for every channel parameter and ``("baseline", name)`` for
        growth and the multipliers: the keys of :func:`~mmmlab.recovery.targets.targets`.
    contributions : dict
        ``{channel: total contribution over the data}``.
    """
    params = fit.channel_params()
    values = {(ch, p): float(params.loc[ch, p]) for ch in fit.model.channels for p in CHANNEL_PARAMETERS}
    values.update({("baseline", name): value for name, value in fit.baseline_params().items()})
    components = fit.components()
    return values, {ch: float(components[ch].sum()) for ch in fit.model.channels}


def _bootstrap_one(args) -> tuple[dict, dict, int]:
    model, spec, theta, mu, sigma, seed = args
    y, redrawn = simulated_sales(mu, sigma, model, np.random.default_rng(seed))
    other = model.with_target(y)
    if spec.bootstrap_starts:
        best, _ = multistart(other, spec.bootstrap_starts, max(8 * spec.bootstrap_starts, 16), int(seed % 2**31),
                             extra=theta)
    else:
        best = least_squares_fit(other.residuals, theta, other.layout.lower, other.layout.upper, jac=other.jacobian,
                                 max_nfev=3000)
    return (*draw_summary(point_from(other, best.x)), redrawn)


# --------------------------------------------------------------------------- every draw
@dataclass
class BootstrapDraws:
    """Refitted values of every draw, by name.

    Parameters
    ----------
    parameters : pandas.DataFrame
        One row per draw, one column per ``(channel, parameter)``.
    contributions : pandas.DataFrame
        One row per draw, one column per channel: its total contribution.
    redrawn : int
        Simulated sales redrawn because they were not positive (see :func:`simulated_sales`).
    n_sales : int
        Simulated sales in all (draws times periods).
    """

    parameters: pd.DataFrame
    contributions: pd.DataFrame
    redrawn: int
    n_sales: int


def bootstrap_draws(fit: PointFit, spec: RecoverySpec) -> BootstrapDraws:
    """Refit ``spec.bootstrap_draws`` simulated datasets, on ``spec.workers`` cores (0: every core).

    Parameters
    ----------
    fit : PointFit
        The estimate: its fitted sales and noise simulate the data, its theta starts every refit.
    spec : RecoverySpec

    Returns
    -------
    BootstrapDraws
    """
    model = fit.model
    mu = fit.fitted()
    seeds = np.random.SeedSequence([spec.seed, 20240601]).generate_state(spec.bootstrap_draws, dtype=np.uint64)
    jobs = [(model, spec, fit.theta, mu, fit.sigma, int(s)) for s in seeds]
    workers = spec.workers or os.cpu_count() or 1
    if workers == 1:
        results = [_bootstrap_one(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_bootstrap_one, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    parameters, contributions, redrawn = zip(*results)
    return BootstrapDraws(pd.DataFrame(list(parameters)), pd.DataFrame(list(contributions)), int(sum(redrawn)),
                          len(jobs) * model.n)


def _interval(target: Target, lo: float, hi: float) -> Interval:
    at_lo = np.isfinite(target.lower_bound) and lo <= target.lower_bound + 1e-6 * max(1.0, abs(target.lower_bound))
    at_hi = np.isfinite(target.upper_bound) and hi >= target.upper_bound - 1e-6 * max(1.0, abs(target.upper_bound))
    return Interval(float(lo), float(hi), bool(at_lo), bool(at_hi))


def bootstrap_fit(fit: PointFit, spec: RecoverySpec):
    """Percentile intervals from the parametric bootstrap.

    Parameters
    ----------
    fit : PointFit
    spec : RecoverySpec
        ``level``, ``bootstrap_draws``, ``bootstrap_starts``, ``workers``, ``seed``.

    Returns
    -------
    fit : PointFit
        Unchanged.
    found : list of (Target, Interval)
    info : dict
        ``bootstrap_draws``, ``bootstrap_redrawn_sales`` (see :func:`simulated_sales`) and
        ``contribution_intervals`` (``{channel: (lower, upper)}`` of the total contribution).

    Warns
    -----
    UserWarning
        Once, when some simulated sales were not positive and were redrawn.
    """
    draws = bootstrap_draws(fit, spec)
    tail = 50 * (1 - spec.level)
    found = []
    for t in targets(fit):
        lo, hi = np.nanpercentile(draws.parameters[(t.channel, t.parameter)].to_numpy(dtype=float), [tail, 100 - tail])
        found.append((t, _interval(t, lo, hi)))
    contribution_intervals = {}
    for ch in fit.model.channels:
        lo, hi = np.nanpercentile(draws.contributions[ch].to_numpy(dtype=float), [tail, 100 - tail])
        contribution_intervals[ch] = (float(lo), float(hi))
    if draws.redrawn:
        warnings.warn(f"bootstrap: {draws.redrawn} of {draws.n_sales} simulated sales came out zero or negative "
                      f"(the fitted relative noise sd, {fit.sigma:.2f}, is large) and were drawn again, so the "
                      "intervals rest on noise cut off at zero sales", UserWarning, stacklevel=2)
    info = {"bootstrap_draws": len(draws.parameters), "bootstrap_redrawn_sales": draws.redrawn,
            "contribution_intervals": contribution_intervals}
    return fit, found, info
