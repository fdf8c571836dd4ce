"""nutpie's C callbacks for a model whose data are constants, kept in PyTensor's Numba disk cache.

nutpie compiles a model in two steps: PyTensor turns the log-density, its gradient and the
expansion to stored variables into Numba functions (cached on disk by PyTensor), then nutpie wraps
each in a C callback with ``numba.cfunc``. Its wrappers are closures over the wrapped function, so
Numba compiles them again in every process: about 5 s of the fit stage's 8 s compile, with the
wrapped functions loaded from disk. :func:`compile_pymc_model` compiles the same callbacks from
source registered under a key made from PyTensor's own cache key of the wrapped function, so a
second process loads them (0.1 s). Only a model whose data are constants (the fit stage samples one:
pymc-marketing freezes the data) has callbacks that do not close over data arrays; any other model,
or one whose functions PyTensor cannot cache, is compiled by nutpie as it is.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

import numba
import numpy as np
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

# nutpie's callbacks (nutpie.compile_pymc) with the sizes written in: the same return codes
LOGP_SOURCE = """
def logp_callback(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner(x)
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""
EXPAND_SOURCE = """
def expand_callback(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = inner(x)
        out[...] = values
    except Exception:
        return -2
    return 0
"""


class NotCacheable(Exception):
    """The model's callbacks close over data, or PyTensor could not cache the function they wrap."""


def compile_pymc_model(compile_model, model, **kwargs):
    """``compile_model(model, **kwargs)`` (nutpie's ``compile_pymc_model``) with disk-cached callbacks
    when the model's data are constants; otherwise, or when PyTensor could not cache the wrapped
    functions, nutpie's own compile.

    Parameters
    ----------
    compile_model : callable
        ``nutpie.compile_pymc_model``.
    model : pymc.Model
        The model NUTS samples.
    **kwargs
        ``compile_model``'s arguments (``var_names``, ...).

    Returns
    -------
    nutpie.compile_pymc.CompiledPyMCModel
    """
    if any(isinstance(v, SharedVariable) for v in model.data_vars) or kwargs.get("backend", "numba") != "numba":
        return compile_model(model, **kwargs)
    try:
        with _callbacks_from_cached_source():
            return compile_model(model, **kwargs, cache=True)
    except NotCacheable:
        return compile_model(model, **kwargs)


@contextmanager
def _callbacks_from_cached_source():
    """Inside the block nutpie's callback factories return :data:`LOGP_SOURCE` and :data:`EXPAND_SOURCE`
    functions under cache keys, or raise NotCacheable."""
    import nutpie.compile_pymc as nutpie_compile

    factories = nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func

    def logp(n_dim, logp_fn, user_data, shared_keys, shared_data):
        _, signature = factories[0](n_dim, logp_fn, user_data, shared_keys, shared_data)
        return _cached_source(LOGP_SOURCE.format(n_dim=n_dim), "logp_callback", logp_fn, shared_keys), signature

    def expand(n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data):
        _, signature = factories[1](n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data)
        source = EXPAND_SOURCE.format(n_dim=n_dim, n_expanded=n_expanded)
        return _cached_source(source, "expand_callback", expand_fn, shared_keys), signature

    nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func = logp, expand
    try:
        yield
    finally:
        nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func = factories


def _cached_source(source: str, name: str, inner, shared_keys):
    """The function ``name`` defined by ``source`` calling ``inner``, registered under a key made of
    ``inner``'s PyTensor cache key and the source."""
    inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
    if shared_keys or inner_key is None:
        raise NotCacheable(name)
    key = hashlib.sha256(f"{inner_key}\n{source}".encode()).hexdigest()
    # this module's globals: a function loaded from the cache finds its environment by module name
    return compile_numba_function_src(source, name, globals() | {"inner": inner}, cache_key=key)
