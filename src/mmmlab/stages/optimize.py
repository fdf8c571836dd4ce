"""`mmmlab optimize`: the budget allocation recommended on the fit's posterior, judged against the truth when known.

Reads ``models/mmm_fit.nc`` (the posterior, the data's spend) and, when ``data.truth`` exists, the
simulator's truth; writes ``reports/optimize/`` (``index.html``, ``tables/allocation.csv``,
``metrics.json``, ``figures/*.png``) in one step, as the validation report is written. With
``optimize.pymc_marketing``, pymc-marketing's optimiser's allocations are assessed and judged beside the lab's. The analysis
is :mod:`mmmlab.budget.recommend`, the page :mod:`mmmlab.budget.page`; this module orchestrates them.
"""

from __future__ import annotations

import click
import numpy as np
import pandas as pd
import xarray as xr

from mmmlab import evaluation, tracking
from mmmlab.bayes.summaries import hdi
from mmmlab.bayes.io import load_fit
from mmmlab.budget import page, peer
from mmmlab.budget.recommend import optimise
from mmmlab.config import data_spec, fit_spec, flatten, output_path, resolve
from mmmlab.config.optimize import optimize_spec
from mmmlab.errors import UserInputError
from mmmlab.plots import optimize as plots
from mmmlab.report.html import render
from mmmlab.report.output import render_figures, write_report

TRACE = "models/mmm_fit.nc"
FOLDER = "reports/optimize"
GRID = 60  # points per response curve


def run(params: dict) -> str:
    """Recommend allocations, judge them against the truth when there is one, write and log; returns a summary."""
    spec = optimize_spec(params)
    prob = fit_spec(params).hdi_prob
    trace = resolve(TRACE)
    if not trace.exists():
        raise UserInputError(f"{TRACE}: no fitted trace; run `mmmlab fit` first")
    idata = xr.open_datatree(trace)
    spend = _spend(idata)
    truth = evaluation.load_truth(data_spec(params).truth)
    folder = output_path(FOLDER)
    with tracking.stage_run("optimize", params, flatten(params.get("optimize") or {}, "optimize")):
        others = ((lambda plan: peer.allocations(load_fit(trace), plan, spec, _peer_failed))
                  if spec.pymc_marketing else None)
        o = optimise(idata, spend, None if truth is None else evaluation.align_truth(truth, spend.index), spec, prob,
                     others)
        figures = _figures(o.plan, o.curves, o.recommended, o.judgement, o.truth_curves, prob)
        report = page.build(o.plan, spec, o.recommended, o.judgement, prob, figures,
                            _table(o.plan, o.recommended, o.judgement), _metrics(o.plan, o.recommended, o.judgement))
        images = render_figures(report)
        write_report(folder, render(report, images), images, report)
        tracking.log_metrics({f"optimize.{k}": v for k, v in report.metrics.items() if isinstance(v, float)})
        tracking.log_artifacts(folder, "optimize")
    click.echo("\n".join(_words(o.plan, o.recommended, o.judgement, prob)))
    return f"optimize: {len(o.plan.channels)} channels, budget {o.plan.budget:,.0f} per period over {spec.horizon} periods; {FOLDER}/"


def _peer_failed(name: str, message: str) -> None:
    click.echo(f"{name}: pymc-marketing's optimiser failed ({message}); that allocation is left out", err=True)


def _spend(idata) -> pd.DataFrame:
    """The spend per period the model was fitted on, indexed by date, one column per channel."""
    channels = [str(c) for c in idata["constant_data"]["channel"].values]
    data = idata["fit_data"].to_dataset()
    return pd.DataFrame({c: data[c].values for c in channels}, index=pd.DatetimeIndex(data["date"].values))


def _metrics(plan, recommended, judgement) -> dict:
    out = {"budget": plan.budget}
    for name, r in recommended.items():
        out |= {f"{name}.{k}": float(v) for k, v in r.items() if k != "allocation"}
    if judgement:
        out["truth.current_sales"] = judgement["current_sales"]
        out["truth.optimum_sales"] = judgement["optimum"]["true_sales"]
        for name in recommended:
            out |= {f"{name}.truth.{k}": float(v) for k, v in judgement[name].items()}
    return out


def _table(plan, recommended, judgement) -> pd.DataFrame:
    table = pd.DataFrame({"channel": plan.channels, "current": plan.current, "lower": plan.lower, "upper": plan.upper})
    for name, r in recommended.items():
        table[name] = [r["allocation"][c] for c in plan.channels]
    if judgement:
        table["true_optimum"] = [judgement["optimum"]["allocation"][c] for c in plan.channels]
    return table


def _figures(plan, curves, recommended, judgement, truth_curves, prob) -> dict:
    points = {"current": plan.current} | {name: np.array([r["allocation"][c] for c in plan.channels])
                                          for name, r in recommended.items()}
    if judgement:
        points["true optimum"] = np.array([judgement["optimum"]["allocation"][c] for c in plan.channels])
    allocation = plots.allocations(plan.channels, points, "per period")
    grid = np.linspace(0, 1, GRID)[:, None] * np.maximum(plan.upper, plan.current) * 1.2
    draws = np.stack([curves.per_channel(row) for row in grid])  # (points, draws, channels)
    lower, upper = hdi(np.moveaxis(draws, 1, 0), prob)
    true = None if truth_curves is None else np.stack([truth_curves.per_channel(row)[0] for row in grid])
    return {"allocation": allocation,
            "response_curves": plots.response_curves(plan.channels, grid, draws.mean(axis=1), lower, upper, points,
                                                     prob, true)}


def _words(plan, recommended, judgement, prob) -> list[str]:
    lines = []
    for name, r in recommended.items():
        moves = ", ".join(f"{c} {r['allocation'][c] / now - 1:+.0%}" for c, now in zip(plan.channels, plan.current))
        lines.append(f"{name}: {moves}; expected gain {r['gain']:,.0f} ({prob:.0%} HDI {r['gain_lower']:,.0f} to "
                     f"{r['gain_upper']:,.0f}), P(gain > 0) = {r['p_gain_positive']:.0%}")
        if not r["supported"]:
            lines.append(f"  the data do not support moving money: the gain's {prob:.0%} HDI includes zero")
        if judgement:
            j = judgement[name]
            lines.append(f"  against the truth: regret {j['regret']:.0%} of the achievable gain; true gain "
                         f"{j['true_gain']:,.0f}, promised {j['promised_gain']:,.0f}")
    return lines
