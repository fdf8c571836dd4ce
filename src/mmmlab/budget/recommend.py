"""An allocation recommended on the fit's posterior, and, with a truth, how good it really is.

Two objectives over the posterior draws of the plan's incremental sales: ``mean`` (the posterior
mean) and ``cvar`` (the mean over the worst ``risk_quantile`` share of draws: a plan that also holds
up when the curves are at their least favourable). Each recommendation reports its expected
incremental sales with an HDI, the gain over the current allocation with its HDI and the
probability that the gain is positive. With the simulator's truth, the true optimum for the same
budget, horizon and bounds, the true sales of each allocation and the regret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.bayes.summaries import hdi
from mmmlab.bayes.units import adstock_of, original_scale_parameters
from mmmlab.budget.allocation import Allocation, best_allocation, regret
from mmmlab.budget.response import ResponseCurves
from mmmlab.config.optimize import OptimizeSpec
from mmmlab.errors import UserInputError
from mmmlab.evaluation import Truth
from mmmlab.residuals import periods_per_year

OBJECTIVES = ("mean", "cvar")
PARAMETERS = ("decay", "alpha", "gamma", "k")


@dataclass(frozen=True)
class Plan:
    """The budget per period, the current spend and the bounds per channel."""

    channels: tuple[str, ...]
    budget: float
    current: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """The recommendations on one fit: the plan, the posterior's curves and, with a truth, the judgement."""

    plan: Plan
    curves: ResponseCurves
    recommended: dict[str, dict]
    truth_curves: ResponseCurves | None = None
    judgement: dict | None = None


def optimise(idata, spend: pd.DataFrame, truth: Truth | None, spec: OptimizeSpec, prob: float,
             others: Callable[[Plan], dict[str, np.ndarray]] | None = None) -> Outcome:
    """Plan, recommend on the posterior of ``idata`` and, with ``truth``, judge (:func:`recommend`, :func:`judged`).

    Parameters
    ----------
    idata : xarray.DataTree
        A fit's trace (posterior, constant data, the adstock's attributes).
    spend : pandas.DataFrame
        The spend per period the model was fitted on, indexed by date, one column per channel.
    truth : Truth or None
        The simulator's truth.
    spec : OptimizeSpec
    prob : float
        The HDI's probability.
    others : callable, optional
        Plan -> name -> allocation: other optimisers' allocations (e.g. :func:`mmmlab.budget.peer.allocations`),
        assessed on the same curves and judged like the recommendations.

    Returns
    -------
    Outcome
    """
    plan = plan_for(spend, periods_per_year(spend.index), spec)
    history = spend.to_numpy(dtype=float)
    curves = posterior_curves(idata, history, spec)
    recommended = recommend(curves, plan, spec, prob)
    if others is not None:
        recommended |= {name: assessed(curves, plan, allocation, prob) for name, allocation in others(plan).items()}
    if truth is None:
        return Outcome(plan, curves, recommended)
    truth_curves = true_curves(truth, plan.channels, history, spec)
    return Outcome(plan, curves, recommended, truth_curves, judged(truth_curves, plan, recommended, spec))


def plan_for(spend: pd.DataFrame, periods_per_year: int, spec: OptimizeSpec) -> Plan:
    """Current spend (each channel's mean over the data's last year), the budget and the bounds of ``spec``."""
    current = spend.tail(periods_per_year).mean().to_numpy(dtype=float)
    budget = float(current.sum()) if spec.budget is None else float(spec.budget)
    return Plan(tuple(spend.columns), budget, current, spec.bounds[0] * current, spec.bounds[1] * current)


def posterior_curves(idata, history: np.ndarray, spec: OptimizeSpec) -> ResponseCurves:
    """Response curves of (at most ``spec.max_draws`` evenly thinned) posterior draws, in the simulator's units.

    Raises
    ------
    UserInputError
        The fit's saturation is not the Hill curve (the response is defined through it).
    """
    params = original_scale_parameters(idata)
    if not set(PARAMETERS) <= set(params.data_vars):
        raise UserInputError("fit.model.saturation: the optimiser needs a Hill curve (hill or hill_mean_response)")
    stacked = params.stack(sample=("chain", "draw")).transpose("sample", "channel")
    keep = np.unique(np.linspace(0, stacked.sizes["sample"] - 1, min(spec.max_draws, stacked.sizes["sample"])).astype(int))
    values = {p: stacked[p].values[keep] for p in PARAMETERS}
    return ResponseCurves.from_parameters([str(c) for c in stacked["channel"].values], **values, history=history,
                                          horizon=spec.horizon, l_max=adstock_of(idata)[0])


def true_curves(truth: Truth, channels, history: np.ndarray, spec: OptimizeSpec) -> ResponseCurves:
    """The simulator's curves (its adstock has every lag)."""
    values = {p: [truth.channels[c][p] for c in channels] for p in PARAMETERS}
    return ResponseCurves.from_parameters(list(channels), **values, history=history, horizon=spec.horizon)


def objective(curves: ResponseCurves, name: str, risk_quantile: float):
    """Spend per period -> the objective's value over the posterior draws."""
    if name == "mean":
        return lambda x: float(curves.incremental(x).mean())
    worst = max(1, int(np.ceil(risk_quantile * curves.draws)))
    return lambda x: float(np.sort(curves.incremental(x))[:worst].mean())


def recommend(curves: ResponseCurves, plan: Plan, spec: OptimizeSpec, prob: float) -> dict[str, dict]:
    """Per objective: the allocation and what the posterior says of it against the current one.

    Returns
    -------
    dict
        Objective -> ``allocation`` (per channel), ``expected`` with ``lower``/``upper`` (HDI at
        ``prob``), ``gain`` with ``gain_lower``/``gain_upper``, ``p_gain_positive`` and ``supported``
        (the gain's HDI excludes zero).
    """
    out = {}
    for name in OBJECTIVES:
        best = best_allocation(objective(curves, name, spec.risk_quantile), plan.budget, plan.lower, plan.upper,
                               starts=spec.starts, seed=spec.seed)
        out[name] = assessed(curves, plan, best.spend, prob)
    return out


def assessed(curves: ResponseCurves, plan: Plan, spend: np.ndarray, prob: float) -> dict:
    """What the posterior says of spending ``spend`` (per period and channel) against the current allocation.

    Returns
    -------
    dict
        :func:`recommend`'s entry for one objective.
    """
    sales = curves.incremental(spend)
    gain = sales - curves.incremental(plan.current)
    (lower, upper), (gain_lower, gain_upper) = hdi(sales[:, None], prob), hdi(gain[:, None], prob)
    return {"allocation": dict(zip(plan.channels, np.asarray(spend, dtype=float).tolist())),
            "expected": float(sales.mean()), "lower": float(lower[0]), "upper": float(upper[0]),
            "gain": float(gain.mean()), "gain_lower": float(gain_lower[0]), "gain_upper": float(gain_upper[0]),
            "p_gain_positive": float((gain > 0).mean()), "supported": bool(gain_lower[0] > 0)}


def judged(truth: ResponseCurves, plan: Plan, recommended: dict[str, dict], spec: OptimizeSpec) -> dict:
    """The true optimum and, per objective, the true sales of its allocation, the regret and the over-promise.

    The search for the true optimum also starts from the current and the recommended allocations, so
    it is at least as good as each of them.

    Returns
    -------
    dict
        ``optimum`` (allocation and true sales), ``current_sales``, and per objective ``true_sales``,
        ``true_gain``, ``promised_gain`` (the posterior mean gain), ``over_promise`` (promised - true
        gain) and ``regret``.
    """
    value = objective(truth, "mean", spec.risk_quantile)
    candidates = [plan.current, *(np.array([r["allocation"][c] for c in plan.channels]) for r in recommended.values())]
    optimum: Allocation = best_allocation(value, plan.budget, plan.lower, plan.upper, starts=spec.starts,
                                          seed=spec.seed, also_from=candidates)
    current = value(plan.current)
    out = {"optimum": {"allocation": dict(zip(plan.channels, optimum.spend.tolist())), "true_sales": optimum.value},
           "current_sales": current}
    for name, r in recommended.items():
        sales = value(np.array([r["allocation"][c] for c in plan.channels]))
        out[name] = {"true_sales": sales, "true_gain": sales - current, "promised_gain": r["gain"],
                     "over_promise": r["gain"] - (sales - current), "regret": regret(optimum.value, sales, current)}
    return out
