"""The dataset schema: one loader, used by every stage, for generated and user CSVs alike.

Problems raise :class:`UserInputError` naming the column and the row (rows count from 1
after the header line).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
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
WINDOW_MARK = " #"  # the second of two separate TV windows is "TV #2"
# no sales or spend per period reaches a quadrillion in any currency unit: a larger number (1e308, inf) is a
# broken export or a unit mistake, and would overflow the later stages' arithmetic
MAX_AMOUNT = 1e15
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}  # the ones a header is checked for
BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f]")  # control bytes no text file has (tabs, newlines, form feeds aside)
NUMERIC_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})")  # 01/02/2020, 1.2.20 ...
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")  # 12,000 or 1,234.5
DECIMAL_COMMA = re.compile(r"[+-]?(\d+|\d{1,3}(\.\d{3})+),\d+")  # 1234,5 or 1.234,5


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
    experiment_column : str or None
        The experiment column in use (among ``controls``): None when ``data.experiments.column``
        is null or the file has no such column.
    notices : tuple of str
        One-line notes for the user about how the file was read (an absent experiment column).
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
    experiment_column: str | None = None
    notices: tuple[str, ...] = ()

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


def experiment_windows(labels: pd.Series, none: str) -> pd.DataFrame:
    """One 0/1 column per experiment window: a run of consecutive periods whose label names a channel.

    A channel tested in one window keeps its name as the column's; one tested in several separate
    windows gets ``"<name> #1"``, ``"<name> #2"``, ... in time order, so that each test has an effect
    of its own (two tests of one channel need not move sales alike beyond the channel's curve). Overlaps
    follow :func:`experiment_indicators`; :func:`window_channel` maps a column back to its channel.
    """
    columns = {}
    for name, rows in experiment_indicators(labels, none).items():
        on = rows.to_numpy()
        run = np.cumsum(np.diff(on, prepend=0.0) > 0) * on  # 1, 2, ... per window, 0 outside
        if run.max() == 1:
            columns[name] = on
        else:
            columns.update({f"{name}{WINDOW_MARK}{i}": (run == i).astype(float) for i in range(1, int(run.max()) + 1)})
    return pd.DataFrame(columns, index=labels.index)


def window_channel(window: str) -> str:
    """The channel an :func:`experiment_windows` column tests (``"TV #2"`` -> ``"TV"``)."""
    name, mark, number = window.rpartition(WINDOW_MARK)
    return name if mark and number.isdigit() else window


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
        The ``data`` section: the CSV's path, encoding, separator and date format, and which
        columns are the date, the target, the channels (default: every ``<channel>_Spend``
        column), the controls and the experiment column (kept among the controls; absent from
        the file: none, with a notice).

    Returns
    -------
    Dataset
        The columns in use, parsed and checked.

    Raises
    ------
    UserInputError
        One line naming the column (and the row, counted from 1 after the header), the line or
        the byte when the file is missing, empty, binary, not in ``spec.encoding`` or not a CSV
        (a header that looks separated by another character says so); a named column is
        missing; a channel or control is one of the simulator's truth columns; a value is
        missing or not a number/date (a decimal comma, thousands separators or day-first
        dates are pointed out); a number is not finite or beyond ``MAX_AMOUNT``; dates repeat
        as in a geo panel (one row per geo and date), are ambiguous (regular read month-first
        and day-first), duplicated, unsorted, irregular or fewer than 3; spend is negative or
        never changes.

    Notes
    -----
    Every number (target, spend, numeric control) must be finite and at most ``MAX_AMOUNT``
    = 1e15 in absolute value: no sales or spend per period reaches a quadrillion in any
    currency unit, so a larger number is a broken export or a unit mistake. Inferred dates
    written nn/nn/yyyy are read month-first; day-first dates need ``data.date_format``. The
    model is national: a geo panel must be summed per date first.
    """
    raw, header = _read(spec)
    channel_columns, control_columns, experiment_column = _roles(raw, header, spec)
    _refuse_truth_columns(channel_columns, spec.controls)
    dates, freq = _dates(raw, spec)
    notices = ()
    if spec.experiment_column is not None and experiment_column is None:
        absent = f"data.experiments.column: no column {spec.experiment_column!r} in the file"
        notices = (f"{absent}, so no experiment effects are modelled",)
    return Dataset(
        path=spec.path,
        dates=dates,
        freq=freq,
        target_column=spec.target,
        target=_numbers(raw[spec.target], spec.target),
        channels=tuple(c.removesuffix(SPEND_SUFFIX) or c for c in channel_columns),
        channel_columns=channel_columns,
        spend=_spend(raw, channel_columns),
        controls=pd.DataFrame({c: _control(raw[c], c) for c in control_columns}),
        content_hash=content_hash(spec.path),
        experiment_column=experiment_column,
        notices=notices,
    )


def _read(spec: DataSpec) -> tuple[pd.DataFrame, str]:
    """The CSV as text cells, and its header line."""
    path = spec.path
    if not path.exists():
        raise UserInputError(f"data.path: file not found: {path}")
    text = _text(path, spec.encoding)
    header = next((line for line in text.splitlines() if line.strip()), "")
    other = _other_separator(header, spec.separator)
    if other is not None and spec.separator not in header:
        raise UserInputError(f"{path}: the header has one column {header!r}: {_separator_hint(other, spec.separator)}")
    try:
        raw = pd.read_csv(io.StringIO(text), sep=spec.separator, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise UserInputError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if raw.empty:
        raise UserInputError(f"{path}: the file has a header but no data rows")
    return raw, header


def _text(path: Path, encoding: str) -> str:
    """The file decoded; binary content or a byte the encoding lacks is an error naming where it is."""
    data = path.read_bytes()
    if not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):  # whose text has NUL bytes
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise UserInputError(f"{path}: the file is UTF-16 text; save it as UTF-8 or set data.encoding: utf-16")
        binary = BINARY.search(data)
        if binary:
            raise UserInputError(f"{path}: not a text CSV file (binary content at byte {binary.start()})")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserInputError(f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not {encoding}; "
                             "save the file as UTF-8 or set data.encoding (e.g. latin-1)") from None
    return text.removeprefix("\ufeff")  # the byte order mark Excel writes


def _other_separator(header: str, separator: str, column: str | None = None) -> str | None:
    """A common separator other than ``separator`` that splits ``header`` (into a field ``column``, if given)."""
    for other in SEPARATORS:  # in order: a set would make the choice vary between runs
        fields = [field.strip().strip('"') for field in header.split(other)]
        if other != separator and len(fields) > 1 and (column is None or column in fields):
            return other
    return None


def _separator_hint(other: str, separator: str) -> str:
    """What to do about a file separated by ``other`` instead of ``separator``."""
    written = '"\\t"' if other == "\t" else repr(other)  # as params.yaml spells it: a tab needs double quotes
    return (f"the file looks {written}-separated; set data.separator: {written} "
            f"(or save it {SEPARATORS.get(separator, repr(separator))}-separated)")


def _roles(raw: pd.DataFrame, header: str, spec: DataSpec) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """The channel columns, the control columns and the experiment column in use; a named column missing is an error."""
    channel_columns = spec.channels or tuple(c for c in raw.columns if c.endswith(SPEND_SUFFIX))
    if not channel_columns:
        raise UserInputError(f"{spec.path}: no spend columns; "
                             f"name them '<channel>{SPEND_SUFFIX}' or list them in data.channels")
    named = [(spec.date, "data.date"), (spec.target, "data.target")] + [
        (c, "data.channels") for c in channel_columns] + [(c, "data.controls") for c in spec.controls]
    for column, key in named:
        if column not in raw.columns:
            message = f"{spec.path}: column {column!r} ({key}) is missing"
            other = _other_separator(header, spec.separator, column)
            raise UserInputError(message if other is None else f"{message}; {_separator_hint(other, spec.separator)}")
    # the experiment column is named once, as a data role; downstream code sees it among the controls
    experiment = spec.experiment_column if spec.experiment_column in set(raw.columns) else None
    added = (experiment,) if experiment is not None and experiment not in spec.controls else ()
    return tuple(channel_columns), spec.controls + added, experiment


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
    bad = np.flatnonzero(numbers.isna().to_numpy())
    if bad.size:
        text = values.iloc[bad[0]]
        raise UserInputError(f"column {column}, row {bad[0] + 1}: {text!r} is not a number{_number_hint(text.strip())}")
    numbers = numbers.to_numpy(dtype=float)
    _check_amounts(numbers, column)
    return numbers


def _number_hint(text: str) -> str:
    """A hint for a number written with thousands separators or a decimal comma, else ``""``."""
    if THOUSANDS.fullmatch(text):
        return f" (thousands separators? write {text.replace(',', '')})"
    if DECIMAL_COMMA.fullmatch(text):
        return f" (decimal comma? write {text.replace('.', '').replace(',', '.')})"
    return ""


def _check_amounts(numbers: np.ndarray, column: str) -> None:
    """Every number finite and at most ``MAX_AMOUNT`` in absolute value, else an error naming the row."""
    beyond = np.flatnonzero(~(np.abs(numbers) <= MAX_AMOUNT))
    if beyond.size:
        row = beyond[0]
        limit = f"{MAX_AMOUNT:.0e}".replace("e+", "e")  # 1e15
        raise UserInputError(f"column {column}, row {row + 1}: {numbers[row]:g} is beyond the largest amount "
                             f"the lab accepts ({limit})")


def _spend(raw: pd.DataFrame, channel_columns: tuple[str, ...]) -> np.ndarray:
    """Spend per period and channel: numbers, non-negative, each channel varying."""
    spend = np.column_stack([_numbers(raw[c], c) for c in channel_columns])
    for j, column in enumerate(channel_columns):
        negative = np.flatnonzero(spend[:, j] < 0)
        if negative.size:
            row = negative[0]
            raise UserInputError(f"column {column}, row {row + 1}: negative spend {spend[row, j]:g}")
        if np.ptp(spend[:, j]) == 0:
            raise UserInputError(f"column {column}: spend never changes (zero variance), "
                                 "so its effect cannot be estimated")
    return spend


def _control(values: pd.Series, column: str) -> pd.Series:
    """Numeric when every value is a number, else text levels (text may not be blank)."""
    _missing(values, column)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        return values.str.strip()
    _check_amounts(numbers.to_numpy(dtype=float), column)
    return numbers.astype(float)


def _dates(raw: pd.DataFrame, spec: DataSpec) -> tuple[pd.DatetimeIndex, str]:
    """The dates and their frequency, read with ``data.date_format`` or inferred.

    Inferred, nn/nn/yyyy dates are read month-first; dates regular only when read day-first, or
    regular both ways, are an error saying so: day-first is never guessed.
    """
    column = spec.date
    values = raw[column].str.strip()
    _missing(values, column)
    _refuse_geo_panel(raw, spec)
    if spec.date_format is not None:
        return _read_dates(raw, spec, spec.date_format)
    formats = _numeric_formats(values)
    if formats is None:
        return _read_dates(raw, spec, "mixed")
    month_first, day_first = formats
    try:
        _read_dates(raw, spec, day_first)
    except UserInputError:
        return _read_dates(raw, spec, month_first)
    try:
        _read_dates(raw, spec, month_first)
    except UserInputError:
        example = next((v for v in values if int(NUMERIC_DATE.fullmatch(v)[1]) > 12), values.iloc[1])
        written = day_first.replace("%d", "dd").replace("%m", "mm").replace("%Y", "yyyy").replace("%y", "yy")
        raise UserInputError(f"column {column}: dates look day-first ({written}, e.g. {example!r}); "
                             f"set data.date_format: '{day_first}' or write ISO dates (yyyy-mm-dd)") from None
    raise UserInputError(f"column {column}: dates such as {values.iloc[1]!r} are regular read either month-first "
                         f"or day-first; set data.date_format: '{month_first}' or '{day_first}', or write ISO dates "
                         "(yyyy-mm-dd)")


def _numeric_formats(values: pd.Series) -> tuple[str, str] | None:
    """``(month-first, day-first)`` formats when every date is written nn<sep>nn<sep>yyyy (or yy) alike, else None."""
    matches = [NUMERIC_DATE.fullmatch(value) for value in values]
    if not all(matches):
        return None
    shapes = {(m[2], "%Y" if len(m[4]) == 4 else "%y") for m in matches}
    if len(shapes) > 1:
        return None
    separator, year = shapes.pop()
    return f"%m{separator}%d{separator}{year}", f"%d{separator}%m{separator}{year}"


def _read_dates(raw: pd.DataFrame, spec: DataSpec, date_format: str) -> tuple[pd.DatetimeIndex, str]:
    """The dates read with ``date_format`` (``"mixed"``: any form) and their frequency, checked."""
    column = spec.date
    values = raw[column].str.strip()
    try:
        parsed = pd.to_datetime(values, errors="coerce", format=date_format)
    except ValueError as exc:  # a bad directive
        raise UserInputError(f"data.date_format: {date_format!r} is not a date format ({exc})") from None
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        problem = "is not a date" if spec.date_format is None else f"does not match data.date_format {date_format!r}"
        raise UserInputError(f"column {column}, row {bad[0] + 1}: {values.iloc[bad[0]]!r} {problem}")
    dates = pd.DatetimeIndex(parsed)
    return dates, _regular(dates, column)


def _refuse_geo_panel(raw: pd.DataFrame, spec: DataSpec) -> None:
    """Every date repeated G > 1 times, with a column taking G values, each once per date: a geo panel."""
    dates = raw[spec.date].str.strip()
    per_date = dates.value_counts()
    repeats = per_date.iloc[0]
    if repeats < 2 or (per_date != repeats).any():
        return
    for column in raw.columns:
        values = raw[column]
        if values.nunique() == repeats and (values.groupby(dates).nunique() == repeats).all():
            raise UserInputError(f"{spec.path}: column {column!r} has {repeats} values for each date: this looks "
                                 "like a geo panel; the lab's model is national-level: sum the rows per date "
                                 f"(e.g. df.groupby({spec.date!r}).sum()) and drop {column!r}")


def _regular(dates: pd.DatetimeIndex, column: str) -> str:
    """The frequency of ``dates``; duplicated, unsorted, irregular or fewer than 3 dates are an error."""
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
    return freq
