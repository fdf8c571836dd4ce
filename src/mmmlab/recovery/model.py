"""Classical joint recovery: one nonlinear least-squares fit of the simulator's functional form.

Sales are modelled as

    mu_t = baseline_t + sum_c alpha_c * hill(adstock(spend_c, decay_c), 1, gamma_c, k_c) + sum_e delta_e * z_e(t)

with a multiplicative or additive baseline (:mod:`.design`). Every coefficient that enters linearly
is solved exactly for each trial of the nonlinear ones (variable projection, :mod:`.projection`),
so the search runs only over the nonlinear parameters laid out in :mod:`.layout`. ``k`` is searched
as ``k / median(positive adstocked spend)`` so its bounds follow the data, never the truth.

Nothing in this module reads the truth; bounds and starts come from ``params.yaml`` and the data.
"""

from __future__ import annotations

import copy

import numpy as np

from mmmlab.config.recover import RecoverySpec
from mmmlab.dataset import Dataset
from mmmlab.errors import UserInputError
from mmmlab.recovery.design import baseline_design, experiment_columns
from mmmlab.recovery.layout import parameter_layout
from mmmlab.recovery.projection import Evaluation, frozen, k_unit, media
from mmmlab.transforms import geometric_adstock

CHANNEL_PARAMETERS = ("decay", "alpha", "gamma", "k")  # per channel, in the simulator's units
DECAY_GRID = 191  # decays tried when finding where a k in spend units fits the relative k bounds


class JointModel:
    """One dataset's design and target: maps the nonlinear parameters ``theta`` to weighted residuals.

    Parameters
    ----------
    dataset : Dataset
        Dates, sales, spend and controls.
    spec : RecoverySpec
        The model's form, bounds and residual scale.

    Attributes
    ----------
    layout : ParameterLayout
        Names, positions and bounds of ``theta``.
    baseline : Baseline
        The baseline's columns.
    experiments : Experiments
        The experiment-window columns.
    linear_names : list of str
        Baseline, then one ``"<channel>.alpha"`` per channel, then the experiments: the design's columns.
    alpha_columns : dict
        ``{channel: position of its alpha in linear_names}``.
    y, w, yw : numpy.ndarray
        Sales, residual weights, weighted sales.

    Notes
    -----
    Evaluations and adstock medians are cached per instance; a copy (:meth:`with_target`, pickling
    for a bootstrap worker) starts with empty caches of its own.
    """

    _CACHES = ("_last_evaluation", "_medians")

    def __init__(self, dataset: Dataset, spec: RecoverySpec):
        self.spec = spec
        self.dates, self.channels = dataset.dates, dataset.channels
        self.spend = np.asarray(dataset.spend, dtype=float)
        self.n, self.n_channels = self.spend.shape
        self.t = np.arange(self.n, dtype=float)
        self._weigh(np.asarray(dataset.target, dtype=float))
        self.experiments = experiment_columns(dataset, spec)
        self.baseline = baseline_design(dataset, spec)
        self.layout = parameter_layout(self.channels, spec, self.baseline.growth, self.baseline.multiplier_names)
        self.linear_names = [*self.baseline.names, *(f"{ch}.alpha" for ch in self.channels), *self.experiments.names]
        self.alpha_columns = {ch: self.linear_names.index(f"{ch}.alpha") for ch in self.channels}
        if self.n - self.n_params < 1:
            raise UserInputError(
                f"data.path: {self.n} periods are too few for {self.n_params} parameters; "
                "use fewer baseline terms (recover.baseline) or more data"
            )
        self._fresh_caches()

    def _weigh(self, y: np.ndarray, absolute_weights: np.ndarray | None = None) -> None:
        """Set the target and its weights: ``1 / y`` for relative residuals, else ``absolute_weights``
        (default ``1 / sd(y)``)."""
        relative = self.spec.residuals == "relative"
        if relative and np.any(y <= 0):
            raise UserInputError("recover.residuals: 'relative' needs positive sales; use 'absolute'")
        if relative:
            w = 1.0 / y
        else:
            w = np.full(self.n, 1.0 / np.std(y)) if absolute_weights is None else absolute_weights
        self.y, self.w, self.yw = y, w, y * w

    def _fresh_caches(self) -> None:
        self._last_evaluation = None  # (key, Evaluation): a residual and its Jacobian share one solve
        self._medians: dict = {}  # (channel, decay grid) -> the unit of k

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._CACHES}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._fresh_caches()

    def with_target(self, y) -> JointModel:
        """The same design with other sales (a parametric-bootstrap draw).

        Parameters
        ----------
        y : array_like, shape (periods,)
            The new sales.

        Returns
        -------
        JointModel
            A copy with its own caches; absolute residuals keep this model's weight, so every draw
            is measured on the same scale.
        """
        other = copy.copy(self)  # through __getstate__/__setstate__: fresh caches
        other._weigh(np.asarray(y, dtype=float), absolute_weights=self.w)
        return other

    # ----------------------------------------------------------------- sizes
    @property
    def n_linear(self) -> int:
        """Number of linear coefficients."""
        return len(self.linear_names)

    @property
    def n_base_linear(self) -> int:
        """Number of the baseline's linear coefficients (the first columns of the design)."""
        return len(self.baseline.names)

    @property
    def n_params(self) -> int:
        """Every fitted parameter, linear and nonlinear."""
        return self.n_linear + len(self.layout)

    # ----------------------------------------------------------------- design
    def media(self, theta, k_fixed: dict[int, float] | None = None):
        """Adstock, k and unit-alpha Hill columns of every channel.

        Parameters
        ----------
        theta : numpy.ndarray
        k_fixed : dict, optional
            ``{channel index: k}`` held fixed in spend units.

        Returns
        -------
        adstock : numpy.ndarray, shape (periods, channels)
        k : numpy.ndarray, shape (channels,)
        h : numpy.ndarray, shape (periods, channels)
        """
        m = media(self.spend, theta, k_fixed)
        return m.adstock, m.k, m.h

    def base_factor(self, theta) -> np.ndarray:
        """The multiplicative baseline's growth and multipliers at ``theta``: ``(1 + g)**t * prod m_j`` per period."""
        return self.baseline.factor(self.layout.growth(theta), self.layout.log_multipliers(theta), self.t)

    def columns(self, h: np.ndarray, factor: np.ndarray | None) -> np.ndarray:
        """The design from the media and the baseline factor.

        Parameters
        ----------
        h : numpy.ndarray, shape (periods, channels)
            Unit-alpha Hill columns.
        factor : numpy.ndarray or None
            :meth:`base_factor` (None for the additive baseline).

        Returns
        -------
        numpy.ndarray, shape (periods, n_linear)
            Columns in the order of :attr:`linear_names`.
        """
        parts = []
        if self.baseline.multiplicative:
            parts.append(self.baseline.level_dummies * factor[:, None])
        parts += [self.baseline.additive, h, self.experiments.matrix]
        return np.hstack(parts)

    def design(self, theta, k_fixed=None) -> np.ndarray:
        """The design for one trial of the nonlinear parameters, shape (periods, n_linear).

        Parameters as in :meth:`media`.
        """
        factor = self.base_factor(theta) if self.baseline.multiplicative else None
        return self.columns(self.media(theta, k_fixed)[2], factor)

    # ----------------------------------------------------------------- evaluation
    def evaluate(self, theta, k_fixed=None, fixed_linear=None) -> Evaluation:
        """Solve the linear coefficients for one ``theta`` (cached: residual and Jacobian share it).

        Parameters
        ----------
        theta : array_like
            The nonlinear parameters.
        k_fixed : dict, optional
            ``{channel index: k}`` held fixed in spend units.
        fixed_linear : dict, optional
            ``{linear column: value}`` held fixed.

        Returns
        -------
        Evaluation
        """
        key = (np.asarray(theta, dtype=float).tobytes(), frozen(k_fixed), frozen(fixed_linear))
        if self._last_evaluation is not None and self._last_evaluation[0] == key:
            return self._last_evaluation[1]
        evaluation = Evaluation(self, np.array(theta, dtype=float), k_fixed, fixed_linear)
        self._last_evaluation = (key, evaluation)
        return evaluation

    def solve(self, theta, k_fixed=None, fixed_linear: dict[int, float] | None = None):
        """Linear coefficients by weighted least squares, and the weighted residuals.

        Parameters as in :meth:`evaluate`.

        Returns
        -------
        beta : numpy.ndarray, shape (n_linear,)
        resid : numpy.ndarray, shape (periods,)
        """
        ev = self.evaluate(theta, k_fixed, fixed_linear)
        return ev.beta, ev.resid

    def residuals(self, theta, k_fixed=None, fixed_linear=None) -> np.ndarray:
        """Weighted residuals, shape (periods,), the linear coefficients solved (arguments as in :meth:`evaluate`)."""
        return self.evaluate(theta, k_fixed, fixed_linear).resid

    def jacobian(self, theta, k_fixed=None, fixed_linear=None) -> np.ndarray:
        """The variable-projection Jacobian of :meth:`residuals` with respect to ``theta`` (periods x len(theta))."""
        return self.evaluate(theta, k_fixed, fixed_linear).jacobian()

    def rss(self, theta, k_fixed=None, fixed_linear=None) -> float:
        """Weighted residual sum of squares (arguments as in :meth:`evaluate`)."""
        r = self.residuals(theta, k_fixed, fixed_linear)
        return float(r @ r)

    # ----------------------------------------------------------------- k in spend units
    def median_adstock(self, j: int, decay) -> np.ndarray:
        """The unit of k (:func:`~mmmlab.recovery.projection.k_unit`) of channel ``j`` at each decay in ``decay``.

        Parameters
        ----------
        j : int
            Channel index.
        decay : float or array_like

        Returns
        -------
        numpy.ndarray, shape (len(decay),)
        """
        return np.array([k_unit(geometric_adstock(self.spend[:, j], d)) for d in np.atleast_1d(decay)])

    def decay_range_for_k(self, j: int, k: float) -> tuple[float, float] | None:
        """Decays at which ``k`` (spend units) lies inside the relative k bounds of channel ``j``.

        Parameters
        ----------
        j : int
            Channel index.
        k : float
            Hill half-saturation in spend units.

        Returns
        -------
        tuple of float or None
            The smallest and largest such decay on a grid over the decay bounds; None when there is none.
        """
        lo_d, hi_d = self.spec.decay_bounds
        grid = np.linspace(lo_d, hi_d, DECAY_GRID)
        med = self._median_grid(j, grid)
        ok = (k / med >= self.spec.k_bounds[0] * (1 - 1e-9)) & (k / med <= self.spec.k_bounds[1] * (1 + 1e-9))
        if not ok.any():
            return None
        idx = np.flatnonzero(ok)
        return float(grid[idx[0]]), float(grid[idx[-1]])

    def k_range(self, j: int) -> tuple[float, float]:
        """The smallest and largest k (spend units) the bounds allow for channel ``j``, over every decay."""
        med = self._median_grid(j, np.array(self.spec.decay_bounds))
        return float(self.spec.k_bounds[0] * med[0]), float(self.spec.k_bounds[1] * med[1])

    def _median_grid(self, j: int, grid: np.ndarray) -> np.ndarray:
        key = (j, grid.tobytes())
        if key not in self._medians:
            self._medians[key] = self.median_adstock(j, grid)
        return self._medians[key]
