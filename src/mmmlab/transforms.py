"""Media transforms in numpy and numba: the one definition used by the simulator, recovery, fit mapping and plots.

Conventions: time runs along axis 0; a 2-D input is (periods, channels) and the
parameters are then scalars or one value per channel.
"""

from __future__ import annotations

import numba
import numpy as np


def geometric_adstock(spend, decay, l_max: int | None = None):
    """Carry-over ``S_t = sum_{l < l_max} decay**l * X_{t-l}`` (no history before the data).

    ``l_max`` None: every period, i.e. ``S_t = X_t + decay * S_{t-1}``, ``S_0 = X_0``. Equals
    pymc-marketing's un-normalised GeometricAdstock with the same ``l_max``. Time runs along axis 0;
    ``decay`` is a scalar or one value per column.
    """
    x = np.asarray(spend, dtype=float)
    columns = x.reshape(len(x), -1)
    decays = np.broadcast_to(np.asarray(decay, dtype=float), x.shape[1:]).reshape(-1)
    lags = len(x) if l_max is None else int(l_max)
    return adstock_recursion(np.ascontiguousarray(columns), np.ascontiguousarray(decays), lags).reshape(x.shape)


@numba.njit(cache=True)
def adstock_recursion(x, decay, lags):
    """Geometric adstock of each column of ``x`` (periods, columns) over ``lags`` lags, in O(periods).

    ``S_t = X_t + decay * S_{t-1} - decay**lags * X_{t-lags}``: the kernel ``decay**l``, ``l < lags``.
    """
    periods, columns = x.shape
    out = np.empty((periods, columns))
    for j in range(columns):
        d = decay[j]
        tail = d**lags
        previous = 0.0
        for t in range(periods):
            s = x[t, j] + d * previous
            if t >= lags:
                s -= tail * x[t - lags, j]
            out[t, j] = s
            previous = s
    return out


@numba.njit(cache=True)
def adstock_decay_gradient(x, adstock, decay, lags, weights):
    """``sum_t weights[t, j] * d S[t, j] / d decay[j]``, ``S = adstock_recursion(x, decay, lags)``, in O(periods).

    Differentiating the recursion: ``dS_t = S_{t-1} + decay * dS_{t-1} - lags * decay**(lags-1) * X_{t-lags}``.
    """
    periods, columns = x.shape
    out = np.zeros(columns)
    for j in range(columns):
        d = decay[j]
        tail_slope = lags * d ** (lags - 1)
        ds = 0.0
        for t in range(1, periods):
            ds = adstock[t - 1, j] + d * ds
            if t >= lags:
                ds -= tail_slope * x[t - lags, j]
            out[j] += weights[t, j] * ds
    return out


def adstock_weights(decay, l_max: int, normalize: bool = False):
    """Weights ``decay**l`` for lags 0..l_max-1 (divided by their sum when ``normalize``)."""
    weights = np.asarray(decay, dtype=float)[..., None] ** np.arange(l_max)
    return weights / weights.sum(axis=-1, keepdims=True) if normalize else weights


def equilibrium_adstock(spend, decay, l_max: int | None = None):
    """Adstock reached when ``spend`` is repeated every period: ``spend * sum_{l < l_max} decay**l``.

    The one definition of the steady-state kernel sum: with ``spend = 1`` it is the kernel's total
    weight (pymc-marketing's normalisation, and the adstock one extra unit of spend adds over time).

    Parameters
    ----------
    spend : float, numpy.ndarray or xarray.DataArray
        Spend per period (broadcast against ``decay``).
    decay : float, numpy.ndarray or xarray.DataArray
        Geometric decay in [0, 1].
    l_max : int or None
        Lags of the kernel; None for every lag (the simulator's adstock): ``spend / (1 - decay)``.

    Returns
    -------
    numpy.ndarray or xarray.DataArray
        A DataArray when either input is one (coordinates kept), else numpy. With ``l_max`` a
        decay of exactly 1 gives ``spend * l_max``.
    """
    import xarray as xr

    labelled = isinstance(spend, xr.DataArray) or isinstance(decay, xr.DataArray)
    spend = spend if isinstance(spend, xr.DataArray) else np.asarray(spend, dtype=float)
    decay = decay if isinstance(decay, xr.DataArray) else np.asarray(decay, dtype=float)
    if l_max is None:
        return spend / (1.0 - decay)
    with np.errstate(divide="ignore", invalid="ignore"):  # decay == 1 is replaced just below
        weight = (1 - decay**l_max) / (1 - decay)
    weight = xr.where(decay == 1, l_max, weight) if labelled else np.where(decay == 1, float(l_max), weight)[()]
    return spend * weight


def hill(adstock, alpha, gamma, k):
    """Hill saturation ``alpha * S**gamma / (S**gamma + k**gamma)``; 0 at S = 0."""
    s = np.asarray(adstock, dtype=float)
    with np.errstate(divide="ignore"):
        ratio = np.where(s > 0, (np.asarray(k, dtype=float) / np.where(s > 0, s, 1.0)) ** gamma, np.inf)
    return np.asarray(alpha, dtype=float) / (1.0 + ratio)


def hill_derivative(adstock, alpha, gamma, k):
    """d hill / d S: the marginal response per unit of adstock."""
    s = np.asarray(adstock, dtype=float)
    sg, kg = s**gamma, np.asarray(k, dtype=float) ** gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, alpha * gamma * kg * sg / (s * (sg + kg) ** 2), 0.0)


def logistic(x, lam):
    """pymc-marketing's logistic saturation ``(1 - exp(-lam x)) / (1 + exp(-lam x))``."""
    z = np.exp(-np.asarray(lam, dtype=float) * np.asarray(x, dtype=float))
    return (1.0 - z) / (1.0 + z)


def michaelis_menten(x, alpha, lam):
    """Michaelis-Menten saturation ``alpha * x / (lam + x)``."""
    x = np.asarray(x, dtype=float)
    return np.asarray(alpha, dtype=float) * x / (np.asarray(lam, dtype=float) + x)
