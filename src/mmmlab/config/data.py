"""The ``data`` section: where the dataset is and which columns play which role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmmlab.config.loading import resolve
from mmmlab.config.section import Section, defaults
from mmmlab.errors import UserInputError

GENERATED_CSV = "data/mmm_data.csv"  # the simulator's outputs (DVC outs of the generate stage)


GENERATED_TRUTH = "data/truth.json"


GENERATED_COLUMNS = {  # how the generated CSV maps onto the dataset roles (see the data section)
    "date": "Date",
    "target": "Total_Sales",
    "channels": None,
    "controls": ["Economic_Condition", "Seasonal_Event"],
    "experiments": {"column": "Experiment_Channel", "none": "None"},
}


# --------------------------------------------------------------------------- dataset spec
@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """Where the dataset is and which columns play which role.

    Only how the file is written (``encoding``, ``separator``, ``date_format``), ``channels`` and
    ``experiment_none`` have defaults (params.yaml's): the other keys describe the user's data and
    are required.
    """

    path: Path
    truth: Path | None
    encoding: str = "utf-8"  # the file's text encoding
    separator: str = ","  # the column separator, one character
    date_format: str | None = None  # None: infer (ISO, or mm/dd/yyyy month-first); else a strftime format, strictly
    date: str
    target: str
    channels: tuple[str, ...] | None = None  # None: every "<name>_Spend" column
    controls: tuple[str, ...]
    # the text column naming the channel under experiment in each period (None: no such column); the
    # dataset counts it among the controls, listed in data.controls or not (absent from the file: a notice)
    experiment_column: str | None
    experiment_none: str = "None"  # its value in periods without an experiment


def data_spec(params: dict) -> DataSpec:
    """Validate the ``data`` section.

    Parameters
    ----------
    params : dict
        All params (only ``data`` is read).

    Returns
    -------
    DataSpec
        Paths resolved against the project root.
    """
    d = Section(params.get("data"), "data")
    truth = d.get("truth")
    channels = d.get("channels", defaults(DataSpec).channels)
    if channels is not None and (not isinstance(channels, list) or not channels):
        raise UserInputError(f"data.channels: expected a list of spend columns or null, got {channels!r}")
    controls = d.get("controls") or []  # null: no controls
    if not isinstance(controls, list):
        raise UserInputError(f"data.controls: expected a list of columns, got {controls!r}")
    column, none = _experiments(d)
    return DataSpec(
        path=resolve(str(d.get("path"))),
        truth=None if truth is None else resolve(str(truth)),
        **_file_format(d),
        date=str(d.get("date")),
        target=str(d.get("target")),
        channels=None if channels is None else tuple(str(c) for c in channels),
        controls=tuple(str(c) for c in controls),
        experiment_column=column,
        experiment_none=none,
    )


def _file_format(d: Section) -> dict:
    """``encoding``, ``separator`` and ``date_format``: how the CSV is written."""
    default = defaults(DataSpec)
    encoding = d.get("encoding", default.encoding)
    try:
        b"a".decode(str(encoding), "ignore")
    except LookupError:  # unknown, or not a text encoding (hex, rot13 ...)
        raise UserInputError(f"data.encoding: {encoding!r} is not a known text encoding "
                             "(e.g. utf-8, latin-1, cp1252)") from None
    separator = d.get("separator", default.separator)
    if not isinstance(separator, str) or len(separator) != 1 or separator in "\"\r\n":
        raise UserInputError(f"data.separator: expected one character such as ',' ';' or \"\\t\" (a tab), "
                             f"got {separator!r}")
    date_format = d.get("date_format", default.date_format)
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise UserInputError(f"data.date_format: expected null (infer) or a strftime format such as '%d/%m/%Y', "
                             f"got {date_format!r}")
    return {"encoding": str(encoding), "separator": separator, "date_format": date_format}


def experiment_role(params: dict) -> tuple[str | None, str]:
    """The experiment column and its "no experiment" label, for the stages that model experiments.

    Parameters
    ----------
    params : dict
        All params (reads ``data.experiments``).

    Returns
    -------
    tuple
        ``(column or None, none label)``, as :func:`data_spec` reads them.
    """
    return _experiments(Section(params.get("data"), "data"))


def _experiments(d: Section) -> tuple[str | None, str]:
    experiments = d.section("experiments")
    column = experiments.get("column")
    if column is not None and not isinstance(column, str):
        raise UserInputError(f"data.experiments.column: expected a column name or null, got {column!r}")
    none = experiments.get("none", defaults(DataSpec).experiment_none)
    if not isinstance(none, str):  # YAML reads an unquoted no/off/null as something else
        raise UserInputError(f"data.experiments.none: expected text, got {none!r} (quote it)")
    return column, none
