"""The ``fit`` section of params.yaml -> a frozen, validated spec of the Bayesian MMM and its sampler.

Priors are written in params.yaml as plain YAML (``{distribution: Beta, alpha: 2, beta: 2}``; a
parameter may itself be such a mapping) and become ``pymc_extras.prior.Prior`` objects here, with
the dims pymc-marketing expects (one value per channel, control or Fourier mode). Every error
names the key. Nothing here reads the truth: default priors are generic, on pymc-marketing's
internal scale (spend / channel max, sales / max sales).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from mmmlab.config.section import Section
from mmmlab.diagnostics import Gates
from mmmlab.errors import UserInputError

SATURATIONS = ("hill", "hill_mean_response", "logistic", "michaelis_menten")
HILL_FORMS = ("hill", "hill_mean_response")  # the simulator's curve: decay, alpha, gamma, k compare with the truth
SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
JAX_SAMPLERS = ("numpyro", "blackjax")  # they sample pytensor's JAX translation of the model
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
# packages a sampler needs beyond the base install (pip install -e '.[samplers]')
SAMPLER_PACKAGES = {"numpyro": ("jax", "numpyro"), "blackjax": ("jax", "blackjax")}


@dataclass(frozen=True)
class ModelSpec:
    """The MMM's structure."""

    l_max: int | None  # None: sized from the decay prior (bayes.l_max), at most the number of periods
    normalize: bool
    saturation: str
    yearly_seasonality: int  # Fourier modes; 0 = none
    trend: bool
    controls: tuple[str, ...] | None  # None: every column of data.controls
    experiment_column: str | None  # text control naming the channel under experiment in each period
    experiment_effect: str  # "spend": window dummy x that channel's spend | "level": plain window dummy


@dataclass(frozen=True)
class SamplerSpec:
    name: str
    chains: int
    draws: int
    tune: int
    target_accept: float
    random_seed: int
    progressbar: bool
    prior_samples: int
    low_rank: bool  # nutpie only: low-rank modified mass matrix (learns correlated directions)

    def sampler_config(self) -> dict:
        """Keyword arguments for ``pm.sample`` (pymc-marketing's ``sampler_config``)."""
        config = {
            "nuts_sampler": self.name,
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


@dataclass(frozen=True)
class FitSpec:
    model: ModelSpec
    priors: dict[str, Any]  # pymc-marketing model_config: trace name -> Prior
    prior_specs: dict[str, Any]  # the same as plain YAML (for MLflow and the benchmark)
    sampler: SamplerSpec
    gates: Gates
    strict: bool
    hdi_prob: float
    prior_dominated_below: float


def fit_spec(params: dict) -> FitSpec:
    """Validate the ``fit`` section; a bad value raises UserInputError naming its key."""
    f = Section(params.get("fit"), "fit")
    model = _model(f.section("model"))
    sampler = _sampler(f.section("sampler"))
    priors, plain = model_priors(f.section("priors"), model.saturation)
    strict = f.get("strict", False)
    if not isinstance(strict, bool):
        raise UserInputError(f"fit.strict: {strict!r} is not true or false")
    return FitSpec(
        model=model,
        priors=priors,
        prior_specs=plain,
        sampler=sampler,
        gates=gates_spec(f.section("gates")),
        strict=strict,
        hdi_prob=f.number("hdi_prob", 0.94, lo=0, hi=1, lo_open=True, hi_open=True),
        prior_dominated_below=f.number("prior_dominated_below", 0.5, lo=0, hi=1),
    )


def _model(m: Section) -> ModelSpec:
    adstock = m.section("adstock")
    l_max = adstock.get("l_max", None)
    if l_max is not None:
        l_max = int(adstock.number("l_max", lo=1, integer=True))
    normalize = adstock.get("normalize", False)
    if not isinstance(normalize, bool):
        raise UserInputError(f"fit.model.adstock.normalize: {normalize!r} is not true or false")
    trend = m.get("trend", True)
    if not isinstance(trend, bool):
        raise UserInputError(f"fit.model.trend: {trend!r} is not true or false")
    controls = m.get("controls", None)
    if controls is not None and (not isinstance(controls, list) or not all(isinstance(c, str) for c in controls)):
        raise UserInputError(f"fit.model.controls: expected a list of data.controls columns or null, got {controls!r}")
    experiments = m.section("experiments") if m.get("experiments", None) is not None else Section({}, m.key("experiments"))
    column = experiments.get("column", None)
    saturation = m.choice("saturation", SATURATIONS, "hill")
    if saturation == "hill_mean_response" and not normalize:  # its reference, the mean spend, is the mean adstock only then
        raise UserInputError(f"{adstock.key('normalize')}: hill_mean_response needs normalised adstock (true)")
    return ModelSpec(
        experiment_column=None if column is None else str(column),
        experiment_effect=experiments.choice("effect", ("spend", "level"), "spend"),
        l_max=l_max,
        normalize=normalize,
        saturation=saturation,
        yearly_seasonality=int(m.number("yearly_seasonality", 0, lo=0, integer=True)),
        trend=trend,
        controls=None if controls is None else tuple(controls),
    )


def _sampler(s: Section) -> SamplerSpec:
    name = s.choice("name", SAMPLERS, "nutpie")
    missing = [p for p in SAMPLER_PACKAGES.get(name, ()) if importlib.util.find_spec(p) is None]
    if missing:
        raise UserInputError(
            f"fit.sampler.name: {name} needs {' and '.join(missing)}, which are not installed "
            "(pip install -e '.[samplers]', or use nutpie or pymc)"
        )
    flags = {}
    for flag, default in (("progressbar", True), ("low_rank", False)):
        flags[flag] = s.get(flag, default)
        if not isinstance(flags[flag], bool):
            raise UserInputError(f"fit.sampler.{flag}: {flags[flag]!r} is not true or false")
    return SamplerSpec(
        name=name,
        chains=int(s.number("chains", 4, lo=1, integer=True)),
        draws=int(s.number("draws", 1000, lo=1, integer=True)),
        tune=int(s.number("tune", 1000, lo=0, integer=True)),
        target_accept=s.number("target_accept", 0.95, lo=0, hi=1, lo_open=True, hi_open=True),
        random_seed=int(s.number("random_seed", 0, lo=0, integer=True)),
        progressbar=flags["progressbar"],
        low_rank=flags["low_rank"],
        prior_samples=int(s.number("prior_samples", 1000, lo=1, integer=True)),
    )


def model_priors(priors: Section, saturation: str) -> tuple[dict, dict]:
    """pymc-marketing ``model_config`` (trace name -> Prior) for the chosen saturation, and its plain form."""
    allowed = set(COMMON_PRIORS) | set(SATURATIONS)
    unknown = sorted(set(priors.mapping) - allowed)
    if unknown:
        raise UserInputError(f"fit.priors.{unknown[0]}: unknown prior (known: {', '.join(sorted(allowed))})")
    own = priors.section(saturation)
    extra = sorted(set(own.mapping) - set(SATURATION_PARAMETERS[saturation]))
    if extra:
        raise UserInputError(f"{own.key(extra[0])}: {saturation} has no parameter {extra[0]!r} "
                             f"(it has {', '.join(SATURATION_PARAMETERS[saturation])})")
    entries = [(priors, name, dims, name) for name, dims in COMMON_PRIORS.items()]
    entries += [(own, name, "channel", f"saturation_{name}") for name in SATURATION_PARAMETERS[saturation]]
    config, plain = {}, {}
    for node, leaf, dims, trace_name in entries:
        raw = node.get(leaf)
        config[trace_name] = to_prior(raw, node.key(leaf), dims)
        plain[trace_name] = raw
    return config, plain


def to_prior(raw: Any, key: str, dims: str | None = None):
    """``{distribution: Normal, mu: 0, sigma: {distribution: HalfNormal, sigma: 1}}`` -> Prior."""
    import pymc as pm
    from pymc_extras.prior import Prior

    if not isinstance(raw, dict) or "distribution" not in raw:
        raise UserInputError(f"{key}: expected a mapping with 'distribution' and its parameters, got {raw!r}")
    name = raw["distribution"]
    dist = getattr(pm, str(name), None)
    if not (isinstance(dist, type) and issubclass(dist, pm.Distribution)):
        raise UserInputError(f"{key}.distribution: {name!r} is not a PyMC distribution")
    kwargs = {}
    for param, value in raw.items():
        if param == "distribution":
            continue
        if isinstance(value, dict):
            kwargs[param] = to_prior(value, f"{key}.{param}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            kwargs[param] = value
        else:
            raise UserInputError(f"{key}.{param}: {value!r} is not a number or a distribution")
    try:  # the parameter names must be the distribution's own
        dist.dist(**{p: 1.0 for p in kwargs})
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"{key}: {name} does not take these parameters ({exc})") from None
    return Prior(str(name), **kwargs, **({"dims": dims} if dims else {}))


def gates_spec(section: Section) -> Gates:
    """The convergence gates of ``fit.gates``; a missing key takes the seed's threshold."""
    d = Gates()
    return Gates(
        r_hat_max=section.number("r_hat_max", d.r_hat_max, lo=1),
        ess_bulk_min=section.number("ess_bulk_min", d.ess_bulk_min, lo=0),
        ess_tail_min=section.number("ess_tail_min", d.ess_tail_min, lo=0),
        divergences_max=section.number("divergences_max", d.divergences_max, lo=0, integer=True),
        bfmi_min=section.number("bfmi_min", d.bfmi_min, lo=0),
    )
