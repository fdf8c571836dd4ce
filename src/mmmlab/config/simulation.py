"""The ``generate`` section (with its preset merged) -> the simulator's frozen spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmmlab.config.loading import deep_merge
from mmmlab.config.section import Choice, Section, check_number, defaults, unknown_key
from mmmlab.errors import UserInputError

GENERATED_LIFT_TESTS = "data/lift_tests.csv"  # the lift-test readouts (a DVC out of the generate stage)


class Frequency(Choice):
    """The simulator's period: month start or weeks starting Monday (pandas offset aliases)."""

    MS = "MS"
    W_MON = "W-MON"


class LiftBoost(Choice):
    """Whether a lift-test readout counts the window's linear experiment boost."""

    EXCLUDE = "exclude"
    INCLUDE = "include"


# --------------------------------------------------------------------------- simulator spec
@dataclass(frozen=True)
class ChannelSpec:
    """One simulated channel: how its spend moves and how it drives sales."""

    name: str
    base_spend: float
    growth: float
    seasonality: tuple[float, ...]
    decay: float
    alpha: float
    gamma: float
    k: float


@dataclass(frozen=True)
class SpendSpec:
    volatility: float
    clip: tuple[float, float]
    smoothing: float
    floor: float
    round_to: float = 1  # spend rounded to this unit (0: none)


@dataclass(frozen=True)
class ExperimentWindow:
    """One experiment (a lift test): ``channel``'s spend times ``multiplier`` from ``start`` to ``end``."""

    channel: str
    start: pd.Timestamp
    end: pd.Timestamp
    multiplier: float  # default: the experiments' spend_multiplier
    response_rate: float = 0.0  # drives the linear experiment boost

    def rows(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """Which of ``dates`` (period starts) fall in the window."""
        return np.asarray((dates >= self.start) & (dates <= self.end))


@dataclass(frozen=True)
class ExperimentSpec:
    """Spend experiments.

    In a window the channel's spend is multiplied by the window's ``multiplier`` (default
    ``spend_multiplier``); on top of the extra spend's own (adstock + Hill) effect, sales gain
    ``realism * (response_rate * extra_spend + base_lift * pre_experiment_spend)``.
    ``realism`` is the share of that expected linear experiment impact that really reaches
    sales: 0 removes the boost, 1 applies all of it.
    """

    spend_multiplier: float
    base_lift: float
    realism: float
    windows: tuple[ExperimentWindow, ...]


@dataclass(frozen=True)
class LiftTestSpec:
    """How each experiment window is read out as a lift test (``data/lift_tests.csv``).

    The readout covers the window and ``follow_up_periods`` after it (clipped at the data's end);
    its noise sd is ``relative_se`` times the noise-free lift; ``boost`` says whether the window's
    linear experiment boost counts in it.
    """

    relative_se: float = 0.1
    follow_up_periods: int = 3
    boost: LiftBoost = LiftBoost.EXCLUDE


@dataclass(frozen=True)
class EconomySpec:
    """A Markov chain over economic states, stepping once per calendar month."""

    states: tuple[str, ...]
    index: tuple[float, ...]
    initial: tuple[float, ...]
    transition: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class EventSpec:
    name: str
    date: str  # "MM-DD" or "easter"
    multiplier: float


@dataclass(frozen=True, kw_only=True)
class SimulationSpec:
    """Everything the simulator needs; built from the ``generate`` section (preset merged).

    The defaults are params.yaml's; every other key is required.
    """

    seed: int
    preset: str | None = None
    start: pd.Timestamp
    end: pd.Timestamp
    freq: Frequency
    spend: SpendSpec
    channels: tuple[ChannelSpec, ...]
    experiments: ExperimentSpec
    lift_tests: LiftTestSpec
    economy: EconomySpec
    events: tuple[EventSpec, ...]
    baseline_level: float
    monthly_growth: float
    noise_sd: float
    sales_round_to: float = 1000  # sales rounded to this unit (0: none)

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)


def generate_section(params: dict) -> dict:
    """The ``generate`` section with its preset merged over it.

    Parameters
    ----------
    params : dict
        All params; ``generate.preset`` names an entry of ``presets`` (or is null).

    Returns
    -------
    dict
        A new mapping when a preset is merged (deep merge), else ``params["generate"]`` itself.
    """
    section = Section(params.get("generate"), "generate")
    preset = section.get("preset", defaults(SimulationSpec).preset)
    if preset is None:
        return section.mapping
    presets = params.get("presets") or {}
    if not isinstance(presets, dict) or preset not in presets:
        known = ", ".join(presets) if isinstance(presets, dict) and presets else "none defined"
        raise UserInputError(f"generate.preset: {preset!r} is not a preset (known: {known})")
    if not isinstance(presets[preset], dict):
        raise UserInputError(f"presets.{preset}: expected a mapping of generate keys, got {presets[preset]!r}")
    return deep_merge(section.mapping, presets[preset])


def simulation_spec(params: dict) -> SimulationSpec:
    """Validate the simulator settings in ``params`` (``generate``, its preset merged)."""
    d = defaults(SimulationSpec)
    g = Section(generate_section(params), "generate")
    start, end = g.date("start"), g.date("end")
    if end <= start:
        raise UserInputError(f"generate.end: {end.date()} is not after generate.start {start.date()}")
    freq = g.choice("freq", Frequency)
    if len(pd.date_range(start, end, freq=freq)) < 2:
        raise UserInputError(f"generate.end: {start.date()} to {end.date()} holds fewer than two {freq} periods")
    channels = _channels(g.section("channels"))
    names = tuple(c.name for c in channels)
    preset = g.get("preset", d.preset)
    noise = g.section("noise")
    baseline = g.section("baseline")
    return SimulationSpec(
        seed=int(g.number("seed", lo=0, integer=True)),
        preset=None if preset is None else str(preset),
        start=start,
        end=end,
        freq=freq,
        spend=_spend(g.section("spend")),
        channels=channels,
        experiments=_experiments(g.section("experiments"), names),
        lift_tests=_lift_tests(g.section("lift_tests", optional=True)),
        economy=_economy(g.section("economy")),
        events=_events(g.get("events")),
        baseline_level=baseline.number("level", lo=0),
        monthly_growth=baseline.number("monthly_growth", lo=-1, lo_open=True),
        noise_sd=noise.number("sd", lo=0),
        sales_round_to=noise.number("round_to", d.sales_round_to, lo=0),
    )


def _channels(section: Section) -> tuple[ChannelSpec, ...]:
    if not section.mapping:
        raise UserInputError(f"{section.path}: at least one channel is needed")
    channels = []
    for name in section.mapping:
        c = section.section(name)
        seasonality = c.get("seasonality")
        if not isinstance(seasonality, list) or len(seasonality) != 12:
            raise UserInputError(f"{c.key('seasonality')}: expected 12 monthly factors, got {seasonality!r}")
        factors = tuple(check_number(v, f"{c.key('seasonality')}.{i}", lo=0) for i, v in enumerate(seasonality))
        channels.append(
            ChannelSpec(
                name=str(name),
                base_spend=c.number("base_spend", lo=0),
                growth=c.number("growth", lo=0, lo_open=True),
                seasonality=factors,
                decay=c.number("decay", lo=0, hi=1, hi_open=True),
                alpha=c.number("alpha", lo=0),
                gamma=c.number("gamma", lo=0, lo_open=True),
                k=c.number("k", lo=0, lo_open=True),
            )
        )
    return tuple(channels)


def _spend(s: Section) -> SpendSpec:
    clip = s.get("clip")
    if not isinstance(clip, list) or len(clip) != 2:
        raise UserInputError(f"{s.key('clip')}: expected [low, high], got {clip!r}")
    lo = check_number(clip[0], f"{s.key('clip')}.0", lo=0)
    hi = check_number(clip[1], f"{s.key('clip')}.1", lo=lo)
    return SpendSpec(
        volatility=s.number("volatility", lo=0),
        clip=(lo, hi),
        smoothing=s.number("smoothing", lo=0, hi=1, hi_open=True),
        floor=s.number("floor", lo=0),
        round_to=s.number("round_to", defaults(SpendSpec).round_to, lo=0),
    )


def _experiments(s: Section, channels: tuple[str, ...]) -> ExperimentSpec:
    raw_windows = s.get("windows") or []  # null: no experiments
    if not isinstance(raw_windows, list):
        raise UserInputError(f"{s.key('windows')}: expected a list of windows")
    multiplier = s.number("spend_multiplier", lo=0, lo_open=True)
    windows = tuple(_window(Section(raw, f"{s.key('windows')}.{i}"), channels, multiplier)
                    for i, raw in enumerate(raw_windows))
    return ExperimentSpec(
        spend_multiplier=multiplier,
        base_lift=s.number("base_lift", lo=0),
        realism=s.number("realism", lo=0, hi=1),
        windows=windows,
    )


def _window(w: Section, channels: tuple[str, ...], multiplier: float) -> ExperimentWindow:
    channel = w.get("channel")
    if channel not in channels:
        raise UserInputError(f"{w.key('channel')}: {channel!r} is not a channel (known: {', '.join(channels)})")
    start, end = w.date("start"), w.date("end")
    if end < start:
        raise UserInputError(f"{w.key('end')}: {end.date()} is before {w.key('start')} {start.date()}")
    return ExperimentWindow(
        channel=channel,
        start=start,
        end=end,
        multiplier=w.number("multiplier", multiplier, lo=0, lo_open=True),
        response_rate=w.number("response_rate", defaults(ExperimentWindow).response_rate, lo=0),
    )


def _lift_tests(s: Section) -> LiftTestSpec:
    d = defaults(LiftTestSpec)
    return LiftTestSpec(
        relative_se=s.number("relative_se", d.relative_se, lo=0),
        follow_up_periods=s.number("follow_up_periods", d.follow_up_periods, lo=0, integer=True),
        boost=s.choice("boost", LiftBoost, d.boost),
    )


def _economy(s: Section) -> EconomySpec:
    index = s.section("index")
    states = tuple(index.mapping)
    if not states:
        raise UserInputError(f"{index.path}: at least one economic state is needed")

    def distribution(section: Section) -> tuple[float, ...]:
        unknown = set(section.mapping) - set(states)
        if unknown:
            raise unknown_key(section.key(min(unknown)), list(states))  # the states are economy.index's
        probs = tuple(section.number(state, lo=0, hi=1) for state in states)  # every state, even at 0
        if abs(sum(probs) - 1) > 1e-6:
            raise UserInputError(f"{section.path}: probabilities sum to {sum(probs):g}, not 1")
        return probs

    transition = s.section("transition")
    return EconomySpec(
        states=states,
        index=tuple(index.number(state, lo=0) for state in states),
        initial=distribution(s.section("initial")),
        transition=tuple(distribution(transition.section(state)) for state in states),
    )


def _events(raw_events: Any) -> tuple[EventSpec, ...]:
    if not isinstance(raw_events, list):
        raise UserInputError(f"generate.events: expected a list, got {raw_events!r}")
    events = []
    for i, raw in enumerate(raw_events):
        e = Section(raw, f"generate.events.{i}")
        date = str(e.get("date"))
        if date != "easter":
            try:
                pd.Timestamp(f"2000-{date}")
            except ValueError:
                raise UserInputError(f"{e.key('date')}: {date!r} is not MM-DD or 'easter'") from None
        events.append(EventSpec(str(e.get("name")), date, e.number("multiplier", lo=0)))
    return tuple(events)
