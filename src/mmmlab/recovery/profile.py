"""Profile-likelihood intervals for the joint recovery.

Profile likelihood (the default): for one parameter at a time the value is fixed on a grid
that walks outwards from the estimate, every other parameter is re-optimised (warm starts)
and the interval is the set where the extra residual sum of squares stays below the F
quantile (the profile-t interval of nonlinear regression, Bates & Watts 1988)::

    (RSS(value) - RSS_min) / s^2 <= F(level; 1, n - p),   s^2 = RSS_min / (n - p)

which tends to the likelihood-ratio rule ``n log(RSS / RSS_min) <= chi2_1(level)`` for large
``n`` but keeps its coverage when ``p`` is a sizeable share of ``n``, as it is here: a few years
of weekly sales against the media parameters plus every baseline level, multiplier and experiment.

Nothing here reads the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import f as f_dist

from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.projection import k_unit
from mmmlab.recovery.search import PointFit, fit_point, least_squares_fit
from mmmlab.recovery.targets import Interval, Target, targets


class BetterOptimum(Exception):
    """A constrained fit beat the unconstrained optimum: the search missed it; refit from here.

    Parameters
    ----------
    theta : numpy.ndarray
        The better point, a start for the refit.
    """

    def __init__(self, theta):
        super().__init__("better optimum found while profiling")
        self.theta = theta


# --------------------------------------------------------------------------- profile likelihood
@dataclass
class Hold:
    """A target held at a value: the free coordinates of theta, their box and what is fixed.

    Parameters
    ----------
    template : numpy.ndarray
        theta with the held coordinate set; the free ones are the warm start.
    free : numpy.ndarray of bool
        Coordinates left to the optimiser.
    lower, upper : numpy.ndarray
        The box of every coordinate (a held k narrows its decay's).
    k_fixed : dict, optional
        ``{channel index: k}`` when k is held.
    fixed_linear : dict, optional
        ``{linear column: value}`` when alpha is held.
    """

    template: np.ndarray
    free: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    k_fixed: dict | None = None
    fixed_linear: dict | None = None

    def embed(self, z) -> np.ndarray:
        """The full theta from the free coordinates.

        Parameters
        ----------
        z : numpy.ndarray
            Values of the free coordinates.

        Returns
        -------
        numpy.ndarray
        """
        theta = self.template.copy()
        theta[self.free] = z
        return theta


class Profiler:
    """Profile-likelihood intervals around one least-squares optimum.

    Parameters
    ----------
    fit : PointFit
        The optimum.
    level : float
        Interval level.
    strict : bool
        Raise :class:`BetterOptimum` when a constrained fit beats the optimum (else note it and go on).
    """

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
        """The F statistic of a constrained fit's extra residual sum of squares.

        Parameters
        ----------
        rss : float
            The constrained fit's weighted residual sum of squares.

        Returns
        -------
        float
            Compared with :attr:`crit`.
        """
        return (rss - self.fit.rss) / self.s2

    def hold(self, target: Target, value: float, warm: np.ndarray) -> Hold | None:
        """Hold ``target`` at ``value``.

        Parameters
        ----------
        target : Target
        value : float
            In the parameter's own units.
        warm : numpy.ndarray
            theta to start the free coordinates from.

        Returns
        -------
        Hold or None
            None when no decay lets k take that value within its relative bounds.
        """
        layout = self.model.layout
        hold = Hold(warm.copy(), np.ones(len(warm), dtype=bool), layout.lower.copy(), layout.upper.copy())
        if target.kind == "nl":
            linear_scale = target.parameter in ("decay", "gamma", "growth")  # k_rel and multipliers are logs in theta
            hold.template[target.index] = value if linear_scale else np.log(value)
            hold.free[target.index] = False
        elif target.kind == "k":
            j, d = target.index, layout.channel_index(target.index, "decay")
            decays = self.model.decay_range_for_k(j, value)
            if decays is None:
                return None
            hold.lower[d], hold.upper[d] = decays
            if hold.upper[d] - hold.lower[d] < 1e-9:
                hold.template[d] = hold.lower[d]
                hold.free[d] = False
            hold.free[layout.channel_index(j, "log_k_rel")] = False
            hold.k_fixed = {j: value}
        else:
            hold.fixed_linear = {target.index: value}
        return hold

    def constrained(self, target: Target, value: float, warm: np.ndarray):
        """Re-optimise everything but ``target`` held at ``value``.

        Parameters
        ----------
        target : Target
        value : float
        warm : numpy.ndarray
            theta to start from (the previous point of the walk).

        Returns
        -------
        tuple or None
            ``(rss, theta, beta)``, or None when the value is infeasible.
        """
        m = self.model
        hold = self.hold(target, value, warm)
        if hold is None:
            return None
        theta = hold.embed(self._best_constrained(hold).x)
        beta, resid = m.solve(theta, hold.k_fixed, hold.fixed_linear)
        rss = float(resid @ resid)
        if rss < self.fit.rss - self.tolerance:
            full = theta.copy()
            if target.kind == "k":  # k held fixed: theta's k_rel must be set to match
                j = target.index
                median = k_unit(m.media(theta, hold.k_fixed)[0][:, j])
                full[m.layout.channel_index(j, "log_k_rel")] = np.log(value / median)
            if self.strict:
                raise BetterOptimum(full)
            self.better_found = True  # intervals stay valid but conservative (RSS_min is too high)
        return rss, theta, beta

    def _best_constrained(self, hold: Hold):
        """Least squares from the path's warm start and, when that lands outside the interval, from the optimum.

        The profile may jump between branches; a point is only called "outside" after both.
        """
        m, free = self.model, hold.free

        def fun(z):
            return m.residuals(hold.embed(z), hold.k_fixed, hold.fixed_linear)

        def jac(z):
            return m.jacobian(hold.embed(z), hold.k_fixed, hold.fixed_linear)[:, free]

        best = None
        for start in (hold.template, self._anchor(hold.template, free)):
            if best is not None and (2 * best.cost - self.fit.rss) / self.s2 <= self.crit:
                break
            if best is not None and np.allclose(start[free], hold.template[free]):
                break
            self.fits += 1
            res = least_squares_fit(fun, start[free], hold.lower[free], hold.upper[free], jac=jac, max_nfev=200,
                                    tol=1e-7)
            if best is None or res.cost < best.cost:
                best = res
        return best

    def _anchor(self, template, free):
        anchor = template.copy()
        anchor[free] = self.fit.theta[free]
        return anchor

    def _record(self, target, value, dev, theta, beta):
        if target.channel in self.model.channels:
            j = self.model.channels.index(target.channel)
            alpha = value if target.parameter == "alpha" else beta[self.model.alpha_columns[target.channel]]
            gamma = value if target.parameter == "gamma" else theta[self.model.layout.channel_index(j, "gamma")]
            target.path.append((float(value), float(dev), float(alpha), float(gamma)))

    def side(self, target: Target, direction: int) -> tuple[float, bool]:
        """Walk from the estimate to where the deviance crosses the critical value.

        Parameters
        ----------
        target : Target
        direction : int
            +1 upwards, -1 downwards.

        Returns
        -------
        end : float
            The interval's end on that side.
        at_bound : bool
            The end is a search bound or the walk's end, not a crossing.
        """
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
        """The profile interval of ``target``.

        Parameters
        ----------
        target : Target

        Returns
        -------
        Interval
            Always holding the estimate.
        """
        lower, lower_bound = self.side(target, -1)
        upper, upper_bound = self.side(target, +1)
        return Interval(min(lower, target.estimate), max(upper, target.estimate), lower_bound, upper_bound)


def profile_fit(fit: PointFit, spec: RecoverySpec, max_restarts: int = 3, only: set[str] | None = None):
    """Profile every parameter (or those named in ``only``); if profiling finds a better optimum,
    refit from it and start again.

    Parameters
    ----------
    fit : PointFit
    spec : RecoverySpec
        ``level`` and, for refits, the search settings.
    max_restarts : int
        Refits allowed; after them a better optimum is only noted (``search_incomplete``).
    only : set of str, optional
        Parameter names to profile (``{"decay"}``); None: every one.

    Returns
    -------
    fit : PointFit
        The optimum the intervals are around (a refit when profiling found a better one).
    found : list of (Target, Interval)
    info : dict
        ``profile_fits``, ``critical_value``, ``restarts``, ``search_incomplete``.
    """
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
