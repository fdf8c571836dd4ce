"""The data-generating process: spend, adstock, Hill saturation, baseline, economy, events, experiments, noise.

Vectorised across channels; the only loops run over time steps of recursions (spend smoothing,
the monthly Markov chain) or over the few events and experiment windows. All randomness comes
from one ``numpy.random.Generator`` seeded from the spec, drawn in a fixed order; the lift-test
readouts (:mod:`.lift_tests`) draw their noise from a generator of their own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config import SimulationSpec
from mmmlab.dataset import EXPERIMENT_SEPARATOR
from mmmlab.simulate.calendar import economy_states, months_per_period, period_events
from mmmlab.simulate.lift_tests import LiftTest, lift_tests
from mmmlab.transforms import geometric_adstock, hill


@dataclass(frozen=True)
class Simulation:
    """A generated dataset and the truth behind it.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per period in the seed's schema: ``Date``, ``Year``, ``Month``, ``Time_Period``,
        ``<channel>_Spend`` (spend per period), ``Total_Sales``, ``Economic_Condition``,
        ``Seasonal_Event``, ``Is_Experiment``, ``Experiment_Channel``, then the truth columns
        ``<channel>_Decay``/``_alpha``/``_gamma``/``_k``/``_Adstocked``/``_Impact``.
    truth : dict
        JSON-ready truth: ``freq``, ``seed``, ``preset``, per-channel ``channels`` parameters,
        ``baseline`` (level, period growth, noise sd), ``experiments``, ``dates``, the
        per-period sales ``contributions`` (baseline, experiments, each channel), ``noise`` and
        ``lift_tests`` (each readout with its noise-free ``true_lift``).
    lift_tests : tuple of LiftTest
        One readout per experiment window that holds a period of the data.
    """

    frame: pd.DataFrame
    truth: dict
    lift_tests: tuple[LiftTest, ...]


def simulate(spec: SimulationSpec) -> Simulation:
    """Generate one dataset with its truth from a validated spec.

    Sales per period are ``noise * (baseline + sum of channel impacts + experiment boost)``,
    where a channel's impact is ``hill(geometric_adstock(spend))`` with its true parameters and
    the baseline grows, follows the economy's index and the event multipliers.

    Parameters
    ----------
    spec : SimulationSpec
        The validated ``generate`` section (:func:`mmmlab.config.simulation_spec`); its ``seed``
        fixes every random draw, so the same spec gives the same data.

    Returns
    -------
    Simulation
        The dataset's frame and its truth.

    Raises
    ------
    ValueError
        If the date range holds fewer than two periods (``simulation_spec`` already refuses
        such a spec with a :class:`~mmmlab.errors.UserInputError`).
    """
    rng = np.random.default_rng(spec.seed)
    dates = pd.date_range(spec.start, spec.end, freq=spec.freq)
    if len(dates) < 2:
        raise ValueError("the date range holds fewer than two periods")
    months = months_per_period(spec.freq)
    names = spec.channel_names

    planned = _spend(spec, dates, months, rng)
    spend, counterfactual, window_boost, exp_flag, exp_channel = _experiments(spec, dates, planned)
    boost = window_boost.sum(axis=0)
    decay = np.array([c.decay for c in spec.channels])
    alpha = np.array([c.alpha for c in spec.channels])
    gamma = np.array([c.gamma for c in spec.channels])
    k = np.array([c.k for c in spec.channels])
    adstocked = geometric_adstock(spend, decay)
    impact = hill(adstocked, alpha, gamma, k)

    economy = economy_states(spec, dates, rng)
    econ_index = np.array(spec.economy.index)[economy]
    event_names, event_mult = period_events(spec, dates)
    period_growth = (1.0 + spec.monthly_growth) ** months - 1.0
    baseline = spec.baseline_level * (1.0 + period_growth) ** np.arange(len(dates)) * event_mult * econ_index

    noise = rng.normal(1.0, spec.noise_sd, len(dates))
    sales = _round(noise * (baseline + impact.sum(axis=1) + boost), spec.sales_round_to)

    frame = _frame(spec, dates, spend, sales, economy, event_names, exp_flag, exp_channel, adstocked, impact)
    tests = lift_tests(spec, dates, spend, counterfactual, window_boost)
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
        "lift_tests": [dataclasses.asdict(t) for t in tests],
    }
    return Simulation(frame=frame, truth=truth, lift_tests=tests)


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
    """Each window multiplies its channel's spend by its multiplier; the linear boost; the experiment flags.

    Overlapping windows on one channel multiply together. Returns the observed spend; per window,
    its channel's spend without that window's extra spend (the lift test's counterfactual) and
    its boost, both (windows, periods); the ``Is_Experiment`` and ``Experiment_Channel`` columns.
    """
    e = spec.experiments
    n = len(dates)
    columns = np.array([spec.channel_names.index(w.channel) for w in e.windows], dtype=int)
    rows = np.array([w.rows(dates) for w in e.windows], dtype=bool).reshape(len(e.windows), n)
    factor = np.where(rows, np.array([w.multiplier for w in e.windows])[:, None], 1.0)  # (windows, periods)
    spend = planned.copy()
    for j in set(columns):
        spend[:, j] = planned[:, j] * factor[columns == j].prod(axis=0)
    index = np.arange(len(columns))
    # a window's counterfactual: its channel's planned spend times every factor on it but its own
    without = [factor[(columns == j) & (index != i)].prod(axis=0) for i, j in enumerate(columns)]
    counterfactual = planned[:, columns].T * np.reshape(without, factor.shape)
    extra = spend[:, columns].T - counterfactual
    rate = np.array([w.response_rate for w in e.windows])[:, None]
    boost = rows * e.realism * (rate * extra + e.base_lift * counterfactual)

    channel_label = np.full(n, "", dtype=object)
    for w, r in zip(e.windows, rows):
        label = channel_label[r]
        channel_label[r] = np.where(label == "", w.channel, label + EXPERIMENT_SEPARATOR + w.channel)
    flag = (channel_label != "").astype(int)
    channel_label[flag == 0] = "None"
    return spend, counterfactual, boost, flag, channel_label


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
