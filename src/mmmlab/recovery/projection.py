"""Variable projection: for one trial of the nonlinear parameters, the linear solve, residuals and Jacobian."""

from __future__ import annotations

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


def _frozen(mapping):
    return None if not mapping else tuple(sorted((int(k), float(v)) for k, v in mapping.items()))


class Evaluation:
    """One trial of the nonlinear parameters: design, linear solve (SVD), residuals, Jacobian."""

    def __init__(self, model: JointModel, theta, k_fixed=None, fixed_linear=None):
        self.model, self.theta = model, theta
        self.k_fixed = dict(k_fixed or {})
        m = model
        c = m.n_channels
        block = theta[: 3 * c].reshape(c, 3)
        decay, gamma = block[:, 0], block[:, 1]
        s = geometric_adstock(m.spend, decay)
        med = np.median(s, axis=0)
        k = np.exp(block[:, 2]) * med
        for j, value in self.k_fixed.items():
            k[j] = value
        h = hill(s, 1.0, gamma, k)
        self.adstock, self.median, self.k, self.h, self.decay, self.gamma = s, med, k, h, decay, gamma
        self.factor = m.base_factor(theta) if m.level_names else None
        x = m._design(theta, h)
        self.x = x
        xw = x * m.w[:, None]
        yw = m.yw
        beta = np.zeros(m.n_linear)
        free = np.ones(m.n_linear, dtype=bool)
        for i, value in (fixed_linear or {}).items():
            yw = yw - xw[:, i] * value
            beta[i] = value
            free[i] = False
        # alpha >= 0 (a channel cannot lower sales): an active set over the alpha columns; a column
        # held at zero drops out of the projection exactly as a fixed coefficient does
        alphas = [i for i in m.alpha_columns.values() if free[i]] if m.spec.nonnegative else []
        zero: set[int] = set()
        for _ in range(4 * len(alphas) + 1):
            active = free.copy()
            active[list(zero)] = False
            coef, u, sv, vt = _svd_solve(xw[:, active], yw)
            trial = np.zeros(m.n_linear)
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
        beta[active] = coef
        self.u, self.sv, self.vt, self.beta, self.free = u, sv, vt, beta, active
        self.at_zero = sorted(zero)
        self.resid = yw - u @ (u.T @ yw)

    def jacobian(self) -> np.ndarray:
        """d resid / d theta of the variable-projection residuals (Golub-Pereyra, both terms).

        With ``A = W X(theta)`` and ``r = (I - A A+) W y``::

            dr/dtheta_i = -(I - A A+) dA_i beta - (A+)^T dA_i^T r

        Each ``theta_i`` moves one Hill column (channel parameters) or the baseline level columns
        (growth, multipliers), so both terms are built from those columns only.
        """
        m, n, c = self.model, self.model.n, self.model.n_channels
        n_nl = len(m.nl_names)
        d = np.zeros((n, n_nl))  # d (design @ beta) / d theta
        g = np.zeros((n_nl, m.n_linear))  # dA_i^T r
        wr = m.w * self.resid
        s, h, k, gamma = self.adstock, self.h, self.k, self.gamma
        hh = h * (1.0 - h)
        positive = s > 0
        safe = np.where(positive, s, 1.0)
        log_ratio = np.where(positive, np.log(safe) - np.log(k), 0.0)
        dh_ds = np.where(positive, hh * gamma / safe, 0.0)
        # d S / d decay: S_t = X_t + decay * S_{t-1}  =>  dS_t = S_{t-1} + decay * dS_{t-1}
        lagged = np.vstack([np.zeros((1, c)), s[:-1]])
        ds_dd = geometric_adstock(lagged, self.decay)
        lo, hi = (n - 1) // 2, n // 2
        order = np.argsort(s, axis=0, kind="stable")
        cols = np.arange(c)
        dmed_dd = 0.5 * (ds_dd[order[lo], cols] + ds_dd[order[hi], cols])
        dh_dlogk = -hh * gamma
        dh_dd = dh_ds * ds_dd
        dh_dgamma = hh * log_ratio
        nb = m.n_base_linear
        for j in range(c):
            if j not in self.k_fixed:
                dh_dd[:, j] += dh_dlogk[:, j] * dmed_dd[j] / self.median[j]
            blocks = (dh_dd[:, j], dh_dgamma[:, j], dh_dlogk[:, j] if j not in self.k_fixed else None)
            for i, col in enumerate(blocks):
                if col is None:
                    continue
                d[:, 3 * j + i] = col * self.beta[nb + j]
                g[3 * j + i, nb + j] = col @ wr
        if self.factor is not None:
            nl_levels = len(m.level_names)
            level_beta = m.level_dummies @ self.beta[:nl_levels]
            derivs = []
            if m.growth_index is not None:
                derivs.append((m.growth_index, self.factor * m.t / (1.0 + self.theta[m.growth_index])))
            for codes, sl in zip(m.mult_codes, m.mult_slices):
                for i in range(sl.stop - sl.start):
                    derivs.append((m.mult_offset + sl.start + i, self.factor * (codes == i + 1)))
            for idx, dfactor in derivs:
                d[:, idx] = level_beta * dfactor
                g[idx, :nl_levels] = m.level_dummies.T @ (dfactor * wr)
        dw = d * m.w[:, None]
        first = dw - self.u @ (self.u.T @ dw)
        second = self.u @ ((self.vt @ g[:, self.free].T) / self.sv[:, None])
        return -(first + second)
