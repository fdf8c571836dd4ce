"""A study's page: a verdict, the study's design and counts, then SBC ranks or coverage per quantity.

Built from the per-fit records alone (:mod:`.summary`), as a :class:`~mmmlab.report.model.Report`
rendered and written like the validation report (one self-contained ``index.html``, figures as PNG,
tables as CSV, ``metrics.json``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mmmlab.calibration import summary
from mmmlab.calibration.coverage import level_tag
from mmmlab.config.calibrate import StudyKind, StudySpec
from mmmlab.plots.calibration import coverage_against_nominal, rank_ecdf_difference
from mmmlab.report.headline import Headline
from mmmlab.report.html import render
from mmmlab.report.model import Part, Report
from mmmlab.report.output import render_figures, write_report

GATE_RATE = 0.95  # the gate pass rate the defaults aim at (issue: at least 95% of datasets)
SHOWN = 5  # miscalibrated quantities named in the headline


def build(study: StudySpec, design: list[str], records: list[dict], informed_from: float) -> Report:
    """The study's report from its records.

    Parameters
    ----------
    study : StudySpec
    design : list of str
        Sentences describing the design and the model (from the study's plan).
    records : list of dict
        Every per-fit record on disk.
    informed_from : float
        The contraction from which the data inform a parameter (``fit.prior_dominated_below``).

    Returns
    -------
    Report
    """
    numbers = summary.counts(records)
    parts = [_study_part(study, design, records, numbers)]
    figures, tables = {}, {}
    if study.kind == StudyKind.sbc:
        part, verdicts, metrics = _sbc(study, records, figures, tables)
    else:
        part, verdicts, metrics = _coverage(study, records, figures, tables, informed_from)
    parts.append(part)
    metrics = numbers | metrics
    headline = _headline(study, numbers, verdicts)
    metrics |= {"headline.level": float(["green", "amber", "red"].index(headline.level))}
    return Report(title=f"Calibration study: {study.name}", parts=parts, figures=figures, tables=tables,
                  verdict=None, metrics=metrics, headline=headline)


def write(folder: Path, report: Report) -> None:
    """Render and write the page, figures, tables and metrics, replacing the previous report as a whole."""
    images = render_figures(report)
    write_report(folder, render(report, images), images, report)


def summary_line(study: StudySpec, metrics: dict, where: str) -> str:
    """The stage's one line: fits done and failed, gate pass rate, the headline's colour, where the page is."""
    rate = metrics.get("gate_pass_rate", float("nan"))
    level = ["green", "amber", "red"][int(metrics["headline.level"])]
    return (f"calibrate {study.name}: {int(metrics['fits_done'])}/{study.fits} fits done, "
            f"{int(metrics['fits_failed'])} failed, gates passed in {rate:.0%}, verdict {level}, in {where}")


def _study_part(study: StudySpec, design: list[str], records: list[dict], numbers: dict) -> Part:
    part = Part("study", "1. The study")
    part.items(design + [
        f"Fits: {study.fits} planned, {numbers['fits_done']} finished, {numbers['fits_failed']} failed "
        "(their errors are in the per-fit records).",
        f"Sampler per fit: {', '.join(f'{k} {v}' for k, v in study.sampler.items())}.",
        f"Convergence gates passed in {numbers['gates_passed']} of {numbers['fits_done']} fits "
        f"({numbers['gate_pass_rate']:.0%}); every result below is shown for all fits and for those alone.",
    ])
    seconds = [r["seconds"] for r in summary.finished(records) if np.isfinite(r.get("seconds", np.nan))]
    if seconds:
        part.text(f"A fit took {np.mean(seconds):.1f} s on its worker on average (median {np.median(seconds):.1f} s).")
    return part


def _sbc(study: StudySpec, records, figures, tables):
    part = Part("ranks", "2. Simulation-based calibration: ranks")
    part.text(f"Each fit's data were simulated from the model's own priors and likelihood; each true value is ranked "
              f"among {study.ranks_draws} posterior draws thinned evenly from the chains. A calibrated posterior gives "
              "uniform ranks: the ECDF of the ranks minus the uniform CDF stays inside the grey band (simultaneous "
              "over the ECDF, Säilynoja et al. 2022, and over the quantities: a calibrated model keeps every quantity "
              "inside 95% of the time). Ranks piled at both ends: intervals too narrow; in the middle: too wide; at one "
              "end: a bias.")
    checks = summary.sbc_uniformity(records, study.ranks_draws)
    table = summary.sbc_table(checks, records, study.ranks_draws)
    if table.empty:
        part.text("Fewer than two fits have finished: nothing to rank yet.")
        return part, {}, {}
    tables["sbc_ranks"] = table
    part.table("sbc_ranks", "Verdict per quantity, on all fits and on the fits that passed every gate")
    for subset, name in (("all fits", "rank_ecdf_all"), ("gates passed", "rank_ecdf_gates_passed")):
        if subset in checks:
            figures[name] = rank_ecdf_difference(checks[subset], f"SBC, {subset}")
            part.figure(name, f"Rank ECDF minus uniform per quantity ({subset})")
    ranks = pd.DataFrame([{"index": r["index"], **r["ranks"]} for r in summary.finished(records)])
    tables["sbc_rank_values"] = ranks
    part.link("tables/sbc_rank_values.csv", "Every fit's ranks:")
    verdicts = dict(zip(table["quantity"], table["verdict"]))
    metrics = {"quantities": float(len(table)), "quantities_calibrated": float(table["inside_band"].sum())}
    return part, verdicts, metrics


def _coverage(study: StudySpec, records, figures, tables, threshold: float):
    part = Part("coverage", "2. Coverage against the simulator's truth")
    part.text("Each dataset comes from the simulator with its own seed (and varied true parameters); each method's "
              "intervals are checked against the truth. A calibrated p interval holds the truth in a share of fits "
              "inside the binomial 95% band around p; below it the intervals are biased when they miss mostly on one "
              "side of the truth (a binomial test at 5%), too narrow when they miss on both; above it, too wide.")
    long = summary.coverage_records(records)
    table = summary.coverage_tables(long) if not long.empty else pd.DataFrame()
    if table.empty:
        part.text("Fewer than two fits have finished: no coverage yet.")
        return part, {}, {}
    tables["coverage"] = table
    tables["coverage_records"] = long
    part.table("coverage", "Coverage, bias and width per method, quantity and level (all fits, then gates passed)",
               columns=("subset", "method", "quantity", "level", "fits", "coverage", "band_lower", "band_upper",
                        "mean_width", "relative_bias", "verdict"))
    part.link("tables/coverage_records.csv", "Every fit's truth, estimate, interval widths and hits:")
    srmse = summary.srmse_table(records)
    if not srmse.empty:
        tables["contribution_srmse"] = srmse
        metrics = {f"{r.method}.srmse_mean.{r.channel}": float(r.mean) for r in srmse.itertuples(index=False)}
        part.table("contribution_srmse", "Contribution SRMSE per method and channel: RMSE of the posterior mean "
                   "contribution per period against the truth, over the mean true contribution",
                   columns=("method", "channel", "fits", "mean", "median", "largest"))
    else:
        metrics = {}
    informed = summary.informed_table(long, threshold)
    if not informed.empty:
        tables["informed"] = informed
        metrics |= {f"{r.method}.informed.{r.quantity}": float(r.informed) for r in informed.itertuples(index=False)}
        part.table("informed", f"What the data inform: per method and channel parameter, the share of fits whose "
                   f"posterior interval is at most {1 - threshold:.0%} of the prior's (contraction at least "
                   f"{threshold:.0%}), and the median contraction")
    budget = summary.budget_table(records)
    if not budget.empty:
        tables["budget"] = budget
        for r in budget.itertuples(index=False):
            metrics[f"{r.method}.{r.objective}.regret_median"] = float(r.regret_median)
            metrics[f"{r.method}.{r.objective}.claims_gain_but_loses"] = float(r.claims_gain_but_loses)
        part.table("budget", "Budget allocation against the truth: the optimize stage's recommendation on each fit "
                   "(mean and CVaR objectives), its regret (share of the achievable gain lost: 0 is the true optimum, "
                   "1 no better than not moving), what it promised beyond the true gain, and how often it truly "
                   "sells less than the current allocation while the posterior calls its gain supported")
    verdicts = {}
    for (subset, method), group in table.groupby(["subset", "method"], sort=False):
        top = group["level"].max()
        name = re.sub(r"[^0-9A-Za-z]+", "_", f"coverage_{method}_{subset}")
        figures[name] = coverage_against_nominal(group, f"{method}: coverage against nominal ({subset})")
        part.figure(name, f"{method}, {subset}")
        at_top = group[group["level"] == top]
        if subset == "all fits":
            verdicts |= {f"{q} ({method})": v for q, v in zip(at_top["quantity"], at_top["verdict"])}
            metrics[f"{method}.inside_band_{level_tag(top)}"] = float(at_top["inside"].sum())
            metrics[f"{method}.quantities"] = float(len(at_top))
    return part, verdicts, metrics


def _headline(study: StudySpec, numbers: dict, verdicts: dict[str, str]) -> Headline:
    """Red: a quantity is miscalibrated; amber: all calibrated but gates or fits fell short; green otherwise."""
    bad = {q: v for q, v in verdicts.items() if not v.startswith("calibrated")}
    what = "ranks" if study.kind == StudyKind.sbc else "coverage"
    sentences = [f"{numbers['fits_done']} fits: {len(verdicts) - len(bad)} of {len(verdicts)} quantities calibrated "
                 f"by their {what}."]
    if bad:
        named = [f"{q}: {v.split(' (')[0]}" for q, v in list(bad.items())[:SHOWN]]
        more = f"; and {len(bad) - SHOWN} more (see the table)" if len(bad) > SHOWN else ""
        sentences.append("Not calibrated: " + "; ".join(named) + more + ".")
    short = numbers["gate_pass_rate"] < GATE_RATE or numbers["fits_failed"] > 0
    if short:
        sentences.append(f"Gates passed in {numbers['gate_pass_rate']:.0%} of fits (aim: {GATE_RATE:.0%}); "
                         f"{numbers['fits_failed']} fits failed.")
    level = "red" if bad or not verdicts else "amber" if short else "green"
    return Headline(level, tuple(sentences))
