"""The adstock recursion, its pytensor Ops and pymc-marketing component, against independent definitions.

References: numpy's ``np.convolve`` with the kernel ``decay**l`` (truncation by slicing), finite
differences, pytensor's gradient checker, and pymc-marketing's own convolution-based adstock.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytensor.xtensor as ptx
import pytest
from pymc_marketing.mmm import GeometricAdstock
from pymc_marketing.mmm.transformers import geometric_adstock as pmm_geometric_adstock
from pytensor.gradient import verify_grad

from mmmlab import bayes
from mmmlab.bayes.components.recursive_adstock import AdstockDecayGradientOp, AdstockOp, RecursiveGeometricAdstock
from mmmlab.config.fit import fit_spec
from mmmlab.transforms import adstock_decay_gradient, adstock_recursion, geometric_adstock

PERIODS = 24
DECAYS = np.array([0.0, 0.3, 0.8, 0.99])


@pytest.fixture
def spend():
    return np.random.default_rng(7).gamma(2.0, 50.0, size=(PERIODS, len(DECAYS)))


def _convolved(spend, decays, lags):
    """Column by column: spend convolved with decay**l for l < lags, cut to the spend's length."""
    return np.column_stack([np.convolve(spend[:, j], d ** np.arange(lags))[: len(spend)]
                            for j, d in enumerate(decays)])


@pytest.mark.parametrize("lags", [1, 2, 7, PERIODS, PERIODS + 5])
def test_recursion_is_the_truncated_convolution(spend, lags):
    np.testing.assert_allclose(adstock_recursion(spend, DECAYS, lags), _convolved(spend, DECAYS, lags),
                               rtol=1e-12, atol=1e-9)


def test_geometric_adstock_without_l_max_covers_every_period(spend):
    np.testing.assert_allclose(geometric_adstock(spend, DECAYS), _convolved(spend, DECAYS, PERIODS), rtol=1e-12)
    one = geometric_adstock(spend[:, 2], 0.8, l_max=3)
    np.testing.assert_allclose(one, _convolved(spend[:, [2]], [0.8], 3)[:, 0], rtol=1e-12)


@pytest.mark.parametrize("lags", [1, 5, PERIODS])
def test_decay_gradient_matches_finite_differences(spend, lags):
    weights = np.random.default_rng(1).normal(size=spend.shape)
    decays, h = np.array([0.05, 0.3, 0.8, 0.97]), 1e-6
    numeric = [(np.sum(weights * adstock_recursion(spend, decays + h * e, lags))
                - np.sum(weights * adstock_recursion(spend, decays - h * e, lags))) / (2 * h)
               for e in np.eye(len(decays))]
    exact = adstock_decay_gradient(spend, adstock_recursion(spend, decays, lags), decays, lags, weights)
    np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("lags", [1, 4, PERIODS])
def test_op_gradients_in_spend_and_decay(spend, lags):
    verify_grad(AdstockOp(lags), [spend[:10] / 100, np.array([0.1, 0.4, 0.7, 0.9])], rng=np.random.default_rng(2))


def test_numba_backend_runs_the_registered_kernels_and_agrees_with_perform(spend):
    from pytensor.link.numba.dispatch.basic import numba_funcify

    assert {AdstockOp, AdstockDecayGradientOp} <= set(numba_funcify.registry)
    x, d = pt.matrix("x"), pt.vector("d")
    y = AdstockOp(6)(x, d)
    outputs = [y, pytensor.grad((y**2).sum(), d)]
    with_numba = pytensor.function([x, d], outputs, mode="NUMBA")(spend, DECAYS)
    with_perform = pytensor.function([x, d], outputs, mode="FAST_COMPILE")(spend, DECAYS)
    for a, b in zip(with_numba, with_perform):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("l_max", [3, PERIODS])
def test_component_equals_pymc_marketings_convolution(spend, normalize, l_max):
    x = ptx.as_xtensor(pt.as_tensor(spend), dims=("date", "channel"))
    decay = ptx.as_xtensor(pt.as_tensor(DECAYS[1:].repeat(2)[:4]), dims=("channel",))
    ours = RecursiveGeometricAdstock(l_max=l_max, normalize=normalize).function(x, alpha=decay, dim="date")
    theirs = pmm_geometric_adstock(x, decay, l_max=l_max, normalize=normalize, dim="date")
    np.testing.assert_allclose(ours.transpose("date", "channel").values.eval(),
                               theirs.transpose("date", "channel").values.eval(), rtol=1e-12)


def test_component_broadcasts_a_one_dimensional_input_over_the_decays_dimensions():
    pulse = ptx.as_xtensor(pt.as_tensor(np.eye(1, 6)[0]), dims=("lag",))
    decay = ptx.as_xtensor(pt.as_tensor(np.array([0.5, 0.9])), dims=("channel",))
    curve = RecursiveGeometricAdstock(l_max=6, normalize=False).function(pulse, alpha=decay, dim="lag")
    np.testing.assert_allclose(curve.transpose("lag", "channel").values.eval(),
                               np.column_stack([0.5 ** np.arange(6), 0.9 ** np.arange(6)]), rtol=1e-12)


def test_fit_model_log_density_equals_the_one_with_pymc_marketings_adstock(short_params, monkeypatch):
    from mmmlab.config import data_spec
    from mmmlab.dataset import load_dataset

    spec = fit_spec(short_params)
    d = bayes.design(load_dataset(data_spec(short_params)), spec.model)
    ours = bayes.build_mmm(spec, d)
    jax_spec = dataclasses.replace(spec, sampler=dataclasses.replace(spec.sampler, name="numpyro"))
    monkeypatch.setattr("mmmlab.bayes.build.missing_sampler_packages", lambda sampler: [])  # built, never sampled
    theirs = bayes.build_mmm(jax_spec, d)
    assert type(ours.adstock) is RecursiveGeometricAdstock and type(theirs.adstock) is GeometricAdstock
    for mmm in (ours, theirs):
        mmm.build_model(d.X, d.y)
    point = ours.model.initial_point()
    point["adstock_alpha_logodds__"] = np.array([-1.0, 0.0, 1.5, 3.0])
    logp = [mmm.model.compile_logp()(point) for mmm in (ours, theirs)]
    grads = [mmm.model.compile_dlogp()(point) for mmm in (ours, theirs)]
    np.testing.assert_allclose(logp[0], logp[1], rtol=1e-12)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-9)
