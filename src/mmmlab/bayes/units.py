"""The exact map from pymc-marketing's scaled parameters to the simulator's units, and per-draw media quantities.

pymc-marketing divides each channel's spend by its maximum (``channel_scale``) and sales by their
maximum (``target_scale``). With geometric adstock and Hill saturation (either form; ``hill_mean_response``
derives ``saturation_beta`` from its response at mean spend) its parameters map exactly onto the
simulator's::

    decay = adstock_alpha        gamma = saturation_slope
    alpha = saturation_beta * target_scale          (sales units)
    k     = saturation_kappa * channel_scale * W     (adstocked spend units)

with ``W = 1`` un-normalised and ``W = sum_{l<l_max} decay**l`` normalised
(:func:`mmmlab.transforms.equilibrium_adstock` of one unit of spend).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from mmmlab.config.fit import SATURATIONS
from mmmlab.transforms import equilibrium_adstock, hill, hill_derivative, logistic, michaelis_menten

# original-unit parameters per saturation; the ones listed in LOG_SCALE are compared on a log scale
ORIGINAL_PARAMETERS = {"hill": ("decay", "alpha", "gamma", "k"), "logistic": ("decay", "alpha", "lam"),
                       "michaelis_menten": ("decay", "alpha", "lam")}


LOG_SCALE = {"alpha", "k", "lam", "y_sigma"}


# --------------------------------------------------------------------------- original units
def saturation_of(idata, group: str = "posterior") -> str:
    """Which saturation produced the trace, from its variable names.

    Parameters
    ----------
    idata : xarray.DataTree
        A trace of :func:`mmmlab.bayes.sample`.
    group : str
        ``"posterior"`` or ``"prior"``.

    Returns
    -------
    str
        ``"hill"`` (either Hill form), ``"logistic"`` or ``"michaelis_menten"``.
    """
    names = set(idata[group].data_vars)
    if "saturation_kappa" in names:
        return "hill"
    if "saturation_beta" in names and "saturation_lam" in names:
        return "logistic"
    if "saturation_alpha" in names:
        return "michaelis_menten"
    raise ValueError("the trace holds none of the saturations " + ", ".join(SATURATIONS))


def adstock_of(idata) -> tuple[int, bool]:
    """``(l_max, normalize)``: the adstock's settings as pymc-marketing stored them in the attributes of ``idata``."""
    raw = idata.attrs["adstock"]
    adstock = json.loads(raw) if isinstance(raw, str) else raw
    return int(adstock["l_max"]), bool(adstock.get("normalize", True))


def original_scale_parameters(idata, group: str = "posterior") -> xr.Dataset:
    """Each channel's parameters in the simulator's units.

    Parameters
    ----------
    idata : xarray.DataTree
        A trace with ``constant_data`` (channel and target scales) and the adstock's attributes.
    group : str
        ``"posterior"`` or ``"prior"``.

    Returns
    -------
    xarray.Dataset
        Dims (chain, draw, channel). hill: decay, alpha (sales), gamma, k (adstocked spend);
        logistic: decay, alpha (sales, the asymptote), lam (per unit of adstocked spend);
        michaelis_menten: decay, alpha (sales), lam (adstocked spend at half saturation).
        Attributes ``saturation``, ``l_max`` and ``normalize``.
    """
    post = idata[group]
    cs = idata["constant_data"]["channel_scale"]
    ts = idata["constant_data"]["target_scale"]
    decay = post["adstock_alpha"]
    lags, normalize = adstock_of(idata)
    # one scaled adstock unit, in spend: normalised, the steady adstock of spending the channel's scale each period
    spend_unit = equilibrium_adstock(cs, decay, lags) if normalize else cs * 1.0
    saturation = saturation_of(idata, group)
    if saturation == "hill":
        out = {"decay": decay, "alpha": post["saturation_beta"] * ts, "gamma": post["saturation_slope"],
               "k": post["saturation_kappa"] * spend_unit}
    elif saturation == "logistic":
        out = {"decay": decay, "alpha": post["saturation_beta"] * ts, "lam": post["saturation_lam"] / spend_unit}
    else:
        out = {"decay": decay, "alpha": post["saturation_alpha"] * ts, "lam": post["saturation_lam"] * spend_unit}
    ds = xr.Dataset({k: v.reset_coords(drop=True) if hasattr(v, "reset_coords") else v for k, v in out.items()})
    ds.attrs.update(saturation=saturation, l_max=lags, normalize=int(normalize))
    return ds.transpose("chain", "draw", "channel")


def response(saturation: str, adstock, p: dict):
    """A channel's contribution at un-normalised adstock ``adstock`` (spend units).

    Parameters
    ----------
    saturation : str
        As :func:`saturation_of` names it.
    adstock : array-like
        Un-normalised adstock in spend units.
    p : dict
        Original-unit parameters (:func:`original_scale_parameters`), broadcast against ``adstock``.

    Returns
    -------
    array-like
        Sales per period.
    """
    if saturation == "hill":
        return hill(adstock, p["alpha"], p["gamma"], p["k"])
    if saturation == "logistic":
        return p["alpha"] * logistic(adstock, p["lam"])
    return michaelis_menten(adstock, p["alpha"], p["lam"])


def response_derivative(saturation: str, adstock, p: dict):
    """The marginal response: d response / d adstock.

    Parameters
    ----------
    saturation, adstock, p
        As for :func:`response`.

    Returns
    -------
    array-like
        Sales per period per extra unit of adstock.
    """
    if saturation == "hill":
        return hill_derivative(adstock, p["alpha"], p["gamma"], p["k"])
    if saturation == "logistic":
        z = np.exp(-p["lam"] * adstock)
        return p["alpha"] * 2 * p["lam"] * z / (1 + z) ** 2
    return p["alpha"] * p["lam"] / (p["lam"] + adstock) ** 2


def channel_contributions(idata, group: str = "posterior") -> xr.DataArray:
    """Per-period channel contributions in sales units.

    Parameters as in :func:`saturation_of`.

    Returns
    -------
    xarray.DataArray
        Dims (chain, draw, date, channel).
    """
    post = idata[group]
    if "channel_contribution_original_scale" in post.data_vars:
        out = post["channel_contribution_original_scale"]
    else:
        out = post["channel_contribution"] * idata["constant_data"]["target_scale"]
    return out.reset_coords(drop=True).transpose("chain", "draw", "date", "channel")


def marginal_roas(idata, mean_spend: pd.Series, group: str = "posterior") -> xr.DataArray:
    """Extra sales per extra unit of spend at each channel's mean spend, held forever.

    At steady state the adstock is ``S = equilibrium_adstock(mean_spend, decay, l_max)``; one more
    unit of spend in one period adds ``W = equilibrium_adstock(1, decay, l_max)`` adstock over the
    following periods, so ``f'(S) * W`` sales.

    Parameters
    ----------
    idata : xarray.DataTree
        A trace of :func:`mmmlab.bayes.sample`.
    mean_spend : pandas.Series
        Mean spend per period, indexed by channel.
    group : str
        ``"posterior"`` or ``"prior"``.

    Returns
    -------
    xarray.DataArray
        Dims (chain, draw, channel).
    """
    p = original_scale_parameters(idata, group)
    weight = equilibrium_adstock(1.0, p["decay"], p.attrs["l_max"])
    spend = xr.DataArray(mean_spend.to_numpy(dtype=float), dims="channel", coords={"channel": list(mean_spend.index)})
    level, weight = xr.broadcast(equilibrium_adstock(spend, p["decay"], p.attrs["l_max"]), weight)
    level, weight = level.transpose("chain", "draw", "channel"), weight.transpose("chain", "draw", "channel")
    values = {k: p[k].transpose("chain", "draw", "channel").values for k in p.data_vars}
    slope = response_derivative(p.attrs["saturation"], level.values, values) * weight.values
    return level.copy(data=slope)
