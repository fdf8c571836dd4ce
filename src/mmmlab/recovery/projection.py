"""Variable projection: for one trial of the nonlinear parameters, the linear solve, residuals and Jacobian.

Every coefficient that enters linearly (baseline, alpha, experiments) is solved exactly for each
``theta``, so the search runs over the nonlinear parameters only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mmmlab.transforms import geometric_adstock, hill

if TYPE_CHECKING:
    from mmmlab.recovery.model import JointModel


def _svd_solve(a, b):
    """Least squares by SVD (rank-revealing): coefficients and the thin factors of ``a``."""
    u, sv, vt = np.linalg.svd(a, full_matrices=False)
    keep = sv > sv[0] * 1e-12 * max(a.shape)
    u, sv, vt = u[:, keep], sv[keep], vt[keep]
    return vt.T @ ((u.T @ b) / sv), u, sv, vt


def frozen(mapping) -> tuple | None:
    """A hashable, order-free form of a ``{index: value}`` mapping: part of a cache key.

    Parameters
    ----------
    mapping : dict or None

    Returns
    -------
    tuple or None
        Sorted ``(index, value)`` pairs; None when the mapping is empty or None.
    """
    return None if not mapping else tuple(sorted((int(k), float(v)) for k, v in mapping.items()))


@dataclass(frozen=True, eq=False)
class Media:
    """Every channel's adstock and unit-alpha Hill column for one ``theta``.

    Parameters
    ----------
    decay, gamma : numpy.ndarray, shape (channels,)
    adstock : numpy.ndarray, shape (periods, channels)
    median : numpy.ndarray, shape (channels,)
        Median of the positive adstocked spend: the unit of ``k_rel`` (:func:`k_unit`).
    k : numpy.ndarray, shape (channels,)
        Hill half-saturation in spend units (``k_rel * median``, or the value held fixed).
    h : numpy.ndarray, shape (periods, channels)
        ``hill(adstock, 1, gamma, k)``.
    """

    decay: np.ndarray
    gamma: np.ndarray
    adstock: np.ndarray
    median: np.ndarray
    k: np.ndarray
    h: np.ndarray


def k_unit_rows(adstock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose mean is each column's median positive value.

    Parameters
    ----------
    adstock : numpy.ndarray, shape (periods, channels)
        Non-negative adstocked spend; every column has a positive value.

    Returns
    -------
    lo, hi : numpy.ndarray of int, shape (channels,)
        Row indices; equal when a column has an odd number of positive values.
    """
    order = np.argsort(adstock, axis=0, kind="stable")  # zeros first
    positive = (adstock > 0).sum(axis=0)
    start = adstock.shape[0] - positive
    cols = np.arange(adstock.shape[1])
    return order[start + (positive - 1) // 2, cols], order[start + positive // 2, cols]


def k_unit(adstock: np.ndarray) -> np.ndarray:
    """The unit of ``k_rel``: each channel's median positive adstocked spend.

    Zeros are left out so that a flighted channel, dark in most periods, still gets the scale of
    the spend it does have (a median over every period would be 0 and collapse the k bounds).

    Parameters
    ----------
    adstock : numpy.ndarray, shape (periods,) or (periods, channels)

    Returns
    -------
    numpy.ndarray, shape () or (channels,)
    """
    matrix = adstock.reshape(len(adstock), -1)
    lo, hi = k_unit_rows(matrix)
    cols = np.arange(matrix.shape[1])
    unit = 0.5 * (matrix[lo, cols] + matrix[hi, cols])
    return unit.reshape(adstock.shape[1:])


def media(spend: np.ndarray, theta, k_fixed: dict[int, float] | None = None) -> Media:
    """The media columns of ``theta``'s channel blocks.

    Parameters
    ----------
    spend : numpy.ndarray, shape (periods, channels)
    theta : numpy.ndarray
        Nonlinear parameters; the first ``3 * channels`` are (decay, gamma, log k_rel) per channel.
    k_fixed : dict, optional
        ``{channel index: k}`` held at a value in spend units (profiling k), overriding ``k_rel``.

    Returns
    -------
    Media
    """
    c = spend.shape[1]
    block = theta[: 3 * c].reshape(c, 3)
    decay, gamma = block[:, 0], block[:, 1]
    adstock = geometric_adstock(spend, decay)
    median = k_unit(adstock)
    k = np.exp(block[:, 2]) * median
    for j, value in (k_fixed or {}).items():
        k[j] = value
    return Media(decay, gamma, adstock, median, k, hill(adstock, 1.0, gamma, k))


@dataclass(frozen=True, eq=False)
class ActiveSet:
    """The linear least-squares solution over the columns left free.

    Parameters
    ----------
    coef : numpy.ndarray
        Coefficients of the ``active`` columns.
    u, sv, vt : numpy.ndarray
        Thin SVD of the weighted active columns (rank-truncated).
    active : numpy.ndarray of bool
        Columns solved for (neither fixed nor held at zero).
    at_zero : list of int
        Alpha columns held at zero by the constraint alpha >= 0.
    """

    coef: np.ndarray
    u: np.ndarray
    sv: np.ndarray
    vt: np.ndarray
    active: np.ndarray
    at_zero: list[int]


def nonnegative_solve(xw: np.ndarray, yw: np.ndarray, free: np.ndarray, alphas: list[int]) -> ActiveSet:
    """Least squares of ``yw`` on the ``free`` columns of ``xw`` with the ``alphas`` columns kept >= 0.

    A channel cannot lower sales, so an active set runs over the alpha columns: the most negative
    is held at zero and the fit repeated; a held column is released when it would lower the
    residuals again. A column held at zero drops out of the projection exactly as a fixed one does.

    Parameters
    ----------
    xw : numpy.ndarray, shape (periods, linear)
        The weighted design.
    yw : numpy.ndarray, shape (periods,)
        The weighted target (fixed coefficients already subtracted).
    free : numpy.ndarray of bool
        Columns to solve for.
    alphas : list of int
        Free columns that must not be negative (empty: unconstrained).

    Returns
    -------
    ActiveSet
    """
    zero: set[int] = set()
    for _ in range(4 * len(alphas) + 1):
        active = free.copy()
        active[list(zero)] = False
        coef, u, sv, vt = _svd_solve(xw[:, active], yw)
        trial = np.zeros(len(free))
        trial[active] = coef
        negative = [i for i in alphas if active[i] and trial[i] < 0]
        if negative:
            zero.add(min(negative, key=lambda i: trial[i]))
            continue
        resid = yw - u @ (u.T @ yw)
        gains = {i: xw[:, i] @ resid for i in zero}
        release = [i for i, gain in gains.items() if gain > 1e-12 * (1.0 + abs(yw @ yw))]
        if not release:
            break
        zero.remove(max(release, key=gains.get))
    return ActiveSet(coef, u, sv, vt, active, sorted(zero))


class Evaluation:
    """One trial of the nonlinear parameters: design, linear solve (SVD), residuals, Jacobian.

    Parameters
    ----------
    model : JointModel
        The design and the (weighted) target.
    theta : numpy.ndarray
        The nonlinear parameters (see :class:`~mmmlab.recovery.layout.ParameterLayout`).
    k_fixed : dict, optional
        ``{channel index: k}`` held fixed in spend units.
    fixed_linear : dict, optional
        ``{linear column: value}`` held fixed.

    Attributes
    ----------
    beta : numpy.ndarray
        Every linear coefficient (fixed ones included).
    resid : numpy.ndarray
        Weighted residuals.
    x : numpy.ndarray
        The design at ``theta``.
    """

    def __init__(self, model: JointModel, theta, k_fixed=None, fixed_linear=None):
        self.model, self.theta = model, theta
        self.k_fixed = dict(k_fixed or {})
        self.media = media(model.spend, theta, self.k_fixed)
        self.factor = model.base_factor(theta) if model.baseline.multiplicative else None
        self.x = model.columns(self.media.h, self.factor)
        self._solve(fixed_linear or {})

    def _solve(self, fixed_linear: dict[int, float]) -> None:
        m = self.model
        xw = self.x * m.w[:, None]
        yw = m.yw
        beta = np.zeros(m.n_linear)
        free = np.ones(m.n_linear, dtype=bool)
        for i, value in fixed_linear.items():
            yw = yw - xw[:, i] * value
            beta[i] = value
            free[i] = False
        alphas = [i for i in m.alpha_columns.values() if free[i]] if m.spec.nonnegative else []
        solved = nonnegative_solve(xw, yw, free, alphas)
        beta[solved.active] = solved.coef
        self.u, self.sv, self.vt, self.beta, self.free = solved.u, solved.sv, solved.vt, beta, solved.active
        self.at_zero = solved.at_zero
        self.resid = yw - self.u @ (self.u.T @ yw)

    def jacobian(self) -> np.ndarray:
        """d resid / d theta of the variable-projection residuals (Golub-Pereyra, both terms).

        With ``A = W X(theta)`` and ``r = (I - A A+) W y``::

            dr/dtheta_i = -(I - A A+) dA_i beta - (A+)^T dA_i^T r

        Each ``theta_i`` moves one Hill column (channel parameters) or the baseline level columns
        (growth, multipliers), so both terms are built from those columns only.

        Returns
        -------
        numpy.ndarray, shape (periods, len(theta))
        """
        m = self.model
        n_nl = len(m.layout)
        d = np.zeros((m.n, n_nl))  # d (design @ beta) / d theta
        g = np.zeros((n_nl, m.n_linear))  # dA_i^T r
        wr = m.w * self.resid
        self._media_terms(d, g, wr)
        if self.factor is not None:
            self._baseline_terms(d, g, wr)
        dw = d * m.w[:, None]
        first = dw - self.u @ (self.u.T @ dw)
        second = self.u @ ((self.vt @ g[:, self.free].T) / self.sv[:, None])
        return -(first + second)

    def _hill_derivatives(self):
        """d h / d (decay, gamma, log k_rel) per period and channel (k held fixed: no decay-through-k-unit term)."""
        c = self.model.n_channels
        s, h, k, gamma = self.media.adstock, self.media.h, self.media.k, self.media.gamma
        hh = h * (1.0 - h)
        positive = s > 0
        safe = np.where(positive, s, 1.0)
        log_ratio = np.where(positive, np.log(safe) - np.log(k), 0.0)
        dh_ds = np.where(positive, hh * gamma / safe, 0.0)
        # d S / d decay: S_t = X_t + decay * S_{t-1}  =>  dS_t = S_{t-1} + decay * dS_{t-1}
        lagged = np.vstack([np.zeros((1, c)), s[:-1]])
        ds_dd = geometric_adstock(lagged, self.media.decay)
        lo, hi = k_unit_rows(s)
        dmed_dd = 0.5 * (ds_dd[lo, np.arange(c)] + ds_dd[hi, np.arange(c)])
        dh_dlogk = -hh * gamma
        dh_dd = dh_ds * ds_dd
        for j in range(c):
            if j not in self.k_fixed:  # k = k_rel * k_unit(S): a decay moves k through its unit
                dh_dd[:, j] += dh_dlogk[:, j] * dmed_dd[j] / self.media.median[j]
        return dh_dd, hh * log_ratio, dh_dlogk

    def _media_terms(self, d, g, wr) -> None:
        m = self.model
        nb = m.n_base_linear
        dh_dd, dh_dgamma, dh_dlogk = self._hill_derivatives()
        for j in range(m.n_channels):
            blocks = (dh_dd[:, j], dh_dgamma[:, j], dh_dlogk[:, j] if j not in self.k_fixed else None)
            for i, col in enumerate(blocks):
                if col is None:
                    continue
                d[:, 3 * j + i] = col * self.beta[nb + j]
                g[3 * j + i, nb + j] = col @ wr

    def _baseline_terms(self, d, g, wr) -> None:
        m = self.model
        layout, baseline = m.layout, m.baseline
        n_levels = len(baseline.level_names)
        level_beta = baseline.level_dummies @ self.beta[:n_levels]
        derivs = []
        if layout.growth_index is not None:
            derivs.append((layout.growth_index, self.factor * m.t / (1.0 + self.theta[layout.growth_index])))
        index = layout.multiplier_offset
        for multiplier in baseline.multipliers:
            for code in range(1, len(multiplier.levels)):
                derivs.append((index, self.factor * (multiplier.codes == code)))
                index += 1
        for idx, dfactor in derivs:
            d[:, idx] = level_beta * dfactor
            g[idx, :n_levels] = baseline.level_dummies.T @ (dfactor * wr)
