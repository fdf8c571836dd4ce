"""params.yaml -> validated, frozen specs; project paths.

Every stage reads its own section through this module. Validation errors raise
:class:`UserInputError` with the dotted key and the offending value.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mmmlab.errors import UserInputError

FREQUENCIES = ("MS", "W-MON")
PARAMS_FILE = "params.yaml"
GENERATED_CSV = "data/mmm_data.csv"  # the simulator's outputs (DVC outs of the generate stage)
GENERATED_TRUTH = "data/truth.json"
GENERATED_COLUMNS = {  # how the generated CSV maps onto the dataset roles (see the data section)
    "date": "Date",
    "target": "Total_Sales",
    "channels": None,
    "controls": ["Economic_Condition", "Seasonal_Event", "Experiment_Channel"],
}


# --------------------------------------------------------------------------- paths
def project_root() -> Path:
    """The repository root: ``DVC_ROOT`` when DVC runs a stage, else the nearest folder with params.yaml."""
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / PARAMS_FILE).exists():
            return folder
    return here


def resolve(path: str | Path) -> Path:
    """A path from params.yaml, relative to the project root."""
    path = Path(path)
    return path if path.is_absolute() else project_root() / path


# --------------------------------------------------------------------------- raw params
def load_params(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read params.yaml and apply ``key.sub=value`` overrides (values parsed as YAML)."""
    path = Path(path) if path else project_root() / PARAMS_FILE
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise UserInputError(f"{path}: parameter file not found") from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: must be a mapping of sections")
    for item in overrides:
        set_key(raw, item)
    return raw


def set_key(raw: dict, assignment: str) -> None:
    """Apply one ``a.b.c=value`` override in place; a number selects a list item (``windows.0.start``)."""
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise UserInputError(f"override {assignment!r}: expected key=value")
    *parents, leaf = key.split(".")
    node = raw
    for i, part in enumerate(parents):
        if isinstance(node, list):
            node = _list_item(node, part, ".".join(parents[: i + 1]))
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, (dict, list)):
            raise UserInputError(f"override {key}: {'.'.join(parents[: i + 1])} is not a section")
        node = child
    parsed = yaml.safe_load(value) if value else None
    if isinstance(node, list):
        node[_list_index(node, leaf, key)] = parsed
    else:
        node[leaf] = parsed


def _list_index(items: list, part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise UserInputError(f"override {key}: {part!r} is not an index of a list of {len(items)}")
    return int(part)


def _list_item(items: list, part: str, key: str):
    item = items[_list_index(items, part, key)]
    if not isinstance(item, (dict, list)):
        raise UserInputError(f"override {key}: not a section")
    return item


def flatten(tree: Any, prefix: str) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"prefix.a.b": 1}``; lists are indexed."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = ((str(i), v) for i, v in enumerate(tree))
    else:
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _deep_merge(base: dict, extra: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --------------------------------------------------------------------------- validation helper
class Section:
    """A mapping read with its dotted path, so every error names the key."""

    def __init__(self, mapping: Any, path: str):
        if not isinstance(mapping, dict):
            raise UserInputError(f"{path}: expected a mapping, got {mapping!r}")
        self.mapping, self.path = mapping, path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def get(self, name: str, default: Any = ...) -> Any:
        if name in self.mapping:
            return self.mapping[name]
        if default is ...:
            raise UserInputError(f"{self.key(name)}: missing")
        return default

    def section(self, name: str) -> Section:
        return Section(self.get(name), self.key(name))

    def number(self, name, default=..., *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
        value = self.get(name, default)
        return check_number(value, self.key(name), lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, integer=integer)

    def date(self, name: str, default: Any = ...) -> pd.Timestamp:
        value = self.get(name, default)
        try:
            return pd.Timestamp(str(value))
        except (ValueError, TypeError):
            raise UserInputError(f"{self.key(name)}: {value!r} is not a date (use YYYY-MM-DD)") from None

    def choice(self, name: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(name, default)
        if value not in allowed:
            raise UserInputError(f"{self.key(name)}: {value!r} is not one of {', '.join(allowed)}")
        return value


def check_number(value, key, *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    """Validate a number against a range; the message names ``key`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserInputError(f"{key}: {value!r} is not a number")
    if integer and int(value) != value:
        raise UserInputError(f"{key}: {value!r} is not a whole number")
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and (value >= hi if hi_open else value > hi)
    if too_low or too_high:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        span = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise UserInputError(f"{key}: {value!r} is outside {span}")
    return int(value) if integer else float(value)


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
    round_to: float


@dataclass(frozen=True)
class ExperimentWindow:
    channel: str
    start: pd.Timestamp
    end: pd.Timestamp
    response_rate: float


@dataclass(frozen=True)
class ExperimentSpec:
    """Spend experiments.

    In a window the channel's spend is multiplied by ``spend_multiplier``; on top of the
    extra spend's own (adstock + Hill) effect, sales gain
    ``realism * (response_rate * extra_spend + base_lift * pre_experiment_spend)``.
    ``realism`` is the share of that expected linear experiment impact that really reaches
    sales: 0 removes the boost, 1 applies all of it.
    """

    spend_multiplier: float
    base_lift: float
    realism: float
    windows: tuple[ExperimentWindow, ...]


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


@dataclass(frozen=True)
class SimulationSpec:
    """Everything the simulator needs; built from the ``generate`` section (preset merged)."""

    seed: int
    preset: str | None
    start: pd.Timestamp
    end: pd.Timestamp
    freq: str
    spend: SpendSpec
    channels: tuple[ChannelSpec, ...]
    experiments: ExperimentSpec
    economy: EconomySpec
    events: tuple[EventSpec, ...]
    baseline_level: float
    monthly_growth: float
    noise_sd: float
    sales_round_to: float

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)


def generate_section(params: dict) -> dict:
    """The ``generate`` section with its preset (from ``presets``) merged over it."""
    section = Section(params.get("generate"), "generate")
    preset = section.get("preset", None)
    if preset is None:
        return section.mapping
    presets = params.get("presets") or {}
    if preset not in presets:
        known = ", ".join(presets) or "none defined"
        raise UserInputError(f"generate.preset: {preset!r} is not a preset (known: {known})")
    return _deep_merge(section.mapping, presets[preset])


def simulation_spec(params: dict) -> SimulationSpec:
    """Validate the simulator settings; every error names the key."""
    g = Section(generate_section(params), "generate")
    start, end = g.date("start"), g.date("end")
    if end <= start:
        raise UserInputError(f"generate.end: {end.date()} is not after generate.start {start.date()}")
    freq = g.choice("freq", FREQUENCIES)
    if len(pd.date_range(start, end, freq=freq)) < 2:
        raise UserInputError(f"generate.end: {start.date()} to {end.date()} holds fewer than two {freq} periods")
    channels = _channels(g.section("channels"))
    names = tuple(c.name for c in channels)
    preset = g.get("preset", None)
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
        economy=_economy(g.section("economy")),
        events=_events(g.get("events", [])),
        baseline_level=baseline.number("level", lo=0),
        monthly_growth=baseline.number("monthly_growth", lo=-1, lo_open=True),
        noise_sd=noise.number("sd", lo=0),
        sales_round_to=noise.number("round_to", 0, lo=0),
    )


def _channels(section: Section) -> tuple[ChannelSpec, ...]:
    if not section.mapping:
        raise UserInputError(f"{section.path}: at least one channel is needed")
    channels = []
    for name in section.mapping:
        c = section.section(name)
        seasonality = c.get("seasonality", [1.0] * 12)
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
        round_to=s.number("round_to", 0, lo=0),
    )


def _experiments(s: Section, channels: tuple[str, ...]) -> ExperimentSpec:
    windows = []
    raw_windows = s.get("windows", []) or []
    if not isinstance(raw_windows, list):
        raise UserInputError(f"{s.key('windows')}: expected a list of windows")
    for i, raw in enumerate(raw_windows):
        w = Section(raw, f"{s.key('windows')}.{i}")
        channel = w.get("channel")
        if channel not in channels:
            raise UserInputError(f"{w.key('channel')}: {channel!r} is not a channel (known: {', '.join(channels)})")
        start, end = w.date("start"), w.date("end")
        if end < start:
            raise UserInputError(f"{w.key('end')}: {end.date()} is before {w.key('start')} {start.date()}")
        windows.append(ExperimentWindow(channel, start, end, w.number("response_rate", lo=0)))
    return ExperimentSpec(
        spend_multiplier=s.number("spend_multiplier", lo=0),
        base_lift=s.number("base_lift", lo=0),
        realism=s.number("realism", lo=0, hi=1),
        windows=tuple(windows),
    )


def _economy(s: Section) -> EconomySpec:
    index = s.section("index")
    states = tuple(index.mapping)
    if not states:
        raise UserInputError(f"{index.path}: at least one economic state is needed")

    def distribution(section: Section) -> tuple[float, ...]:
        unknown = set(section.mapping) - set(states)
        if unknown:
            raise UserInputError(f"{section.path}: unknown state {sorted(unknown)[0]!r} (known: {', '.join(states)})")
        probs = tuple(section.number(state, 0.0, lo=0, hi=1) for state in states)
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


# --------------------------------------------------------------------------- dataset spec
@dataclass(frozen=True)
class DataSpec:
    """Where the dataset is and which columns play which role."""

    path: Path
    truth: Path | None
    date: str
    target: str
    channels: tuple[str, ...] | None
    controls: tuple[str, ...]


def data_spec(params: dict) -> DataSpec:
    d = Section(params.get("data"), "data")
    truth = d.get("truth", None)
    channels = d.get("channels", None)
    if channels is not None and (not isinstance(channels, list) or not channels):
        raise UserInputError(f"data.channels: expected a list of spend columns or null, got {channels!r}")
    controls = d.get("controls", None) or []
    if not isinstance(controls, list):
        raise UserInputError(f"data.controls: expected a list of columns, got {controls!r}")
    return DataSpec(
        path=resolve(str(d.get("path"))),
        truth=None if truth is None else resolve(str(truth)),
        date=str(d.get("date")),
        target=str(d.get("target")),
        channels=None if channels is None else tuple(str(c) for c in channels),
        controls=tuple(str(c) for c in controls),
    )


def experiment_name(params: dict) -> str:
    return str(Section(params.get("tracking", {}), "tracking").get("experiment", "mmm-lab"))
