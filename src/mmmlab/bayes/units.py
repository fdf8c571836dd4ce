"""The exact map from pymc-marketing's scaled parameters to the simulator's units, and per-draw media quantities.

pymc-marketing divides each channel's spend by its maximum (``channel_scale``) and sales by their
maximum (``target_scale``). With geometric adstock and Hill saturation (either form; ``hill_mean_response``
derives ``saturation_beta`` from its response at mean spend) its parameters map exactly onto the
simulator's::

    decay = adstock_alpha        gamma = saturation_slope
    alpha = saturation_beta * target_scale          (sales units)
    k     = saturation_kappa * channel_scale * W     (adstocked spend units)

with ``W = 1`` un-normalised and ``W = sum_{l<l_max} decay**l`` normalised.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from mmmlab.config.fit import SATURATIONS
from mmmlab.transforms import hill, hill_derivative, logistic, michaelis_menten

# original-unit parameters per saturation; the ones listed in LOG_SCALE are compared on a log scale
ORIGINAL_PARAMETERS = {"hill": ("decay", "alpha", "gamma", "k"), "logistic": ("decay", "alpha", "lam"),
                       "michaelis_menten": ("decay", "alpha", "lam")}


LOG_SCALE = {"alpha", "k", "lam", "y_sigma"}


# --------------------------------------------------------------------------- original units
def saturation_of(idata, group: str = "posterior") -> str:
    """Which saturation produced the trace, from its variable names."""
    names = set(idata[group].data_vars)
    if "saturation_kappa" in names:
        return "hill"
    if "saturation_beta" in names and "saturation_lam" in names:
        return "logistic"
    if "saturation_alpha" in names:
        return "michaelis_menten"
    raise ValueError("the trace holds none of the saturations " + ", ".join(SATURATIONS))


def adstock_of(idata) -> tuple[int, bool]:
    """(l_max, normalize) as pymc-marketing stored them in the trace's attributes."""
    raw = idata.attrs["adstock"]
    adstock = json.loads(raw) if isinstance(raw, str) else raw
    return int(adstock["l_max"]), bool(adstock.get("normalize", True))


def kernel_sum(decay, lags: int):
    """``sum_{l<lags} decay**l``: the un-normalised kernel's total weight."""
    return xr.where(decay == 1, lags, (1 - decay**lags) / (1 - decay))


def original_scale_parameters(idata, group: str = "posterior") -> xr.Dataset:
    """Each channel's parameters in the simulator's units (dims chain, draw, channel).

    hill: decay, alpha (sales), gamma, k (adstocked spend); logistic: decay, alpha (sales, the
    asymptote), lam (per unit of adstocked spend); michaelis_menten: decay, alpha (sales), lam
    (adstocked spend at half saturation).
    """
    post = idata[group]
    cs = idata["constant_data"]["channel_scale"]
    ts = idata["constant_data"]["target_scale"]
    decay = post["adstock_alpha"]
    lags, normalize = adstock_of(idata)
    spend_unit = cs * (kernel_sum(decay, lags) if normalize else 1.0)  # one scaled adstock unit, in spend
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
    """A channel's contribution at un-normalised adstock ``adstock`` (spend units), original-unit parameters."""
    if saturation == "hill":
        return hill(adstock, p["alpha"], p["gamma"], p["k"])
    if saturation == "logistic":
        return p["alpha"] * logistic(adstock, p["lam"])
    return michaelis_menten(adstock, p["alpha"], p["lam"])


def response_derivative(saturation: str, adstock, p: dict):
    """d response / d adstock."""
    if saturation == "hill":
        return hill_derivative(adstock, p["alpha"], p["gamma"], p["k"])
    if saturation == "logistic":
        z = np.exp(-p["lam"] * adstock)
        return p["alpha"] * 2 * p["lam"] * z / (1 + z) ** 2
    return p["alpha"] * p["lam"] / (p["lam"] + adstock) ** 2


def channel_contributions(idata, group: str = "posterior") -> xr.DataArray:
    """Per-period channel contributions in sales units (dims chain, draw, date, channel)."""
    post = idata[group]
    if "channel_contribution_original_scale" in post.data_vars:
        out = post["channel_contribution_original_scale"]
    else:
        out = post["channel_contribution"] * idata["constant_data"]["target_scale"]
    return out.reset_coords(drop=True).transpose("chain", "draw", "date", "channel")


def marginal_roas(idata, mean_spend: pd.Series, group: str = "posterior") -> xr.DataArray:
    """Extra sales per extra unit of spend at each channel's mean spend, held forever (dims chain, draw, channel).

    At steady state the adstock is ``mean_spend * W`` (``W = sum_{l<l_max} decay**l``); one more
    unit of spend in one period adds ``f'(S) * W`` sales over the following periods.
    """
    p = original_scale_parameters(idata, group)
    weight = kernel_sum(p["decay"], p.attrs["l_max"])
    spend = xr.DataArray(mean_spend.to_numpy(dtype=float), dims="channel", coords={"channel": list(mean_spend.index)})
    level, weight = xr.broadcast(spend * weight, weight)
    level, weight = level.transpose("chain", "draw", "channel"), weight.transpose("chain", "draw", "channel")
    values = {k: p[k].transpose("chain", "draw", "channel").values for k in p.data_vars}
    slope = response_derivative(p.attrs["saturation"], level.values, values) * weight.values
    return level.copy(data=slope)
