"""The simulator's calendar: period length, Easter, holiday events and the monthly Markov economy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab.config import SimulationSpec

DAYS_PER_MONTH = 365.2425 / 12

def months_per_period(freq: str) -> float:
    """Length of one period in calendar months.

    Parameters
    ----------
    freq : str
        The pandas frequency of the periods: ``"MS"`` (monthly) or a weekly one (``"W-MON"``).

    Returns
    -------
    float
        1 for monthly periods, 7 days over the mean month length (about 0.23) otherwise.
    """
    return 1.0 if freq == "MS" else 7.0 / DAYS_PER_MONTH


def easter(years) -> list[pd.Timestamp]:
    """Gregorian Easter Sunday for each year (the anonymous Gregorian algorithm).

    Parameters
    ----------
    years : iterable of int
        Calendar years.

    Returns
    -------
    list of pandas.Timestamp
        Easter Sunday of each year, in the order given.
    """
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
    """State index per period from a Markov chain that steps once per calendar month.

    Stepping per month rather than per period keeps the economy's pace the same for weekly
    and monthly data; every period of a month shares that month's state.

    Parameters
    ----------
    spec : SimulationSpec
        Its ``economy`` gives the states, the initial distribution and the transition matrix.
    dates : pandas.DatetimeIndex
        Start of each period.
    rng : numpy.random.Generator
        Draws one uniform per calendar month spanned by ``dates``.

    Returns
    -------
    numpy.ndarray of int, shape (periods,)
        Index into ``spec.economy.states`` (and ``spec.economy.index``) for each period.
    """
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
    """Name and multiplier per period: the first event of the table that falls in the period.

    A period runs from its date to the next period's date. A ``"MM-DD"`` that does not exist
    in a year (``"02-29"`` outside leap years) is skipped for that year.

    Parameters
    ----------
    spec : SimulationSpec
        Its ``events`` (name, ``"MM-DD"`` or ``"easter"``, baseline multiplier) and ``freq``.
    dates : pandas.DatetimeIndex
        Start of each period.

    Returns
    -------
    names : numpy.ndarray of object, shape (periods,)
        The event's name, or ``"None"`` for a period without an event.
    multipliers : numpy.ndarray of float, shape (periods,)
        The event's baseline multiplier, 1 for a period without an event.
    """
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
