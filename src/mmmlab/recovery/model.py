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

import numpy as np
import pandas as pd

from mmmlab.config.recover import RecoverySpec
from mmmlab.dataset import Dataset
from mmmlab.errors import UserInputError
from mmmlab.recovery.projection import Evaluation, _frozen
from mmmlab.transforms import geometric_adstock, hill

CHANNEL_PARAMETERS = ("decay", "alpha", "gamma", "k")  # per channel, in the simulator's units

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






















