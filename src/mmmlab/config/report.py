"""The ``report`` section, with the fit's gates, HDI level and prior-dominated threshold it reports against."""

from __future__ import annotations

from dataclasses import dataclass, field

from mmmlab.config.fit import gates_spec, summary_levels
from mmmlab.config.section import Section
from mmmlab.diagnostics import Gates
from mmmlab.errors import UserInputError


@dataclass(frozen=True)
class ReportSettings:
    """The ``report`` section of params.yaml plus what it takes from ``fit`` and ``data``; defaults: params.yaml's."""

    hdi_prob: float = 0.94  # params fit.hdi_prob: the fit's tables and the report use one level
    key_parameters: tuple[str, ...] | None = None  # None: intercept, adstock and saturation variables
    curve_points: int = 120
    max_curve_draws: int = 1000
    spend_range: float = 1.5  # saturation curves run to this multiple of the highest observed spend
    prior_dominated_below: float = 0.5  # contraction below this: prior-dominated (params fit.prior_dominated_below)
    target_label: str = ""  # the target's name in the data (the trace calls it y)
    gates: Gates = field(default_factory=Gates)  # params fit.gates
    seed: int = 0  # for the posterior predictive, sampled only if the trace lacks it


def report_settings(params: dict) -> tuple[ReportSettings, int]:
    """Validate the ``report`` section (every key optional) and read the fit's levels and gates.

    Parameters
    ----------
    params : dict
        All params; reads ``report``, ``fit.gates``, ``fit.hdi_prob``, ``fit.prior_dominated_below``
        and ``data.target``.

    Returns
    -------
    tuple
        The settings and the posterior predictive's seed (also ``settings.seed``).
    """
    d = ReportSettings()
    r = Section(params.get("report") or {}, "report")
    f = Section(params.get("fit") or {}, "fit")
    keys = r.get("key_parameters", d.key_parameters)
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise UserInputError(f"report.key_parameters: expected a list of trace variable names or null, got {keys!r}")
    hdi_prob, prior_dominated_below = summary_levels(f)
    data = params.get("data") or {}
    settings = ReportSettings(
        hdi_prob=hdi_prob,
        key_parameters=None if keys is None else tuple(keys),
        curve_points=int(r.number("curve_points", d.curve_points, lo=10, integer=True)),
        max_curve_draws=int(r.number("max_curve_draws", d.max_curve_draws, lo=10, integer=True)),
        spend_range=r.number("spend_range", d.spend_range, lo=1),
        prior_dominated_below=prior_dominated_below,
        target_label=str(data.get("target") or ""),
        gates=gates_spec(f.section("gates", optional=True)),
        seed=int(r.number("seed", d.seed, lo=0, integer=True)),
    )
    return settings, settings.seed
