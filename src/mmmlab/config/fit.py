"""The ``fit`` section of params.yaml -> a frozen, validated spec of the Bayesian MMM and its sampler.

Priors are written in params.yaml as plain YAML (``{distribution: Beta, alpha: 2, beta: 2}``; a
parameter may itself be such a mapping) and become ``pymc_extras.prior.Prior`` objects here, with
the dims pymc-marketing expects (one value per channel, control or Fourier mode). Every error
names the key. Nothing here reads the truth: default priors are generic, on pymc-marketing's
internal scale (spend / channel max, sales / max sales).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from mmmlab.config.data import experiment_role
from mmmlab.config.recover import ExperimentEffect
from mmmlab.config.section import Choice, Section, defaults, unknown_key
from mmmlab.diagnostics import Gates
from mmmlab.errors import UserInputError


class Saturation(Choice):
    hill = "hill"  # the simulator's form
    hill_mean_response = "hill_mean_response"  # the same curve, sampled by its response at mean spend
    logistic = "logistic"
    michaelis_menten = "michaelis_menten"


class Sampler(Choice):
    nutpie = "nutpie"
    pymc = "pymc"
    numpyro = "numpyro"
    blackjax = "blackjax"


class Geometry(Choice):
    level = "level"  # total and log-ratios to the intercept, controls through their conditional (bayes.geometry)
    means = "means"  # the same with each channel's mean contribution under a soft bound below the total
    plain = "plain"  # pymc-marketing's own coordinates


LEVEL_GEOMETRIES = (Geometry.level, Geometry.means)  # one model class samples both (bayes.geometry.LevelGeometryMMM)
SATURATIONS = tuple(Saturation)
HILL_FORMS = (Saturation.hill, Saturation.hill_mean_response)  # the simulator's curve: comparable with the truth
SAMPLERS = tuple(Sampler)
JAX_SAMPLERS = (Sampler.numpyro, Sampler.blackjax)  # they sample pytensor's JAX translation of the model
# each saturation's parameters as pymc-marketing names them (trace names: saturation_<name>)
SATURATION_PARAMETERS = {"hill": ("slope", "kappa", "beta"), "hill_mean_response": ("slope", "kappa", "value"),
                         "logistic": ("lam", "beta"), "michaelis_menten": ("alpha", "lam")}
# priors outside the saturation: params.yaml key -> dims of the variable
COMMON_PRIORS = {
    "intercept": None,
    "adstock_alpha": "channel",
    "gamma_control": "control",
    "gamma_fourier": "fourier_mode",
    "likelihood": None,
}


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """The MMM's structure; the defaults are params.yaml's."""

    l_max: int | None = None  # None: sized from the decay prior (bayes.l_max), at most the number of periods
    normalize: bool = False
    saturation: Saturation = Saturation.hill
    yearly_seasonality: int | str = "auto"  # Fourier modes; auto: mmmlab.seasonality decides from the data
    trend: bool = True
    controls: tuple[str, ...] | None = None  # None: every column of data.controls
    experiment_none: str = "None"  # data.experiments.none: its label for periods without an experiment
    experiment_effect: ExperimentEffect = ExperimentEffect.spend


@dataclass(frozen=True, kw_only=True)
class SamplerSpec:
    """The sampler's settings; the defaults are params.yaml's (the reasons are given there)."""

    name: Sampler = Sampler.nutpie
    chains: int = 4
    draws: int = 2000
    tune: int = 500
    target_accept: float = 0.98
    random_seed: int = 123
    progressbar: bool = True
    prior_samples: int = 1000
    low_rank: bool = True  # nutpie only: low-rank modified mass matrix (learns correlated directions)
    reruns: int = 3  # a fit that misses a gate is sampled again, at most this many times (see escalated)
    geometry: Geometry = Geometry.level  # the coordinates NUTS samples the (same) posterior in
    rerun_geometry: Geometry | None = Geometry.means  # a rerun's coordinates after slow mixing (see escalated)

    def escalated(self, divergent: bool, slow: bool, first: Geometry,
                  diverged_in: frozenset[Geometry] = frozenset()) -> SamplerSpec:
        """The settings of a rerun after a missed gate: twice the tuning steps, the next seed, and twice the
        draws unless divergent transitions were the miss without slow mixing (the R-hat and ESS gates passed, and
        more draws only meet more divergences); after divergent transitions ``target_accept`` half-way to 1
        (smaller steps). When a level geometry samples the fit and ``rerun_geometry`` is set, the coordinates
        follow the miss: after slow mixing (an R-hat or ESS gate missed) the ``rerun_geometry``'s, which mix
        faster, unless a run of this fit made divergent transitions in them (``diverged_in``: more draws cure
        slow mixing, not divergences); otherwise, and after divergent transitions alone, the ``first`` run's."""
        target_accept = (1 + self.target_accept) / 2 if divergent else self.target_accept
        geometry = self.geometry
        if self.rerun_geometry is not None and self.geometry in LEVEL_GEOMETRIES and (slow or divergent):
            geometry = self.rerun_geometry if slow and self.rerun_geometry not in diverged_in else first
        draws = self.draws if divergent and not slow else 2 * self.draws
        return replace(self, draws=draws, tune=2 * self.tune, random_seed=self.random_seed + 1,
                       target_accept=target_accept, geometry=geometry)

    def sampler_config(self) -> dict:
        """Keyword arguments for ``pm.sample`` (pymc-marketing's ``sampler_config``)."""
        config = {
            "nuts_sampler": str(self.name),
            "chains": self.chains,
            "draws": self.draws,
            "tune": self.tune,
            "target_accept": self.target_accept,
            "random_seed": self.random_seed,
            "progressbar": self.progressbar,
        }
        if self.name in ("pymc", "nutpie"):  # pm.sample's default halves the CPU count: one core on a 2-core machine
            config["cores"] = self.chains
        if self.name == "nutpie" and self.low_rank:
            config["nuts"] = {"adaptation": "low_rank"}
        return config


@dataclass(frozen=True, kw_only=True)
class FitSpec:
    """The ``fit`` section, validated; the scalar defaults are params.yaml's."""

    model: ModelSpec
    prior_specs: dict[str, Any]  # trace name -> the prior as plain YAML, checked (for MLflow and the benchmark)
    sampler: SamplerSpec
    gates: Gates
    strict: bool = False
    hdi_prob: float = 0.94  # credible intervals of the fit's tables and of the report
    prior_dominated_below: float = 0.5
    lift_tests: str | None = "auto"  # fit.calibration.lift_tests: auto, a CSV path, or None (mmmlab.lift_data)

    @cached_property
    def priors(self) -> dict[str, Any]:
        """pymc-marketing's ``model_config``: trace name -> ``pymc_extras`` Prior (built here, not when the spec
        is: importing pymc-extras takes seconds, which the stages that do not fit need not spend)."""
        return {name: to_prior(raw, COMMON_PRIORS.get(name, "channel")) for name, raw in self.prior_specs.items()}


def fit_spec(params: dict) -> FitSpec:
    """Validate the ``fit`` section; the experiment column comes from ``data.experiments``.

    Parameters
    ----------
    params : dict
        All params.

    Returns
    -------
    FitSpec
        Priors checked against PyMC's distributions (importing pymc on the first call).

    Raises
    ------
    UserInputError
        A bad or missing value, naming its dotted key.
    """
    d = defaults(FitSpec)
    f = Section(params.get("fit"), "fit")
    model = _model(f.section("model", optional=True), experiment_role(params)[1])
    sampler = _sampler(f.section("sampler", optional=True))
    hdi_prob, prior_dominated_below = summary_levels(f)
    return FitSpec(
        model=model,
        prior_specs=model_priors(f.section("priors"), model.saturation),
        sampler=sampler,
        gates=gates_spec(f.section("gates", optional=True)),
        strict=f.flag("strict", d.strict),
        hdi_prob=hdi_prob,
        prior_dominated_below=prior_dominated_below,
        lift_tests=_lift_tests(f.section("calibration", optional=True)),
    )


def _lift_tests(c: Section) -> str | None:
    value = c.get("lift_tests", defaults(FitSpec).lift_tests)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise UserInputError(f"fit.calibration.lift_tests: expected auto, a CSV path or null, got {value!r}")
    return value


def summary_levels(f: Section) -> tuple[float, float]:
    """``fit.hdi_prob`` and ``fit.prior_dominated_below``, which the report uses too.

    Parameters
    ----------
    f : Section
        The ``fit`` section.

    Returns
    -------
    tuple of float
        The HDI probability and the contraction below which a parameter is prior-dominated.
    """
    d = defaults(FitSpec)
    return (f.number("hdi_prob", d.hdi_prob, lo=0, hi=1, lo_open=True, hi_open=True),
            f.number("prior_dominated_below", d.prior_dominated_below, lo=0, hi=1))


def _model(m: Section, experiment_none: str) -> ModelSpec:
    d = defaults(ModelSpec)
    adstock = m.section("adstock", optional=True)
    l_max = adstock.get("l_max", d.l_max)
    if l_max is not None:
        l_max = int(adstock.number("l_max", lo=1, integer=True))
    normalize = adstock.flag("normalize", d.normalize)
    controls = m.get("controls", d.controls)
    if controls is not None and (not isinstance(controls, list) or not all(isinstance(c, str) for c in controls)):
        raise UserInputError(f"fit.model.controls: expected a list of data.controls columns or null, got {controls!r}")
    experiments = m.section("experiments", optional=True)
    saturation = m.choice("saturation", Saturation, d.saturation)
    if saturation == "hill_mean_response" and not normalize:  # its reference, the mean spend, is the mean adstock only then
        raise UserInputError(f"{adstock.key('normalize')}: hill_mean_response needs normalised adstock (true)")
    return ModelSpec(
        experiment_none=experiment_none,
        experiment_effect=experiments.choice("effect", ExperimentEffect, d.experiment_effect),
        l_max=l_max,
        normalize=normalize,
        saturation=saturation,
        yearly_seasonality=m.count_or_auto("yearly_seasonality", d.yearly_seasonality, hi=12),
        trend=m.flag("trend", d.trend),
        controls=None if controls is None else tuple(controls),
    )


def _sampler(s: Section) -> SamplerSpec:
    d = defaults(SamplerSpec)
    name = s.choice("name", Sampler, d.name)
    return SamplerSpec(
        name=name,
        chains=int(s.number("chains", d.chains, lo=1, integer=True)),
        draws=int(s.number("draws", d.draws, lo=1, integer=True)),
        tune=int(s.number("tune", d.tune, lo=0, integer=True)),
        target_accept=s.number("target_accept", d.target_accept, lo=0, hi=1, lo_open=True, hi_open=True),
        random_seed=int(s.number("random_seed", d.random_seed, lo=0, integer=True)),
        progressbar=s.flag("progressbar", d.progressbar),
        low_rank=s.flag("low_rank", d.low_rank),
        prior_samples=int(s.number("prior_samples", d.prior_samples, lo=1, integer=True)),
        reruns=int(s.number("reruns", d.reruns, lo=0, integer=True)),
        geometry=s.choice("geometry", Geometry, d.geometry),
        rerun_geometry=_rerun_geometry(s, d.rerun_geometry),
    )


def _rerun_geometry(s: Section, default: Geometry | None) -> Geometry | None:
    """``rerun_geometry``: level, means or null (a rerun keeps ``geometry``)."""
    value = s.get("rerun_geometry", default)
    if value is None:
        return None
    if value not in LEVEL_GEOMETRIES:
        raise UserInputError(f"{s.key('rerun_geometry')}: {value!r} is not one of level, means, null "
                             "(a rerun switches only between the level geometries)")
    return Geometry(value)


def model_priors(priors: Section, saturation: str) -> dict[str, Any]:
    """The priors of pymc-marketing's ``model_config`` for the chosen saturation, checked, as plain mappings.

    Parameters
    ----------
    priors : Section
        ``fit.priors``: the common priors and one mapping per saturation.
    saturation : str
        The saturation whose priors are used.

    Returns
    -------
    dict
        Trace name -> the params.yaml mapping (:func:`check_prior`).
    """
    allowed = [*COMMON_PRIORS, *SATURATIONS]
    unknown = [name for name in priors.mapping if name not in allowed]
    if unknown:
        raise unknown_key(priors.key(unknown[0]), allowed)
    plain = {}
    for name in COMMON_PRIORS:
        plain[name] = check_prior(priors.get(name), priors.key(name))
    return plain | saturation_priors(priors, saturation)


def saturation_priors(priors: Section, saturation: str) -> dict[str, Any]:
    """The priors of one saturation's parameters (``fit.priors.<saturation>``), checked, by trace name.

    Parameters
    ----------
    priors : Section
        ``fit.priors``.
    saturation : str
        One of :data:`SATURATIONS`.

    Returns
    -------
    dict
        Trace name (``saturation_<parameter>``) -> the params.yaml mapping.
    """
    own = priors.section(saturation)
    names = SATURATION_PARAMETERS[saturation]
    extra = [name for name in own.mapping if name not in names]
    if extra:
        raise unknown_key(own.key(extra[0]), list(names))
    return {f"saturation_{name}": check_prior(own.get(name), own.key(name)) for name in names}


def check_prior(raw: Any, key: str) -> dict:
    """A prior written in params.yaml, checked against PyMC: ``raw`` itself.

    Parameters
    ----------
    raw : Any
        ``{distribution: Normal, mu: 0, sigma: {distribution: HalfNormal, sigma: 1}}``: a PyMC
        distribution name and its parameters, each a number or such a mapping.
    key : str
        Its dotted key, named in errors.

    Raises
    ------
    UserInputError
        Not such a mapping, not a PyMC distribution, a parameter the distribution does not take, or a
        value neither a number nor a distribution.
    """
    import pymc as pm

    if not isinstance(raw, dict) or "distribution" not in raw:
        raise UserInputError(f"{key}: expected a mapping with 'distribution' and its parameters, got {raw!r}")
    name = raw["distribution"]
    dist = getattr(pm, str(name), None)
    if not (isinstance(dist, type) and issubclass(dist, pm.Distribution)):
        raise UserInputError(f"{key}.distribution: {name!r} is not a PyMC distribution")
    for param, value in raw.items():
        if isinstance(value, dict):
            check_prior(value, f"{key}.{param}")
        elif param != "distribution" and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise UserInputError(f"{key}.{param}: {value!r} is not a number or a distribution")
    try:  # the parameter names must be the distribution's own
        dist.dist(**{p: 1.0 for p in raw if p != "distribution"})
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"{key}: {name} does not take these parameters ({exc})") from None
    return raw


def to_prior(raw: dict, dims: str | None = None):
    """A prior checked by :func:`check_prior` as a ``pymc_extras`` Prior on ``dims`` (``channel``, ``control``, ...)."""
    from pymc_extras.prior import Prior

    kwargs = {p: to_prior(v) if isinstance(v, dict) else v for p, v in raw.items() if p != "distribution"}
    return Prior(str(raw["distribution"]), **kwargs, **({"dims": dims} if dims else {}))


def gates_spec(section: Section) -> Gates:
    """The convergence gates of ``fit.gates``.

    Parameters
    ----------
    section : Section
        ``fit.gates`` (every key optional).

    Returns
    -------
    Gates
        A missing key takes the field default of :class:`~mmmlab.diagnostics.Gates` (params.yaml's).
    """
    d = Gates()
    return Gates(
        r_hat_max=section.number("r_hat_max", d.r_hat_max, lo=1),
        ess_bulk_min=section.number("ess_bulk_min", d.ess_bulk_min, lo=0),
        ess_tail_min=section.number("ess_tail_min", d.ess_tail_min, lo=0),
        divergences_max=section.number("divergences_max", d.divergences_max, lo=0, integer=True),
        bfmi_min=section.number("bfmi_min", d.bfmi_min, lo=0),
    )
