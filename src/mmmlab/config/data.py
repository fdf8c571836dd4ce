"""The ``data`` section: where the dataset is and which columns play which role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmmlab.config.loading import resolve
from mmmlab.config.section import Section
from mmmlab.errors import UserInputError

GENERATED_CSV = "data/mmm_data.csv"  # the simulator's outputs (DVC outs of the generate stage)


GENERATED_TRUTH = "data/truth.json"


GENERATED_COLUMNS = {  # how the generated CSV maps onto the dataset roles (see the data section)
    "date": "Date",
    "target": "Total_Sales",
    "channels": None,
    "controls": ["Economic_Condition", "Seasonal_Event", "Experiment_Channel"],
}


# --------------------------------------------------------------------------- dataset spec
@dataclass(frozen=True)
class DataSpec:
    """Where the dataset is and which columns play which role."""

    path: Path
    truth: Path | None
    date: str
    target: str
    channels: tuple[str, ...] | None
    controls: tuple[str, ...]


def data_spec(params: dict) -> DataSpec:
    d = Section(params.get("data"), "data")
    truth = d.get("truth", None)
    channels = d.get("channels", None)
    if channels is not None and (not isinstance(channels, list) or not channels):
        raise UserInputError(f"data.channels: expected a list of spend columns or null, got {channels!r}")
    controls = d.get("controls", None) or []
    if not isinstance(controls, list):
        raise UserInputError(f"data.controls: expected a list of columns, got {controls!r}")
    return DataSpec(
        path=resolve(str(d.get("path"))),
        truth=None if truth is None else resolve(str(truth)),
        date=str(d.get("date")),
        target=str(d.get("target")),
        channels=None if channels is None else tuple(str(c) for c in channels),
        controls=tuple(str(c) for c in controls),
    )


