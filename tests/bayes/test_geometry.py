"""The level geometry samples the very posterior of pymc-marketing's model, in other coordinates.

The check is independent of the code under test's own Jacobian: at random points of the sampled
coordinates, the sampled model's log-density must equal pymc-marketing's log-density at the mapped
values plus log |det J| of the map, with J computed by central finite differences of the mapped
values (in pymc-marketing's own unconstrained coordinates).
"""

from __future__ import annotations

import copy

import numpy as np
import xarray as xr
import pytest
from scipy.special import logit

from mmmlab import bayes
from mmmlab.bayes.geometry import PREFIX, LevelGeometryMMM
from mmmlab.bayes.sampling import build, compiled_once
from mmmlab.config import data_spec, set_key
from mmmlab.config.fit import fit_spec
from mmmlab.dataset import load_dataset
from mmmlab.errors import UserInputError

FORWARD = {"LogTransform": np.log, "LogOddsTransform": logit, "NoneType": lambda x: x}


@pytest.fixture
def params(project):
    """Four years of generated monthly data: enough periods for the models below."""
    from mmmlab.config import load_params
    from mmmlab.stages import generate

    params = load_params(project / "params.yaml", ("generate.end=2020-12-31",))
    generate.run(params)
    return params


def _with(params, *overrides):
    params = copy.deepcopy(params)
    for item in overrides:
        set_key(params, item)
    return params


def _built(params, d=None):
    """pymc-marketing's model built as the fit stage builds it, and its design."""
    spec = fit_spec(params)
    d = d if d is not None else bayes.design(load_dataset(data_spec(params)), spec.model)
    mmm = bayes.build_mmm(spec, d)
    build(mmm, d)
    return mmm, d


def _density_gap(mmm, points: int = 3, seed: int = 0) -> list[float]:
    """Sampled log-density minus (pymc-marketing's log-density at the mapped values + log |det J|), per point."""
    model, twin = mmm.model, mmm.sampling_model()
    kinds = [type(model.rvs_to_transforms.get(rv)).__name__ for rv in model.free_RVs]
    mapped = twin.compile_fn(twin.replace_rvs_by_values([twin[rv.name] for rv in model.free_RVs]),
                             inputs=twin.value_vars, point_fn=False)
    start = twin.initial_point()
    shapes = [np.shape(start[v.name]) for v in twin.value_vars]
    cuts = np.cumsum([0, *[int(np.prod(s)) for s in shapes]])

    def unpack(x):
        return {v.name: x[a:b].reshape(s) for v, s, a, b in zip(twin.value_vars, shapes, cuts[:-1], cuts[1:])}

    def original(x):
        values = mapped(*unpack(x).values())
        return [FORWARD[k](np.asarray(v, dtype=float)) for k, v in zip(kinds, values)]

    def flat(x):
        return np.concatenate([np.ravel(v) for v in original(x)])

    twin_logp, model_logp = twin.compile_logp(), model.compile_logp()
    rng, h = np.random.default_rng(seed), 1e-5
    gaps = []
    for _ in range(points):
        x = rng.normal(0, 0.5, cuts[-1])
        jacobian = np.stack([(flat(x + h * e) - flat(x - h * e)) / (2 * h) for e in np.eye(x.size)], axis=1)
        sign, log_det = np.linalg.slogdet(jacobian)
        assert sign != 0
        at = {model.rvs_to_values[rv].name: v for rv, v in zip(model.free_RVs, original(x))}
        gaps.append(float(twin_logp(unpack(x)) - (model_logp(at) + log_det)))
    return gaps


@pytest.mark.parametrize("overrides", [
    ("fit.model.yearly_seasonality=2", "fit.model.controls=[Economic_Condition]"),  # controls and Fourier modes
    ("fit.model.saturation=logistic", "fit.model.controls=[Economic_Condition]"),
    ("fit.model.saturation=michaelis_menten", "fit.model.controls=[Economic_Condition]", "fit.model.trend=false"),
    ("fit.model.saturation=hill_mean_response", "fit.model.adstock.normalize=true",
     "fit.model.controls=[Economic_Condition]"),
    ("fit.sampler.geometry=means", "fit.model.yearly_seasonality=2", "fit.model.controls=[Economic_Condition]"),
    ("fit.sampler.geometry=means", "fit.model.saturation=michaelis_menten", "fit.model.trend=false"),
])
def test_the_sampled_density_is_the_models_after_the_jacobian(params, overrides):
    mmm, _ = _built(_with(params, *overrides))
    means = "fit.sampler.geometry=means" in overrides
    assert isinstance(mmm, LevelGeometryMMM) and mmm.coordinates == ("means" if means else "level")
    sampled = {rv.name for rv in mmm.sampling_model().free_RVs}
    assert (PREFIX + "log_mean" in sampled, PREFIX + "log_ratio" in sampled) == (means, not means)
    gaps = _density_gap(mmm)
    assert np.allclose(gaps, 0, atol=1e-6), gaps


def test_lift_tests_keep_their_likelihood_in_the_sampled_density(lift_design):
    params, _, _, d = lift_design("generate.end=2020-12-31", "fit.model.controls=[Economic_Condition]")
    for geometry in ("level", "means"):
        mmm, _ = _built(_with(params, f"fit.sampler.geometry={geometry}"), d)
        assert "lift_measured" in {v.name for v in mmm.model.observed_RVs}
        assert np.allclose(_density_gap(mmm, points=2), 0, atol=1e-6), geometry


def test_a_fit_in_the_level_geometry_leaves_the_plain_fits_trace_layout(params):
    fast = ("fit.model.controls=[Economic_Condition]", "fit.sampler.chains=1", "fit.sampler.draws=20", "fit.sampler.tune=20", "fit.sampler.progressbar=false")
    traces = {}
    for geometry in ("level", "plain"):
        params = _with(params, *fast, f"fit.sampler.geometry={geometry}")
        mmm, d = _built(params)
        with compiled_once():  # as the fit stage compiles: nutpie's callbacks from the disk cache
            mmm.fit(d.X, d.y, **fit_spec(params).sampler.sampler_config())
        traces[geometry] = mmm.idata
    assert set(traces["level"].children) == set(traces["plain"].children)
    for group in traces["plain"].children:
        level, plain = (traces[g][group].to_dataset() for g in ("level", "plain"))
        assert set(level.data_vars) == set(plain.data_vars), group
        assert not any(str(n).startswith(PREFIX) for n in level.variables)
        if group in ("observed_data", "constant_data", "fit_data"):
            xr.testing.assert_equal(level, plain)


@pytest.mark.parametrize("overrides, hill_coordinates", [
    (("fit.model.controls=[Economic_Condition]",), True),
    # a slope prior with bounds (an interval transform, not a log): slope and half-saturation point as sampled before
    (("fit.model.controls=[Economic_Condition]", "fit.priors.hill.slope={distribution: Uniform, lower: 0.1, upper: 3}"),
     False),
])
def test_a_hill_curve_with_positive_priors_is_sampled_by_slope_and_position(params, overrides, hill_coordinates):
    mmm, _ = _built(_with(params, *overrides))
    sampled = {rv.name for rv in mmm.sampling_model().free_RVs}
    hill = {PREFIX + "hill_slope", PREFIX + "hill_position"}
    assert (hill & sampled) == (hill if hill_coordinates else set())
    assert (PREFIX + "saturation_kappa_log" in sampled) is not hill_coordinates


def test_the_hill_reference_input_shares_the_models_adstock(params):
    """The mean adstocked input behind the Hill position is the model's own adstock: one adstock per evaluation."""
    mmm, _ = _built(params)
    logp = mmm.sampling_model().logp_dlogp_function(ravel_inputs=True)
    ops = [type(node.op).__name__ for node in logp._pytensor_function.maker.fgraph.toposort()]
    assert ops.count("AdstockOp") == 1 and ops.count("AdstockDecayGradientOp") == 1


def test_a_prior_that_can_be_negative_where_the_level_needs_a_positive_one_is_named(params):
    mmm, _ = _built(_with(params, "fit.model.controls=[Economic_Condition]",
                          "fit.priors.intercept={distribution: Normal, mu: 0, sigma: 1}"))
    with pytest.raises(UserInputError, match=r"^fit\.priors\.intercept: .*fit\.sampler\.geometry: plain"):
        mmm.sampling_model()


def test_the_channels_mean_contributions_stay_below_the_total_whatever_the_sampler_proposes(params):
    """The ``means`` map from the sampled log total and raw log means, by hand: the channels' share of the total
    is psi(x) = x / (1 + x^4)^(1/4) of the raw share x, the intercept the positive rest, even far beyond 1."""
    mmm, _ = _built(_with(params, "fit.model.controls=[Economic_Condition]", "fit.sampler.geometry=means"))
    twin = mmm.sampling_model()
    outputs = twin.replace_rvs_by_values([twin["intercept_contribution"], twin["channel_contribution"]])
    mapped = twin.compile_fn(outputs, inputs=twin.value_vars, point_fn=False, on_unused_input="ignore")
    point = twin.initial_point()
    channels = len(mmm.model.coords["channel"])
    total = 2.0
    for raw_share in (0.3, 0.9, 1.2, 50.0):
        point[PREFIX + "log_total"] = np.log(total)
        point[PREFIX + "log_mean"] = np.log(np.linspace(1, 2, channels) / np.linspace(1, 2, channels).sum()
                                            * raw_share * total)
        intercept, contribution = mapped(*(point[v.name] for v in twin.value_vars))
        media = np.asarray(contribution).mean(axis=0).sum()
        assert intercept > 0
        assert np.isclose(intercept + media, total)
        assert np.isclose(media / total, raw_share / (1 + raw_share**4) ** (1 / 4))
