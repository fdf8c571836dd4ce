"""The ``recover`` section: the classical joint recovery's form, bounds, search and interval settings."""

from __future__ import annotations

from dataclasses import dataclass

from mmmlab.config.data import experiment_role
from mmmlab.config.section import Choice, Section, check_number
from mmmlab.errors import UserInputError


class Baseline(Choice):
    multiplicative = "multiplicative"  # the simulator's form
    additive = "additive"  # intercept, trend, controls


class Uncertainty(Choice):
    profile = "profile"  # profile likelihood
    bootstrap = "bootstrap"  # parametric, all cores
    none = "none"


class ExperimentEffect(Choice):
    spend = "spend"  # window dummy x that channel's spend
    level = "level"  # plain window dummy


class Residuals(Choice):
    relative = "relative"  # (sales - fit) / sales: multiplicative noise
    absolute = "absolute"


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class RecoverySpec:
    """The ``recover`` section of params.yaml, validated."""

    baseline: Baseline = Baseline.multiplicative
    levels: str | None = "Seasonal_Event"  # multiplicative: one linear coefficient per level
    multipliers: tuple[str, ...] = ("Economic_Condition",)  # multiplicative: one multiplier per level
    trend: bool = True
    fourier: int | str = "auto"  # additive: yearly Fourier pairs; auto: mmmlab.seasonality decides from the data
    experiment_none: str = "None"
    experiment_effect: ExperimentEffect = ExperimentEffect.spend
    residuals: Residuals = Residuals.relative
    nonnegative: bool = True  # alpha >= 0
    decay_bounds: tuple[float, float] = (0.0, 0.95)
    gamma_bounds: tuple[float, float] = (0.3, 3.0)
    k_bounds: tuple[float, float] = (0.1, 10.0)  # times the channel's median positive adstocked spend
    growth_bounds: tuple[float, float] = (-0.05, 0.05)  # per period
    multiplier_bounds: tuple[float, float] = (0.5, 2.0)
    starts: int = 8
    screen: int = 256
    seed: int = 0
    uncertainty: Uncertainty = Uncertainty.profile
    level: float = 0.95
    bootstrap_draws: int = 200
    bootstrap_starts: int = 2
    workers: int = 0  # 0 = every core
    decay_width: float = 0.3  # verdicts: decay interval narrower than this is "identified"
    growth_width: float = 0.01  # verdicts: growth interval narrower than this (per period) is "identified"
    ratio: float = 2.0  # verdicts: upper/lower below this is "identified" for alpha, gamma, k
    unidentified_share: float = 0.8  # interval covering this share of the search range: "not identified"


def _pair(section: Section, name: str, default, *, lo=None, hi=None, positive=False) -> tuple[float, float]:
    value = section.get(name, list(default))
    key = section.key(name)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise UserInputError(f"{key}: expected [low, high], got {value!r}")
    low = check_number(value[0], f"{key}.0", lo=lo, hi=hi, lo_open=positive)
    high = check_number(value[1], f"{key}.1", lo=lo, hi=hi)
    if high <= low:
        raise UserInputError(f"{key}: high {high:g} is not above low {low:g}")
    return low, high


def _column(section: Section, name: str, default):
    value = section.get(name, default)
    if value is not None and not isinstance(value, str):
        raise UserInputError(f"{section.key(name)}: expected a column name or null, got {value!r}")
    return value


def _flag(section: Section, name: str, default: bool) -> bool:
    value = section.get(name, default)
    if not isinstance(value, bool):
        raise UserInputError(f"{section.key(name)}: expected true or false, got {value!r}")
    return value


def recovery_spec(params: dict) -> RecoverySpec:
    """Validate the ``recover`` section of ``params`` and read the experiment column's role from ``data``.

    Every key is optional: a missing one takes the field default of :class:`RecoverySpec`.
    """
    d = RecoverySpec()
    r = Section(params.get("recover") or {}, "recover")
    b = Section(r.get("baseline", {}) or {}, "recover.baseline")
    e = Section(r.get("experiments", {}) or {}, "recover.experiments")
    bounds = Section(r.get("bounds", {}) or {}, "recover.bounds")
    search = Section(r.get("search", {}) or {}, "recover.search")
    boot = Section(r.get("bootstrap", {}) or {}, "recover.bootstrap")
    verdicts = Section(r.get("verdicts", {}) or {}, "recover.verdicts")
    multipliers = b.get("multipliers", list(d.multipliers)) or []
    if not isinstance(multipliers, list) or not all(isinstance(m, str) for m in multipliers):
        raise UserInputError(f"recover.baseline.multipliers: expected a list of column names, got {multipliers!r}")
    trend = _flag(b, "trend", d.trend)
    experiment = experiment_role(params)  # the column is a data role: data.experiments
    return RecoverySpec(
        baseline=b.choice("form", Baseline, d.baseline),
        levels=_column(b, "levels", d.levels),
        multipliers=tuple(multipliers),
        trend=trend,
        fourier=b.count_or_auto("fourier", d.fourier, hi=6),
        experiment_none=experiment[1],
        experiment_effect=e.choice("effect", ExperimentEffect, d.experiment_effect),
        residuals=r.choice("residuals", Residuals, d.residuals),
        nonnegative=_flag(r, "nonnegative_effects", d.nonnegative),
        decay_bounds=_pair(bounds, "decay", d.decay_bounds, lo=0, hi=0.999),
        gamma_bounds=_pair(bounds, "gamma", d.gamma_bounds, lo=0, positive=True),
        k_bounds=_pair(bounds, "k_relative", d.k_bounds, lo=0, positive=True),
        growth_bounds=_pair(bounds, "growth", d.growth_bounds, lo=-0.5, hi=0.5),
        multiplier_bounds=_pair(bounds, "multiplier", d.multiplier_bounds, lo=0, positive=True),
        starts=search.number("starts", d.starts, lo=1, hi=200, integer=True),
        screen=search.number("screen", d.screen, lo=1, hi=100000, integer=True),
        seed=search.number("seed", d.seed, lo=0, integer=True),
        uncertainty=r.choice("uncertainty", Uncertainty, d.uncertainty),
        level=r.number("level", d.level, lo=0.5, hi=1, hi_open=True),
        bootstrap_draws=boot.number("draws", d.bootstrap_draws, lo=10, hi=100000, integer=True),
        bootstrap_starts=boot.number("starts", d.bootstrap_starts, lo=0, hi=100, integer=True),
        workers=boot.number("workers", d.workers, lo=0, hi=256, integer=True),
        decay_width=verdicts.number("decay_width", d.decay_width, lo=0, lo_open=True),
        growth_width=verdicts.number("growth_width", d.growth_width, lo=0, lo_open=True),
        ratio=verdicts.number("ratio", d.ratio, lo=1, lo_open=True),
        unidentified_share=verdicts.number("unidentified_share", d.unidentified_share, lo=0, hi=1, lo_open=True),
    )
