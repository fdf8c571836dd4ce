"""Profile-likelihood intervals for the joint recovery.

Profile likelihood (the default): for one parameter at a time the value is fixed on a grid
that walks outwards from the estimate, every other parameter is re-optimised (warm starts)
and the interval is the set where the extra residual sum of squares stays below the F
quantile (the profile-t interval of nonlinear regression, Bates & Watts 1988)::

    (RSS(value) - RSS_min) / s^2 <= F(level; 1, n - p),   s^2 = RSS_min / (n - p)

which tends to the likelihood-ratio rule ``n log(RSS / RSS_min) <= chi2_1(level)`` for large
``n`` but keeps its coverage when ``p`` is a sizeable share of ``n`` (60 rows, 33 parameters).

Nothing here reads the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import f as f_dist

from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.search import PointFit, fit_point, least_squares_fit


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
