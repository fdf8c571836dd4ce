"""The optimize stage's page: the recommended allocations in words, figures and a table, and, with a truth, their regret.

Built as a :class:`~mmmlab.report.model.Report` and written like the validation report (one
self-contained ``index.html``, figures as PNG, tables as CSV, ``metrics.json``).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from mmmlab.budget.peer import PREFIX
from mmmlab.budget.recommend import Plan
from mmmlab.config.optimize import OptimizeSpec
from mmmlab.report.headline import LEVELS, Headline
from mmmlab.report.model import Part, Report

OBJECTIVE_WORDS = {"mean": "the posterior mean of the incremental sales",
                   "cvar": "the mean of the worst {q:.0%} of posterior draws of the incremental sales (CVaR)"}
PEER_WORDS = ("{objective}, as pymc-marketing's BudgetOptimizer computes it (same posterior, budget and bounds; its "
              "response starts from no carried-in spend and counts the carry-over after the horizon)")


def build(plan: Plan, spec: OptimizeSpec, recommended: dict[str, dict], judgement: dict | None, prob: float,
          figures: dict[str, Figure], table, metrics: dict) -> Report:
    """The page of one optimize run.

    Parameters
    ----------
    plan : Plan
        Budget, current spend and bounds.
    spec : OptimizeSpec
        Horizon and the risk-aware objective's quantile.
    recommended : dict
        :func:`mmmlab.budget.recommend.recommend`'s result.
    judgement : dict or None
        :func:`mmmlab.budget.recommend.judged`'s result, None without a truth.
    prob : float
        The HDI's probability.
    figures : dict of str to Figure
        ``allocation`` and ``response_curves``.
    table : pandas.DataFrame
        The allocation table (``tables/allocation.csv``).
    metrics : dict
        The stage's numbers; ``headline.level`` is added.

    Returns
    -------
    Report
    """
    headline = _headline(recommended, judgement, prob)
    parts = [_budget(plan, spec), _recommendations(recommended, spec, prob)]
    if judgement is not None:
        parts.append(_truth(judgement))
    for number, part in enumerate(parts, start=1):
        part.title = f"{number}. {part.title}"
    return Report(title="Budget allocation", parts=parts, figures=figures, tables={"allocation": table},
                  verdict=None, metrics=metrics | {"headline.level": float(LEVELS.index(headline.level))},
                  headline=headline)


def _headline(recommended: dict, judgement: dict | None, prob: float) -> Headline:
    """Green: moving money is supported (and, with a truth, does not lose); amber: the data do not support it;
    red: the truth says the supported recommendation sells less than the current allocation."""
    r = recommended["mean"]
    sentences = [f"Moving spend as recommended is expected to add {r['gain']:,.0f} sales over the horizon "
                 f"({prob:.0%} HDI {r['gain_lower']:,.0f} to {r['gain_upper']:,.0f}; P(gain > 0) = "
                 f"{r['p_gain_positive']:.0%})."]
    level = "green" if r["supported"] else "amber"
    if not r["supported"]:
        sentences.append(f"The data do not support moving money: the gain's {prob:.0%} HDI includes zero.")
    if judgement is not None:
        j = judgement["mean"]
        sentences.append(f"Against the simulator's true curves it loses {j['regret']:.0%} of the achievable gain "
                         f"(0% is the true optimum, 100% no better than not moving); it promised {j['promised_gain']:,.0f}, "
                         f"the truth gives {j['true_gain']:,.0f}.")
        if r["supported"] and j["true_gain"] < 0:
            level = "red"
    return Headline(level=level, sentences=tuple(sentences))


def _budget(plan: Plan, spec: OptimizeSpec) -> Part:
    part = Part("budget", "The budget and the bounds")
    low, high = spec.bounds
    part.text(f"Budget: {plan.budget:,.0f} per period over {spec.horizon} periods, split among "
              f"{len(plan.channels)} channels; each channel between {low:.0%} and {high:.0%} of its current spend "
              "(its mean over the data's last year). A plan's incremental sales are what its spend adds over "
              "the horizon to what past spend still brings through the adstock.")
    part.table("allocation", "Spend per period and channel: current, bounds and each allocation")
    part.figure("allocation", "Spend per period and channel under each allocation.")
    return part


def _recommendations(recommended: dict, spec: OptimizeSpec, prob: float) -> Part:
    part = Part("recommendations", "What the posterior expects")
    items = []
    for name, r in recommended.items():
        words = _objective_words(name, spec)
        verdict = "supported" if r["supported"] else f"not supported (the {prob:.0%} HDI of the gain includes zero)"
        items.append(f"{name}, maximising {words}: incremental sales {r['expected']:,.0f} ({prob:.0%} HDI "
                     f"{r['lower']:,.0f} to {r['upper']:,.0f}); gain over the current allocation {r['gain']:,.0f} "
                     f"({r['gain_lower']:,.0f} to {r['gain_upper']:,.0f}), P(gain > 0) = {r['p_gain_positive']:.0%}: "
                     f"{verdict}.")
    part.items(items)
    part.figure("response_curves", f"Each channel's response to its spend per period held over the horizon "
                f"(posterior mean and {prob:.0%} HDI), with the current and recommended points.")
    return part


def _objective_words(name: str, spec: OptimizeSpec) -> str:
    if name.startswith(PREFIX):
        return PEER_WORDS.format(objective=_objective_words(name.removeprefix(PREFIX), spec))
    return OBJECTIVE_WORDS[name].format(q=spec.risk_quantile)


def _truth(judgement: dict) -> Part:
    part = Part("truth", "Against the truth")
    optimum, current = judgement["optimum"]["true_sales"], judgement["current_sales"]
    items = [f"true optimum: {optimum:,.0f} incremental sales against {current:,.0f} for the current allocation "
             f"(an achievable gain of {optimum - current:,.0f})"]
    for name in (k for k in judgement if k not in ("optimum", "current_sales")):
        j = judgement[name]
        items.append(f"{name}: true sales {j['true_sales']:,.0f}, true gain {j['true_gain']:,.0f} against "
                     f"{j['promised_gain']:,.0f} promised (over-promise {j['over_promise']:,.0f}); regret "
                     f"{j['regret']:.1%} of the achievable gain")
    part.items(items)
    part.text("Regret = (true sales at the optimum - true sales at the recommendation) / (true sales at the optimum "
              "- true sales at the current allocation): 0 is perfect, above 1 sells less than not moving.")
    return part
