"""The ``report`` section, with the fit's gates and prior-dominated threshold it reports against."""

from __future__ import annotations

from dataclasses import dataclass

from mmmlab.config.fit import gates_spec
from mmmlab.config.section import Section
from mmmlab.diagnostics import Gates
from mmmlab.errors import UserInputError


@dataclass(frozen=True)
class ReportSettings:
    """The ``report`` section of params.yaml plus the gates of ``fit.gates``."""

    hdi_prob: float = 0.94
    key_parameters: tuple[str, ...] | None = None  # None: intercept, adstock and saturation variables
    curve_points: int = 120
    max_curve_draws: int = 1000
    spend_range: float = 1.5  # saturation curves run to this multiple of the highest observed spend
    prior_dominated_below: float = 0.5  # contraction below this: prior-dominated (params fit.prior_dominated_below)
    target_label: str = ""  # the target's name in the data (the trace calls it y)
    gates: Gates = Gates()
def report_settings(params: dict) -> tuple[ReportSettings, int]:
    """The ``report`` section (every key optional) and the gates of ``fit.gates``; plus the predictive seed."""
    r = Section(params.get("report") or {}, "report")
    f = Section(params.get("fit") or {}, "fit")
    gates = gates_spec(Section(f.get("gates", None) or {}, "fit.gates"))
    keys = r.get("key_parameters", None)
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise UserInputError(f"report.key_parameters: expected a list of trace variable names or null, got {keys!r}")
    data = params.get("data") or {}
    settings = ReportSettings(
        hdi_prob=r.number("hdi_prob", 0.94, lo=0, hi=1, lo_open=True, hi_open=True),
        key_parameters=None if keys is None else tuple(keys),
        curve_points=int(r.number("curve_points", 120, lo=10, integer=True)),
        max_curve_draws=int(r.number("max_curve_draws", 1000, lo=10, integer=True)),
        spend_range=r.number("spend_range", 1.5, lo=1),
        prior_dominated_below=f.number("prior_dominated_below", 0.5, lo=0, hi=1),
        target_label=str(data.get("target") or ""),
        gates=gates,
    )
    return settings, int(r.number("seed", 0, lo=0, integer=True))
