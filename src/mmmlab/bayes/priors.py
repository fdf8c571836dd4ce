"""What the priors decide before sampling: the adstock's length from the decay prior's upper quantile."""

from __future__ import annotations

import numpy as np

from mmmlab.config.fit import FitSpec

TRUNCATION = 0.01  # adstock kernel weight allowed beyond l_max (null l_max; warned about after the fit)


def l_max(spec: FitSpec, channels: tuple[str, ...], n_periods: int) -> int:
    """Adstock lags: params' l_max, or (null) the fewest lags at which a decay at the decay prior's 99th
    percentile keeps at most ``TRUNCATION`` of its kernel weight beyond them, never more than the periods.

    The cost of a log-density evaluation grows with the lags; every period is exact but slow on long
    weekly series. The prior, not the truth, sets the length; the fit stage reports the posterior's
    truncation afterwards.

    Parameters
    ----------
    spec : FitSpec
        ``model.l_max`` and the ``adstock_alpha`` prior.
    channels : tuple of str
        The channels (the prior's dims, when it has to be sampled).
    n_periods : int
        The series' length: the most lags there can be.

    Returns
    -------
    int
        At least 1, at most ``n_periods`` (unless ``model.l_max`` says otherwise).
    """
    if spec.model.l_max is not None:
        return spec.model.l_max
    high = prior_quantile(spec.priors["adstock_alpha"], 0.99, channels)
    if high >= 1:
        return n_periods
    lags = int(np.ceil(np.log(TRUNCATION) / np.log(high))) if high > 0 else 1
    return max(1, min(n_periods, lags))


def prior_quantile(prior, q: float, channels: tuple[str, ...]) -> float:
    """The ``q`` quantile of a prior: exact (inverse CDF) when its parameters are numbers, else from draws.

    Parameters
    ----------
    prior : pymc_extras.prior.Prior
        A prior whose parameters may themselves be priors.
    q : float
        The quantile, in (0, 1).
    channels : tuple of str
        Coordinates of the ``channel`` dim for the draws.

    Returns
    -------
    float
        The quantile (over every channel's draws when sampled).
    """
    import pymc as pm

    if all(isinstance(v, (int, float)) for v in prior.parameters.values()):
        try:
            # FAST_COMPILE: Python code, no Numba (which would compile a constant and leave its source in the temp folder)
            icdf = pm.icdf(getattr(pm, prior.distribution).dist(**prior.parameters), q)
            return float(icdf.eval(mode="FAST_COMPILE"))
        except NotImplementedError:
            pass
    draws = prior.sample_prior(coords={"channel": list(channels)}, name="x", draws=50_000, random_seed=0)["x"]
    return float(np.quantile(draws.values, q))
