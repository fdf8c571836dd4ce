"""Whether the data's controls already carry the yearly season, and how many Fourier modes ``auto`` takes.

The simulator's ``Seasonal_Event`` names a holiday in most months, so its levels carry the calendar
and Fourier terms would only duplicate them; a user's file with a few one-off event dummies
carries no season, and without Fourier terms the season lands in the residuals and the media
effects. One rule serves the recovery and the Bayesian fit (``recover.baseline.fourier`` and
``fit.model.yearly_seasonality``, both ``auto`` by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.dataset import Dataset, levels_most_frequent_first

AUTO = "auto"
AUTO_MODES = 2  # yearly Fourier modes when no control carries the season (pymc-marketing's examples use 2)
CALENDAR_MONTHS = 6  # calendar-bound levels in at least this many months of the year carry the season
LEVEL_MONTHS = 2  # a level seen in at most this many months of the year (Easter: March or April) ...
LEVEL_YEARS = 2  # ... and in at least this many years is calendar-bound


@dataclass(frozen=True)
class YearlyModes:
    """The Fourier modes a stage uses and why, in words for the summary."""

    modes: int
    reason: str


def calendar_months(dataset: Dataset) -> dict[str, set[int]]:
    """The months of the year each control's calendar-bound levels fall in.

    A level (a text level other than the reference, or a 0/1 indicator's 1) is calendar-bound when
    it occurs in at least ``LEVEL_YEARS`` years and always within at most ``LEVEL_MONTHS`` months of
    the year: a holiday, not a Markov economy's state or a one-off event. Continuous controls and the
    experiment column never are.

    Parameters
    ----------
    dataset : Dataset

    Returns
    -------
    dict
        Control column -> months (1-12) of its calendar-bound levels; controls without any are left out.
    """
    out: dict[str, set[int]] = {}
    for column in dataset.controls.columns:
        if column == dataset.experiment_column:
            continue
        values = dataset.controls[column]
        if pd.api.types.is_numeric_dtype(values):
            if not set(np.unique(values)) <= {0.0, 1.0}:
                continue
            levels = [values == 1.0]
        else:
            levels = [values == level for level in levels_most_frequent_first(values)[1:]]
        months = set()
        for rows in levels:
            dates = dataset.dates[np.asarray(rows)]
            if dates.year.nunique() >= LEVEL_YEARS and dates.month.nunique() <= LEVEL_MONTHS:
                months |= set(dates.month)
        if months:
            out[column] = months
    return out


def yearly_modes(setting: int | str, dataset: Dataset) -> YearlyModes:
    """The yearly Fourier modes for ``setting`` on ``dataset``.

    Parameters
    ----------
    setting : int or "auto"
        A number is used as it is. ``auto``: none when the controls' calendar-bound levels fall in at
        least ``CALENDAR_MONTHS`` months of the year (they carry the season) or the data span less than
        a year, else ``AUTO_MODES``.
    dataset : Dataset

    Returns
    -------
    YearlyModes
    """
    if setting != AUTO:
        return YearlyModes(int(setting), f"{int(setting)} yearly Fourier modes (set in params)")
    if dataset.dates[-1] - dataset.dates[0] < pd.Timedelta(days=365):
        return YearlyModes(0, "no yearly Fourier modes (auto: the data span less than a year)")
    months = calendar_months(dataset)
    covered = set().union(*months.values()) if months else set()
    if len(covered) >= CALENDAR_MONTHS:
        names = ", ".join(months)
        return YearlyModes(0, f"no yearly Fourier modes (auto: {names} follows the calendar in {len(covered)} months)")
    return YearlyModes(AUTO_MODES, f"{AUTO_MODES} yearly Fourier modes (auto: no control carries the season)")
