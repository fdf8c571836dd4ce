"""Lift-test readouts: each experiment window read out as a well-run experiment would read it.

A test's noise-free lift is the sales its extra spend causes through the channel's true adstock
and Hill curve, summed over the window and ``follow_up_periods`` after it (the carryover, clipped
at the data's end). Its counterfactual is the observed spend without that test's extra spend
(other tests, overlapping or on the same channel, stay). With ``lift_tests.boost: include`` the
window's linear experiment boost counts too. The measured lift adds Normal(0, se) noise,
``se = relative_se * |noise-free lift|``, drawn from a generator of its own, so the dataset does
not depend on these settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config.simulation import LiftBoost, SimulationSpec
from mmmlab.transforms import geometric_adstock, hill

NOISE_STREAM = 17  # the measurement noise comes from default_rng([seed, NOISE_STREAM])
CSV_COLUMNS = ("channel", "start", "end", "measure_end", "spend_before", "extra_spend", "lift", "lift_se")


@dataclass(frozen=True)
class LiftTest:
    """One lift-test readout: a row of ``data/lift_tests.csv`` (:data:`CSV_COLUMNS`) plus its truth.

    Attributes
    ----------
    channel : str
        The channel under test.
    start, end : str
        ISO dates of the window's first and last period.
    measure_end : str
        ISO date of the last period the readout covers.
    spend_before : float
        The channel's spend over the window without the test.
    extra_spend : float
        The test's extra spend over the window.
    lift : float
        The measured incremental sales.
    lift_se : float
        The measurement's standard error.
    true_lift : float
        The noise-free incremental sales.
    boost_included : bool
        Whether the window's linear experiment boost counts in the lift.
    """

    channel: str
    start: str
    end: str
    measure_end: str
    spend_before: float
    extra_spend: float
    lift: float
    lift_se: float
    true_lift: float
    boost_included: bool


def lift_tests(spec: SimulationSpec, dates: pd.DatetimeIndex, spend: np.ndarray, counterfactual: np.ndarray,
               boost: np.ndarray) -> tuple[LiftTest, ...]:
    """Read out every experiment window that holds a period of the data.

    Parameters
    ----------
    spec : SimulationSpec
        The channels' true parameters, the windows (``experiments.windows``), ``lift_tests`` and ``seed``.
    dates : pandas.DatetimeIndex
        The periods.
    spend : numpy.ndarray
        Observed spend, (periods, channels).
    counterfactual : numpy.ndarray
        Per window, its channel's spend without that window's extra spend, (windows, periods).
    boost : numpy.ndarray
        Per window, its linear experiment boost, (windows, periods).

    Returns
    -------
    tuple of LiftTest
        In the order of the windows; a window outside the data, or one that changes no spend (its
        channel spends nothing there, or its multiplier is 1), has none: there is nothing to read.
    """
    windows, settings = spec.experiments.windows, spec.lift_tests
    if not windows:
        return ()
    rows = np.array([w.rows(dates) for w in windows])  # (windows, periods)
    last_period = len(dates) - 1
    first = rows.argmax(axis=1)
    last = last_period - rows[:, ::-1].argmax(axis=1)
    measure_end = np.minimum(last + settings.follow_up_periods, last_period)
    periods = np.arange(len(dates))[:, None]
    covered = (periods >= first) & (periods <= measure_end)  # (periods, windows)

    columns = [spec.channel_names.index(w.channel) for w in windows]
    observed = spend[:, columns]
    caused = _response(spec, columns, observed) - _response(spec, columns, counterfactual.T)
    true_lift = (caused * covered).sum(axis=0)
    include = settings.boost == LiftBoost.INCLUDE
    if include:
        true_lift = true_lift + boost.sum(axis=1)
    se = settings.relative_se * np.abs(true_lift)
    lift = true_lift + se * np.random.default_rng([spec.seed, NOISE_STREAM]).standard_normal(len(windows))
    before = (counterfactual * rows).sum(axis=1)
    extra = ((observed.T - counterfactual) * rows).sum(axis=1)
    iso = dates.strftime("%Y-%m-%d")
    tested = rows.any(axis=1) & (extra != 0)
    return tuple(
        LiftTest(
            channel=w.channel,
            start=iso[first[i]],
            end=iso[last[i]],
            measure_end=iso[measure_end[i]],
            spend_before=float(before[i]),
            extra_spend=float(extra[i]),
            lift=float(lift[i]),
            lift_se=float(se[i]),
            true_lift=float(true_lift[i]),
            boost_included=include,
        )
        for i, w in enumerate(windows)
        if tested[i]
    )


def readout_frame(tests: tuple[LiftTest, ...]) -> pd.DataFrame:
    """The readouts as ``data/lift_tests.csv`` holds them: :data:`CSV_COLUMNS`, one row per test (none: the header)."""
    return pd.DataFrame([dataclasses.asdict(t) for t in tests], columns=list(CSV_COLUMNS))


def _response(spec: SimulationSpec, columns: list[int], spend: np.ndarray) -> np.ndarray:
    """``hill(geometric_adstock(spend))`` of each column with the true parameters of channel ``columns[i]``."""
    channels = [spec.channels[j] for j in columns]
    decay, alpha, gamma, k = (np.array([getattr(c, p) for c in channels]) for p in ("decay", "alpha", "gamma", "k"))
    return hill(geometric_adstock(spend, decay), alpha, gamma, k)

