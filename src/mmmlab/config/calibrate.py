"""The ``calibrate`` section: named studies of many fits, and the Dask cluster that runs them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mmmlab.config.fit import Geometry
from mmmlab.config.loading import deep_merge
from mmmlab.config.section import Choice, Section, defaults
from mmmlab.config.simulation import generate_section
from mmmlab.errors import UserInputError

ADDRESS_ENV = "MMMLAB_DASK_ADDRESS"  # a scheduler's address, when calibrate.cluster.address is null
VARIED = ("decay", "gamma", "alpha", "k")  # channel parameters a coverage study may draw per dataset
SAMPLER_KEYS = ("chains", "draws", "tune")  # fit.sampler numbers every study states, with its geometry


class StudyKind(Choice):
    sbc = "sbc"  # the fit's own model on one design: true values from its priors, data from its likelihood
    coverage = "coverage"  # datasets from the simulator, fitted as the fit stage fits them


class Method(Choice):
    fit = "fit"
    recover = "recover"


@dataclass(frozen=True, kw_only=True)
class DesignSpec:
    """The simulator's dataset a study starts from: ``generate`` with a preset, a seed and overrides."""

    preset: str | None
    seed: int  # SBC: the one design; coverage: dataset i is generated with seed + i
    generate: dict = field(default_factory=dict)  # merged over params' generate section (after the preset)


@dataclass(frozen=True, kw_only=True)
class ArmSpec:
    """One way a coverage study fits each dataset: with or without the lift tests, on changed experiments."""

    name: str
    lift_tests: bool  # the Bayesian fit is calibrated by the dataset's lift-test readouts
    generate: dict  # merged over the dataset's generate (e.g. experiments.windows); params: null for none


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """One named study; the defaults are those of params.yaml's studies."""

    name: str
    kind: StudyKind
    design: DesignSpec
    fits: int
    seed: int = 0  # SBC: draws the true values from the priors; coverage: the varied parameters
    ranks_draws: int = 99  # SBC: L, the posterior draws each true value is ranked among
    methods: tuple[Method, ...] = (Method.fit,)  # coverage: which estimators are judged
    levels: tuple[float, ...] = (0.5, 0.8, 0.94)  # coverage: interval probabilities
    vary: dict[str, tuple[float, float]]  # coverage: parameter -> uniform range (required: null for none)
    sampler: dict[str, float | str]  # over fit.sampler: chains, draws, tune, geometry (required), target_accept, reruns
    arms: tuple[ArmSpec, ...] = ()  # coverage: each dataset fitted once per arm; none: once, without lift tests

    def method_label(self, method: Method, arm: ArmSpec | None) -> str:
        """How records and tables name a method in an arm: ``fit`` alone, ``fit: <arm>`` with arms."""
        return str(method) if arm is None else f"{method}: {arm.name}"


@dataclass(frozen=True, kw_only=True)
class CalibrateSpec:
    """The ``calibrate`` section: the selected study, every study, and where the fits run."""

    study: str = "sbc_default"
    studies: dict[str, StudySpec]
    address: str | None = None  # None: ADDRESS_ENV, else a LocalCluster on this machine
    workers: int = 0  # LocalCluster worker processes (one thread each); 0: one per core

    @property
    def selected(self) -> StudySpec:
        """The study ``mmmlab calibrate`` runs."""
        return self.studies[self.study]

    @property
    def scheduler(self) -> str | None:
        """The scheduler to connect to: calibrate.cluster.address, else the environment's, else None (local)."""
        return self.address or os.environ.get(ADDRESS_ENV) or None


def calibrate_spec(params: dict) -> CalibrateSpec:
    """Validate the ``calibrate`` section and every study in it.

    Parameters
    ----------
    params : dict
        All params (reads ``calibrate``).

    Returns
    -------
    CalibrateSpec
    """
    d = defaults(CalibrateSpec)
    c = Section(params.get("calibrate") or {}, "calibrate")
    cluster = c.section("cluster", optional=True)
    studies_section = c.section("studies")
    studies = {str(name): _study(studies_section.section(name), str(name)) for name in studies_section.mapping}
    if not studies:
        raise UserInputError("calibrate.studies: name at least one study")
    study = str(c.get("study", d.study))
    if study not in studies:
        raise UserInputError(f"calibrate.study: {study!r} is not one of calibrate.studies ({', '.join(studies)})")
    address = cluster.get("address", d.address)
    if address is not None and not isinstance(address, str):
        raise UserInputError(f"calibrate.cluster.address: expected a scheduler address or null, got {address!r}")
    return CalibrateSpec(study=study, studies=studies, address=address,
                         workers=int(cluster.number("workers", d.workers, lo=0, hi=256, integer=True)))


def with_study(params: dict, name: str | None) -> dict:
    """``params`` with ``calibrate.study`` set to ``name`` (None: unchanged)."""
    if name is None:
        return params
    return deep_merge(params, {"calibrate": {"study": name}})


def design_params(params: dict, study: StudySpec, index: int = 0, arm: ArmSpec | None = None) -> dict:
    """``params`` whose ``generate`` section makes dataset ``index`` of ``study`` (seed: design seed + index).

    Parameters
    ----------
    params : dict
        All params.
    study : StudySpec
    index : int
        The dataset's number in the study (SBC uses only dataset 0).
    arm : ArmSpec, optional
        Its ``generate`` is merged last.

    Returns
    -------
    dict
        A copy whose ``generate`` is the study's preset merged over params' generate section, then the
        study's ``design.generate`` over that (so it wins over the preset), then the arm's, with the
        seed set and no preset left to merge.
    """
    chosen = {**params, "generate": {**(params.get("generate") or {}), "preset": study.design.preset}}
    generate = deep_merge(generate_section(chosen), study.design.generate)
    if arm is not None:
        generate = deep_merge(generate, arm.generate)
    generate |= {"preset": None, "seed": study.design.seed + index}
    return {**params, "generate": generate}


def _study(s: Section, name: str) -> StudySpec:
    d = defaults(StudySpec)
    kind = s.choice("kind", StudyKind)
    design = s.section("design")
    preset = design.get("preset")
    generate = design.get("generate", {}) or {}
    if not isinstance(generate, dict):
        raise UserInputError(f"{design.key('generate')}: expected a mapping of generate keys, got {generate!r}")
    coverage = kind == StudyKind.coverage
    methods = s.get("methods", [m.value for m in d.methods]) if coverage else [m.value for m in d.methods]
    if not isinstance(methods, list) or not methods:
        raise UserInputError(f"{s.key('methods')}: expected a list of fit, recover")
    levels = s.get("levels", list(d.levels)) if coverage else list(d.levels)
    if not isinstance(levels, list) or not levels:
        raise UserInputError(f"{s.key('levels')}: expected a list of interval probabilities")
    return StudySpec(
        name=name,
        kind=kind,
        design=DesignSpec(preset=None if preset is None else str(preset),
                          seed=int(design.number("seed", lo=0, integer=True)), generate=generate),
        fits=int(s.number("fits", lo=1, hi=100000, integer=True)),
        seed=int(s.number("seed", d.seed, lo=0, integer=True)),
        ranks_draws=int(s.number("ranks_draws", d.ranks_draws, lo=9, integer=True)) if not coverage else d.ranks_draws,
        methods=tuple(_method(s, m) for m in methods),
        levels=tuple(sorted(_level(s, level) for level in levels)),
        vary=_vary(Section(s.get("vary") or {}, s.key("vary"))) if coverage else {},
        sampler=_sampler(s.section("sampler")),
        arms=_arms(s.section("arms", optional=True)) if coverage else (),
    )


def _arms(arms: Section) -> tuple[ArmSpec, ...]:
    out = []
    for name in arms.mapping:
        arm = arms.section(name)
        generate = arm.get("generate") or {}  # required (null for none): left out, an arm would change silently
        if not isinstance(generate, dict):
            raise UserInputError(f"{arm.key('generate')}: expected a mapping of generate keys, got {generate!r}")
        out.append(ArmSpec(name=str(name), lift_tests=arm.flag("lift_tests"), generate=generate))
    return tuple(out)


def _method(s: Section, value) -> Method:
    try:
        return Method(value)
    except ValueError:
        raise UserInputError(f"{s.key('methods')}: {value!r} is not one of {', '.join(Method)}") from None


def _level(s: Section, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise UserInputError(f"{s.key('levels')}: {value!r} is not a probability between 0 and 1")
    return float(value)


def _vary(v: Section) -> dict[str, tuple[float, float]]:
    out = {}
    for name in v.mapping:
        if name not in VARIED:
            raise UserInputError(f"{v.key(name)}: only {', '.join(VARIED)} can be varied")
        pair = v.get(name)
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in pair) or not pair[0] < pair[1]):
            raise UserInputError(f"{v.key(name)}: expected [low, high] with low < high, got {pair!r}")
        if name == "decay" and not (0 <= pair[0] and pair[1] < 1):
            raise UserInputError(f"{v.key(name)}: a decay range must lie in [0, 1)")
        if name != "decay" and pair[0] <= 0:
            raise UserInputError(f"{v.key(name)}: {name} must stay positive")
        out[name] = (float(pair[0]), float(pair[1]))
    return out


def _sampler(v: Section) -> dict[str, float | str]:
    out = {name: int(v.number(name, lo=1, integer=True)) for name in SAMPLER_KEYS}
    if "target_accept" in v.mapping:
        out["target_accept"] = v.number("target_accept", lo=0, hi=1, lo_open=True, hi_open=True)
    if "reruns" in v.mapping:
        out["reruns"] = int(v.number("reruns", lo=0, integer=True))
    out["geometry"] = v.choice("geometry", Geometry).value
    return out
