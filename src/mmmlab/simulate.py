"""The data-generating process: spend, adstock, Hill saturation, baseline, economy, events, experiments, noise.

Vectorised across channels; the only loops run over time steps of recursions (spend smoothing,
the monthly Markov chain) or over the few events and experiment windows. All randomness comes
from one ``numpy.random.Generator`` seeded from the spec, drawn in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config import SimulationSpec
from mmmlab.transforms import geometric_adstock, hill

DAYS_PER_MONTH = 365.2425 / 12


@dataclass(frozen=True)
class Simulation:
    """A generated dataset and the truth behind it."""

    frame: pd.DataFrame
    truth: dict


def months_per_period(freq: str) -> float:
    """Length of one period in calendar months (1 for monthly data, ~0.23 for weekly)."""
    return 1.0 if freq == "MS" else 7.0 / DAYS_PER_MONTH


def easter(years) -> list[pd.Timestamp]:
    """Gregorian Easter Sunday for each year (the anonymous Gregorian algorithm)."""
    out = []
    for y in years:
        a, b, c = y % 19, y // 100, y % 100
        d, e = b // 4, b % 4
        g = (8 * b + 13) // 25
        h = (19 * a + b - d - g + 15) % 30
        i, k = c // 4, c % 4
        l_ = (32 + 2 * e + 2 * i - h - k) % 7
        m = (a + 11 * h + 22 * l_) // 451
        month = (h + l_ - 7 * m + 114) // 31
        day = (h + l_ - 7 * m + 114) % 31 + 1
        out.append(pd.Timestamp(year=y, month=month, day=day))
    return out


def simulate(spec: SimulationSpec) -> Simulation:
    """Generate one dataset with its truth from a validated spec."""
    rng = np.random.default_rng(spec.seed)
    dates = pd.date_range(spec.start, spec.end, freq=spec.freq)
    if len(dates) < 2:
        raise ValueError("the date range holds fewer than two periods")
    months = months_per_period(spec.freq)
    names = spec.channel_names

    spend = _spend(spec, dates, months, rng)
    planned = spend.copy()
    spend, boost, exp_flag, exp_channel = _experiments(spec, dates, planned)
    decay = np.array([c.decay for c in spec.channels])
    alpha = np.array([c.alpha for c in spec.channels])
    gamma = np.array([c.gamma for c in spec.channels])
    k = np.array([c.k for c in spec.channels])
    adstocked = geometric_adstock(spend, decay)
    impact = hill(adstocked, alpha, gamma, k)

    economy = _economy(spec, dates, rng)
    econ_index = np.array(spec.economy.index)[economy]
    event_names, event_mult = _events(spec, dates)
    period_growth = (1.0 + spec.monthly_growth) ** months - 1.0
    baseline = spec.baseline_level * (1.0 + period_growth) ** np.arange(len(dates)) * event_mult * econ_index

    noise = rng.normal(1.0, spec.noise_sd, len(dates))
    sales = _round(noise * (baseline + impact.sum(axis=1) + boost), spec.sales_round_to)

    frame = _frame(spec, dates, spend, sales, economy, event_names, exp_flag, exp_channel, adstocked, impact)
    truth = {
        "freq": spec.freq,
        "seed": spec.seed,
        "preset": spec.preset,
        "channels": {
            c.name: {"spend_column": f"{c.name}_Spend", "decay": c.decay, "alpha": c.alpha, "gamma": c.gamma, "k": c.k}
            for c in spec.channels
        },
        "baseline": {"level": spec.baseline_level, "period_growth": period_growth, "noise_sd": spec.noise_sd},
        "experiments": {"realism": spec.experiments.realism},
        "dates": [d.strftime("%Y-%m-%d") for d in dates],
        "contributions": {
            "baseline": baseline.tolist(),
            "experiments": boost.tolist(),
            **{name: impact[:, j].tolist() for j, name in enumerate(names)},
        },
        "noise": noise.tolist(),
    }
    return Simulation(frame=frame, truth=truth)


def _round(values: np.ndarray, unit: float) -> np.ndarray:
    return np.round(values / unit) * unit if unit > 0 else values


def _spend(spec: SimulationSpec, dates: pd.DatetimeIndex, months: float, rng) -> np.ndarray:
    """Smoothed random walk towards a seasonal, growing target, floored; first period at base."""
    s = spec.spend
    base = np.array([c.base_spend for c in spec.channels])
    growth = np.array([c.growth for c in spec.channels])
    season = np.array([c.seasonality for c in spec.channels]).T  # (12, channels)
    years = (dates.year - dates.year[0]).to_numpy()[:, None]
    shock = np.clip(1.0 + rng.normal(0.0, s.volatility, (len(dates), len(base))), *s.clip)
    target = base * growth**years * season[dates.month.to_numpy() - 1] * shock
    keep = s.smoothing**months  # same calendar-time smoothing whatever the period length
    spend = np.empty_like(target)
    spend[0] = base
    for t in range(1, len(dates)):
        step = np.maximum(keep * spend[t - 1] + (1.0 - keep) * target[t], s.floor * base)
        spend[t] = _round(step, s.round_to)
    return spend


def _experiments(spec: SimulationSpec, dates: pd.DatetimeIndex, planned: np.ndarray):
    """Apply the spend multiplier in each window; the linear boost; the experiment flags."""
    e = spec.experiments
    index = {name: j for j, name in enumerate(spec.channel_names)}
    spend, boost = planned.copy(), np.zeros(len(dates))
    channel_label = np.full(len(dates), "", dtype=object)
    for w in e.windows:
        rows = (dates >= w.start) & (dates <= w.end)
        j = index[w.channel]
        spend[rows, j] = planned[rows, j] * e.spend_multiplier
        extra = spend[rows, j] - planned[rows, j]
        boost[rows] += e.realism * (w.response_rate * extra + e.base_lift * planned[rows, j])
        channel_label[rows] = np.where(channel_label[rows] == "", w.channel, channel_label[rows] + "+" + w.channel)
    flag = (channel_label != "").astype(int)
    channel_label[flag == 0] = "None"
    return spend, boost, flag, channel_label


def _economy(spec: SimulationSpec, dates: pd.DatetimeIndex, rng) -> np.ndarray:
    """State index per period from a Markov chain that steps once per calendar month."""
    econ = spec.economy
    month_id = (dates.year * 12 + dates.month).to_numpy()
    month_id = month_id - month_id[0]
    uniforms = rng.random(month_id[-1] + 1)
    cumulative = np.cumsum(np.array(econ.transition), axis=1)
    states = np.empty(len(uniforms), dtype=int)
    states[0] = min(np.searchsorted(np.cumsum(econ.initial), uniforms[0], side="right"), len(econ.states) - 1)
    for m in range(1, len(uniforms)):
        row = cumulative[states[m - 1]]
        states[m] = min(np.searchsorted(row, uniforms[m], side="right"), len(econ.states) - 1)
    return states[month_id]


def _events(spec: SimulationSpec, dates: pd.DatetimeIndex):
    """Name and multiplier per period: the first event of the table that falls in the period."""
    ends = dates[1:].append(pd.DatetimeIndex([dates[-1] + pd.tseries.frequencies.to_offset(spec.freq)]))
    names = np.full(len(dates), "None", dtype=object)
    mult = np.ones(len(dates))
    years = range(dates[0].year, ends[-1].year + 1)
    for event in spec.events:
        if event.date == "easter":
            days = pd.DatetimeIndex(easter(years))
        else:
            days = pd.DatetimeIndex(
                [d for d in (pd.Timestamp(f"{y}-{event.date}") if _valid(y, event.date) else None for y in years) if d]
            )
        rows = np.searchsorted(dates.values, days.values, side="right") - 1
        inside = (rows >= 0) & (days < ends[np.clip(rows, 0, None)])
        for row in rows[inside]:
            if names[row] == "None":
                names[row], mult[row] = event.name, event.multiplier
    return names, mult


def _valid(year: int, month_day: str) -> bool:
    try:
        pd.Timestamp(f"{year}-{month_day}")
    except ValueError:
        return False
    return True


def _frame(spec, dates, spend, sales, economy, event_names, exp_flag, exp_channel, adstocked, impact) -> pd.DataFrame:
    """The seed's columns and names."""
    label = "%b %Y" if spec.freq == "MS" else "%d %b %Y"
    cols: dict[str, object] = {
        "Date": dates.strftime("%Y-%m-%d"),
        "Year": dates.year,
        "Month": dates.month,
        "Time_Period": dates.strftime(label),
    }
    names = spec.channel_names
    for j, name in enumerate(names):
        cols[f"{name}_Spend"] = spend[:, j]
    cols["Total_Sales"] = sales
    cols["Economic_Condition"] = np.array(spec.economy.states, dtype=object)[economy]
    cols["Seasonal_Event"] = event_names
    cols["Is_Experiment"] = exp_flag
    cols["Experiment_Channel"] = exp_channel
    for c in spec.channels:
        cols[f"{c.name}_Decay"] = c.decay
    for c in spec.channels:
        cols[f"{c.name}_alpha"], cols[f"{c.name}_gamma"], cols[f"{c.name}_k"] = c.alpha, c.gamma, c.k
    for j, name in enumerate(names):
        cols[f"{name}_Adstocked"] = adstocked[:, j]
    for j, name in enumerate(names):
        cols[f"{name}_Impact"] = impact[:, j]
    return pd.DataFrame(cols)
