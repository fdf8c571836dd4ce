"""Intervals and identifiability verdicts for the joint recovery.

Profile likelihood (the default): for one parameter at a time the value is fixed on a grid
that walks outwards from the estimate, every other parameter is re-optimised (warm starts)
and the interval is the set where the extra residual sum of squares stays below the F
quantile (the profile-t interval of nonlinear regression, Bates & Watts 1988)::

    (RSS(value) - RSS_min) / s^2 <= F(level; 1, n - p),   s^2 = RSS_min / (n - p)

which tends to the likelihood-ratio rule ``n log(RSS / RSS_min) <= chi2_1(level)`` for large
``n`` but keeps its coverage when ``p`` is a sizeable share of ``n`` (60 rows, 33 parameters).

Parametric bootstrap (the alternative): new sales from the fitted mean and the fitted
(relative) noise, refitted from the estimate and a few space-filling starts, in parallel on
every core; percentile intervals.

Nothing here reads the truth.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import f as f_dist

from mmmlab.recovery import JointModel, PointFit, RecoverySpec, fit_point, least_squares_fit, multistart, point_from

CHANNEL_PARAMETERS = ("decay", "alpha", "gamma", "k")


class BetterOptimum(Exception):
    """A constrained fit beat the unconstrained optimum: the search missed it; refit from here."""

    def __init__(self, theta):
        super().__init__("better optimum found while profiling")
        self.theta = theta


@dataclass
class Target:
    """One parameter to profile: how to hold it fixed and where it may go."""

    channel: str  # channel name or "baseline"
    parameter: str
    kind: str  # "nl" (a coordinate of theta), "k" (Hill k in spend units), "linear" (a linear coefficient)
    index: int
    estimate: float
    lower_bound: float
    upper_bound: float
    log: bool
    step: float  # first step on the working scale
    path: list = field(default_factory=list)  # (value, deviance, alpha, gamma) of every profiled point


@dataclass
class Interval:
    lower: float
    upper: float
    lower_at_bound: bool
    upper_at_bound: bool


# --------------------------------------------------------------------------- targets
def targets(fit: PointFit) -> list[Target]:
    m, spec = fit.model, fit.model.spec
    params = fit.channel_params()
    se = dict(zip(fit.linear_table["name"], fit.linear_table["se_conditional"]))
    out = []
    for j, ch in enumerate(m.channels):
        p = params.loc[ch]
        d_lo, d_hi = spec.decay_bounds
        g_lo, g_hi = spec.gamma_bounds
        k_lo, k_hi = m.k_range(j)
        alpha_step = max(float(se[f"{ch}.alpha"]), 1e-3 * abs(float(p["alpha"])), 1e-9)
        out += [
            Target(ch, "decay", "nl", 3 * j, float(p["decay"]), d_lo, d_hi, False, 0.02 * (d_hi - d_lo)),
            Target(ch, "alpha", "linear", m.alpha_columns[ch], float(p["alpha"]), 0.0 if spec.nonnegative else -np.inf,
                   np.inf, False, alpha_step),
            Target(ch, "gamma", "nl", 3 * j + 1, float(p["gamma"]), g_lo, g_hi, True, 0.03),
            Target(ch, "k", "k", j, float(p["k"]), k_lo, k_hi, True, 0.05),
        ]
    if m.growth_index is not None:
        lo, hi = spec.growth_bounds
        out.append(Target("baseline", "growth", "nl", m.growth_index, float(fit.theta[m.growth_index]), lo, hi, False,
                          0.005 * (hi - lo)))
    for i, name in enumerate(m.mult_names):
        lo, hi = spec.multiplier_bounds
        idx = m.mult_offset + i
        out.append(Target("baseline", name.removeprefix("baseline."), "nl", idx, float(np.exp(fit.theta[idx])), lo, hi,
                          True, 0.01))
    return out


# --------------------------------------------------------------------------- profile likelihood
class Profiler:
    """Profile-likelihood intervals around one least-squares optimum."""

    MAX_STEPS = 10  # doublings: a walk reaches 1023 first steps from the estimate
    BISECTIONS = 3

    def __init__(self, fit: PointFit, level: float, strict: bool = True):
        self.fit, self.model = fit, fit.model
        self.strict, self.better_found = strict, False
        self.df = fit.df_resid
        self.s2 = fit.rss / self.df
        self.crit = float(f_dist.ppf(level, 1, self.df))
        self.tolerance = 1e-7 * fit.rss + 1e-14
        self.fits = 0

    def deviance(self, rss: float) -> float:
        return (rss - self.fit.rss) / self.s2

    def constrained(self, target: Target, value: float, warm: np.ndarray):
        """Re-optimise everything but ``target`` held at ``value``: (rss, theta, beta) or None if infeasible."""
        m = self.model
        lower, upper = m.lower.copy(), m.upper.copy()
        template = warm.copy()
        free = np.ones(len(template), dtype=bool)
        k_fixed, fixed_linear = None, None
        if target.kind == "nl":
            template[target.index] = np.log(value) if target.parameter not in ("decay", "gamma", "growth") else value
            free[target.index] = False
        elif target.kind == "k":
            j = target.index
            decays = m.decay_range_for_k(j, value)
            if decays is None:
                return None
            lower[3 * j], upper[3 * j] = decays
            if upper[3 * j] - lower[3 * j] < 1e-9:
                template[3 * j] = lower[3 * j]
                free[3 * j] = False
            free[3 * j + 2] = False
            k_fixed = {j: value}
        else:
            fixed_linear = {target.index: value}

        def embed(z):
            theta = template.copy()
            theta[free] = z
            return theta

        def fun(z):
            return m.residuals(embed(z), k_fixed, fixed_linear)

        def jac(z):
            return m.jacobian(embed(z), k_fixed, fixed_linear)[:, free]

        # the path's warm start; when that lands outside the interval, also the optimum's values
        # (the profile may jump between branches; a point is only called "outside" after both)
        best = None
        for start in (template, self._anchor(template, free)):
            if best is not None and (2 * best.cost - self.fit.rss) / self.s2 <= self.crit:
                break
            if best is not None and np.allclose(start[free], template[free]):
                break
            self.fits += 1
            res = least_squares_fit(fun, start[free], lower[free], upper[free], jac=jac, max_nfev=200, tol=1e-7)
            if best is None or res.cost < best.cost:
                best = res
        theta = embed(best.x)
        beta, resid = m.solve(theta, k_fixed, fixed_linear)
        rss = float(resid @ resid)
        if rss < self.fit.rss - self.tolerance:
            full = theta.copy()
            if target.kind == "k":  # k held fixed: theta's k_rel must be set to match
                full[3 * target.index + 2] = np.log(value / np.median(m.media(theta, k_fixed)[0][:, target.index]))
            if self.strict:
                raise BetterOptimum(full)
            self.better_found = True  # intervals stay valid but conservative (RSS_min is too high)
        return rss, theta, beta

    def _anchor(self, template, free):
        anchor = template.copy()
        anchor[free] = self.fit.theta[free]
        return anchor

    def _record(self, target, value, dev, theta, beta):
        if target.channel in self.model.channels:
            j = self.model.channels.index(target.channel)
            alpha = value if target.parameter == "alpha" else beta[self.model.alpha_columns[target.channel]]
            gamma = value if target.parameter == "gamma" else theta[3 * j + 1]
            target.path.append((float(value), float(dev), float(alpha), float(gamma)))

    def side(self, target: Target, direction: int) -> tuple[float, bool]:
        """The interval's end on one side and whether it is a search bound (or the walk's end)."""
        to_work = np.log if target.log else (lambda v: v)
        from_work = np.exp if target.log else (lambda u: u)
        bound = target.upper_bound if direction > 0 else target.lower_bound
        if target.estimate <= 0 and target.log:
            return (bound, True)
        u_bound = to_work(bound) if np.isfinite(bound) else direction * np.inf
        u_in, dev_in, warm = to_work(target.estimate), 0.0, self.fit.theta
        if abs(u_bound - u_in) < 1e-12:
            return bound, True
        step = target.step
        for _ in range(self.MAX_STEPS):
            u = u_in + direction * step
            at_bound = (u - u_bound) * direction >= 0
            if at_bound:
                u = u_bound
            out = self.constrained(target, float(from_work(u)), warm)
            if out is None:
                return float(from_work(u_in)), True
            rss, theta, beta = out
            dev = self.deviance(rss)
            self._record(target, from_work(u), dev, theta, beta)
            if dev > self.crit:
                return self._bisect(target, u_in, dev_in, warm, u, dev, from_work), False
            u_in, dev_in, warm = u, dev, theta
            if at_bound:
                return float(bound), True
            step *= 2.0
        return float(from_work(u_in)) if np.isfinite(u_bound) else direction * np.inf, True

    def _bisect(self, target, u_in, dev_in, warm, u_out, dev_out, from_work) -> float:
        for _ in range(self.BISECTIONS):
            u = 0.5 * (u_in + u_out)
            out = self.constrained(target, float(from_work(u)), warm)
            if out is None:
                u_out, dev_out = u, np.inf
                continue
            rss, theta, beta = out
            dev = self.deviance(rss)
            self._record(target, from_work(u), dev, theta, beta)
            if dev > self.crit:
                u_out, dev_out = u, dev
            else:
                u_in, dev_in, warm = u, dev, theta
        if not np.isfinite(dev_out):
            return float(from_work(u_in))
        a, b, c = np.sqrt(max(dev_in, 0.0)), np.sqrt(dev_out), np.sqrt(self.crit)
        u = u_in + (u_out - u_in) * ((c - a) / (b - a) if b > a else 0.5)
        return float(from_work(u))

    def interval(self, target: Target) -> Interval:
        lower, lower_bound = self.side(target, -1)
        upper, upper_bound = self.side(target, +1)
        return Interval(min(lower, target.estimate), max(upper, target.estimate), lower_bound, upper_bound)


def profile_fit(fit: PointFit, spec: RecoverySpec, max_restarts: int = 3, only: set[str] | None = None):
    """Profile every parameter (or those named in ``only``); if profiling finds a better optimum,
    refit from it and start again."""
    restarts = 0
    while True:
        profiler = Profiler(fit, spec.level, strict=restarts < max_restarts)
        try:
            found = [(t, profiler.interval(t)) for t in targets(fit) if only is None or t.parameter in only]
        except BetterOptimum as better:
            restarts += 1
            fit = fit_point(fit.model, spec, extra_start=better.theta)
            continue
        info = {"profile_fits": profiler.fits, "critical_value": profiler.crit, "restarts": restarts,
                "search_incomplete": profiler.better_found}
        return fit, found, info


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


# --------------------------------------------------------------------------- verdicts
def _fmt(parameter: str, value: float) -> str:
    if not np.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if parameter in ("decay", "gamma", "growth") or abs(value) < 10:
        return f"{value:.3g}" if parameter != "growth" else f"{value:.4f}"
    return f"{value:,.0f}"


def verdict(target: Target, interval: Interval, spec: RecoverySpec, level: float) -> tuple[str, str]:
    """('identified' | 'weakly identified' | 'not identified', a sentence in plain words)."""
    name = f"{target.parameter} of {target.channel}"
    pct = f"{100 * level:.0f}%"
    lo, hi = interval.lower, interval.upper
    span = f"{pct} interval {_fmt(target.parameter, lo)}-{_fmt(target.parameter, hi)}"
    ends = []
    if interval.lower_at_bound:
        ends.append("lower")
    if interval.upper_at_bound:
        ends.append("upper")
    reach = f", reaching the {' and '.join(ends)} search bound{'s' if len(ends) == 2 else ''}" if ends else ""
    if target.parameter == "alpha" and lo <= 0 <= hi:
        return "not identified", f"{name}: not identified, the channel's effect is not distinguishable from zero ({span})"
    if target.log or target.parameter == "alpha":
        if lo <= 0 or not np.isfinite(hi):
            share = 1.0
            ratio = np.inf
        else:
            ratio = hi / lo
            full = (np.log(target.upper_bound / target.lower_bound)
                    if np.isfinite(target.upper_bound) and target.lower_bound > 0 else np.inf)
            share = np.log(ratio) / full if np.isfinite(full) else 0.0
        identified = ratio < spec.ratio and not (interval.lower_at_bound or interval.upper_at_bound)
    else:
        width = hi - lo
        share = width / (target.upper_bound - target.lower_bound)
        limit = spec.decay_width if target.parameter == "decay" else spec.decay_width * (target.upper_bound - target.lower_bound)
        # a decay interval may touch 0 (no carry-over) and still be identified
        identified = width < limit and not interval.upper_at_bound
    both = interval.lower_at_bound and interval.upper_at_bound
    if identified:
        return "identified", f"{name}: identified, {_fmt(target.parameter, target.estimate)} ({span})"
    if both or share >= spec.unidentified_share:
        return "not identified", f"{name}: not identified, {span}{reach}"
    return "weakly identified", f"{name}: weakly identified, {_fmt(target.parameter, target.estimate)} ({span}{reach})"


def ratio_only(k_target: Target, k_interval: Interval, alpha_verdict: str, crit: float) -> str | None:
    """'only alpha/k^gamma is identified': k runs to its upper bound while alpha grows with it.

    In the power-law regime of the Hill curve (k far above the adstock) the response is
    ``alpha * (S / k)**gamma``, so only ``alpha / k**gamma`` is pinned down. The sign: along
    the k profile (points inside the interval) alpha rises with k and ``alpha / k**gamma``
    varies far less than alpha itself.
    """
    if not k_interval.upper_at_bound or alpha_verdict == "identified":
        return None
    inside = [(v, a, g) for v, dev, a, g in k_target.path if dev <= crit and a > 0]
    if len(inside) < 3:
        return None
    k, a, g = (np.array(x) for x in zip(*inside))
    if np.corrcoef(np.log(k), np.log(a))[0, 1] < 0.9:
        return None
    combo = a / k**g
    spread_combo = np.log(combo.max() / combo.min())
    spread_alpha = np.log(a.max() / a.min())
    if spread_combo > 0.5 * spread_alpha:
        return None
    return (f"alpha and k of {k_target.channel}: only their ratio alpha/k^gamma is identified "
            f"(k's interval runs to the upper search bound {k_interval.upper:,.0f}; along it alpha moves "
            f"{a.min():,.0f}-{a.max():,.0f} while alpha/k^gamma stays within a factor {np.exp(spread_combo):.2f})")


def uncertainty(fit: PointFit, spec: RecoverySpec):
    """Intervals by ``spec.uncertainty``; returns (fit, estimates frame, notes, info)."""
    t0 = time.perf_counter()
    if spec.uncertainty == "profile":
        fit, found, info = profile_fit(fit, spec)
    elif spec.uncertainty == "bootstrap":
        fit, found, info = bootstrap_fit(fit, spec)
    else:
        found, info = [(t, Interval(np.nan, np.nan, False, False)) for t in targets(fit)], {}
    rows, notes = [], []
    by_channel = {}
    for t, iv in found:
        if spec.uncertainty == "none":
            word, text = "not assessed", f"{t.parameter} of {t.channel}: {_fmt(t.parameter, t.estimate)} (no interval)"
        else:
            word, text = verdict(t, iv, spec, spec.level)
        rows.append({"channel": t.channel, "parameter": t.parameter, "estimate": t.estimate, "lower": iv.lower,
                     "upper": iv.upper, "lower_at_bound": iv.lower_at_bound, "upper_at_bound": iv.upper_at_bound,
                     "search_lower": t.lower_bound, "search_upper": t.upper_bound, "verdict": word, "message": text})
        notes.append(text)
        by_channel.setdefault(t.channel, {})[t.parameter] = (t, iv, word)
    if spec.uncertainty == "profile":
        for ch, items in by_channel.items():
            if "k" in items and "alpha" in items:
                note = ratio_only(items["k"][0], items["k"][1], items["alpha"][2], info["critical_value"])
                if note:
                    notes.append(note)
                    for row in rows:
                        if row["channel"] == ch and row["parameter"] in ("alpha", "k") and row["verdict"] != "identified":
                            row["verdict"] = "only alpha/k^gamma identified"
    info["seconds"] = time.perf_counter() - t0
    return fit, pd.DataFrame(rows), notes, info


@dataclass
class Recovery:
    """Everything the joint recovery produced (no truth involved)."""

    fit: PointFit
    estimates: pd.DataFrame  # channel, parameter, estimate, lower, upper, ..., verdict, message
    notes: list[str]
    info: dict
    seconds: float

    def channel_estimates(self) -> pd.DataFrame:
        return self.estimates[self.estimates["channel"].isin(self.fit.model.channels)].reset_index(drop=True)


def recover(dataset, spec: RecoverySpec) -> Recovery:
    """Fit the joint model to ``dataset`` and attach intervals and verdicts."""
    t0 = time.perf_counter()
    fit = fit_point(JointModel(dataset, spec), spec)
    fit, estimates, notes, info = uncertainty(fit, spec)
    return Recovery(fit, estimates, notes, info, time.perf_counter() - t0)
