"""The multi-start least-squares search and the point fit it finds."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.optimize import least_squares
from scipy.stats import qmc

from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.model import JointModel


# --------------------------------------------------------------------------- optimisation
def least_squares_fit(fun, x0, lower, upper, jac="2-point", max_nfev: int | None = None, tol: float = 1e-10):
    """``scipy.optimize.least_squares`` (trust region reflective) with tight tolerances.

    Parameters
    ----------
    fun : callable
        Residuals of the free parameters.
    x0 : numpy.ndarray
        Start; moved just inside the box, where the trust region method may start.
    lower, upper : numpy.ndarray
        The search box.
    jac : callable or str
        Jacobian of ``fun``, or scipy's finite-difference scheme.
    max_nfev : int, optional
        Most residual evaluations.
    tol : float
        ``xtol``, ``ftol`` and ``gtol``.

    Returns
    -------
    scipy.optimize.OptimizeResult
    """
    x0 = np.clip(x0, lower + 1e-10 * (upper - lower), upper - 1e-10 * (upper - lower))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return least_squares(fun, x0, jac=jac, bounds=(lower, upper), method="trf", x_scale="jac",
                             xtol=tol, ftol=tol, gtol=tol, max_nfev=max_nfev)


def space_filling_starts(model: JointModel, n: int, seed: int) -> np.ndarray:
    """A Latin hypercube of ``n`` points in the search box (its centre first).

    Parameters
    ----------
    model : JointModel
    n : int
        Number of points.
    seed : int

    Returns
    -------
    numpy.ndarray, shape (n, len(theta))
    """
    layout = model.layout
    sampler = qmc.LatinHypercube(d=len(layout), seed=np.random.default_rng(seed))
    unit = np.vstack([np.full(len(layout), 0.5), sampler.random(max(n - 1, 0))])
    start = layout.lower + unit * (layout.upper - layout.lower)
    g = layout.growth_index
    if g is not None:  # growth: start flat, the data move it
        start[:, g] = np.clip(0.0, layout.lower[g], layout.upper[g])
    return start


def multistart(model: JointModel, starts: int, screen: int, seed: int, extra: np.ndarray | None = None):
    """Screen a space-filling design by RSS, then run least squares from the best ``starts`` points.

    Parameters
    ----------
    model : JointModel
    starts : int
        Least-squares runs.
    screen : int
        Size of the space-filling design they are chosen from.
    seed : int
    extra : numpy.ndarray, optional
        Another start, run first (a known good point).

    Returns
    -------
    best : scipy.optimize.OptimizeResult
        The lowest cost, polished further.
    results : list of scipy.optimize.OptimizeResult
        Every run.
    """
    lower, upper = model.layout.lower, model.layout.upper
    candidates = space_filling_starts(model, max(screen, starts), seed)
    rss = np.array([model.rss(x) for x in candidates])
    order = np.argsort(rss)[:starts]
    chosen = candidates[order]
    if extra is not None:
        chosen = np.vstack([np.atleast_2d(extra), chosen])
    results = [least_squares_fit(model.residuals, x, lower, upper, jac=model.jacobian, max_nfev=300, tol=1e-8)
               for x in chosen]
    best = min(results, key=lambda r: 2 * r.cost)
    polished = least_squares_fit(model.residuals, best.x, lower, upper, jac=model.jacobian, max_nfev=3000)
    if polished.cost <= best.cost:
        results.append(polished)
        best = polished
    return best, results


@dataclass
class PointFit:
    """The least-squares optimum and what follows from it (no intervals).

    Parameters
    ----------
    model : JointModel
    theta : numpy.ndarray
        The nonlinear parameters at the optimum.
    beta : numpy.ndarray
        The linear coefficients solved at ``theta``.
    rss : float
        Weighted residual sum of squares.
    n_starts : int
        Least-squares runs made.
    n_converged_to_best : int
        Runs that ended at the best cost (within 1e-6): how often the search agrees with itself.
    seconds : float
        Wall time of the search.
    linear_table : pandas.DataFrame
        :func:`linear_table` at the optimum.
    """

    model: JointModel
    theta: np.ndarray
    beta: np.ndarray
    rss: float
    n_starts: int
    n_converged_to_best: int
    seconds: float
    linear_table: pd.DataFrame = field(repr=False)

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom: periods minus every fitted parameter."""
        return self.model.n - self.model.n_params

    @property
    def sigma(self) -> float:
        """Residual sd on the weighted scale (relative noise sd for relative residuals)."""
        return float(np.sqrt(self.rss / self.df_resid))

    def channel_params(self) -> pd.DataFrame:
        """The channels' parameters in the simulator's units.

        Returns
        -------
        pandas.DataFrame
            decay, alpha, gamma, k (spend units), indexed by channel.
        """
        m = self.model
        _, k, _ = m.media(self.theta)
        rows = []
        for j, ch in enumerate(m.channels):
            d, g, _ = self.theta[m.layout.channel_slice(j)]
            rows.append({"channel": ch, "decay": d, "alpha": self.beta[m.alpha_columns[ch]], "gamma": g, "k": k[j]})
        return pd.DataFrame(rows).set_index("channel")

    def components(self) -> pd.DataFrame:
        """Fitted sales split into baseline, experiments and each channel, per period.

        Returns
        -------
        pandas.DataFrame
            See :func:`components`.
        """
        return components(self.model, self.theta, self.beta)

    def fitted(self) -> np.ndarray:
        """Fitted sales.

        Returns
        -------
        numpy.ndarray, shape (periods,)
        """
        return self.components().sum(axis=1).to_numpy()

    def fit_statistics(self) -> dict:
        """How well the optimum fits, and how the search went.

        Returns
        -------
        dict
            r2, mape, rmse, sigma, weighted_rss, sizes and search statistics, as plain numbers.
        """
        y, f = self.model.y, self.fitted()
        resid = y - f
        return {
            "n_periods": int(self.model.n),
            "n_parameters": int(self.model.n_params),
            "n_nonlinear": len(self.model.layout),
            "df_resid": int(self.df_resid),
            "r2": float(1 - resid @ resid / np.sum((y - y.mean()) ** 2)),
            "mape": float(100 * np.mean(np.abs(resid / y))),
            "rmse": float(np.sqrt(np.mean(resid**2))),
            "sigma": self.sigma,
            "weighted_rss": float(self.rss),
            "starts": int(self.n_starts),
            "starts_at_best": int(self.n_converged_to_best),
            "seconds": float(self.seconds),
        }

    def baseline_params(self) -> dict:
        """The baseline's nonlinear parameters.

        Returns
        -------
        dict
            ``growth`` (per period) and each multiplier by its name (``"Economic_Condition[Growth]"``).
        """
        m, out = self.model, {}
        if m.layout.growth_index is not None:
            out["growth"] = float(self.theta[m.layout.growth_index])
        for name, value in zip(m.baseline.multiplier_names, m.layout.log_multipliers(self.theta)):
            out[name.removeprefix("baseline.")] = float(np.exp(value))
        return out


def components(model: JointModel, theta, beta) -> pd.DataFrame:
    """Fitted sales split into baseline, experiments and each channel.

    Parameters
    ----------
    model : JointModel
    theta, beta : numpy.ndarray
        Nonlinear and linear parameters.

    Returns
    -------
    pandas.DataFrame
        One column per part, indexed by date; the columns sum to the fitted sales.
    """
    x = model.design(theta)
    nb = model.n_base_linear
    cols = {"baseline": x[:, :nb] @ beta[:nb]}
    first_exp = nb + model.n_channels
    cols["experiments"] = x[:, first_exp:] @ beta[first_exp:]
    for j, ch in enumerate(model.channels):
        cols[ch] = x[:, nb + j] * beta[nb + j]
    return pd.DataFrame(cols, index=model.dates)


def linear_table(model: JointModel, theta) -> pd.DataFrame:
    """statsmodels WLS of the linear coefficients at ``theta``; standard errors are conditional on theta.

    Parameters
    ----------
    model : JointModel
    theta : numpy.ndarray

    Returns
    -------
    pandas.DataFrame
        ``name``, ``coef``, ``se_conditional`` per linear coefficient.
    """
    x = model.design(theta)
    res = sm.WLS(model.y, x, weights=model.w**2).fit()
    return pd.DataFrame({"name": model.linear_names, "coef": res.params, "se_conditional": res.bse})


def fit_point(model: JointModel, spec: RecoverySpec, extra_start: np.ndarray | None = None) -> PointFit:
    """The multi-start least-squares optimum of ``model``.

    Parameters
    ----------
    model : JointModel
    spec : RecoverySpec
        ``starts``, ``screen`` and ``seed`` of the search.
    extra_start : numpy.ndarray, optional
        A point to start from as well (a better optimum found while profiling).

    Returns
    -------
    PointFit
    """
    t0 = time.perf_counter()
    best, results = multistart(model, spec.starts, spec.screen, spec.seed, extra_start)
    at_best = sum(2 * r.cost <= 2 * best.cost * (1 + 1e-6) + 1e-12 for r in results)
    return point_from(model, best.x, len(results), at_best, time.perf_counter() - t0)


def point_from(model: JointModel, theta, n_starts=1, n_best=1, seconds=0.0) -> PointFit:
    """The :class:`PointFit` at ``theta`` (linear coefficients solved there).

    Parameters
    ----------
    model : JointModel
    theta : array_like
    n_starts, n_best : int
        Search statistics to record.
    seconds : float

    Returns
    -------
    PointFit
    """
    theta = np.asarray(theta, dtype=float)
    beta, resid = model.solve(theta)
    return PointFit(model=model, theta=theta, beta=beta, rss=float(resid @ resid), n_starts=n_starts,
                    n_converged_to_best=n_best, seconds=seconds, linear_table=linear_table(model, theta))
