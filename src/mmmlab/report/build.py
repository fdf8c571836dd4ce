"""The technical validation report, built from the saved trace only (never re-samples the posterior).

:func:`build_report` turns a loaded fit (a pymc-marketing ``MMM`` with its ``idata``) into a
:class:`~mmmlab.report.model.Report`: sections made of text, tables and figures, every number
computed from the trace. It writes nothing; :mod:`mmmlab.stages.report` writes and logs, and
:mod:`mmmlab.report.html` renders the page.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmmlab.config.report import ReportSettings
from mmmlab.report.context import Context
from mmmlab.report.fit_checks import (
    convergence_section,
    predictive_section,
    prior_posterior_section,
    setup_section,
    specification_section,
    traces_section,
)
from mmmlab.report.media_effects import adstock_section, decomposition_section, saturation_section
from mmmlab.report.model import Report
from mmmlab.report.truth import limitations_section, truth_section


def build_report(mmm, settings: ReportSettings, fit_tables: dict[str, pd.DataFrame], *,
                 trace_name: str = "", sampled_predictive: bool = False) -> Report:
    """Every section of the technical validation report from a loaded fit."""
    idata = mmm.idata
    context = Context(mmm, idata, settings, fit_tables)
    builders = [
        setup_section, specification_section, convergence_section, traces_section, predictive_section,
        prior_posterior_section, decomposition_section, adstock_section, saturation_section, limitations_section,
    ]
    parts = []
    for number, builder in enumerate(builders, start=1):
        part = builder(context)
        part.title = f"{number}. {part.title}"
        parts.append(part)
    if context.truth_tables:
        part = truth_section(context)
        part.title = f"{len(parts) + 1}. {part.title}"
        parts.append(part)
    if sampled_predictive:
        context.notes.append("The trace had no posterior predictive group: the report sampled it once and saved it with the trace.")
    if trace_name:
        context.notes.insert(0, f"Trace: {trace_name}")
    return Report(
        title="MMM technical validation",
        parts=parts,
        figures=context.figures,
        tables=context.tables,
        verdict=context.verdict,
        metrics=context.metrics,
        notes=context.notes,
    )


def read_fit_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The fit stage's CSV tables by file stem (empty when the folder does not exist)."""
    folder = Path(folder)
    return {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))} if folder.is_dir() else {}
