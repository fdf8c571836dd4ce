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
    """``scipy.optimize.least_squares`` (trust region reflective) with tight tolerances."""
    x0 = np.clip(x0, lower + 1e-10 * (upper - lower), upper - 1e-10 * (upper - lower))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return least_squares(fun, x0, jac=jac, bounds=(lower, upper), method="trf", x_scale="jac",
                             xtol=tol, ftol=tol, gtol=tol, max_nfev=max_nfev)


def space_filling_starts(model: JointModel, n: int, seed: int) -> np.ndarray:
    """A Latin hypercube of ``n`` points in the search box (plus its centre first)."""
    sampler = qmc.LatinHypercube(d=len(model.lower), seed=np.random.default_rng(seed))
    unit = np.vstack([np.full(len(model.lower), 0.5), sampler.random(max(n - 1, 0))])
    start = model.lower + unit * (model.upper - model.lower)
    if model.growth_index is not None:  # growth: start flat, the data move it
        start[:, model.growth_index] = np.clip(0.0, model.lower[model.growth_index], model.upper[model.growth_index])
    return start


def multistart(model: JointModel, starts: int, screen: int, seed: int, extra: np.ndarray | None = None):
    """Screen a space-filling design by RSS, polish the best ``starts`` points; returns (best, all results)."""
    candidates = space_filling_starts(model, max(screen, starts), seed)
    rss = np.array([model.rss(x) for x in candidates])
    order = np.argsort(rss)[:starts]
    chosen = candidates[order]
    if extra is not None:
        chosen = np.vstack([np.atleast_2d(extra), chosen])
    results = [least_squares_fit(model.residuals, x, model.lower, model.upper, jac=model.jacobian, max_nfev=300, tol=1e-8)
               for x in chosen]
    best = min(results, key=lambda r: 2 * r.cost)
    polished = least_squares_fit(model.residuals, best.x, model.lower, model.upper, jac=model.jacobian, max_nfev=3000)
    if polished.cost <= best.cost:
        results.append(polished)
        best = polished
    return best, results


@dataclass
class PointFit:
    """The least-squares optimum and what follows from it (no intervals)."""

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
        return self.model.n - self.model.n_params

    @property
    def sigma(self) -> float:
        """Residual sd on the weighted scale (relative noise sd for relative residuals)."""
        return float(np.sqrt(self.rss / self.df_resid))

    def channel_params(self) -> pd.DataFrame:
        m = self.model
        _, k, _ = m.media(self.theta)
        rows = []
        for j, ch in enumerate(m.channels):
            d, g, _ = self.theta[m.channel_slice(j)]
            rows.append({"channel": ch, "decay": d, "alpha": self.beta[m.alpha_columns[ch]], "gamma": g, "k": k[j]})
        return pd.DataFrame(rows).set_index("channel")

    def components(self) -> pd.DataFrame:
        """Fitted sales split into baseline, experiments and each channel, per period."""
        return components(self.model, self.theta, self.beta)

    def fitted(self) -> np.ndarray:
        return self.components().sum(axis=1).to_numpy()

    def fit_statistics(self) -> dict:
        y, f = self.model.y, self.fitted()
        resid = y - f
        return {
            "n_periods": int(self.model.n),
            "n_parameters": int(self.model.n_params),
            "n_nonlinear": int(len(self.model.nl_names)),
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
        m, out = self.model, {}
        if m.growth_index is not None:
            out["growth"] = float(self.theta[m.growth_index])
        for name, value in zip(m.mult_names, self.theta[m.mult_offset:]):
            out[name.removeprefix("baseline.")] = float(np.exp(value))
        return out


def components(model: JointModel, theta, beta) -> pd.DataFrame:
    x = model.design(theta)
    nb = model.n_base_linear
    cols = {"baseline": x[:, :nb] @ beta[:nb]}
    first_exp = nb + model.n_channels
    cols["experiments"] = x[:, first_exp:] @ beta[first_exp:]
    for j, ch in enumerate(model.channels):
        cols[ch] = x[:, nb + j] * beta[nb + j]
    return pd.DataFrame(cols, index=model.dates)


def linear_table(model: JointModel, theta) -> pd.DataFrame:
    """statsmodels WLS of the linear coefficients at the optimum; standard errors are conditional on theta."""
    x = model.design(theta)
    res = sm.WLS(model.y, x, weights=model.w**2).fit()
    return pd.DataFrame({"name": model.linear_names, "coef": res.params, "se_conditional": res.bse})


def fit_point(model: JointModel, spec: RecoverySpec, extra_start: np.ndarray | None = None) -> PointFit:
    """The multi-start least-squares optimum of ``model``."""
    t0 = time.perf_counter()
    best, results = multistart(model, spec.starts, spec.screen, spec.seed, extra_start)
    return point_from(model, best.x, len(results), sum(2 * r.cost <= 2 * best.cost * (1 + 1e-6) + 1e-12 for r in results),
                      time.perf_counter() - t0)


def point_from(model: JointModel, theta, n_starts=1, n_best=1, seconds=0.0) -> PointFit:
    theta = np.asarray(theta, dtype=float)
    beta, resid = model.solve(theta)
    return PointFit(model=model, theta=theta, beta=beta, rss=float(resid @ resid), n_starts=n_starts,
                    n_converged_to_best=n_best, seconds=seconds, linear_table=linear_table(model, theta))
