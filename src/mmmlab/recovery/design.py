"""The design's fixed columns: experiment windows and the baseline, built once from the controls.

The baseline is either *multiplicative* (the simulator's form)::

    baseline_t = (1 + g)**t * prod_j m_j[level_j(t)] * beta[level(t)]

(``g`` the growth per period, ``m_j`` the multipliers of each level of the ``multipliers`` columns
with their reference level fixed at 1, ``beta`` one coefficient per level of the ``levels`` column)
or *additive* (intercept, linear trend, one-hot controls, optional Fourier terms). Reference levels
and overlapping experiment windows follow the dataset's rules (:mod:`mmmlab.dataset`), so the
recovery and every other stage read the same data the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config.recover import RecoverySpec
from mmmlab.dataset import Dataset, experiment_windows, levels_most_frequent_first, window_channel
from mmmlab.errors import UserInputError
from mmmlab.seasonality import yearly_modes

YEAR_DAYS = 365.2425


# --------------------------------------------------------------------------- controls
def control_column(controls: pd.DataFrame, name: str | None, key: str) -> pd.Series | None:
    """The control called ``name`` (None for None); an unknown name is an error naming ``key``.

    Parameters
    ----------
    controls : pandas.DataFrame
        The dataset's controls.
    name : str or None
        The column asked for by ``key`` in params.yaml.
    key : str
        The params key, for the error message.

    Returns
    -------
    pandas.Series or None
    """
    if name is None:
        return None
    if name not in controls.columns:
        known = ", ".join(controls.columns) or "none"
        hint = "; for data without such a column set recover.baseline.form: additive" if key.startswith(
            "recover.baseline.") else ""
        raise UserInputError(f"{key}: {name!r} is not one of data.controls ({known}){hint}")
    return controls[name]


def text_levels(controls: pd.DataFrame, name: str, key: str) -> tuple[list[str], np.ndarray]:
    """The levels of a text control, reference first, and each period's level code.

    Parameters
    ----------
    controls : pandas.DataFrame
        The dataset's controls.
    name : str
        A text column of ``controls``.
    key : str
        The params key naming it, for error messages.

    Returns
    -------
    levels : list of str
        :func:`mmmlab.dataset.levels_most_frequent_first`: code 0 is the reference level.
    codes : numpy.ndarray of int, shape (periods,)
        Each period's position in ``levels``.
    """
    values = control_column(controls, name, key)
    if pd.api.types.is_numeric_dtype(values):
        raise UserInputError(f"{key}: column {name!r} is numeric, not text levels")
    values = values.astype(str)
    levels = levels_most_frequent_first(values)
    lookup = {level: i for i, level in enumerate(levels)}
    return levels, values.map(lookup).to_numpy(dtype=int)


# --------------------------------------------------------------------------- experiments
@dataclass(frozen=True, eq=False)
class Experiments:
    """Experiment-window columns: their coefficients enter linearly.

    Parameters
    ----------
    names : tuple of str
        ``"experiment.<name>"`` per column.
    matrix : numpy.ndarray, shape (periods, len(names))
        The window indicator, times the channel's spend when the effect is ``"spend"``.
    """

    names: tuple[str, ...]
    matrix: np.ndarray


def experiment_columns(dataset: Dataset, spec: RecoverySpec) -> Experiments:
    """One column per experiment window in the dataset's experiment column (none without one).

    A period labelled ``"TV+Digital"`` counts for both channels; a channel's separate windows get a column
    each (:func:`mmmlab.dataset.experiment_windows`).

    Parameters
    ----------
    dataset : Dataset
    spec : RecoverySpec
        ``experiment_none`` and ``experiment_effect`` are read.

    Returns
    -------
    Experiments
    """
    n = dataset.n_periods
    labels = control_column(dataset.controls, dataset.experiment_column, "data.experiments.column")
    if labels is None:
        return Experiments((), np.zeros((n, 0)))
    windows = experiment_windows(labels, spec.experiment_none)
    columns = []
    for window in windows.columns:
        rows = windows[window].to_numpy(dtype=float)
        if spec.experiment_effect == "spend":
            channel = window_channel(window)
            if channel not in dataset.channels:
                raise UserInputError(
                    f"recover.experiments.effect: 'spend' needs channel names in {dataset.experiment_column}, "
                    f"found {channel!r} (use 'level')"
                )
            rows = rows * np.asarray(dataset.spend, dtype=float)[:, dataset.channels.index(channel)]
        columns.append(rows)
    matrix = np.column_stack(columns) if columns else np.zeros((n, 0))
    return Experiments(tuple(f"experiment.{window}" for window in windows.columns), matrix)


# --------------------------------------------------------------------------- baseline
@dataclass(frozen=True, eq=False)
class Multiplier:
    """A text column whose levels multiply the baseline; its reference level is fixed at 1.

    Parameters
    ----------
    column : str
        The control's name.
    levels : tuple of str
        Its levels, reference first.
    codes : numpy.ndarray of int
        Each period's position in ``levels``.
    """

    column: str
    levels: tuple[str, ...]
    codes: np.ndarray

    @property
    def names(self) -> list[str]:
        """One parameter name per non-reference level."""
        return [f"baseline.{self.column}[{level}]" for level in self.levels[1:]]


@dataclass(frozen=True, eq=False)
class Baseline:
    """The baseline's part of the design: multiplicative (level columns scaled by a factor) or additive.

    Parameters
    ----------
    level_names : tuple of str
        Multiplicative: one linear coefficient per level of ``levels``; empty for the additive form.
    level_dummies : numpy.ndarray, shape (periods, len(level_names))
        Each period's level as 0/1 columns.
    growth : bool
        Multiplicative: the factor holds a growth per period ``(1 + g)**t``.
    multipliers : tuple of Multiplier
        Multiplicative: columns whose levels multiply the baseline.
    additive_names : tuple of str
        Additive: names of the fixed columns; empty for the multiplicative form.
    additive : numpy.ndarray, shape (periods, len(additive_names))
        Additive: intercept, trend, controls, Fourier terms.
    """

    level_names: tuple[str, ...]
    level_dummies: np.ndarray
    growth: bool
    multipliers: tuple[Multiplier, ...]
    additive_names: tuple[str, ...]
    additive: np.ndarray

    @property
    def multiplicative(self) -> bool:
        """Whether the level columns are scaled by a growth-and-multiplier factor."""
        return bool(self.level_names)

    @property
    def names(self) -> list[str]:
        """Names of the baseline's linear coefficients, in design order."""
        return [*self.level_names, *self.additive_names]

    @property
    def multiplier_names(self) -> list[str]:
        """Names of the multipliers, in ``theta`` order."""
        return [name for m in self.multipliers for name in m.names]

    def factor(self, growth, log_multipliers, t) -> np.ndarray:
        """The multiplicative factor ``(1 + g)**t * prod_j m_j[level_j(t)]``.

        Parameters
        ----------
        growth : float or None
            Growth per period (None: no growth).
        log_multipliers : numpy.ndarray
            Log multipliers in the order of :attr:`multiplier_names`.
        t : numpy.ndarray
            Period index 0, 1, ...

        Returns
        -------
        numpy.ndarray, shape (periods,)
        """
        factor = np.ones(len(t))
        if growth is not None:
            factor = (1.0 + growth) ** t
        start = 0
        for m in self.multipliers:
            stop = start + len(m.levels) - 1
            logm = np.concatenate([[0.0], log_multipliers[start:stop]])  # the reference level's multiplier is 1
            factor = factor * np.exp(logm[m.codes])
            start = stop
        return factor


def multiplicative_baseline(dataset: Dataset, spec: RecoverySpec) -> Baseline:
    """The simulator's baseline form: levels of ``spec.levels``, growth if ``spec.trend``, ``spec.multipliers``."""
    n = dataset.n_periods
    if spec.levels is None:
        level_names, dummies = ("baseline.level",), np.ones((n, 1))
    else:
        levels, codes = text_levels(dataset.controls, spec.levels, "recover.baseline.levels")
        level_names = tuple(f"baseline.{spec.levels}[{level}]" for level in levels)
        dummies = (codes[:, None] == np.arange(len(levels))).astype(float)
    multipliers = []
    for name in spec.multipliers:
        levels, codes = text_levels(dataset.controls, name, "recover.baseline.multipliers")
        multipliers.append(Multiplier(name, tuple(levels), codes))
    return Baseline(level_names, dummies, spec.trend, tuple(multipliers), (), np.zeros((n, 0)))


def additive_baseline(dataset: Dataset, spec: RecoverySpec) -> Baseline:
    """Intercept, a linear trend if ``spec.trend``, every control but the experiment column, yearly Fourier pairs
    (``spec.fourier``, ``auto`` read by :func:`mmmlab.seasonality.yearly_modes`)."""
    n = dataset.n_periods
    matrix = dataset.control_matrix
    # the experiment column has its own columns (Experiments); a one-hot copy would duplicate them
    keep = [c for c in matrix.columns if c.split("[")[0] != dataset.experiment_column]
    columns, names = [np.ones(n)], ["baseline.intercept"]
    if spec.trend:
        columns.append(np.arange(n, dtype=float) / max(n - 1, 1))
        names.append("baseline.trend")
    for name in keep:
        columns.append(matrix[name].to_numpy(dtype=float))
        names.append(f"baseline.{name}")
    modes = yearly_modes(spec.fourier, dataset).modes
    if modes:
        days = (dataset.dates - dataset.dates[0]).days.to_numpy(dtype=float)
        for h in range(1, modes + 1):
            columns += [np.sin(2 * np.pi * h * days / YEAR_DAYS), np.cos(2 * np.pi * h * days / YEAR_DAYS)]
            names += [f"baseline.fourier.sin{h}", f"baseline.fourier.cos{h}"]
    return Baseline((), np.zeros((n, 0)), False, (), tuple(names), np.column_stack(columns))


def baseline_design(dataset: Dataset, spec: RecoverySpec) -> Baseline:
    """The baseline of ``spec.baseline``'s form: :func:`multiplicative_baseline` or :func:`additive_baseline`."""
    if spec.baseline == "multiplicative":
        return multiplicative_baseline(dataset, spec)
    return additive_baseline(dataset, spec)
