"""The technical validation report, built from the saved trace only (never re-samples the posterior).

:func:`build_report` turns a loaded fit (a pymc-marketing ``MMM`` with its ``idata``) into a
:class:`~mmmlab.report.model.Report`: sections made of text, tables and figures, every number
computed from the trace. It writes nothing; :mod:`mmmlab.stages.report` writes and logs, and
:mod:`mmmlab.report.html` renders the page.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmmlab import bayes
from mmmlab.config.report import ReportSettings
from mmmlab.report.context import Context, as_bool, channel_rows, parameter_truth_table
from mmmlab.report.fit_checks import (
    convergence_section,
    predictive_section,
    prior_posterior_section,
    setup_section,
    specification_section,
    traces_section,
)
from mmmlab.report.headline import Headline, TruthCoverage, headline
from mmmlab.report.lift import has_lift_tests, lift_section
from mmmlab.report.media_effects import adstock_section, decomposition_section, saturation_section
from mmmlab.report.model import Report
from mmmlab.report.truth import limitations_section, truth_section
from mmmlab.report.words import label


def build_report(mmm, settings: ReportSettings, fit_tables: dict[str, pd.DataFrame], *,
                 trace_name: str = "", sampled_predictive: bool = False) -> Report:
    """Every section of the technical validation report from a loaded fit.

    The page opens with a verdict (:func:`opening_verdict`): did the sampler converge, what do
    the data inform and, with a truth, does it fall inside the HDI. Sections 1-10 are always
    built; then the lift tests when the fit had them, and truth vs posterior when a fit table
    carries true values. Nothing
    is written and the posterior is never re-sampled.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        The loaded fit (:func:`mmmlab.bayes.load_fit`); its ``idata`` holds the posterior,
        ``fit_data`` and ``constant_data``, and, when present, the prior and posterior predictive.
    settings : ReportSettings
        HDI probability, curve settings, the gates and the prior-dominated threshold.
    fit_tables : dict of str to pandas.DataFrame
        The fit stage's tables by name (:func:`read_fit_tables`); empty is fine.
    trace_name : str, optional
        Shown as the first note of the page.
    sampled_predictive : bool, optional
        Whether the caller had to sample the posterior predictive; the page then says so.

    Returns
    -------
    Report
        The numbered sections with their figures, tables, metrics, verdicts and notes.
    """
    idata = mmm.idata
    context = Context(mmm, idata, settings, fit_tables)
    opening = opening_verdict(context)
    context.metrics.update(opening.metrics)
    builders = [
        setup_section, specification_section, convergence_section, traces_section, predictive_section,
        prior_posterior_section, decomposition_section, adstock_section, saturation_section, limitations_section,
    ]
    parts = []
    for number, builder in enumerate(builders, start=1):
        part = builder(context)
        part.title = f"{number}. {part.title}"
        parts.append(part)
    extra = ([lift_section] if has_lift_tests(context) else []) + ([truth_section] if context.truth_tables else [])
    for builder in extra:
        part = builder(context)
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
        headline=opening,
        explanations=[context.glossary[t] for t in opening.terms if t in context.glossary],
    )


def opening_verdict(c: Context) -> Headline:
    """The headline from what the context already holds: gates, contraction and the fit's truth table.

    Parameters
    ----------
    c : Context
        Its verdict (the gates), contraction (None without a prior group: what the data inform
        is then unknown) and truth tables.

    Returns
    -------
    Headline
        :func:`mmmlab.report.headline.headline` of the channel parameters (original units): how
        many the data inform (not :func:`mmmlab.bayes.prior_dominated`) and, when the fit stage
        compared them with the truth, how many true values lie inside their HDI.
    """
    if c.contraction is not None:
        rows = channel_rows(c.contraction)
        total = len(rows)
        informed = total - len(bayes.prior_dominated(c.contraction))
    else:
        total = len(c.posterior_params.data_vars) * len(c.channels)
        informed = None
    truth = None
    table = parameter_truth_table(c.truth_tables)
    if table is not None:
        judged = [(label(str(r.parameter), str(r.channel)), as_bool(r.covered)) for r in table.itertuples(index=False)]
        judged = [(name, inside) for name, inside in judged if inside is not None]
        truth = TruthCoverage(covered=sum(inside for _, inside in judged), compared=len(judged),
                              outside=tuple(name for name, inside in judged if not inside))
    return headline(c.verdict.checks, informed, total, truth, c.prob)


def read_fit_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The fit stage's CSV tables by file stem (empty when the folder does not exist).

    Parameters
    ----------
    folder : pathlib.Path
        The fit stage's table folder (``reports/fit/tables``).

    Returns
    -------
    dict of str to pandas.DataFrame
        Each ``*.csv`` read whole, keyed by its name without ``.csv``, in sorted order.
    """
    folder = Path(folder)
    return {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))} if folder.is_dir() else {}
