"""Media transforms in numpy: the one definition used by the simulator, recovery, fit mapping and plots.

Conventions: time runs along axis 0; a 2-D input is (periods, channels) and the
parameters are then scalars or one value per channel.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def geometric_adstock(spend, decay):
    """Carry-over ``S_t = X_t + decay * S_{t-1}`` with ``S_0 = X_0`` (no history before the data).

    Equals pymc-marketing's un-normalised GeometricAdstock when its ``l_max`` covers the series.
    """
    x = np.asarray(spend, dtype=float)
    decay = np.asarray(decay, dtype=float)
    if x.ndim == 1:
        return lfilter([1.0], [1.0, -float(decay)], x)
    decays = np.broadcast_to(decay, x.shape[1:])
    out = np.empty_like(x)
    for j, lam in enumerate(decays):
        out[:, j] = lfilter([1.0], [1.0, -float(lam)], x[:, j])
    return out


def adstock_weights(decay, l_max: int, normalize: bool = False):
    """Weights ``decay**l`` for lags 0..l_max-1 (divided by their sum when ``normalize``)."""
    weights = np.asarray(decay, dtype=float)[..., None] ** np.arange(l_max)
    return weights / weights.sum(axis=-1, keepdims=True) if normalize else weights


def equilibrium_adstock(spend, decay):
    """Adstock reached when ``spend`` is repeated every period forever: ``spend / (1 - decay)``."""
    return np.asarray(spend, dtype=float) / (1.0 - np.asarray(decay, dtype=float))


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
