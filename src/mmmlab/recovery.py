"""Classical joint recovery: one nonlinear least-squares fit of the simulator's functional form.

Sales are modelled as

    mu_t = baseline_t + sum_c alpha_c * hill(adstock(spend_c, decay_c), 1, gamma_c, k_c) + sum_e delta_e * z_e(t)

with the baseline either *multiplicative* (the simulator's form)

    baseline_t = (1 + g)**t * prod_j m_j[level_j(t)] * beta[level(t)]

(``g`` the growth per period, ``m_j`` the multipliers of each level of the ``multipliers`` columns
with their most frequent level fixed at 1, ``beta`` one coefficient per level of the ``levels``
column) or *additive* (intercept, linear trend, one-hot controls, optional Fourier terms).

Every coefficient that enters linearly (``beta``, ``alpha``, ``delta``, additive baseline terms) is
solved exactly for each trial of the nonlinear ones (variable projection), so the search runs
only over decay, gamma and k of every channel plus growth and multipliers. ``k`` is searched as
``k / median(adstocked spend)`` so its bounds follow the data, never the truth.

Nothing in this module reads the truth; bounds and starts come from ``params.yaml`` and the data.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.optimize import least_squares
from scipy.stats import qmc

from mmmlab.config import Section, check_number
from mmmlab.dataset import Dataset
from mmmlab.errors import UserInputError
from mmmlab.transforms import geometric_adstock, hill

BASELINES = ("multiplicative", "additive")
UNCERTAINTY = ("profile", "bootstrap", "none")
EXPERIMENT_EFFECTS = ("spend", "level")
RESIDUALS = ("relative", "absolute")


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class RecoverySpec:
    """The ``recover`` section of params.yaml, validated."""

    baseline: str = "multiplicative"
    levels: str | None = "Seasonal_Event"  # multiplicative: one linear coefficient per level
    multipliers: tuple[str, ...] = ("Economic_Condition",)  # multiplicative: one multiplier per level
    trend: bool = True
    fourier: int = 0  # additive: yearly Fourier pairs
    experiment_column: str | None = "Experiment_Channel"
    experiment_none: str = "None"
    experiment_effect: str = "spend"
    residuals: str = "relative"
    nonnegative: bool = True  # alpha >= 0
    decay_bounds: tuple[float, float] = (0.0, 0.95)
    gamma_bounds: tuple[float, float] = (0.3, 3.0)
    k_bounds: tuple[float, float] = (0.1, 10.0)  # times the channel's median adstocked spend
    growth_bounds: tuple[float, float] = (-0.05, 0.05)  # per period
    multiplier_bounds: tuple[float, float] = (0.5, 2.0)
    starts: int = 8
    screen: int = 256
    seed: int = 0
    uncertainty: str = "profile"
    level: float = 0.95
    bootstrap_draws: int = 200
    bootstrap_starts: int = 2
    workers: int = 0  # 0 = every core
    decay_width: float = 0.3  # verdicts: decay interval narrower than this is "identified"
    ratio: float = 2.0  # verdicts: upper/lower below this is "identified" for alpha, gamma, k
    unidentified_share: float = 0.8  # interval covering this share of the search range: "not identified"


def _pair(section: Section, name: str, default, *, lo=None, hi=None, positive=False) -> tuple[float, float]:
    value = section.get(name, list(default))
    key = section.key(name)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise UserInputError(f"{key}: expected [low, high], got {value!r}")
    low = check_number(value[0], f"{key}.0", lo=lo, hi=hi, lo_open=positive)
    high = check_number(value[1], f"{key}.1", lo=lo, hi=hi)
    if high <= low:
        raise UserInputError(f"{key}: high {high:g} is not above low {low:g}")
    return low, high


def _column(section: Section, name: str, default):
    value = section.get(name, default)
    if value is not None and not isinstance(value, str):
        raise UserInputError(f"{section.key(name)}: expected a column name or null, got {value!r}")
    return value


def _flag(section: Section, name: str, default: bool) -> bool:
    value = section.get(name, default)
    if not isinstance(value, bool):
        raise UserInputError(f"{section.key(name)}: expected true or false, got {value!r}")
    return value


def recovery_spec(params: dict) -> RecoverySpec:
    """Validate ``params['recover']``; every error names the key."""
    d = RecoverySpec()
    r = Section(params.get("recover") or {}, "recover")
    b = Section(r.get("baseline", {}) or {}, "recover.baseline")
    e = Section(r.get("experiments", {}) or {}, "recover.experiments")
    bounds = Section(r.get("bounds", {}) or {}, "recover.bounds")
    search = Section(r.get("search", {}) or {}, "recover.search")
    boot = Section(r.get("bootstrap", {}) or {}, "recover.bootstrap")
    verdicts = Section(r.get("verdicts", {}) or {}, "recover.verdicts")
    multipliers = b.get("multipliers", list(d.multipliers)) or []
    if not isinstance(multipliers, list) or not all(isinstance(m, str) for m in multipliers):
        raise UserInputError(f"recover.baseline.multipliers: expected a list of column names, got {multipliers!r}")
    trend = _flag(b, "trend", d.trend)
    return RecoverySpec(
        baseline=b.choice("form", BASELINES, d.baseline),
        levels=_column(b, "levels", d.levels),
        multipliers=tuple(multipliers),
        trend=trend,
        fourier=b.number("fourier", d.fourier, lo=0, hi=6, integer=True),
        experiment_column=_column(e, "column", d.experiment_column),
        experiment_none=str(e.get("none", d.experiment_none)),
        experiment_effect=e.choice("effect", EXPERIMENT_EFFECTS, d.experiment_effect),
        residuals=r.choice("residuals", RESIDUALS, d.residuals),
        nonnegative=_flag(r, "nonnegative_effects", d.nonnegative),
        decay_bounds=_pair(bounds, "decay", d.decay_bounds, lo=0, hi=0.999),
        gamma_bounds=_pair(bounds, "gamma", d.gamma_bounds, lo=0, positive=True),
        k_bounds=_pair(bounds, "k_relative", d.k_bounds, lo=0, positive=True),
        growth_bounds=_pair(bounds, "growth", d.growth_bounds, lo=-0.5, hi=0.5),
        multiplier_bounds=_pair(bounds, "multiplier", d.multiplier_bounds, lo=0, positive=True),
        starts=search.number("starts", d.starts, lo=1, hi=200, integer=True),
        screen=search.number("screen", d.screen, lo=1, hi=100000, integer=True),
        seed=search.number("seed", d.seed, lo=0, integer=True),
        uncertainty=r.choice("uncertainty", UNCERTAINTY, d.uncertainty),
        level=r.number("level", d.level, lo=0.5, hi=1, hi_open=True),
        bootstrap_draws=boot.number("draws", d.bootstrap_draws, lo=10, hi=100000, integer=True),
        bootstrap_starts=boot.number("starts", d.bootstrap_starts, lo=0, hi=100, integer=True),
        workers=boot.number("workers", d.workers, lo=0, hi=256, integer=True),
        decay_width=verdicts.number("decay_width", d.decay_width, lo=0, lo_open=True),
        ratio=verdicts.number("ratio", d.ratio, lo=1, lo_open=True),
        unidentified_share=verdicts.number("unidentified_share", d.unidentified_share, lo=0, hi=1, lo_open=True),
    )


# --------------------------------------------------------------------------- model
def _levels(values: pd.Series) -> tuple[list[str], np.ndarray]:
    """Levels with the most frequent first (ties: alphabetical), and each row's level code."""
    counts = values.value_counts()
    top = counts.max()
    levels = sorted(counts[counts == top].index)[:1]
    levels += sorted(set(values) - set(levels))
    lookup = {level: i for i, level in enumerate(levels)}
    return levels, values.map(lookup).to_numpy(dtype=int)


class JointModel:
    """The design of one dataset: maps the nonlinear parameters to weighted residuals.

    The nonlinear vector ``theta`` holds, per channel, ``decay``, ``gamma`` and ``log k_rel``
    (``k = k_rel * median(adstocked spend)``), then ``growth`` and the log multipliers.
    """

    def __init__(self, dataset: Dataset, spec: RecoverySpec):
        self.spec = spec
        self.dates = dataset.dates
        self.channels = dataset.channels
        self.y = np.asarray(dataset.target, dtype=float)
        self.spend = np.asarray(dataset.spend, dtype=float)
        n, c = self.spend.shape
        self.n, self.n_channels = n, c
        if spec.residuals == "relative" and np.any(self.y <= 0):
            raise UserInputError("recover.residuals: 'relative' needs positive sales; use 'absolute'")
        self.w = 1.0 / self.y if spec.residuals == "relative" else np.full(n, 1.0 / np.std(self.y))
        self.yw = self.y * self.w
        self.t = np.arange(n, dtype=float)
        controls = dataset.controls

        def control(name: str | None, key: str):
            if name is None:
                return None
            if name not in controls.columns:
                known = ", ".join(controls.columns) or "none"
                raise UserInputError(f"{key}: {name!r} is not one of data.controls ({known})")
            return controls[name]

        # experiments: window columns (linear)
        exp_values = control(spec.experiment_column, "recover.experiments.column")
        self.exp_names: list[str] = []
        exp_cols = []
        if exp_values is not None:
            labels = exp_values.astype(str).to_numpy()
            found = sorted({part for lab in labels if lab != spec.experiment_none for part in lab.split("+")})
            for name in found:
                rows = np.array([name in lab.split("+") for lab in labels], dtype=float)
                if spec.experiment_effect == "spend":
                    if name not in self.channels:
                        raise UserInputError(
                            f"recover.experiments.effect: 'spend' needs channel names in {spec.experiment_column}, "
                            f"found {name!r} (use 'level')"
                        )
                    rows = rows * self.spend[:, self.channels.index(name)]
                exp_cols.append(rows)
                self.exp_names.append(f"experiment.{name}")
        self.exp_matrix = np.column_stack(exp_cols) if exp_cols else np.zeros((n, 0))

        # baseline
        self.mult_names: list[str] = []
        self.mult_codes: list[np.ndarray] = []
        self.mult_slices: list[slice] = []
        self.mult_levels: list[list[str]] = []
        if spec.baseline == "multiplicative":
            lv = control(spec.levels, "recover.baseline.levels")
            if lv is None:
                self.level_names, self.level_dummies = ["baseline.level"], np.ones((n, 1))
            else:
                if pd.api.types.is_numeric_dtype(lv):
                    raise UserInputError(f"recover.baseline.levels: column {spec.levels!r} is numeric, not text levels")
                levels, codes = _levels(lv.astype(str))
                self.level_names = [f"baseline.{spec.levels}[{level}]" for level in levels]
                self.level_dummies = (codes[:, None] == np.arange(len(levels))).astype(float)
            pos = 0
            for name in spec.multipliers:
                values = control(name, "recover.baseline.multipliers")
                if pd.api.types.is_numeric_dtype(values):
                    raise UserInputError(f"recover.baseline.multipliers: column {name!r} is numeric, not text levels")
                levels, codes = _levels(values.astype(str))
                self.mult_levels.append(levels)
                self.mult_codes.append(codes)
                self.mult_slices.append(slice(pos, pos + len(levels) - 1))
                self.mult_names += [f"baseline.{name}[{level}]" for level in levels[1:]]
                pos += len(levels) - 1
            self.additive = np.zeros((n, 0))
            self.additive_names: list[str] = []
        else:
            self.level_names, self.level_dummies = [], np.zeros((n, 0))
            used = {spec.experiment_column}
            matrix = dataset.control_matrix
            keep = [c for c in matrix.columns if c.split("[")[0] not in used]
            cols, names = [np.ones(n)], ["baseline.intercept"]
            if spec.trend:
                cols.append(self.t / max(n - 1, 1))
                names.append("baseline.trend")
            for c_name in keep:
                cols.append(matrix[c_name].to_numpy(dtype=float))
                names.append(f"baseline.{c_name}")
            if spec.fourier:
                year = 365.2425
                days = (self.dates - self.dates[0]).days.to_numpy(dtype=float)
                for h in range(1, spec.fourier + 1):
                    cols += [np.sin(2 * np.pi * h * days / year), np.cos(2 * np.pi * h * days / year)]
                    names += [f"baseline.fourier.sin{h}", f"baseline.fourier.cos{h}"]
            self.additive = np.column_stack(cols)
            self.additive_names = names

        # nonlinear parameter layout and bounds
        names, lo, hi = [], [], []
        for ch in self.channels:
            names += [f"{ch}.decay", f"{ch}.gamma", f"{ch}.log_k_rel"]
            lo += [spec.decay_bounds[0], spec.gamma_bounds[0], np.log(spec.k_bounds[0])]
            hi += [spec.decay_bounds[1], spec.gamma_bounds[1], np.log(spec.k_bounds[1])]
        self.growth_index = None
        if spec.baseline == "multiplicative" and spec.trend:
            self.growth_index = len(names)
            names.append("baseline.growth")
            lo.append(spec.growth_bounds[0])
            hi.append(spec.growth_bounds[1])
        self.mult_offset = len(names)
        names += self.mult_names
        lo += [np.log(spec.multiplier_bounds[0])] * len(self.mult_names)
        hi += [np.log(spec.multiplier_bounds[1])] * len(self.mult_names)
        self.nl_names = names
        self.lower, self.upper = np.array(lo, dtype=float), np.array(hi, dtype=float)

        self.linear_names = self.level_names + self.additive_names + [f"{ch}.alpha" for ch in self.channels] + self.exp_names
        self.alpha_columns = {ch: self.linear_names.index(f"{ch}.alpha") for ch in self.channels}
        self.n_linear = len(self.linear_names)
        self.n_base_linear = len(self.level_names) + len(self.additive_names)
        if self.n - self.n_linear - len(self.nl_names) < 1:
            raise UserInputError(
                f"data.path: {self.n} periods are too few for {self.n_linear + len(self.nl_names)} parameters; "
                "use fewer baseline terms (recover.baseline) or more data"
            )

    # ----------------------------------------------------------------- pieces
    @property
    def n_params(self) -> int:
        return self.n_linear + len(self.nl_names)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_last", None)
        return state

    def with_target(self, y) -> JointModel:
        """The same design with other sales (for the parametric bootstrap)."""
        other = object.__new__(JointModel)
        other.__dict__.update(self.__getstate__())
        other.y = np.asarray(y, dtype=float)
        if self.spec.residuals == "relative":
            other.w = 1.0 / other.y
        other.yw = other.y * other.w
        return other

    def channel_slice(self, j: int) -> slice:
        return slice(3 * j, 3 * j + 3)

    def media(self, theta, k_fixed: dict[int, float] | None = None):
        """Adstock, k and unit-alpha Hill columns for every channel: (S, k, H)."""
        c = self.n_channels
        block = theta[: 3 * c].reshape(c, 3)
        decay, gamma = block[:, 0], block[:, 1]
        adstock = geometric_adstock(self.spend, decay)
        k = np.exp(block[:, 2]) * np.median(adstock, axis=0)
        if k_fixed:
            for j, value in k_fixed.items():
                k[j] = value
        return adstock, k, hill(adstock, 1.0, gamma, k)

    def base_factor(self, theta) -> np.ndarray:
        """The multiplicative baseline's growth and multipliers: (1 + g)**t * prod m_j."""
        factor = np.ones(self.n)
        if self.growth_index is not None:
            factor = (1.0 + theta[self.growth_index]) ** self.t
        for codes, sl in zip(self.mult_codes, self.mult_slices):
            logm = np.concatenate([[0.0], theta[self.mult_offset:][sl]])
            factor = factor * np.exp(logm[codes])
        return factor

    def design(self, theta, k_fixed=None) -> np.ndarray:
        """The (periods, linear coefficients) matrix for one trial of the nonlinear parameters."""
        _, _, h = self.media(theta, k_fixed)
        return self._design(theta, h)

    def _design(self, theta, h) -> np.ndarray:
        parts = []
        if self.level_names:
            parts.append(self.level_dummies * self.base_factor(theta)[:, None])
        parts += [self.additive, h, self.exp_matrix]
        return np.hstack(parts)

    def evaluate(self, theta, k_fixed=None, fixed_linear=None) -> "Evaluation":
        """Solve the linear coefficients for one ``theta`` (cached: residual and Jacobian share it)."""
        key = (np.asarray(theta, dtype=float).tobytes(), _frozen(k_fixed), _frozen(fixed_linear))
        cached = self.__dict__.get("_last")
        if cached is not None and cached[0] == key:
            return cached[1]
        ev = Evaluation(self, np.array(theta, dtype=float), k_fixed, fixed_linear)
        self._last = (key, ev)
        return ev

    def solve(self, theta, k_fixed=None, fixed_linear: dict[int, float] | None = None):
        """Linear coefficients by weighted least squares and the weighted residuals."""
        ev = self.evaluate(theta, k_fixed, fixed_linear)
        return ev.beta, ev.resid

    def residuals(self, theta, k_fixed=None, fixed_linear=None) -> np.ndarray:
        return self.evaluate(theta, k_fixed, fixed_linear).resid

    def jacobian(self, theta, k_fixed=None, fixed_linear=None) -> np.ndarray:
        """Kaufman's variable-projection Jacobian of the weighted residuals w.r.t. ``theta``."""
        return self.evaluate(theta, k_fixed, fixed_linear).jacobian()

    def rss(self, theta, k_fixed=None, fixed_linear=None) -> float:
        r = self.residuals(theta, k_fixed, fixed_linear)
        return float(r @ r)

    def median_adstock(self, j: int, decay) -> np.ndarray:
        """Median adstocked spend of channel ``j`` at each decay in ``decay``."""
        return np.array([np.median(geometric_adstock(self.spend[:, j], d)) for d in np.atleast_1d(decay)])

    def decay_range_for_k(self, j: int, k: float) -> tuple[float, float] | None:
        """Decays at which ``k`` lies inside the relative k bounds of channel ``j`` (None: none)."""
        lo_d, hi_d = self.spec.decay_bounds
        grid = np.linspace(lo_d, hi_d, 191)
        med = self._median_grid(j, grid)
        ok = (k / med >= self.spec.k_bounds[0] * (1 - 1e-9)) & (k / med <= self.spec.k_bounds[1] * (1 + 1e-9))
        if not ok.any():
            return None
        idx = np.flatnonzero(ok)
        return float(grid[idx[0]]), float(grid[idx[-1]])

    def k_range(self, j: int) -> tuple[float, float]:
        """The smallest and largest k the bounds allow for channel ``j`` (over every decay)."""
        med = self._median_grid(j, np.array(self.spec.decay_bounds))
        return float(self.spec.k_bounds[0] * med[0]), float(self.spec.k_bounds[1] * med[1])

    def _median_grid(self, j, grid):
        cache = self.__dict__.setdefault("_median_cache", {})
        key = (j, grid.tobytes())
        if key not in cache:
            cache[key] = self.median_adstock(j, grid)
        return cache[key]


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
