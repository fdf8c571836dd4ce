"""The fit's posterior in coordinates that NUTS crosses in few steps: the same density, sampled another way.

Where the data say little, pymc-marketing's parameters sit on ridges: the data fix the sum of the
intercept and the channels' mean contributions well and its split poorly, and the control
coefficients trade against both. The sampler then needs small steps and deep trees. The
``level`` geometry samples

- ``sampler_log_total``: the log of intercept plus the channels' mean contributions, in place of
  the intercept, and per channel, in place of the saturation's scale (``saturation_beta``), either
  ``sampler_log_ratio``: its mean contribution over the intercept (log; ``level``, unit Jacobian), or
  ``sampler_log_mean``: its mean contribution (log; ``means``), the channels' sum softly bounded below
  the total: of a raw media share ``x`` of the total the model gets ``psi(x) = x / (1 + x^n)^(1/n)``
  (n = 4: within 3% of ``x`` up to 0.6, below 1 always; a sharper bound, n = 40, bends the sampler's space
  so hard where the intercept nears 0 that chains diverge there), the intercept the rest. Where the data
  fix how a channel's contribution varies but not its level, the level trades against the intercept
  along a line (log mean falling with log Hill slope) that is straight in ``means`` and bends in the
  log-ratios (chains stick on the bend); near a step-like curve (steep slope, tiny half-saturation
  point) ``means`` diverges more;
- ``sampler_linear``: the control (and Fourier) coefficients as standard normals through their
  Gaussian conditional given everything else, ``gamma = m + L z`` (prior approximated by a normal
  of its mean and variance), with ``log |det L|`` added; ``L`` comes from an eigen-decomposition of
  the data's part of the conditional precision, computed once per dataset (:func:`linear_data`: the
  sampled model's ``pm.Data``), so an evaluation has no factorisation to do;
- per channel of a Hill saturation with positive priors, in place of its slope ``s`` and
  half-saturation point ``k``: ``sampler_hill_slope``, ``z`` with ``s = softplus(z)`` (like log ``s``
  below 1, like ``s`` above: where the data inform a curve, its curvature in log ``s`` and log ``k``
  grows with ``s**2``, and at 0.9 the divergent transitions sat where a channel's ``s`` was 2-3), and
  ``sampler_hill_position``, ``u = s**(1/4) * (log r - log k)``: where the channel's mean adstocked
  input ``r`` (a function of the decay, so ``k`` follows the decay's rescaling of the input) sits on
  its curve, partially non-centred (``s**1`` straightens what the data fix but makes a funnel of the
  prior; ``s**0`` the reverse; 1/4 made the fewest divergent transitions of 0, 1/4, 1/2, 3/4 and 1);
- every other parameter in pymc-marketing's own unconstrained coordinates.

The target is pymc-marketing's model's log-density (priors, likelihood, lift tests) evaluated at
the mapped values, plus the map's log-Jacobian: the posterior is exactly the same whatever the
approximations in the map. Every parameter and deterministic of pymc-marketing's model is a
deterministic here with its own name, so the trace reads as before; the ``sampler_`` coordinates
and data are dropped from it (:meth:`LevelGeometryMMM.fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pymc.dims as pmd
import pytensor.tensor as pt
import pytensor.xtensor as ptx
from pymc.backends.arviz import coords_and_dims_for_inferencedata, dict_to_dataset, find_observations
from pymc.dims.distributions.transforms import LogTransform
from pymc.model.transform.optimization import freeze_dims_and_data
from pymc_marketing.mmm import MMM
from pytensor.graph.replace import graph_replace
from pytensor.graph.rewriting.utils import rewrite_graph

from mmmlab.errors import UserInputError

PREFIX = "sampler_"  # the sampled coordinates' names; not part of the saved trace
INTERCEPT = "intercept_contribution"
SHARPNESS = 4.0  # n of the soft bound psi on the media's share of the total (module docstring)
CONTRIBUTION = "channel_contribution"  # (date, channel) on pymc-marketing's scale
MU = "mu"
SIGMA = "y_sigma"
# the parameter a saturation's response is proportional to: hill and logistic beta, hill_mean_response value,
# michaelis_menten alpha (its lam is the half-saturation point)
SCALES = ("beta", "value", "alpha")
LINEAR = ("gamma_control", "gamma_fourier")  # coefficients entering the mean linearly, in this order
PRIOR_MOMENT_DRAWS = 4000
POSITION_POWER = 0.25  # u = s**POSITION_POWER * (log r - log k) (module docstring)


def level_model(model: pm.Model, scale: str, coordinates: str = "level", hill: Hill | None = None) -> pm.Model:
    """pymc-marketing's built model re-expressed in the ``level`` coordinates (module docstring).

    Parameters
    ----------
    model : pymc.Model
        pymc-marketing's built model (``mmm.model``), lift tests and original-scale variables added.
    scale : str
        The saturation's multiplicative parameter (``saturation_beta``; ``saturation_alpha`` of
        Michaelis-Menten): each channel's contribution is proportional to it.
    coordinates : {"level", "means"}
        The channels' coordinates: log-ratios to the intercept, or log means under the soft bound.
    hill : Hill, optional
        The Hill saturation's slope and half-saturation point and the reference input: sampled as
        ``sampler_hill_slope`` and ``sampler_hill_position`` (module docstring) when both have
        positive priors; None leaves them in pymc-marketing's coordinates.

    Returns
    -------
    pymc.Model
        Free variables ``sampler_*`` (flat), one potential (the original log-density plus the
        log-Jacobian), and every free variable and deterministic of ``model`` as a deterministic.

    Raises
    ------
    UserInputError
        The intercept or the scale parameter has a prior that is not positive (no log transform).
    """
    rvs = {rv.name: rv for rv in model.free_RVs}
    for name, key in ((INTERCEPT, "fit.priors.intercept"), (scale, "fit.priors.<saturation>.beta")):
        if not isinstance(model.rvs_to_transforms.get(rvs.get(name)), LogTransform):
            raise UserInputError(f"{key}: the level geometry needs a positive prior here (HalfNormal, Gamma, "
                                 "LogNormal, ...); use it, or set fit.sampler.geometry: plain")
    values = {name: model.rvs_to_values[rv] for name, rv in rvs.items()}
    linear = linear_coefficients(model)
    dims = model.named_vars_to_dims
    if hill is not None and not all(isinstance(model.rvs_to_transforms.get(rvs.get(n)), LogTransform)
                                    for n in (hill.slope, hill.kappa)):
        hill = None  # a prior that is not positive: its own coordinates
    curve = (hill.slope, hill.kappa) if hill is not None else ()

    with pm.Model(coords=model.coords) as twin:
        for data in model.data_vars:
            twin.register_data_var(data, dims=dims.get(data.name))
        replace = {values[n]: _flat(values[n].name.rstrip("_"), values[n].type.dims)
                   for n in rvs if n not in (INTERCEPT, scale, *linear, *curve)}
        log_jacobian = _hill_coordinates(model, values, replace, hill) if hill is not None else pt.constant(0.0)
        level, level_jacobian = LEVELS[coordinates](model, values[INTERCEPT], values[scale], replace)
        replace |= level
        log_jacobian = log_jacobian + level_jacobian
        if linear:
            coefficients, linear_jacobian = _linear_block(model, [values[n] for n in linear], replace)
            replace |= coefficients
            log_jacobian = log_jacobian + linear_jacobian
        # pytensor differentiates tensors, not named-dimension graphs: lower those first
        density = rewrite_graph(_replaced(model.logp(), replace) + log_jacobian, include=("lower_xtensor",))
        pm.Potential(PREFIX + "density", density)
        originals = model.replace_rvs_by_values([*model.free_RVs, *model.deterministics])
        for var, value in zip([*model.free_RVs, *model.deterministics], originals):
            pmd.Deterministic(var.name, _replaced(value, replace))
    return twin


@dataclass(frozen=True)
class Hill:
    """A Hill saturation's parameters (their names in the model) and each channel's reference input."""

    slope: str
    kappa: str
    log_reference: object  # log of the channel's mean adstocked input, a graph of the model's variables


def _hill_coordinates(model: pm.Model, values: dict, replace: dict, hill: Hill):
    """Add replacements of the Hill slope's and half-saturation point's log-values by the
    ``hill_slope`` and ``hill_position`` coordinates (module docstring); return the map's log-Jacobian."""
    z = _flat("hill_slope", values[hill.slope].type.dims)
    log_slope = ptx.math.log(ptx.math.softplus(z))
    replace[values[hill.slope]] = log_slope
    log_reference = _replaced(model.replace_rvs_by_values([hill.log_reference])[0], replace)
    position = _flat("hill_position", values[hill.kappa].type.dims)
    replace[values[hill.kappa]] = log_reference - position * ptx.math.exp(-POSITION_POWER * log_slope)
    # triangular: d log s / dz = sigmoid(z) / softplus(z), d log k / du = s**(-1/4)
    return (-ptx.math.softplus(-z) - (1 + POSITION_POWER) * log_slope).values.sum()


def _ratio_level(model: pm.Model, intercept, scale, replace: dict) -> tuple[dict, object]:
    """``level``: the intercept's and the scale's log-values from the log total and the channels' log-ratios
    to the intercept (the map's log-Jacobian is 0)."""
    ratio = _flat("log_ratio", scale.type.dims).values
    log_intercept = _flat("log_total", ()).values - pt.logsumexp(pt.concatenate([pt.zeros((1,)), ratio]))
    log_mean = log_intercept + ratio  # each channel's mean contribution
    return _scaled(model, intercept, scale, replace, log_intercept, log_mean), pt.constant(0.0)


def _mean_level(model: pm.Model, intercept, scale, replace: dict) -> tuple[dict, object]:
    """``means``: the intercept's and the scale's log-values from the log total and the channels' raw log means,
    and the soft bound's log-Jacobian."""
    raw = _flat("log_mean", scale.type.dims).values
    log_total = _flat("log_total", ()).values
    log_share = pt.logsumexp(raw) - log_total  # the media's raw share of the total
    log_bounded = -pt.softplus(-SHARPNESS * log_share) / SHARPNESS  # log psi(share)
    log_rest = pt.log(-pt.expm1(log_bounded))  # the intercept's share, 1 - psi
    log_mean = raw + log_bounded - log_share  # each channel's mean contribution
    # log total -> log intercept contributes total / intercept; the shares' rescaling d log psi / d log x
    log_jacobian = -pt.softplus(SHARPNESS * log_share) - log_rest
    return _scaled(model, intercept, scale, replace, log_total + log_rest, log_mean), log_jacobian


def _scaled(model: pm.Model, intercept, scale, replace: dict, log_intercept, log_mean) -> dict:
    """Replacements of the intercept's and the scale's log-values for these log intercept and log mean
    contributions (the scale is the mean over the mean at scale 1: a unit-diagonal map)."""
    contribution = model.replace_rvs_by_values([model[CONTRIBUTION]])[0]
    # each channel's mean contribution at scale 1: the same graph with the scale's log-value 0
    unit = _replaced(contribution, {**replace, scale: _filled(model, scale, 0.0)}).mean("date")
    log_scale = ptx.as_xtensor(log_mean, dims=scale.type.dims) - ptx.math.log(unit)
    return {intercept: ptx.as_xtensor(log_intercept), scale: log_scale}


LEVELS = {"level": _ratio_level, "means": _mean_level}


def linear_coefficients(model: pm.Model) -> list[str]:
    """The coefficients the ``level`` geometry samples through their Gaussian conditional (:data:`LINEAR`
    present without a transform, and a Normal likelihood's ``y_sigma``); empty when there are none."""
    rvs = {rv.name: rv for rv in model.free_RVs}
    if SIGMA not in rvs:
        return []
    return [n for n in LINEAR if n in rvs and model.rvs_to_transforms.get(rvs[n]) is None]


def linear_prior(model: pm.Model) -> tuple[np.ndarray, np.ndarray]:
    """The prior mean and standard deviation of each :func:`linear_coefficients` value, flat, from
    :data:`PRIOR_MOMENT_DRAWS` draws (fixed seeds: the same numbers for every model with these priors)."""
    draws = [np.reshape(pm.draw(model[name], draws=PRIOR_MOMENT_DRAWS, random_seed=j), (PRIOR_MOMENT_DRAWS, -1))
             for j, name in enumerate(linear_coefficients(model))]
    prior = np.concatenate(draws, axis=1)
    return prior.mean(axis=0), prior.std(axis=0)


def linear_data(model: pm.Model, spread: np.ndarray) -> dict[str, np.ndarray]:
    """What the conditional of the linear coefficients needs from the data, computed once per dataset.

    The design ``D`` (the mean's response to each coefficient; a function of the data only) and the
    eigen-decomposition ``V diag(lam) V'`` of ``W'W``, ``W = D * spread``, as the sampled model's
    ``pm.Data`` ``sampler_linear_design``, ``sampler_linear_eigenvalues``, ``sampler_linear_basis``:
    a model compiled on one dataset refits another by swapping them with the rest of its data.

    Parameters
    ----------
    model : pymc.Model
        pymc-marketing's built model on the dataset.
    spread : numpy.ndarray
        :func:`linear_prior`'s standard deviations.

    Returns
    -------
    dict of str to numpy.ndarray
    """
    values = [model.rvs_to_values[model[name]] for name in linear_coefficients(model)]
    # one evaluation of a small graph: Python's implementations cost less than compiling them (0.2 s against 0.3 s)
    design = np.asarray(_design(model, values).eval(mode="FAST_COMPILE"), dtype=float)
    whitened = design * spread
    eigenvalues, basis = np.linalg.eigh(whitened.T @ whitened)
    return {PREFIX + "linear_design": design, PREFIX + "linear_eigenvalues": eigenvalues,
            PREFIX + "linear_basis": basis}


def _split(model: pm.Model, values: list, flat) -> dict:
    """The flat vector ``flat`` cut into the value variables ``values``, each shaped and named by dimension."""
    sizes = [int(np.prod([len(model.coords[d]) for d in v.type.dims])) for v in values]
    at = np.cumsum([0, *sizes])
    return {v: ptx.as_xtensor(flat[a:b].reshape(tuple(len(model.coords[d]) for d in v.type.dims)), dims=v.type.dims)
            for v, a, b in zip(values, at[:-1], at[1:])}


def _design(model: pm.Model, values: list):
    """The mean's response to each linear coefficient, every other value at 0: a graph of the data only."""
    mu = model.replace_rvs_by_values([model[MU]])[0]
    k = sum(int(np.prod([len(model.coords[d]) for d in v.type.dims])) for v in values)
    others = {v: _filled(model, v, 0.0) for v in model.value_vars if v not in values}
    base = _replaced(mu, {**others, **_split(model, values, pt.zeros((k,)))}).values
    return pt.stack([_replaced(mu, {**others, **_split(model, values, pt.eye(k)[j])}).values - base
                     for j in range(k)], axis=1)


def _linear_block(model: pm.Model, values: list, replace: dict) -> tuple[dict, object]:
    """The linear coefficients as ``m + L z`` from standard-normal ``z``, and ``log |det L|``.

    With the prior approximated by a normal of centre ``c`` and spread ``s`` and ``W = D s``, the
    coefficients given everything else are ``c + s w``, ``w`` normal with precision
    ``P = W'W / sigma^2 + I = V diag(d) V'``, ``d = lam / sigma^2 + 1`` (:func:`linear_data`): ``w = V (diag(1/d) V't
    + diag(d^-1/2) z)``, so ``L L' = P^-1`` with elementwise work per evaluation, no factorisation.
    """
    twin = pm.modelcontext(None)
    centre, spread = linear_prior(model)
    k = len(centre)
    twin.add_coord(PREFIX + "coefficient", range(k))
    twin.add_coord(PREFIX + "eigenvector", range(k))
    mu_dims = model.named_vars_to_dims[MU]
    data = linear_data(model, spread)
    design = pm.Data(PREFIX + "linear_design", data[PREFIX + "linear_design"], dims=(*mu_dims, PREFIX + "coefficient"))
    eigenvalues = pm.Data(PREFIX + "linear_eigenvalues", data[PREFIX + "linear_eigenvalues"],
                          dims=(PREFIX + "eigenvector",))
    basis = pm.Data(PREFIX + "linear_basis", data[PREFIX + "linear_basis"],
                    dims=(PREFIX + "coefficient", PREFIX + "eigenvector"))

    mu = model.replace_rvs_by_values([model[MU]])[0]
    rest = _replaced(mu, {**replace, **_split(model, values, pt.zeros((k,)))}).values
    sigma = _replaced(model.replace_rvs_by_values([model[SIGMA]])[0], replace).values
    observed = model.rvs_to_values[model.observed_RVs[0]].values
    whitened = design * spread
    precision = eigenvalues / sigma**2 + 1.0  # d
    target = pt.dot(basis.T, pt.dot(whitened.T, observed - rest - pt.dot(design, centre))) / sigma**2
    z = _flat("linear", (PREFIX + "coefficient",)).values
    w = pt.dot(basis, target / precision + z / pt.sqrt(precision))
    return _split(model, values, centre + spread * w), np.log(spread).sum() - 0.5 * pt.log(precision).sum()


def _flat(name: str, dims: tuple):
    """A sampled coordinate ``sampler_<name>`` (flat: the potential carries the density), by dimension name.

    A tensor variable seen through named dimensions, so that lowering the potential's graph to
    tensors finds the model's own variable.
    """
    return ptx.as_xtensor(pm.Flat(PREFIX + name, dims=dims), dims=dims)


def _filled(model: pm.Model, value, fill: float):
    """A constant shaped and named by dimension like the value variable ``value``."""
    shape = tuple(len(model.coords[d]) for d in value.type.dims)
    return ptx.as_xtensor(pt.constant(np.full(shape, fill)), dims=value.type.dims)


def _replaced(graph, replace: dict):
    """``graph`` with the replacements that occur in it made (the others ignored)."""
    return graph_replace(graph, replace, strict=False)


class LevelGeometryMMM(MMM):
    """pymc-marketing's MMM whose posterior NUTS samples in the level geometry (:func:`level_model`).

    ``coordinates`` (``level`` or ``means``) picks the channels' coordinates for the next ``fit``: a
    rerun may sample the same posterior in the other ones.
    """

    coordinates = "level"

    def sampling_model(self) -> pm.Model:
        """The model NUTS samples, its data still swappable (``pm.Data``)."""
        scale = next(p for p in SCALES if p in self.saturation.default_priors)
        return level_model(self.model, self.saturation.variable_mapping[scale], self.coordinates, self._hill())

    def _hill(self) -> Hill | None:
        """The Hill curve's parameters and each channel's mean adstocked input (None for another curve)."""
        curve, decay = self.saturation.variable_mapping, self.adstock.variable_mapping.get("alpha")
        if not {"slope", "kappa"} <= set(curve) or decay is None:
            return None
        alpha = ptx.as_xtensor(self.model[decay], dims=self.model.named_vars_to_dims[decay])
        # the model's own scaled input: the compiled graph then shares the model's adstock instead of a second pass
        adstocked = self.adstock.function(self.channel_data_scaled, alpha=alpha, dim="date")
        return Hill(curve["slope"], curve["kappa"], ptx.math.log(adstocked.mean("date")))

    def _get_sampling_model(self) -> pm.Model:
        """The sampling model with its dimensions frozen but its data not (MMM's own freezes both): data held
        as constants would enter the compiled functions' cache keys, and a new dataset would compile afresh."""
        return freeze_dims_and_data(self.sampling_model(), data=[])

    def fit(self, *args, **kwargs):
        """MMM's fit; the trace holds MMM's variables and data only, not the sampled coordinates and their
        data, and MMM's observations (the sampling model observes nothing: its likelihood is a potential)."""
        super().fit(*args, **kwargs)
        for group in ("posterior", "constant_data"):
            data = self.idata[group].to_dataset()
            self.idata[group] = data.drop_vars([n for n in data.variables if str(n).startswith(PREFIX)])  # and coords
        coords, dims = coords_and_dims_for_inferencedata(self.model)
        self.idata["observed_data"] = dict_to_dataset(find_observations(self.model), coords=coords, dims=dims,
                                                      sample_dims=[], inference_library=pm)
        return self.idata
