"""Parametric-bootstrap intervals for the joint recovery.

New sales from the fitted mean and the fitted
(relative) noise, refitted from the estimate and a few space-filling starts, in parallel on
every core; percentile intervals.

Nothing here reads the truth.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.model import CHANNEL_PARAMETERS
from mmmlab.recovery.profile import Interval, targets
from mmmlab.recovery.search import PointFit, least_squares_fit, multistart, point_from


# --------------------------------------------------------------------------- parametric bootstrap
def _summary_vector(fit: PointFit) -> np.ndarray:
    params = fit.channel_params()
    values = [params.loc[ch, p] for ch in fit.model.channels for p in CHANNEL_PARAMETERS]
    values += list(fit.baseline_params().values())
    contributions = fit.components()
    values += [float(contributions[ch].sum()) for ch in fit.model.channels]
    return np.array(values, dtype=float)


def _bootstrap_one(args) -> np.ndarray:
    model, spec, theta, mu, sigma, seed = args
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal(model.n)
    y = mu * (1.0 + sigma * eps) if spec.residuals == "relative" else mu + sigma / model.w * eps
    if np.any(y <= 0) and spec.residuals == "relative":
        y = np.maximum(y, 1e-6 * np.abs(mu).max())
    other = model.with_target(y)
    if spec.bootstrap_starts:
        best, _ = multistart(other, spec.bootstrap_starts, max(8 * spec.bootstrap_starts, 16), int(seed % 2**31), extra=theta)
    else:
        best = least_squares_fit(other.residuals, theta, other.lower, other.upper, jac=other.jacobian, max_nfev=3000)
    return _summary_vector(point_from(other, best.x))


def bootstrap_draws(fit: PointFit, spec: RecoverySpec) -> np.ndarray:
    """Refitted parameter vectors (draws, parameters), computed on every core."""
    model = fit.model
    mu = fit.fitted()
    seeds = np.random.SeedSequence([spec.seed, 20240601]).generate_state(spec.bootstrap_draws, dtype=np.uint64)
    jobs = [(model, spec, fit.theta, mu, fit.sigma, int(s)) for s in seeds]
    workers = spec.workers or os.cpu_count() or 1
    if workers == 1:
        return np.array([_bootstrap_one(job) for job in jobs])
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return np.array(list(pool.map(_bootstrap_one, jobs, chunksize=max(1, len(jobs) // (4 * workers)))))


def bootstrap_fit(fit: PointFit, spec: RecoverySpec):
    draws = bootstrap_draws(fit, spec)
    tail = 50 * (1 - spec.level)
    lo, hi = np.nanpercentile(draws, [tail, 100 - tail], axis=0)
    found = []
    for i, t in enumerate(targets(fit)):
        at_lo = np.isfinite(t.lower_bound) and lo[i] <= t.lower_bound + 1e-6 * max(1.0, abs(t.lower_bound))
        at_hi = np.isfinite(t.upper_bound) and hi[i] >= t.upper_bound - 1e-6 * max(1.0, abs(t.upper_bound))
        found.append((t, Interval(float(lo[i]), float(hi[i]), bool(at_lo), bool(at_hi))))
    n_par = len(found)
    contrib = draws[:, n_par:]
    contribution_intervals = {
        ch: (float(a), float(b)) for ch, a, b in zip(fit.model.channels, *np.nanpercentile(contrib, [tail, 100 - tail], axis=0))
    }
    return fit, found, {"bootstrap_draws": int(len(draws)), "contribution_intervals": contribution_intervals}
