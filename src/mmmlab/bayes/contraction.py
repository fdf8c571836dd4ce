"""What the data inform: the model's free parameters and each one's prior-to-posterior contraction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mmmlab.bayes.units import LOG_SCALE, original_scale_parameters


def free_parameters(idata) -> list[str]:
    """The model's sampled parameters as the trace names them: no deterministics, no per-period series.

    The media transforms' parameters come from the trace's attributes (pymc-marketing stores each
    transform's prefix and priors there), because a derived media variable (``saturation_beta`` of
    ``hill_mean_response``) looks just like a sampled one in the posterior. The others are the
    posterior's variables without a ``date`` dimension that are not contributions, except the
    intercept (pymc-marketing names it ``intercept_contribution``).

    Parameters
    ----------
    idata : xarray.DataTree
        A trace of :func:`mmmlab.bayes.sample` (a ``posterior`` group and the ``adstock`` and
        ``saturation`` attributes).

    Returns
    -------
    list of str
        The media transforms' parameters (adstock, then saturation), then the others in the
        posterior's order.
    """
    posterior = idata["posterior"]
    transforms = [_attribute(idata, name) for name in ("adstock", "saturation")]
    media = [f"{t['prefix']}_{p}" for t in transforms for p in t.get("priors", {})]
    prefixes = tuple(f"{t['prefix']}_" for t in transforms)
    others = [v for v in posterior.data_vars if "date" not in posterior[v].dims and not v.startswith(prefixes)
              and ("contribution" not in v or v == "intercept_contribution")]
    return [v for v in media if v in posterior.data_vars] + others


def _attribute(idata, name: str) -> dict:
    raw = idata.attrs[name]
    return json.loads(raw) if isinstance(raw, str) else raw


def prior_posterior_contraction(idata, hdi_prob: float = 0.94, threshold: float = 0.5) -> pd.DataFrame:
    """How much the data narrowed each parameter: 1 - (posterior interval width / prior interval width).

    Parameters
    ----------
    idata : xarray.DataTree
        A trace with ``prior`` and ``posterior`` groups.
    hdi_prob : float
        Probability of the central intervals whose widths are compared.
    threshold : float
        Contraction below which a parameter is ``prior_dominated``: the data said little.

    Returns
    -------
    pandas.DataFrame
        One row per parameter and channel in original units (:func:`mmmlab.bayes.original_scale_parameters`)
        and per coordinate of every other free parameter (internal scale); columns parameter,
        channel, coord, scale, prior_sd, posterior_sd, prior_width, posterior_width, contraction,
        prior_dominated. Widths are on a log scale for scale parameters (alpha, k, lam, y_sigma).
    """
    lo, hi = (1 - hdi_prob) / 2, (1 + hdi_prob) / 2
    prior_p, post_p = original_scale_parameters(idata, "prior"), original_scale_parameters(idata, "posterior")
    media = {f"{_attribute(idata, t)['prefix']}_" for t in ("adstock", "saturation")}
    prior = set(idata["prior"].data_vars)
    others = [v for v in free_parameters(idata) if v in prior and not v.startswith(tuple(media))]
    pairs = [(name, post_p[name], prior_p[name]) for name in post_p.data_vars]
    pairs += [(name, idata["posterior"][name], idata["prior"][name]) for name in others]
    rows = []
    for name, post, prior_draws in pairs:
        dims = [d for d in post.dims if d not in ("chain", "draw")]
        stacked_post = post.stack(_s=("chain", "draw")).transpose(*dims, "_s")
        stacked_prior = prior_draws.stack(_s=("chain", "draw")).transpose(*dims, "_s")
        labels = [(d, str(v)) for d in dims for v in post[d].values] if dims else [(None, None)]
        for dim, label in labels:
            a = (stacked_post.sel({dim: label}) if dim else stacked_post).values.astype(float)
            b = (stacked_prior.sel({dim: label}) if dim else stacked_prior).values.astype(float)
            log = name in LOG_SCALE and a.min() > 0 and b.min() > 0
            a, b = (np.log(a), np.log(b)) if log else (a, b)
            w_post, w_prior = np.subtract(*np.quantile(a, [hi, lo])), np.subtract(*np.quantile(b, [hi, lo]))
            contraction = 1 - w_post / w_prior if w_prior > 0 else np.nan
            rows.append({"parameter": name, "channel": label if dim == "channel" else None,
                         "coord": label if dim != "channel" else None, "scale": "log" if log else "linear",
                         "prior_sd": float(b.std()), "posterior_sd": float(a.std()),
                         "prior_width": float(w_prior), "posterior_width": float(w_post),
                         "contraction": float(contraction), "prior_dominated": bool(contraction < threshold)})
    return pd.DataFrame(rows)


def prior_dominated(contraction: pd.DataFrame) -> pd.DataFrame:
    """The per-channel rows of a contraction table whose parameter the data barely informed.

    Parameters
    ----------
    contraction : pandas.DataFrame
        As :func:`prior_posterior_contraction` returns it.

    Returns
    -------
    pandas.DataFrame
        Its rows with a channel and ``prior_dominated`` true.
    """
    return contraction[contraction["prior_dominated"] & contraction["channel"].notna()]


def identifiability_words(contraction: pd.DataFrame) -> list[str]:
    """What the data inform, in sentences: how many channel parameters, and which are prior-dominated.

    Parameters as in :func:`prior_dominated`.

    Returns
    -------
    list of str
        One sentence, and a second naming the prior-dominated parameters when there are any.
    """
    channel_rows = contraction[contraction["channel"].notna()]
    informed = channel_rows[~channel_rows["prior_dominated"]]
    lines = [(f"Identifiability: {len(informed)} of {len(channel_rows)} channel parameters are informed by the data "
              "(posterior interval at most half the prior's).")]
    dominated = prior_dominated(contraction)
    if len(dominated):
        names = ", ".join(f"{r.parameter} {r.channel} ({r.contraction:.0%})" for r in dominated.itertuples())
        lines.append(f"  Prior-dominated, read them as the prior, not as estimates: {names}.")
    return lines
