"""The dataset schema: one loader, used by every stage, for generated and user CSVs alike.

Problems raise :class:`UserInputError` naming the column and the row (rows count from 1
after the header line).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from mmmlab.config import DataSpec
from mmmlab.errors import UserInputError

SPEND_SUFFIX = "_Spend"
# the simulator's truth columns, "<channel>_Impact" and so on (the seed's schema keeps them in the CSV);
# estimating from them would read the answer, so no stage takes one as a channel or a control
TRUTH_SUFFIXES = ("_Decay", "_alpha", "_gamma", "_k", "_Adstocked", "_Impact")
EXPERIMENT_SEPARATOR = "+"  # a period with experiments on two channels is labelled "TV+Digital"


@dataclass(frozen=True)
class Dataset:
    """A validated dataset: dates, target, spend per channel and raw controls.

    Attributes
    ----------
    path : pathlib.Path
        The CSV it was read from.
    dates : pandas.DatetimeIndex
        Start of each period: sorted, distinct, regularly spaced.
    freq : str
        The pandas frequency inferred from ``dates`` (``"MS"``, ``"W-MON"`` ...).
    target_column : str
        The target's column name in the CSV.
    target : numpy.ndarray, shape (periods,)
        The target (sales) per period.
    channels : tuple of str
        Channel names: the spend columns without the ``_Spend`` suffix.
    channel_columns : tuple of str
        The spend columns, in the order of ``channels``.
    spend : numpy.ndarray, shape (periods, channels)
        Spend per period, non-negative, each channel varying.
    controls : pandas.DataFrame
        The control columns (the experiment column among them) as read: float when every
        value is a number, else stripped text.
    content_hash : str
        :func:`content_hash` of the file: the dataset's identity in MLflow.
    """

    path: Path
    dates: pd.DatetimeIndex
    freq: str
    target_column: str
    target: np.ndarray
    channels: tuple[str, ...]
    channel_columns: tuple[str, ...]
    spend: np.ndarray  # (periods, channels)
    controls: pd.DataFrame
    content_hash: str

    @property
    def n_periods(self) -> int:
        """The number of periods (rows)."""
        return len(self.dates)

    @cached_property
    def control_matrix(self) -> pd.DataFrame:
        """Controls as numbers: text columns one-hot encoded against their most frequent level.

        Returns
        -------
        pandas.DataFrame, shape (periods, columns)
            Numeric controls as they are; one 0/1 column ``"<column>[<level>]"`` per other
            level of a text control (the most frequent level, first in sorted order on a tie,
            is the reference and gets no column). No column when there are no controls.
        """
        parts = []
        for column in self.controls:
            values = self.controls[column]
            if pd.api.types.is_numeric_dtype(values):
                parts.append(values.astype(float).rename(column))
                continue
            for level in levels_most_frequent_first(values)[1:]:  # the first is the reference
                parts.append((values == level).astype(float).rename(f"{column}[{level}]"))
        if not parts:
            return pd.DataFrame(index=range(self.n_periods))
        return pd.concat(parts, axis=1)

    def frame(self) -> pd.DataFrame:
        """The columns in use, as a frame with a ``date`` column first.

        Returns
        -------
        pandas.DataFrame
            ``date``, the spend columns, the raw controls, then the target: one row per period.
        """
        spend = pd.DataFrame(self.spend, columns=list(self.channel_columns))
        target = pd.Series(self.target, name=self.target_column)
        return pd.concat([pd.Series(self.dates, name="date"), spend, self.controls, target], axis=1)


def levels_most_frequent_first(values: pd.Series) -> list:
    """The levels of a text column, the reference level first: the one rule for choosing it.

    Parameters
    ----------
    values : pandas.Series
        The column's values.

    Returns
    -------
    list
        The most frequent level first (a tie goes to the alphabetically first of the tied levels),
        then every other level alphabetically. One-hot columns and the recovery's multipliers leave
        out the first, so both measure every other level against the same reference.
    """
    counts = values.value_counts()
    reference = min(counts[counts == counts.max()].index)
    return [reference, *sorted(set(values) - {reference})]


def experiment_indicators(labels: pd.Series, none: str) -> pd.DataFrame:
    """Which channels are under experiment in each period: the one rule for overlapping windows.

    Parameters
    ----------
    labels : pandas.Series
        The experiment column: ``none`` for no experiment, a channel name, or several joined by
        ``EXPERIMENT_SEPARATOR`` when windows overlap (``"TV+Digital"``).
    none : str
        The label meaning "no experiment".

    Returns
    -------
    pandas.DataFrame
        One 0/1 column per name found (sorted), one row per period: a period labelled
        ``"TV+Digital"`` counts for both TV and Digital, never as a level of its own.
    """
    names = [[] if label == none else label.split(EXPERIMENT_SEPARATOR) for label in labels.astype(str)]
    found = sorted({name for row in names for name in row})
    return pd.DataFrame({name: [float(name in row) for row in names] for name in found}, index=labels.index)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes (first 16 hex digits): the dataset's identity in MLflow.

    Parameters
    ----------
    path : pathlib.Path
        The file to hash.

    Returns
    -------
    str
        16 lowercase hex digits.
    """
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load_dataset(spec: DataSpec) -> Dataset:
    """Read and validate the CSV named by ``spec``.

    Parameters
    ----------
    spec : DataSpec
        The ``data`` section: the CSV's path and which columns are the date, the target, the
        channels (default: every ``<channel>_Spend`` column), the controls and the experiment
        column (kept among the controls).

    Returns
    -------
    Dataset
        The columns in use, parsed and checked.

    Raises
    ------
    UserInputError
        Naming the column (and the row, counted from 1 after the header) when the file is
        missing, empty or not a CSV; a named column is missing; a channel or control is one of
        the simulator's truth columns; a value is missing or not a number/date; dates are
        duplicated, unsorted, irregular or fewer than 3; spend is negative or never changes.
    """
    path = spec.path
    if not path.exists():
        raise UserInputError(f"data.path: file not found: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise UserInputError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if raw.empty:
        raise UserInputError(f"{path}: the file has a header but no data rows")

    channel_columns = spec.channels or tuple(c for c in raw.columns if c.endswith(SPEND_SUFFIX))
    if not channel_columns:
        raise UserInputError(f"{path}: no spend columns; name them '<channel>{SPEND_SUFFIX}' or list them in data.channels")
    # the experiment column is named once, as a data role; downstream code sees it among the controls
    added = spec.experiment_column is not None and spec.experiment_column not in spec.controls
    control_columns = spec.controls + ((spec.experiment_column,) if added else ())
    for column, key in [(spec.date, "data.date"), (spec.target, "data.target")] + [
        (c, "data.channels") for c in channel_columns
    ] + [(c, "data.controls") for c in spec.controls] + [(spec.experiment_column, "data.experiments.column")] * added:
        if column not in raw.columns:
            raise UserInputError(f"{path}: column {column!r} ({key}) is missing")

    _refuse_truth_columns(channel_columns, spec.controls)
    dates, freq = _dates(raw[spec.date], spec.date)
    target = _numbers(raw[spec.target], spec.target)
    spend = np.column_stack([_numbers(raw[c], c) for c in channel_columns])
    for j, column in enumerate(channel_columns):
        negative = np.flatnonzero(spend[:, j] < 0)
        if negative.size:
            row = negative[0]
            raise UserInputError(f"column {column}, row {row + 1}: negative spend {spend[row, j]:g}")
        if np.ptp(spend[:, j]) == 0:
            raise UserInputError(f"column {column}: spend never changes (zero variance), so its effect cannot be estimated")
    controls = pd.DataFrame({c: _control(raw[c], c) for c in control_columns})
    return Dataset(
        path=path,
        dates=dates,
        freq=freq,
        target_column=spec.target,
        target=target,
        channels=tuple(c.removesuffix(SPEND_SUFFIX) or c for c in channel_columns),
        channel_columns=tuple(channel_columns),
        spend=spend,
        controls=controls,
        content_hash=content_hash(path),
    )


def _refuse_truth_columns(channel_columns: tuple[str, ...], controls: tuple[str, ...]) -> None:
    """A simulator truth column (``TV_Impact`` beside ``TV_Spend``) named as a channel or control is an error."""
    channels = {c.removesuffix(SPEND_SUFFIX) for c in channel_columns}
    for column, key in [(c, "data.channels") for c in channel_columns] + [(c, "data.controls") for c in controls]:
        for suffix in TRUTH_SUFFIXES:
            if column.endswith(suffix) and column.removesuffix(suffix) in channels:
                raise UserInputError(f"{key}: {column!r} is the simulator's true {suffix[1:]} of channel "
                                     f"{column.removesuffix(suffix)!r}; estimating from it would read the truth")


def _missing(values: pd.Series, column: str) -> None:
    empty = np.flatnonzero(values.str.strip().isin(["", "nan", "NaN", "NA", "N/A", "null"]).to_numpy())
    if empty.size:
        raise UserInputError(f"column {column}, row {empty[0] + 1}: missing value")


def _numbers(values: pd.Series, column: str) -> np.ndarray:
    _missing(values, column)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() | ~np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan)))
    if bad.size:
        raise UserInputError(f"column {column}, row {bad[0] + 1}: {values.iloc[bad[0]]!r} is not a number")
    return numbers.to_numpy(dtype=float)


def _control(values: pd.Series, column: str) -> pd.Series:
    """Numeric when every value is a number, else text levels (text may not be blank)."""
    _missing(values, column)
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.astype(float) if numbers.notna().all() else values.str.strip()


def _dates(values: pd.Series, column: str) -> tuple[pd.DatetimeIndex, str]:
    _missing(values, column)
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise UserInputError(f"column {column}, row {bad[0] + 1}: {values.iloc[bad[0]]!r} is not a date")
    dates = pd.DatetimeIndex(parsed)
    steps = np.diff(dates.values).astype("timedelta64[D]").astype(int)
    for i, step in enumerate(steps):
        if step == 0:
            raise UserInputError(f"column {column}, row {i + 2}: duplicate date {dates[i + 1].date()} (also row {i + 1})")
        if step < 0:
            raise UserInputError(
                f"column {column}, row {i + 2}: {dates[i + 1].date()} comes before row {i + 1}'s {dates[i].date()}; sort by date"
            )
    if len(dates) < 3:
        raise UserInputError(f"column {column}: at least 3 periods are needed, found {len(dates)}")
    freq = pd.infer_freq(dates)
    if freq is None:
        typical = int(np.median(steps))
        row = int(np.flatnonzero(np.abs(steps - typical) > 3)[0]) + 2 if np.any(np.abs(steps - typical) > 3) else 2
        raise UserInputError(f"column {column}, row {row}: dates are not regularly spaced (typical step {typical} days)")
    return dates, freq
