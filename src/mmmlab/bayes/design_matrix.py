"""The model's inputs: spend per channel, scaled controls and a trend, in pymc-marketing's layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config.fit import ModelSpec
from mmmlab.dataset import Dataset, experiment_windows, window_channel
from mmmlab.errors import UserInputError
from mmmlab.lift_data import LiftTests
from mmmlab.seasonality import YearlyModes, yearly_modes

DATE = "date"
TARGET = "y"
TREND = "trend"


@dataclass(frozen=True)
class Design:
    """The model's inputs: X (date, spend per channel, scaled controls) and y, in pymc-marketing's layout.

    Attributes
    ----------
    X : pandas.DataFrame
        ``date``, one spend column per channel, then the controls, each divided by its max |value|.
    y : pandas.Series
        The target, named ``y``.
    channels : tuple of str
        The channel (spend) columns of ``X``.
    controls : tuple of str
        The control columns of ``X`` (all-zero columns are left out).
    control_scale : dict of str to float
        What each control column was divided by (its max |value|).
    seasonality : YearlyModes
        The yearly Fourier modes of ``fit.model.yearly_seasonality`` on these data, and why.
    lift : LiftTests or None
        Lift tests that calibrate the fit (:func:`mmmlab.bayes.lift.add_lift_likelihood`).
    """

    X: pd.DataFrame
    y: pd.Series
    channels: tuple[str, ...]
    controls: tuple[str, ...]
    control_scale: dict[str, float]
    seasonality: YearlyModes
    lift: LiftTests | None = None


def design(dataset: Dataset, model: ModelSpec, lift: LiftTests | None = None) -> Design:
    """Spend per channel, the controls as numbers and a 0..1 trend, each control divided by its max |value|.

    Parameters
    ----------
    dataset : Dataset
        The validated data.
    model : ModelSpec
        Which controls (``controls``, None for all), whether to add a trend, how experiment windows
        act (``experiment_effect``) and the yearly Fourier modes (``yearly_seasonality``). The
        experiment column is the dataset's (``dataset.experiment_column``).
    lift : LiftTests, optional
        Lift tests of these data (:func:`mmmlab.lift_data.load_lift_tests`), kept in the design.

    Returns
    -------
    Design
        Text controls are one-hot encoded against their most frequent level, except the experiment
        column: one column per experiment window (``"<column>[<channel>]"``, ``"<column>[TV #2]"`` for a
        channel's second separate window), where a period labelled ``"TV+Digital"`` is in the TV window
        and in the Digital window (:func:`mmmlab.dataset.experiment_windows`); with
        ``experiment_effect`` "spend" each window is multiplied by its own channel's spend.

    Raises
    ------
    UserInputError
        A wanted control is not among the dataset's controls.
    """
    wanted = model.controls if model.controls is not None else tuple(dataset.controls.columns)
    unknown = [c for c in wanted if c not in dataset.controls.columns]
    if unknown:
        raise UserInputError(f"fit.model.controls: {unknown[0]!r} is not among data.controls ({', '.join(dataset.controls) or 'none'})")
    X = pd.DataFrame({DATE: dataset.dates})
    for j, name in enumerate(dataset.channels):
        X[name] = dataset.spend[:, j]
    matrix = dataset.control_matrix
    blocks = []
    for column in dataset.controls.columns:  # the data's column order, whatever the order of ``wanted``
        if column not in wanted:
            continue
        own = [c for c in matrix.columns if c == column or c.startswith(f"{column}[")]
        if column == dataset.experiment_column and own != [column]:  # a text column: channel names
            blocks.append(_experiment_windows(dataset, column, model.experiment_none, model.experiment_effect))
        else:
            blocks.append(matrix[own])
    controls = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=range(dataset.n_periods))
    if model.trend:
        controls[TREND] = np.arange(dataset.n_periods) / max(dataset.n_periods - 1, 1)
    scale = {c: float(np.abs(controls[c]).max()) for c in controls.columns}
    kept = [c for c in controls.columns if scale[c] > 0]  # an all-zero column carries no information
    for c in kept:
        X[c] = controls[c].to_numpy() / scale[c]
    return Design(X=X, y=pd.Series(dataset.target, name=TARGET), channels=tuple(dataset.channels),
                  controls=tuple(kept), control_scale={c: scale[c] for c in kept},
                  seasonality=yearly_modes(model.yearly_seasonality, dataset), lift=lift)


def _experiment_windows(dataset: Dataset, column: str, none: str, effect: str) -> pd.DataFrame:
    """One column per experiment window (:func:`mmmlab.dataset.experiment_windows`)."""
    windows = experiment_windows(dataset.controls[column].astype(str), none)
    if effect == "spend":
        for window in windows:  # the window's effect grows with the channel's spend
            channel = window_channel(window)
            if channel in dataset.channels:
                windows[window] = windows[window].to_numpy() * dataset.spend[:, dataset.channels.index(channel)]
    return windows.add_prefix(f"{column}[").add_suffix("]").set_axis(range(dataset.n_periods))
