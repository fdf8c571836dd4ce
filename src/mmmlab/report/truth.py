"""Report sections 10-11: the fit against the truth, and what the fit cannot say."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab.plots import report as plots
from mmmlab.report.context import Context, as_bool, dominated_names
from mmmlab.report.media_effects import adstock_curves, saturation_curves
from mmmlab.report.model import Part
from mmmlab.report.numbers import number, percent
from mmmlab.report.words import gate_sentence


# --------------------------------------------------------------------------- 10. limitations
def limitations_section(c: Context) -> Part:
    """Section 10: what the fit cannot say: parameters vs spend patterns, prior dominance, gates, data gaps."""
    part = Part("limitations", "Model limitations")
    items = []
    n = len(c.dates)
    distinct = len(np.unique(np.round(c.spend, 6), axis=0))
    items.append(f"Distinct spend patterns: {distinct} different combinations of channel spend in {n} rows"
                 + (" - every row is a new pattern, but the patterns are what identifies the media effects, not the row count."
                    if distinct == n else f": the model sees only {distinct} independent media settings, not {n}."))
    sizes = {name: int(np.prod([s for d, s in c.idata['posterior'][name].sizes.items() if d not in ('chain', 'draw')]))
             for name in c.free if name in c.idata["posterior"].data_vars}
    n_params = sum(sizes.values())
    items.append(f"Parameters vs observations: {n_params} free parameters for {n} observations "
                 f"({number(n / max(n_params, 1), digits=3)} observations per parameter)"
                 + ("; fewer than 5 per parameter leaves most of them to the priors." if n < 5 * n_params else "."))
    if c.contraction is not None:
        dominated = dominated_names(c.contraction)
        if dominated:
            names = ", ".join(dominated)
            items.append(f"Prior-dominated parameters ({len(dominated)} of {len(c.contraction)}): {names}. "
                         "Their estimates and the curves built on them reflect the priors as much as the data.")
        else:
            items.append("No parameter is prior-dominated: the data moved every prior.")
    else:
        items.append("The trace has no prior draws, so how much the data informed each parameter is unknown.")
    failed = [k for k in c.verdict.checks if not k.passed]
    if failed:
        items.append("Failed convergence gates: " + "; ".join(gate_sentence(k) for k in failed)
                     + ". Until they pass, every posterior summary in this report is provisional.")
    else:
        items.append("All convergence gates passed.")
    coverage = c.metrics.get("ppc.coverage")
    if coverage is not None and coverage < c.prob - 0.1:
        items.append(f"Only {percent(coverage)} of observations fall inside the {c.pct} predictive interval: the model misses "
                     "structure in the target (misspecification) or the intervals are too narrow.")
    lacking = []
    cv = c.spend.std(axis=0, ddof=1) / c.spend.mean(axis=0)
    flat = [f"{ch} (CV {number(v, digits=3)})" for ch, v in zip(c.channels, cv) if v < 0.2]
    if flat:
        lacking.append("spend variation for " + ", ".join(flat) + " - little movement to learn saturation from")
    if len(c.channels) > 1:
        corr = np.corrcoef(c.spend.T)
        pairs = [f"{c.channels[i]}/{c.channels[j]} (r={number(corr[i, j], digits=3)})"
                 for i in range(len(c.channels)) for j in range(i + 1, len(c.channels)) if abs(corr[i, j]) > 0.7]
        if pairs:
            lacking.append("independent movement between channels: " + ", ".join(pairs))
    for j, ch in enumerate(c.channels):
        beyond = c.spend[:, j].max() / max(np.median(c.spend[:, j]), 1e-12)
        if beyond < 1.5:
            lacking.append(f"high-spend periods for {ch} (max only {number(beyond, digits=3)}x the median): the saturation beyond is extrapolated")
    lift = c.idata.attrs.get("lift_test_calibrations")
    if not lift or str(lift) in ("[]", "{}", "None", "null"):
        lacking.append("experiments or lift tests to calibrate against (none in the model)")
    years = (c.dates[-1] - c.dates[0]).days / 365.25
    if years < 2:
        lacking.append(f"history: {number(years, digits=2)} years cannot separate seasonality from media")
    if not c.mmm.control_columns:
        lacking.append("control variables: anything else that moves the target is absorbed by the baseline or the channels")
    if not c.truth_tables:
        lacking.append("a ground truth: there is no way to check the estimates against known values")
    items.append("What the data lack: " + ("; ".join(lacking) + "." if lacking else "nothing obvious from these checks."))
    part.items(items)
    c.metrics.update({"limitations.distinct_spend_patterns": float(distinct), "limitations.free_parameters": float(n_params)})
    return part


# --------------------------------------------------------------------------- 11. truth
TRUTH_ORDER = ("parameters_vs_truth", "contribution_errors", "contributions_vs_truth", "roas_vs_truth")  # page order


def _per_period(table: pd.DataFrame) -> bool:
    """Whether a truth table has one row per period (a ``date`` column): shown as a figure, kept as CSV."""
    return "date" in table.columns


def truth_section(c: Context) -> Part:
    """Section 11 (only when a fit table has true values): truth tables and true curves over the HDI bands.

    Tables with one row per period are not shown: their figure (true vs posterior contribution per
    channel over time, with the HDI band) and a link to their CSV take their place.
    """
    part = Part("truth", "Truth vs posterior")
    part.text("The data come from a simulator with known parameters. The tables are the fit stage's comparisons "
              f"(covered: the true value lies inside the {c.pct} HDI); the figures draw the true values (dashed) over "
              "the posterior HDI bands.")
    names = sorted(c.truth_tables, key=lambda n: (TRUTH_ORDER.index(n) if n in TRUTH_ORDER else len(TRUTH_ORDER), n))
    for name in names:
        table = c.truth_tables[name]
        if _per_period(table):
            _over_time(c, part, name, table)
        else:
            c.add_table(part, f"fit_{name}", table, f"From the fit stage: {name}")
    adstock = adstock_curves(c, truth=True)
    if adstock is not None and any(v["truth"] is not None for v in adstock.values()):
        lags = np.arange(len(next(iter(adstock.values()))["mean"]))
        c.add_figure(part, "truth_adstock_curves",
                     plots.adstock_curves(lags, adstock, c.prob, f"Adstock: true curve over the {c.pct} HDI",
                                          "share of the effect remaining"), "Dashed: the true decay curve")
    saturation = saturation_curves(c, truth=True)
    if saturation is not None and any(v["truth"] is not None for v in saturation.values()):
        c.add_figure(part, "truth_saturation_curves",
                     plots.saturation_curves(saturation, c.prob, "spend per period (sustained)", f"{c.unit} per period",
                                             f"Saturation: true steady-state response over the {c.pct} HDI"),
                     "Dashed: the true response (the simulator's adstock has no l_max)")
    if not c.truth_params:
        part.text("No fit table lists true parameters per channel, so no true curves are drawn.")
    return part


def _over_time(c: Context, part: Part, name: str, table: pd.DataFrame) -> None:
    """A per-period truth table: kept as ``tables/fit_<name>.csv``, shown as a figure, a coverage sentence and a link."""
    c.tables[f"fit_{name}"] = table
    path = f"tables/fit_{name}.csv"
    if {"date", "channel", "mean", "lower", "upper", "true"} <= set(table.columns):
        wide = {k: table.pivot(index="date", columns="channel", values=k).reindex(columns=c.channels)
                for k in ("mean", "lower", "upper", "true")}
        dates = pd.DatetimeIndex(pd.to_datetime(wide["mean"].index))
        if len(dates) == len(c.dates):
            c.add_figure(part, "truth_contributions_over_time",
                         plots.contributions_over_time(dates, wide["mean"], wide["lower"], wide["upper"], c.prob,
                                                       c.unit, truth=wide["true"],
                                                       title=f"True vs posterior contribution over time ({c.pct} HDI)"),
                         f"True contribution of each channel per period (dashed) over the posterior mean and {c.pct} HDI")
        if "covered" in table.columns:
            inside = table.assign(_in=[as_bool(v) for v in table["covered"]]).dropna(subset=["_in"])
            counts = [f"{ch} {int(g['_in'].sum())} of {len(g)}"
                      for ch, g in inside.groupby("channel", sort=False) if ch in c.channels]
            if counts:
                part.text(f"Periods whose true contribution lies inside the {c.pct} HDI: {', '.join(counts)}.")
    part.link(path, f"Every period's posterior mean, HDI, true value and coverage ({len(table)} rows):")
