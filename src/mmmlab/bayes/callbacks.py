"""nutpie's C callbacks kept in PyTensor's Numba disk cache, not compiled again in every process.

nutpie compiles a model in two steps: PyTensor turns the log-density, its gradient and the
expansion to stored variables into Numba functions (cached on disk by PyTensor), then nutpie wraps
each in a C callback with ``numba.cfunc``. Its wrappers are closures over the wrapped function and
the data arrays, so Numba compiles them again in every process: about 5 s of the fit stage's 8 s
compile, with the wrapped functions loaded from disk. :func:`compile_pymc_model` compiles the same
callbacks from source registered under a key made from PyTensor's own cache key of the wrapped
function, so another process loads them (0.1 s). The source holds no data: a model with ``pm.Data``
(calibration's, whose data nutpie swaps) reads each array through the pointer, size and shape nutpie
keeps in its ``user_data`` record, as nutpie's own wrappers do, so one compile serves every dataset.
A model whose functions PyTensor cannot cache, or whose data are not float64, int64 or int32 arrays,
is compiled by nutpie as it is.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

import numba
import numpy as np
from numba import types
from numba.core.extending import intrinsic
from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

THIS_MODULE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()  # in the cache key: an edit here recompiles
# nutpie's callbacks (nutpie.compile_pymc) with the sizes written in: the same return codes. {data} builds
# the wrapped function's data arguments from nutpie's user_data record, viewed as unsigned 64-bit words
LOGP_SOURCE = """
def logp_callback(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
{data}
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner(x{arguments})
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
{data}
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = inner(x{arguments})
        out[...] = values
    except Exception:
        return -2
    return 0
"""


def _pointer_at(item):
    """An intrinsic turning an integer address into a pointer to ``item`` values (a data pointer nutpie keeps
    in ``user_data``)."""

    @intrinsic
    def pointer_at(typingctx, address):
        signature = types.CPointer(item)(address)

        def codegen(context, builder, sig, args):
            return builder.inttoptr(args[0], context.get_value_type(sig.return_type))

        return signature, codegen

    return pointer_at


float64_at, int64_at, int32_at = _pointer_at(types.float64), _pointer_at(types.int64), _pointer_at(types.int32)
# the data types read from user_data (PyMC stores integer pm.Data as int32)
POINTERS = {np.dtype(np.float64): "float64_at", np.dtype(np.int64): "int64_at", np.dtype(np.int32): "int32_at"}


class NotCacheable(Exception):
    """PyTensor could not cache the function the callbacks wrap, or data of a type outside :data:`POINTERS`."""


def compile_pymc_model(compile_model, model, **kwargs):
    """``compile_model(model, **kwargs)`` (nutpie's ``compile_pymc_model``) with disk-cached callbacks;
    nutpie's own compile when PyTensor could not cache the wrapped functions or the data are of another type
    than float64, int64 and int32.

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
    if kwargs.get("backend", "numba") != "numba":
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
        source = LOGP_SOURCE.format(n_dim=n_dim, **_data_source(user_data, shared_keys, shared_data))
        return _cached_source(source, "logp_callback", logp_fn), signature

    def expand(n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data):
        _, signature = factories[1](n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data)
        source = EXPAND_SOURCE.format(n_dim=n_dim, n_expanded=n_expanded,
                                      **_data_source(user_data, shared_keys, shared_data))
        return _cached_source(source, "expand_callback", expand_fn), signature

    nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func = logp, expand
    try:
        yield
    finally:
        nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func = factories


def _data_source(user_data, shared_keys: list, shared_data: dict) -> dict[str, str]:
    """The source lines that build the wrapped function's data arguments (``shared_keys``, in order) and the
    arguments, from nutpie's ``user_data`` record: every array's pointer, then every size, then every shape."""
    keys = list(shared_data)  # the record's order
    if not shared_keys:
        return {"data": "        pass", "arguments": ""}
    ndims = [shared_data[key].ndim for key in keys]
    shapes = np.cumsum([2 * len(keys), *ndims])  # where each array's shape starts
    other = [str(shared_data[key].dtype) for key in keys if shared_data[key].dtype not in POINTERS]
    if other or user_data.dtype.itemsize != 8 * int(shapes[-1]):
        raise NotCacheable(f"data of type {other} or a user_data record of another layout")
    lines = [f"        words = numba.carray(user_data_, ({int(shapes[-1])},), np.uint64)"]
    for j, key in enumerate(shared_keys):
        i = keys.index(key)
        shape = "".join(f"np.intp(words[{shapes[i] + d}]), " for d in range(ndims[i]))
        pointer = POINTERS[shared_data[key].dtype]
        lines.append(f"        data{j} = numba.carray({pointer}(words[{i}]), ({shape}))")
    return {"data": "\n".join(lines), "arguments": "".join(f", data{j}" for j in range(len(shared_keys)))}


def _cached_source(source: str, name: str, inner):
    """The function ``name`` defined by ``source`` calling ``inner``, registered under a key made of
    ``inner``'s PyTensor cache key, the source and this module's text (which defines the source's helpers)."""
    inner_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
    if inner_key is None:
        raise NotCacheable(name)
    key = hashlib.sha256(f"{inner_key}\n{source}\n{THIS_MODULE}".encode()).hexdigest()
    # this module's globals: a function loaded from the cache finds its environment by module name
    return compile_numba_function_src(source, name, globals() | {"inner": inner}, cache_key=key)
