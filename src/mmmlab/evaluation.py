"""Truth vs estimate: read only after estimation, never by the code that estimates.

Shared by the recovery and fit stages: the truth on the data's dates, parameter errors and
interval coverage, per-type RMSE/NRMSE (the seed's summary rows), contribution errors (SRMSE as in
PyMC Labs' MMM benchmark: RMSE over time divided by the mean true contribution); then the
classical recovery's comparison (:func:`recovery_comparison`) and the fit stage's comparison of its
posterior tables with the truth (:func:`fit_comparison`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mmmlab.errors import UserInputError
from mmmlab.transforms import equilibrium_adstock, hill_derivative

PARAMETERS = ("decay", "alpha", "gamma", "k")


@dataclass(frozen=True)
class Truth:
    """The simulator's true parameters and per-period contributions."""

    freq: str
    channels: dict[str, dict[str, float]]  # channel -> {decay, alpha, gamma, k}
    contributions: pd.DataFrame  # index dates; columns baseline, experiments, <channels>
    path: Path | None = None  # the file it was read from, for messages

    @property
    def channel_contributions(self) -> pd.DataFrame:
        return self.contributions[list(self.channels)]


def load_truth(path: Path | None) -> Truth | None:
    """The truth file, or None when there is none (a user's own data)."""
    if path is None or not Path(path).exists():
        return None
    return truth_from_record(json.loads(Path(path).read_text()), Path(path))


def truth_from_record(raw: dict, path: Path | None = None) -> Truth:
    """A truth from the simulator's record (``Simulation.truth``, the content of ``truth.json``)."""
    contributions = pd.DataFrame(raw["contributions"], index=pd.DatetimeIndex(raw["dates"], name="date"))
    channels = {name: {p: float(spec[p]) for p in PARAMETERS} for name, spec in raw["channels"].items()}
    return Truth(freq=raw["freq"], channels=channels, contributions=contributions, path=path)


def align_truth(truth: Truth, dates) -> Truth:
    """The truth on the data's dates, matched by date (never by position).

    Parameters
    ----------
    truth : Truth
        As read by :func:`load_truth`.
    dates : array-like of datetime
        The data's periods, in the data's order.

    Returns
    -------
    Truth
        The same truth with its contributions in the order of ``dates``.

    Raises
    ------
    UserInputError
        The truth's dates are not the data's: one line naming the truth file and the earliest
        date that is in one but not the other.
    """
    dates = pd.DatetimeIndex(dates)
    known = truth.contributions.index
    unmatched = dates.difference(known).union(known.difference(dates))
    if len(unmatched):
        first = unmatched[0]
        where = "the data but not the truth" if first in dates else "the truth but not the data"
        raise UserInputError(f"{truth.path or 'truth'}: its dates do not match the data's "
                             f"({len(known)} vs {len(dates)} periods): {first.date()} is in {where}")
    return replace(truth, contributions=truth.contributions.reindex(dates).rename_axis("date"))


def covers(lower, true, upper):
    """Whether the closed interval [lower, upper] holds ``true`` (elementwise; False where any is NaN)."""
    return (lower <= true) & (true <= upper)


def parameter_table(truth: Truth, estimates: pd.DataFrame) -> pd.DataFrame:
    """Compare estimates with the truth.

    ``estimates`` has columns channel, parameter, estimate, lower, upper (interval bounds may be
    NaN). Returns one row per (channel, parameter) with true, difference %, abs/rel error and
    whether the interval covers the truth (None when a bound is missing).
    """
    rows = []
    for rec in estimates.itertuples(index=False):
        true = truth.channels.get(rec.channel, {}).get(rec.parameter)
        if true is None:
            continue
        rows.append(
            {
                "channel": rec.channel,
                "parameter": rec.parameter,
                "true": true,
                "estimate": rec.estimate,
                "difference_pct": 100.0 * (rec.estimate - true) / true if true else np.nan,
                "abs_error": abs(rec.estimate - true),
                "rel_error": abs(rec.estimate - true) / abs(true) if true else np.nan,
                "lower": rec.lower,
                "upper": rec.upper,
                "covered": bool(covers(rec.lower, true, rec.upper)) if not np.isnan([rec.lower, rec.upper]).any() else None,
            }
        )
    return pd.DataFrame(rows)


def type_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The seed's summary rows: per parameter type, RMSE and NRMSE (% of the mean true value)."""
    rows = []
    for parameter, group in table.groupby("parameter", sort=False):
        rmse = float(np.sqrt(np.mean((group["estimate"] - group["true"]) ** 2)))
        covered = group["covered"].dropna()
        rows.append(
            {
                "parameter": parameter,
                "rmse": rmse,
                "nrmse_pct": 100.0 * rmse / float(group["true"].mean()),
                "coverage": float(covered.mean()) if len(covered) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def contribution_errors(true: pd.DataFrame, estimated: pd.DataFrame) -> pd.DataFrame:
    """Per channel: true and estimated total contribution, total error %, and SRMSE over time."""
    rows = []
    for channel in true.columns:
        t = np.asarray(true[channel], dtype=float)
        e = np.asarray(estimated[channel], dtype=float)
        rows.append(
            {
                "channel": channel,
                "true_total": float(t.sum()),
                "estimated_total": float(e.sum()),
                "total_error_pct": 100.0 * (e.sum() - t.sum()) / t.sum() if t.sum() else np.nan,
                "srmse": float(np.sqrt(np.mean((e - t) ** 2)) / np.mean(t)) if np.mean(t) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def finite(summary: dict) -> dict[str, float]:
    """The entries of ``summary`` that are finite numbers, as floats (None, NaN and infinities dropped)."""
    return {k: float(v) for k, v in summary.items() if v is not None and np.isfinite(float(v))}


# --------------------------------------------------------------------------- the classical recovery
def recovery_comparison(truth: Truth, estimates: pd.DataFrame, recovered: pd.DataFrame) -> dict:
    """The classical recovery's estimates and contributions against the truth.

    Parameters
    ----------
    truth : Truth
        Aligned with the data (:func:`align_truth`).
    estimates : pandas.DataFrame
        The channels' estimates: columns channel, parameter, estimate, lower, upper and verdict
        (:meth:`mmmlab.recovery.Recovery.channel_estimates`).
    recovered : pandas.DataFrame
        Recovered contribution per period (index the data's dates), one column per channel.

    Returns
    -------
    dict
        ``table``: :func:`parameter_table` with each row's verdict; ``summary``: its
        :func:`type_summary`; ``contributions``: :func:`contribution_errors`;
        ``true_contributions``: the truth's channel contributions.
    """
    table = parameter_table(truth, estimates[["channel", "parameter", "estimate", "lower", "upper"]])
    table = table.merge(estimates[["channel", "parameter", "verdict"]], on=["channel", "parameter"], how="left")
    true = truth.channel_contributions
    return {"table": table, "summary": type_summary(table), "contributions": contribution_errors(true, recovered),
            "true_contributions": true}


def comparison_table(comparison: dict) -> pd.DataFrame:
    """The seed's comparison table from a :func:`recovery_comparison`, extended with intervals and verdicts.

    One row per (channel, parameter): channel, parameter, true, recovered, difference_pct, lower,
    upper, truth_inside, verdict; then per-type rows with channel ``ALL``, rmse and nrmse_pct (also
    their difference_pct) and the type's coverage as truth_inside.
    """
    t = comparison["table"]
    rows = pd.DataFrame({
        "channel": t["channel"], "parameter": t["parameter"], "true": t["true"], "recovered": t["estimate"],
        "difference_pct": t["difference_pct"], "lower": t["lower"], "upper": t["upper"], "truth_inside": t["covered"],
        "verdict": t["verdict"], "rmse": np.nan, "nrmse_pct": np.nan,
    })
    s = comparison["summary"]
    summary = pd.DataFrame({"channel": "ALL", "parameter": s["parameter"], "difference_pct": s["nrmse_pct"],
                            "rmse": s["rmse"], "nrmse_pct": s["nrmse_pct"], "truth_inside": s["coverage"]})
    return pd.concat([rows, summary], ignore_index=True)


def recovery_tables(comparison: dict, components: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables of a :func:`recovery_comparison` by name, each to be written without its index.

    Parameters
    ----------
    comparison : dict
    components : pandas.DataFrame
        The recovery's fitted components per period (index the dates): baseline, experiments, channels.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``comparison`` (:func:`comparison_table`), ``contribution_errors``, and ``contributions``:
        a ``date`` column, every component suffixed ``.recovered``, then each channel's truth
        suffixed ``.true``.
    """
    joined = pd.concat([components.add_suffix(".recovered"), comparison["true_contributions"].add_suffix(".true")],
                       axis=1)
    return {
        "comparison": comparison_table(comparison),
        "contribution_errors": comparison["contributions"],
        "contributions": joined.rename_axis("date").reset_index(),
    }


def recovery_metrics(comparison: dict) -> dict[str, float]:
    """Headline numbers of a :func:`recovery_comparison`, finite ones only, for metrics.

    Per parameter its absolute and relative error and whether its interval covers the truth; per
    type RMSE and NRMSE; the coverage over every interval; per channel the total contribution's
    error % and SRMSE.
    """
    metrics = {}
    for rec in comparison["table"].itertuples(index=False):
        key = f"{rec.channel}.{rec.parameter}"
        metrics[f"{key}.abs_error"] = rec.abs_error
        metrics[f"{key}.rel_error"] = rec.rel_error
        if rec.covered is not None:
            metrics[f"{key}.covered"] = float(rec.covered)
    for rec in comparison["summary"].itertuples(index=False):
        metrics[f"nrmse.{rec.parameter}"] = rec.nrmse_pct
        metrics[f"rmse.{rec.parameter}"] = rec.rmse
    covered = comparison["table"]["covered"].dropna()
    if len(covered):
        metrics["coverage"] = float(covered.astype(float).mean())
    for rec in comparison["contributions"].itertuples(index=False):
        metrics[f"contribution.{rec.channel}.total_error_pct"] = rec.total_error_pct
        metrics[f"contribution.{rec.channel}.srmse"] = rec.srmse
    return finite(metrics)


# --------------------------------------------------------------------------- the Bayesian fit
def true_roas(truth: Truth, spend: pd.DataFrame) -> pd.Series:
    """Per channel: total true contribution over total spend (``spend`` columns are channel names)."""
    contributions = truth.channel_contributions
    return pd.Series({c: float(contributions[c].sum() / spend[c].sum()) for c in spend.columns if c in truth.channels})


def true_marginal_roas(truth: Truth, mean_spend: pd.Series) -> pd.Series:
    """Per channel: extra sales per extra unit of spend at the mean spend held forever.

    The adstock settles at ``equilibrium_adstock(mean, decay)``; one more unit of spend in one
    period adds ``equilibrium_adstock(1, decay)`` units of adstock over the following periods, each
    worth ``hill_derivative(S)`` sales.
    """
    out = {}
    for channel, mean in mean_spend.items():
        if channel not in truth.channels:
            continue
        p = truth.channels[channel]
        level = equilibrium_adstock(mean, p["decay"])
        out[channel] = float(hill_derivative(level, p["alpha"], p["gamma"], p["k"]) * equilibrium_adstock(1.0, p["decay"]))
    return pd.Series(out)


def interval_table(true: pd.Series, estimates: pd.DataFrame) -> pd.DataFrame:
    """``estimates`` (index channel; columns mean, median, lower, upper) with the truth, errors and coverage.

    ``covered`` is None where the truth is unknown (NaN).
    """
    table = estimates.copy()
    table["true"] = true.reindex(table.index)
    table["rel_error"] = (table["mean"] - table["true"]).abs() / table["true"].abs()
    inside = covers(table["lower"], table["true"], table["upper"])
    table["covered"] = inside.astype(object).where(table["true"].notna(), None)
    return table


def contributions_vs_truth(true: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """Per-period contribution intervals with the truth and whether each interval covers it.

    Parameters
    ----------
    true : pandas.DataFrame
        True contributions: index the dates, one column per channel.
    intervals : pandas.DataFrame
        Columns date, channel, mean, median, lower, upper (the fit's ``contributions`` table).

    Returns
    -------
    pandas.DataFrame
        ``intervals`` with ``true`` and ``covered`` added, in the same row order.
    """
    table = intervals.set_index(["date", "channel"])
    true_long = true.rename_axis("date").rename_axis("channel", axis=1).stack()
    table["true"] = true_long.reindex(table.index).to_numpy()
    table["covered"] = covers(table["lower"], table["true"], table["upper"])
    return table.reset_index()


def fit_comparison(truth: Truth, tables: dict[str, pd.DataFrame], spend: pd.DataFrame,
                   parameters: bool = True) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """The fit's posterior tables against the truth, and headline numbers for metrics.

    Parameters
    ----------
    truth : Truth
        Aligned with the data (:func:`align_truth`).
    tables : dict of str to pandas.DataFrame
        The fit's estimate tables (:func:`mmmlab.bayes.estimate_tables`): ``parameters``,
        ``contributions``, ``contribution_totals`` and ``roas``.
    spend : pandas.DataFrame
        Spend per period (index the dates), one column per channel of the fit.
    parameters : bool
        Whether the parameters are the simulator's (a Hill form) and so comparable with the truth.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        ``parameters_vs_truth`` (when ``parameters``), ``contributions_vs_truth``,
        ``contribution_errors`` and ``roas_vs_truth``.
    summary : dict of str to float
        Finite headline numbers: coverage and NRMSE per parameter type, relative errors, SRMSE
        and total error per channel, ROAS relative errors.
    """
    channels = [c for c in spend.columns if c in truth.channels]
    summary: dict[str, float] = {}
    out: dict[str, pd.DataFrame] = {}
    if parameters:
        est = tables["parameters"].rename(columns={"mean": "estimate"})
        est = est[["channel", "parameter", "estimate", "lower", "upper", "median"]]
        table = parameter_table(truth, est[est["parameter"].isin(PARAMETERS)])
        table = table.merge(est[["channel", "parameter", "median"]], on=["channel", "parameter"])
        out["parameters_vs_truth"] = table
        for row in type_summary(table).itertuples():
            summary[f"coverage.{row.parameter}"] = row.coverage
            summary[f"nrmse_pct.{row.parameter}"] = row.nrmse_pct
        for row in table.itertuples():
            summary[f"rel_error.{row.parameter}.{row.channel}"] = row.rel_error
    true_contrib = truth.channel_contributions[channels]
    over_time = contributions_vs_truth(true_contrib, tables["contributions"])
    out["contributions_vs_truth"] = over_time
    mean = over_time.pivot(index="date", columns="channel", values="mean")[channels]
    errors = contribution_errors(true_contrib, mean)
    totals = tables["contribution_totals"].set_index("channel").loc[channels]
    errors["lower"], errors["upper"] = totals["lower"].to_numpy(), totals["upper"].to_numpy()
    errors["covered"] = covers(errors["lower"], errors["true_total"], errors["upper"])
    errors["coverage_over_time"] = over_time.groupby("channel")["covered"].mean().reindex(channels).to_numpy()
    out["contribution_errors"] = errors
    for row in errors.itertuples():
        summary[f"srmse.{row.channel}"] = row.srmse
        summary[f"total_error_pct.{row.channel}"] = row.total_error_pct
    summary["srmse.max"] = float(errors["srmse"].max())
    spend = spend[channels]
    roas = tables["roas"]
    rows = []
    for metric, true in [("roas", true_roas(truth, spend)), ("marginal_roas", true_marginal_roas(truth, spend.mean()))]:
        table = interval_table(true, roas[roas["metric"] == metric].set_index("channel")[["mean", "median", "lower", "upper"]])
        rows.append(table.assign(metric=metric).reset_index())
        for channel, row in table.iterrows():
            summary[f"{metric}_rel_error.{channel}"] = row["rel_error"]
    columns = ["metric", "channel", "true", "mean", "median", "lower", "upper", "rel_error", "covered"]
    out["roas_vs_truth"] = pd.concat(rows, ignore_index=True)[columns]
    return out, finite(summary)


def headline(summary: dict[str, float]) -> list[str]:
    """The truth comparison in sentences: coverage per parameter type and contribution SRMSE per channel."""
    lines = []
    covered = [f"{p} {summary[f'coverage.{p}']:.0%}" for p in PARAMETERS if f"coverage.{p}" in summary]
    if covered:
        lines.append(f"Truth inside the HDI: {', '.join(covered)} of channels.")
    srmse = [f"{k.split('.', 1)[1]} {v:.2f}" for k, v in summary.items() if k.startswith("srmse.") and k != "srmse.max"]
    if srmse:
        lines.append(f"Contribution SRMSE (RMSE / mean true contribution): {', '.join(srmse)}.")
    return lines
