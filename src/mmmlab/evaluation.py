"""Truth vs estimate: read only after estimation, never by the code that estimates.

Shared by the recovery and fit stages: parameter errors and interval coverage, per-type
RMSE/NRMSE (the seed's summary rows), and contribution errors (SRMSE as in PyMC Labs' MMM
benchmark: RMSE over time divided by the mean true contribution).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PARAMETERS = ("decay", "alpha", "gamma", "k")


@dataclass(frozen=True)
class Truth:
    """The simulator's true parameters and per-period contributions."""

    freq: str
    channels: dict[str, dict[str, float]]  # channel -> {decay, alpha, gamma, k}
    contributions: pd.DataFrame  # index dates; columns baseline, experiments, <channels>

    @property
    def channel_contributions(self) -> pd.DataFrame:
        return self.contributions[list(self.channels)]


def load_truth(path: Path | None) -> Truth | None:
    """The truth file, or None when there is none (a user's own data)."""
    if path is None or not Path(path).exists():
        return None
    raw = json.loads(Path(path).read_text())
    contributions = pd.DataFrame(raw["contributions"], index=pd.DatetimeIndex(raw["dates"], name="date"))
    channels = {name: {p: float(spec[p]) for p in PARAMETERS} for name, spec in raw["channels"].items()}
    return Truth(freq=raw["freq"], channels=channels, contributions=contributions)


def parameter_table(truth: Truth, estimates: pd.DataFrame) -> pd.DataFrame:
    """Compare estimates with the truth.

    ``estimates`` has columns channel, parameter, estimate, lower, upper (interval bounds may be
    NaN). Returns one row per (channel, parameter) with true, difference %, abs/rel error and
    whether the interval covers the truth.
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
                "covered": bool(rec.lower <= true <= rec.upper) if not np.isnan([rec.lower, rec.upper]).any() else None,
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


def true_roas(truth: Truth, spend: pd.DataFrame) -> pd.Series:
    """Per channel: total true contribution over total spend (``spend`` columns are channel names)."""
    contributions = truth.channel_contributions
    return pd.Series({c: float(contributions[c].sum() / spend[c].sum()) for c in spend.columns if c in truth.channels})


def true_marginal_roas(truth: Truth, mean_spend: pd.Series) -> pd.Series:
    """Per channel: extra sales per extra unit of spend at the mean spend held forever.

    The adstock settles at ``equilibrium_adstock(mean, decay)``; one more unit of spend in one
    period adds ``hill_derivative(S) / (1 - decay)`` sales over the following periods.
    """
    from mmmlab.transforms import equilibrium_adstock, hill_derivative

    out = {}
    for channel, mean in mean_spend.items():
        if channel not in truth.channels:
            continue
        p = truth.channels[channel]
        level = equilibrium_adstock(mean, p["decay"])
        out[channel] = float(hill_derivative(level, p["alpha"], p["gamma"], p["k"]) / (1.0 - p["decay"]))
    return pd.Series(out)


def interval_table(true: pd.Series, estimates: pd.DataFrame) -> pd.DataFrame:
    """``estimates`` (index channel; columns mean, median, lower, upper) with the truth, errors and coverage."""
    table = estimates.copy()
    table["true"] = true.reindex(table.index)
    table["rel_error"] = (table["mean"] - table["true"]).abs() / table["true"].abs()
    inside = (table["lower"] <= table["true"]) & (table["true"] <= table["upper"])
    table["covered"] = inside.astype(object).where(table["true"].notna(), None)
    return table
