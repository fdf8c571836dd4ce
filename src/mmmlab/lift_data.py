"""Lift-test readouts (``data/lift_tests.csv`` or a user's own), validated against the dataset they calibrate.

One row per experiment: ``channel``, the window's first and last period (``start``, ``end``), the
last period its readout covers (``measure_end``; optional, default ``end``), the channel's spend
over the window without the test (``spend_before``), the test's extra spend over the window
(``extra_spend``: positive for a test that adds spend, negative for one that cuts it), the
measured incremental sales (``lift``; a cut's is usually negative) and its standard error
(``lift_se``). The data's spend is the spend with the test: the change is spread over the window's
periods in proportion to the channel's spend there, which is exact when the test multiplies the
planned spend by one factor (a cut to zero leaves nothing to spread over, so a cut must leave some
spend). Problems raise :class:`UserInputError` naming the row (counted from 1 after the header) and
the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmmlab.config import GENERATED_CSV, GENERATED_LIFT_TESTS, resolve
from mmmlab.dataset import Dataset
from mmmlab.errors import UserInputError

REQUIRED = ("channel", "start", "end", "spend_before", "extra_spend", "lift", "lift_se")
OPTIONAL = ("measure_end",)
DATES = ("start", "end", "measure_end")


@dataclass(frozen=True)
class LiftTests:
    """Lift tests aligned with a dataset's periods.

    Attributes
    ----------
    path : pathlib.Path
        The CSV.
    table : pandas.DataFrame
        The rows as read, dates parsed, ``measure_end`` filled in.
    channel : numpy.ndarray of int, shape (tests,)
        Each test's channel, as a position in the dataset's channels.
    extra : numpy.ndarray, shape (periods, tests)
        Each test's extra spend per period (zero outside its window).
    measured : numpy.ndarray of bool, shape (periods, tests)
        The periods each readout covers: its window and follow-up.
    lift, se : numpy.ndarray, shape (tests,)
        Measured incremental sales and their standard errors.
    """

    path: Path
    table: pd.DataFrame
    channel: np.ndarray
    extra: np.ndarray
    measured: np.ndarray
    lift: np.ndarray
    se: np.ndarray

    @property
    def labels(self) -> list[str]:
        """``"TV 2018-03-01"``: each test by channel and first period."""
        return [f"{c} {s:%Y-%m-%d}" for c, s in zip(self.table["channel"], self.table["start"])]


def chosen_lift_tests(setting: str | None, dataset: Dataset, key: str) -> LiftTests | None:
    """The lift tests ``setting`` names for ``dataset``: ``"auto"`` (the generated readouts when the
    data are the generated CSV and the readouts exist), a CSV path, or None; None when the file
    has no rows."""
    if setting is None:
        return None
    if setting == "auto":  # the readouts generated beside these data (under --out, that folder's)
        path = dataset.path.with_name(Path(GENERATED_LIFT_TESTS).name)
        generated = dataset.path.resolve() == resolve(GENERATED_CSV).resolve()
        tests = load_lift_tests(path, dataset, key) if generated and path.is_file() else None
    else:
        tests = load_lift_tests(resolve(setting), dataset, key)
    return tests if tests is not None and len(tests.lift) else None


def load_lift_tests(path: Path, dataset: Dataset, key: str) -> LiftTests:
    """Read and validate lift tests for ``dataset``.

    Parameters
    ----------
    path : pathlib.Path
        The CSV.
    dataset : Dataset
        The data the tests calibrate: channels, dates, spend.
    key : str
        The params key that named the file, for errors about the file as a whole.

    Returns
    -------
    LiftTests

    Raises
    ------
    UserInputError
        No such file, a missing column, or a bad value (named by row and column): an unknown
        channel, a date that does not parse, a window outside the data or in the wrong order,
        negative spend, no change of spend, extra spend beyond the data's, a cut beyond
        ``spend_before`` or to zero, a non-positive standard error.
    """
    table = _read(path, key)
    dates = dataset.dates
    channels = list(dataset.channels)
    n = len(table)
    channel = np.empty(n, dtype=int)
    extra = np.zeros((len(dates), n))
    measured = np.zeros((len(dates), n), dtype=bool)
    for i, row in enumerate(table.itertuples(index=False)):
        at = f"{path.name} row {i + 1}"
        if row.channel not in channels:
            raise UserInputError(f"{at}, column 'channel': {row.channel!r} is not a channel of the data "
                                 f"({', '.join(channels)})")
        channel[i] = channels.index(row.channel)
        start, end, measure_end = _window(row, at, dates)
        table.loc[i, list(DATES)] = start, end, measure_end
        window = (dates >= start) & (dates <= end)
        values = {c: _number(getattr(row, c), at, c) for c in ("spend_before", "extra_spend", "lift", "lift_se")}
        if values["spend_before"] < 0:
            raise UserInputError(f"{at}, column 'spend_before': {values['spend_before']:g} is negative")
        if not values["lift_se"] > 0:
            raise UserInputError(f"{at}, column 'lift_se': {values['lift_se']:g} is not positive")
        spend = dataset.spend[:, channel[i]] * window
        _check_change(values, spend.sum(), at, row.channel)
        extra[:, i] = spend * values["extra_spend"] / spend.sum()
        measured[:, i] = (dates >= start) & (dates <= measure_end)
    table = table.astype({c: "datetime64[ns]" for c in DATES})
    return LiftTests(path=path, table=table, channel=channel, extra=extra, measured=measured,
                     lift=table["lift"].to_numpy(float), se=table["lift_se"].to_numpy(float))


def _check_change(values: dict[str, float], window_spend: float, at: str, channel: str) -> None:
    """The test's change of spend fits the data: an increase lies within the window's spend, a cut
    within ``spend_before`` and leaves spend in the window to spread it over."""
    change, before = values["extra_spend"], values["spend_before"]
    column = f"{at}, column 'extra_spend'"
    if change == 0:
        raise UserInputError(f"{column}: 0 is no change of spend (positive: the test added spend; negative: it cut it)")
    if change > window_spend * (1 + 1e-9):
        raise UserInputError(f"{column}: {change:g} exceeds {channel}'s spend in the data over the window "
                             f"({window_spend:g}); the data's spend must include the test's")
    if change < 0 and -change > before * (1 + 1e-9):
        raise UserInputError(f"{column}: a cut of {-change:g} exceeds spend_before ({before:g})")
    if change < 0 and not window_spend > 0:
        raise UserInputError(f"{column}: a cut with no spend left in the data over the window cannot be placed "
                             f"in its periods; cut {channel}'s spend to a fraction, not to zero")


def _window(row, at: str, dates: pd.DatetimeIndex) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """``start``, ``end`` and ``measure_end`` of a row, in order and inside the data's periods
    (an empty ``measure_end`` is ``end``)."""
    start, end = _date(row.start, at, "start"), _date(row.end, at, "end")
    measure_end = end if pd.isna(row.measure_end) else _date(row.measure_end, at, "measure_end")
    if end < start:
        raise UserInputError(f"{at}, column 'end': {end:%Y-%m-%d} is before start {start:%Y-%m-%d}")
    if measure_end < end:
        raise UserInputError(f"{at}, column 'measure_end': {measure_end:%Y-%m-%d} is before end {end:%Y-%m-%d}")
    span = f"the data run from {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}"
    if start < dates[0]:
        raise UserInputError(f"{at}, column 'start': {start:%Y-%m-%d} is before the data ({span}); the test's "
                             "spend and its readout must lie inside them")
    if measure_end > dates[-1]:
        column = "measure_end" if end <= dates[-1] else "end"
        raise UserInputError(f"{at}, column {column!r}: {max(end, measure_end):%Y-%m-%d} is after the data ({span}); "
                             "the test's spend and its readout must lie inside them")
    if not ((dates >= start) & (dates <= end)).any():
        raise UserInputError(f"{at}, column 'start': the window {start:%Y-%m-%d} to {end:%Y-%m-%d} holds no period "
                             f"of the data ({span})")
    return start, end, measure_end


def _read(path: Path, key: str) -> pd.DataFrame:
    if not path.is_file():
        raise UserInputError(f"{key}: no lift-test file at {path}")
    try:
        table = pd.read_csv(path, dtype={"channel": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path.name}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise UserInputError(f"{path.name}: no column {missing[0]!r} (a lift-test file has {', '.join(REQUIRED)} "
                             "and optionally measure_end)")
    unknown = [c for c in table.columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise UserInputError(f"{path.name}: unknown column {unknown[0]!r} (a lift-test file has "
                             f"{', '.join(REQUIRED + OPTIONAL)})")
    if "measure_end" not in table.columns:
        table["measure_end"] = table["end"]
    return table.astype({c: object for c in DATES})


def _date(value, at: str, column: str) -> pd.Timestamp:
    try:
        date = pd.Timestamp(str(value))
    except ValueError:
        date = pd.NaT
    if pd.isna(date):
        raise UserInputError(f"{at}, column {column!r}: {value!r} is not a date (write YYYY-MM-DD)")
    return date


def _number(value, at: str, column: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"{at}, column {column!r}: {value!r} is not a number") from None
    if not np.isfinite(number):
        raise UserInputError(f"{at}, column {column!r}: {value!r} is not a finite number")
    return number
