"""A study's records -> its tables, verdicts and metrics: per quantity, with and without the fits that failed a gate.

Records are the per-fit dicts the workers return (:mod:`.sbc`, :mod:`.simulated`): ``gates_passed``,
and either ``ranks`` (SBC: quantity -> rank among ``ranks_draws`` draws) or ``intervals`` (coverage:
method -> quantity -> :func:`~.coverage.interval_record`). A record with an ``error`` is a fit that
failed: counted, never summarised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab.calibration.coverage import coverage_table
from mmmlab.calibration.ranks import Uniformity, family_prob, uniformity

SUBSETS = {"all fits": lambda r: True, "gates passed": lambda r: bool(r.get("gates_passed"))}


def finished(records: list[dict]) -> list[dict]:
    """The records of fits that ran to the end (no ``error``)."""
    return [r for r in records if "error" not in r]


def counts(records: list[dict]) -> dict[str, float]:
    """How many fits finished, failed, passed every gate; the gate pass rate among finished fits."""
    done = finished(records)
    passed = sum(bool(r.get("gates_passed")) for r in done)
    return {"fits_done": len(done), "fits_failed": len(records) - len(done), "gates_passed": passed,
            "gate_pass_rate": passed / len(done) if done else float("nan")}


def sbc_uniformity(records: list[dict], draws: int) -> dict[str, dict[str, Uniformity]]:
    """Per subset of fits (:data:`SUBSETS`) and quantity: the ranks' uniformity check.

    Parameters
    ----------
    records : list of dict
        SBC records, each with ``ranks`` (quantity -> rank).
    draws : int
        ``L``, the number of draws each rank was taken among.

    Returns
    -------
    dict
        Subset name -> quantity -> :class:`~.ranks.Uniformity` (a subset with fewer than 2 fits is left out).
        Each band is Bonferroni-adjusted over the quantities (:func:`~.ranks.family_prob`), so that a
        calibrated model keeps every quantity inside 95% of the time.
    """
    out = {}
    for subset, keep in SUBSETS.items():
        chosen = [r for r in finished(records) if keep(r)]
        if len(chosen) < 2:
            continue
        quantities = list(chosen[0]["ranks"])
        prob = family_prob(len(quantities))  # every quantity inside its band together 95% of the time
        out[subset] = {q: uniformity(np.array([r["ranks"][q] for r in chosen]), draws, prob) for q in quantities}
    return out


def sbc_table(checks: dict[str, dict[str, Uniformity]], records: list[dict], draws: int) -> pd.DataFrame:
    """One row per quantity: the verdict on all fits and on the fits that passed the gates, with mean rank."""
    done = finished(records)
    rows = []
    for quantity, check in checks.get("all fits", {}).items():
        ranks = np.array([r["ranks"][quantity] for r in done], dtype=float)
        gated = checks.get("gates passed", {}).get(quantity)
        rows.append({"quantity": quantity, "fits": len(ranks), "mean_rank_share": float(ranks.mean() / draws),
                     "inside_band": check.inside, "verdict": check.verdict,
                     "verdict_gates_passed": gated.verdict if gated else "too few fits passed the gates"})
    return pd.DataFrame(rows)


def coverage_records(records: list[dict]) -> pd.DataFrame:
    """Coverage records as one long table: one row per fit, method and quantity."""
    rows = []
    for r in finished(records):
        for method, quantities in r["intervals"].items():
            passed = bool(r.get("gates_by_method", {}).get(method, r.get("gates_passed")))
            for quantity, values in quantities.items():
                rows.append({"index": r["index"], "gates_passed": passed, "method": method, "quantity": quantity,
                             **values})
    return pd.DataFrame(rows)


def srmse_table(records: list[dict]) -> pd.DataFrame:
    """Contribution SRMSE per method and channel over the finished fits: mean, median and largest."""
    rows = [{"method": method, "channel": channel, "srmse": value}
            for r in finished(records) for method, channels in r.get("srmse", {}).items()
            for channel, value in channels.items()]
    if not rows:
        return pd.DataFrame()
    grouped = pd.DataFrame(rows).groupby(["method", "channel"], sort=False)["srmse"]
    return grouped.agg(fits="count", mean="mean", median="median", largest="max").reset_index()


def informed_table(long: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """How often each method's fits informed each channel parameter: contraction (1 - posterior over prior
    interval width) at least ``threshold``, the fit stage's ``prior_dominated_below``.

    Parameters
    ----------
    long : pandas.DataFrame
        :func:`coverage_records`' table; rows without a ``contraction`` (totals, ROAS, the classical fit) are left out.
    threshold : float

    Returns
    -------
    pandas.DataFrame
        Per method and quantity: ``fits``, ``informed`` (share of fits) and ``contraction_median``.
    """
    if "contraction" not in long or long["contraction"].isna().all():
        return pd.DataFrame()
    rows = long[long["contraction"].notna()].assign(informed=lambda f: f["contraction"] >= threshold)
    grouped = rows.groupby(["method", "quantity"], sort=False)
    return pd.DataFrame({"fits": grouped["contraction"].count(), "informed": grouped["informed"].mean(),
                         "contraction_median": grouped["contraction"].median()}).reset_index()


def budget_table(records: list[dict]) -> pd.DataFrame:
    """The recommended allocations against the truth, per method and objective over the finished fits.

    Columns: ``fits``; the regret's median and quartiles (share of the achievable gain lost: 0 is
    the true optimum, 1 no better than not moving); ``regret_at_most_5pct`` (share of fits);
    ``over_promise_median`` (promised minus true gain, sales); ``loses`` (fits whose recommendation
    truly sells less than the current allocation) and ``claims_gain_but_loses`` (those among them
    whose posterior called the gain supported).
    """
    rows = [{"method": method, "objective": objective, **values}
            for r in finished(records) for method, objectives in r.get("budget", {}).items()
            for objective, values in objectives.items()]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    frame["loses"] = frame["true_gain"] < 0
    frame["claims_gain_but_loses"] = frame["loses"] & (frame["supported"] > 0)
    grouped = frame.groupby(["method", "objective"], sort=False)
    return pd.DataFrame({
        "fits": grouped["regret"].count(),
        "regret_median": grouped["regret"].median(),
        "regret_q25": grouped["regret"].quantile(0.25),
        "regret_q75": grouped["regret"].quantile(0.75),
        "regret_at_most_5pct": grouped["regret"].apply(lambda v: float((v <= 0.05).mean())),
        "over_promise_median": grouped["over_promise"].median(),
        "loses": grouped["loses"].sum().astype(int),
        "claims_gain_but_loses": grouped["claims_gain_but_loses"].sum().astype(int),
    }).reset_index()


def coverage_tables(long: pd.DataFrame) -> pd.DataFrame:
    """Coverage per subset of fits, method, quantity and level (:func:`~.coverage.coverage_table`).

    Each method is judged at the levels its records hold (``hit_<percent>`` columns): the Bayesian
    fit at the study's levels, the classical recovery at ``recover.level``.
    """
    parts = []
    for subset, keep in {"all fits": None, "gates passed": "gates_passed"}.items():
        chosen = long if keep is None else long[long[keep]]
        for method, group in chosen.groupby("method", sort=False):
            if group["index"].nunique() < 2:
                continue
            levels = sorted(int(c.removeprefix("hit_")) / 100 for c in group.columns
                            if c.startswith("hit_") and group[c].notna().all())
            table = coverage_table(group, levels)
            parts.append(table.assign(subset=subset, method=method))
    if not parts:
        return pd.DataFrame()
    columns = ["subset", "method", "quantity", "level"]
    table = pd.concat(parts, ignore_index=True)
    return table[columns + [c for c in table.columns if c not in columns]]
