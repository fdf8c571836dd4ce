"""pymc-marketing's geometric adstock computed by recursion: the same kernel, O(periods) with an exact gradient.

pymc-marketing convolves the spend with ``decay**l`` for every lag ``l < l_max``: with the adstock
over every period that is O(periods * l_max) work per evaluation, the bulk of each
log-density-and-gradient evaluation on long series. Here one pytensor Op runs
:func:`mmmlab.transforms.adstock_recursion` (the project's one adstock) and a second its
derivative in the decay; both are registered with pytensor's numba backend, which nutpie compiles,
and run through ``perform`` on the default backend (pymc's sampler, predictive draws). pytensor's
JAX backend (numpyro, blackjax) has no implementation of them: those samplers use pymc-marketing's
own ``GeometricAdstock`` (``bayes.build_mmm``).
"""

from __future__ import annotations

import hashlib
import inspect

import numpy as np
import pytensor.tensor as pt
import pytensor.xtensor as ptx
from pymc_marketing.mmm import GeometricAdstock
from pymc_marketing.mmm.transformers import ConvMode
from pymc_marketing.serialization import serialization
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_default_op_cache_key

from mmmlab.transforms import adstock_decay_gradient, adstock_recursion


def _float64(x):
    return pt.cast(pt.as_tensor_variable(x), "float64")


class AdstockOp(Op):
    """``adstock(x, decay)``: x (periods, columns), decay (columns,) -> (periods, columns)."""

    __props__ = ("lags",)

    def __init__(self, lags: int):
        self.lags = int(lags)

    def make_node(self, x, decay):
        x, decay = _float64(x), _float64(decay)
        if x.ndim != 2 or decay.ndim != 1:
            raise ValueError(f"adstock needs x (periods, columns) and decay (columns,), got {x.ndim}-D and {decay.ndim}-D")
        return Apply(self, [x, decay], [x.type()])

    def perform(self, node, inputs, outputs):
        x, decay = inputs
        outputs[0][0] = adstock_recursion(np.ascontiguousarray(x), np.ascontiguousarray(decay), self.lags)

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]

    def pullback(self, inputs, outputs, cotangents):
        x, decay = inputs
        (weights,) = cotangents
        # the kernel's transpose is the same kernel run backwards in time
        return [self(weights[::-1], decay)[::-1], AdstockDecayGradientOp(self.lags)(x, outputs[0], decay, weights)]


class AdstockDecayGradientOp(Op):
    """``sum_t weights[t] * d adstock[t] / d decay`` per column, given the adstock (first derivatives only)."""

    __props__ = ("lags",)

    def __init__(self, lags: int):
        self.lags = int(lags)

    def make_node(self, x, adstock, decay, weights):
        inputs = [_float64(v) for v in (x, adstock, decay, weights)]
        return Apply(self, inputs, [inputs[2].type()])

    def perform(self, node, inputs, outputs):
        x, adstock, decay, weights = (np.ascontiguousarray(v) for v in inputs)
        outputs[0][0] = adstock_decay_gradient(x, adstock, decay, self.lags, weights)

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[2]]


def _source_version(kernel) -> int:
    """A number that changes with the kernel's source: pytensor's on-disk numba cache keys on it."""
    return int.from_bytes(hashlib.sha256(inspect.getsource(kernel.py_func).encode()).digest()[:8], "big")


@register_funcify_default_op_cache_key(AdstockOp)
def _numba_adstock(op, **kwargs):
    lags = op.lags

    @numba_njit
    def adstock(x, decay):
        return adstock_recursion(x, decay, lags)

    return adstock, _source_version(adstock_recursion)


@register_funcify_default_op_cache_key(AdstockDecayGradientOp)
def _numba_adstock_decay_gradient(op, **kwargs):
    lags = op.lags

    @numba_njit
    def gradient(x, adstock, decay, weights):
        return adstock_decay_gradient(x, adstock, decay, lags, weights)

    return gradient, _source_version(adstock_decay_gradient)


@serialization.register
class RecursiveGeometricAdstock(GeometricAdstock):
    """pymc-marketing's ``GeometricAdstock`` (same parameters, priors and ``l_max``/``normalize``), by recursion."""

    lookup_name = "geometric_recursive"

    def function(self, x, alpha=None, halflife=None, *, dim: str):
        """Adstock of ``x`` along ``dim`` with the decay ``alpha``; every other dimension is a column."""
        if self.mode != ConvMode.After:
            raise ValueError(f"{type(self).__name__} supports mode After only, got {self.mode}")
        x, decay = ptx.broadcast(ptx.as_xtensor(x), ptx.as_xtensor(self._resolve_alpha(alpha, halflife)),
                                 exclude=[dim])
        others = tuple(d for d in x.dims if d != dim)
        xs = x.transpose(dim, *others).values
        decays = decay.transpose(*others).values
        out = AdstockOp(self.l_max)(xs.reshape((xs.shape[0], -1)), decays.reshape((-1,))).reshape(xs.shape)
        if self.normalize:
            out = out / (decays[..., None] ** pt.arange(self.l_max)).sum(axis=-1)
        return ptx.as_xtensor(out, dims=(dim, *others))
