"""nutpie's C callbacks from PyTensor's disk cache: the same log-density, gradient and stored values as
nutpie's own compile, with data constants or swapped, loaded from disk the second time, and nutpie's own
compile where they cannot be cached."""

import ctypes

import numpy as np
import nutpie
import pymc as pm
import pytest
from numba.core.caching import NullCache

from mmmlab.bayes import callbacks

DOUBLE = ctypes.POINTER(ctypes.c_double)


def _model(data: str) -> pm.Model:
    """A small regression whose data are constants (``"constant"``), ``pm.Data`` (``"shared"``), with one
    ``pm.Data`` array of integers (``"int32"``, PyMC's integer type) or of bytes (``"uint8"``)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = 1.0 + 2.0 * x + rng.normal(scale=0.5, size=30)
    with pm.Model() as model:
        integers = {"int32": np.arange(30), "uint8": np.arange(30, dtype=np.uint8)}
        xs = x if data == "constant" else pm.Data("x", integers.get(data, x))
        controls = rng.normal(size=(30, 2))  # a second array, of another shape, in second place
        zs = controls if data == "constant" else pm.Data("z", controls)
        a = pm.Normal("a", 0, 2)
        b = pm.Normal("b", 0, 2)
        sigma = pm.HalfNormal("sigma", 1)
        pm.Deterministic("slope_over_sigma", b / sigma)
        pm.Normal("y", a + b * xs + zs @ np.array([0.5, -1.0]), sigma, observed=y)
    return model


def _logp_and_grad(compiled, x: np.ndarray) -> tuple[float, np.ndarray]:
    """The log-density and gradient the compiled C callback returns at unconstrained ``x``."""
    x, grad, logp = np.ascontiguousarray(x, dtype=float), np.zeros(len(x)), np.zeros(())
    code = compiled.compiled_logp_func.ctypes(len(x), x.ctypes.data_as(DOUBLE), grad.ctypes.data_as(DOUBLE),
                                              logp.ctypes.data_as(DOUBLE), compiled.user_data.ctypes.data)
    assert code == 0
    return float(logp), grad


def _expanded(compiled, x: np.ndarray) -> np.ndarray:
    """The stored values (parameters and deterministics) the expand callback returns at ``x``."""
    x, out = np.ascontiguousarray(x, dtype=float), np.zeros(compiled.n_expanded)
    code = compiled.compiled_expand_func.ctypes(len(x), compiled.n_expanded, x.ctypes.data_as(DOUBLE),
                                                out.ctypes.data_as(DOUBLE), compiled.user_data.ctypes.data)
    assert code == 0
    return out


POINTS = np.random.default_rng(1).normal(size=(5, 3))


@pytest.mark.parametrize("data", ["constant", "shared", "int32"])
def test_cached_callbacks_compute_what_nutpie_s_own_compute_and_load_from_disk_the_second_time(data):
    model = _model(data)
    own = nutpie.compile_pymc_model(model)
    first = callbacks.compile_pymc_model(nutpie.compile_pymc_model, model)
    second = callbacks.compile_pymc_model(nutpie.compile_pymc_model, model)
    assert second.compiled_logp_func.cache_hits == 1 and second.compiled_expand_func.cache_hits == 1
    _same_values(first, own)
    _same_values(second, own)
    # and against PyTensor's own log-density (nutpie's value order is the model's value variables')
    logp_fn = model.compile_logp()
    point = dict(zip([v.name for v in model.value_vars], POINTS[0]))
    assert _logp_and_grad(second, POINTS[0])[0] == pytest.approx(float(logp_fn(point)), rel=1e-10)


def test_cached_callbacks_read_swapped_data_as_nutpie_s_own_read_them():
    model = _model("shared")
    rng = np.random.default_rng(7)
    other = {"x": rng.normal(size=30), "z": rng.normal(size=(30, 2))}
    own = nutpie.compile_pymc_model(model).with_data(**other)
    cached = callbacks.compile_pymc_model(nutpie.compile_pymc_model, model).with_data(**other)
    _same_values(cached, own)
    assert _logp_and_grad(cached, POINTS[0])[0] != pytest.approx(
        _logp_and_grad(nutpie.compile_pymc_model(model), POINTS[0])[0], rel=1e-6)  # the swap changed the density


def _same_values(compiled, own) -> None:
    for x in POINTS:
        logp, grad = _logp_and_grad(compiled, x)
        own_logp, own_grad = _logp_and_grad(own, x)
        assert logp == pytest.approx(own_logp, rel=1e-12)
        np.testing.assert_allclose(grad, own_grad, rtol=1e-12)
        np.testing.assert_allclose(_expanded(compiled, x), _expanded(own, x), rtol=1e-12)


def test_data_of_another_type_are_compiled_by_nutpie_as_they_are():
    model = _model("uint8")
    assert model["x"].dtype == "uint8"
    compiled = callbacks.compile_pymc_model(nutpie.compile_pymc_model, model)
    assert isinstance(compiled.compiled_logp_func._cache, NullCache)
    assert np.isfinite(_logp_and_grad(compiled, POINTS[0])[0])


def test_a_function_pytensor_could_not_cache_falls_back_to_nutpie_s_compile(monkeypatch):
    monkeypatch.setattr(callbacks, "CACHED_SRC_FUNCTIONS", {})
    model = _model("constant")
    compiled = callbacks.compile_pymc_model(nutpie.compile_pymc_model, model)
    assert isinstance(compiled.compiled_logp_func._cache, NullCache)
    logp, _ = _logp_and_grad(compiled, POINTS[0])
    assert logp == pytest.approx(_logp_and_grad(nutpie.compile_pymc_model(model), POINTS[0])[0], rel=1e-12)
