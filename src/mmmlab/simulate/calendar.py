"""The simulator's calendar: period length, Easter, holiday events and the monthly Markov economy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab.config import SimulationSpec

DAYS_PER_MONTH = 365.2425 / 12

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


def economy_states(spec: SimulationSpec, dates: pd.DatetimeIndex, rng) -> np.ndarray:
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


def period_events(spec: SimulationSpec, dates: pd.DatetimeIndex):
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
