"""Validation report sections 7-9: what the fit says about the media (decomposition, adstock, saturation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pymc_marketing.mmm import GeometricAdstock

from mmmlab import bayes
from mmmlab.bayes import hdi
from mmmlab.plots import report as plots
from mmmlab.report.context import Context, stacked, thin
from mmmlab.report.model import Part
from mmmlab.report.numbers import percent
from mmmlab.transforms import adstock_weights, equilibrium_adstock

MAX_LAGS_SHOWN = 52  # longer adstock kernels are drawn only until the HDI's upper bound falls below 0.5%


# --------------------------------------------------------------------------- 7. decomposition
def decomposition_section(c: Context) -> Part:
    """Section 7: waterfall of components, channel contributions over time, each channel's share and ROI."""
    part = Part("decomposition", "Channel decomposition")
    unit = c.unit
    channel_draws = bayes.channel_contributions(c.idata).transpose("chain", "draw", "date", "channel")
    samples = stacked(channel_draws).transpose("sample", "date", "channel").values  # (sample, date, channel)
    components = {}
    # components the model lacks (no controls, no seasonality) are simply absent from the result
    parts = c.mmm.data.get_contributions(original_scale=True, include_baseline=True, include_controls=True,
                                          include_seasonality=True)
    n_dates = len(c.dates)
    for name, array in parts.data_vars.items():
        if name == "channels":
            continue
        per_draw = array.mean(("chain", "draw"))
        extra = [d for d in per_draw.dims if d != "date"]
        total = per_draw.sum("date") if "date" in per_draw.dims else per_draw * n_dates
        if extra:  # one bar per control column: one-hot levels ("Event[Easter]") are summed into their column
            for coord in per_draw[extra[0]].values:
                key = f"{name}: {str(coord).split('[')[0]}"
                components[key] = components.get(key, 0.0) + float(total.sel({extra[0]: coord}))
        else:
            components[name] = float(total)
    totals = samples.sum(axis=1)  # (sample, channel)
    for j, channel in enumerate(c.channels):
        components[channel] = float(totals[:, j].mean())
    waterfall = pd.Series(components)
    c.add_figure(part, "waterfall", plots.waterfall(waterfall, unit),
                 "Mean contribution of each component summed over all periods; the last bar is their sum")
    c.tables["waterfall"] = waterfall.rename_axis("component").reset_index(name="mean_total")

    mean = pd.DataFrame(samples.mean(axis=0), index=c.dates, columns=c.channels)
    lo, hi = hdi(samples, c.prob)
    lower = pd.DataFrame(lo, index=c.dates, columns=c.channels)
    upper = pd.DataFrame(hi, index=c.dates, columns=c.channels)
    c.add_figure(part, "contributions_over_time",
                 plots.contributions_over_time(c.dates, mean, lower, upper, c.prob, unit),
                 f"Per-period contribution of each channel, posterior mean and {c.pct} HDI")
    over_time = pd.concat({"mean": mean, "lower": lower, "upper": upper}, axis=1).stack(level=1, future_stack=True)
    c.tables["contributions_over_time"] = over_time.rename_axis(["date", "channel"]).reset_index()

    shares = totals / totals.sum(axis=1, keepdims=True)
    s_lo, s_hi = hdi(shares, c.prob)
    t_lo, t_hi = hdi(totals, c.prob)
    share = pd.DataFrame({"mean": shares.mean(axis=0), "lower": s_lo, "upper": s_hi}, index=pd.Index(c.channels, name="channel"))
    c.add_figure(part, "contribution_share", plots.contribution_share(share, c.prob),
                 f"Each channel's share of the total media contribution with its {c.pct} HDI")
    summary = pd.DataFrame({
        "total_mean": totals.mean(axis=0), "total_lower": t_lo, "total_upper": t_hi,
        "share_mean": share["mean"], "share_lower": s_lo, "share_upper": s_hi,
        "spend_total": c.spend.sum(axis=0),
    }, index=share.index)
    summary["roi_mean"] = summary["total_mean"] / summary["spend_total"]
    c.add_table(part, "contributions", summary.reset_index(), f"Contribution over the whole period per channel ({unit}), {c.pct} HDI")
    widest = (summary["share_upper"] - summary["share_lower"]).idxmax()
    part.text(f"The widest share interval is {widest}'s ({percent(summary.loc[widest, 'share_lower'])} to "
              f"{percent(summary.loc[widest, 'share_upper'])}): wide intervals are honest uncertainty, not noise to ignore.")
    for name, table in c.fit_tables.items():
        if "roas" in name.lower() and name not in c.truth_tables:
            c.add_table(part, f"fit_{name}", table, f"From the fit stage: {name}")
    for j, channel in enumerate(c.channels):
        c.metrics[f"share.{channel}"] = float(share["mean"].iloc[j])
    return part


# --------------------------------------------------------------------------- 8. adstock
def _draws(c: Context, name: str, channel: str) -> np.ndarray:
    values = stacked(c.posterior_params[name].sel(channel=channel)).values
    return values[thin(len(values), c.settings.max_curve_draws)]


def adstock_curves(c: Context, truth: bool = False) -> dict[str, dict] | None:
    """Per channel, the weight decay**l of spend l periods ago: mean and HDI over draws (and the truth).

    Parameters
    ----------
    c : Context
        The report context (thinned posterior decays, ``l_max``, the HDI probability).
    truth : bool, optional
        Add the true curve where a fit table gives the channel's true decay.

    Returns
    -------
    dict or None
        Channel -> ``{"mean", "lower", "upper", "truth"}``, each an array over lags 0, 1, ...
        (``truth`` None when unknown). Kernels longer than ``MAX_LAGS_SHOWN`` stop at the
        first lag where every channel's upper bound is below 0.5% (at least 12 lags). None
        when the model's adstock is not geometric.
    """
    if "decay" not in c.posterior_params or not isinstance(c.mmm.adstock, GeometricAdstock):
        return None
    l_max = int(c.mmm.adstock.l_max)
    curves = {}
    for channel in c.channels:
        weights = adstock_weights(_draws(c, "decay", channel), l_max)  # (draws, l_max)
        lo, hi = hdi(weights, c.prob)
        true_decay = c.truth_params.get(channel, {}).get("decay") if truth else None
        curves[channel] = {"mean": weights.mean(axis=0), "lower": lo, "upper": hi,
                           "truth": None if true_decay is None else adstock_weights(true_decay, l_max)}
    shown = l_max
    if l_max > MAX_LAGS_SHOWN:
        worst = np.max([v["upper"] for v in curves.values()], axis=0)
        small = np.flatnonzero(worst < 0.005)
        shown = int(max(12, small[0] + 1)) if small.size else l_max
    return {ch: {k: (v[:shown] if isinstance(v, np.ndarray) else v) for k, v in curve.items()} for ch, curve in curves.items()}


def adstock_section(c: Context) -> Part:
    """Section 8: each channel's carry-over curve decay**l with its HDI band, and its decay and half-life."""
    part = Part("adstock", "Adstock decay curves")
    curves = adstock_curves(c)
    if curves is None:
        part.text(f"{type(c.mmm.adstock).__name__}: decay curves are drawn for geometric adstock only.")
        return part
    l_max = int(c.mmm.adstock.l_max)
    shown = len(next(iter(curves.values()))["mean"])
    cut = "" if shown == l_max else f" The figure stops at lag {shown - 1}, where every band's upper bound is below 0.5%."
    part.text(f"The share of a period's spend effect still active l periods later, decay^l for l = 0..{l_max - 1} "
              f"(l_max = {l_max}), computed per posterior draw; the band is the {c.pct} HDI over draws.{cut}")
    c.add_figure(part, "adstock_curves", plots.adstock_curves(np.arange(shown), curves, c.prob,
                                                              f"Adstock decay: posterior mean and {c.pct} HDI",
                                                              "share of the effect remaining"),
                 "Carry-over per channel")
    rows = []
    for channel in c.channels:
        d = _draws(c, "decay", channel)
        lo, hi = hdi(d, c.prob)
        half_life = np.log(0.5) / np.log(np.clip(d, 1e-9, 1 - 1e-9))
        rows.append({"channel": channel, "decay_mean": d.mean(), "decay_lower": float(lo), "decay_upper": float(hi),
                     "half_life_median_periods": float(np.median(half_life)),
                     "remaining_after_1": float(np.mean(d)), "remaining_after_2": float(np.mean(d**2))})
    c.add_table(part, "adstock", pd.DataFrame(rows), f"Decay per channel ({c.pct} HDI) and the effect remaining 1 and 2 periods later")
    return part


# --------------------------------------------------------------------------- 9. saturation
def steady_state_response(c: Context, spend: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Sales per period when ``spend`` is repeated every period, per draw: (draws, points).

    The un-normalised adstock settles at ``equilibrium_adstock(spend, decay, l_max)``
    (``spend * sum_{l<l_max} decay**l``); the original-unit
    parameters of :func:`mmmlab.bayes.original_scale_parameters` apply to that adstock.

    Parameters
    ----------
    c : Context
        Gives the saturation's kind and ``l_max``.
    spend : numpy.ndarray, shape (points,)
        Spend per period, held forever.
    params : dict of str to numpy.ndarray
        One channel's original-unit parameters, each of shape (draws,), ``decay`` included.

    Returns
    -------
    numpy.ndarray, shape (draws, points)
        The channel's sales contribution per period.
    """
    adstocked = equilibrium_adstock(spend[None, :], params["decay"][:, None], int(c.mmm.adstock.l_max))
    others = {k: v[:, None] for k, v in params.items() if k != "decay"}
    return np.asarray(bayes.response(c.saturation, adstocked, others), dtype=float)


def saturation_curves(c: Context, truth: bool = False) -> dict[str, dict] | None:
    """Per channel, the steady-state response to sustained spend: mean and HDI over draws (and the truth).

    Parameters
    ----------
    c : Context
        The report context (thinned original-unit parameters, spend, curve settings).
    truth : bool, optional
        Add the true curve where a fit table gives all the channel's true parameters; the
        simulator's adstock has no ``l_max``, so it settles at ``spend / (1 - decay)``.

    Returns
    -------
    dict or None
        Channel -> ``{"x", "mean", "lower", "upper", "observed", "truth"}``: ``x`` is spend per
        period from 0 to ``report.spend_range`` times the largest observed, the curves are sales
        per period over ``x``, ``observed`` the (min, max) spend in the data and ``truth`` None
        when unknown. None when the model's adstock is not geometric.
    """
    names = list(c.posterior_params.data_vars)
    if "decay" not in names or not isinstance(c.mmm.adstock, GeometricAdstock):
        return None
    curves = {}
    for j, channel in enumerate(c.channels):
        observed = c.spend[:, j]
        grid = np.linspace(0.0, c.settings.spend_range * observed.max(), c.settings.curve_points)
        response = steady_state_response(c, grid, {name: _draws(c, name, channel) for name in names})
        lo, hi = hdi(response, c.prob)
        true = c.truth_params.get(channel) if truth else None
        true_curve = None
        if true and set(names) <= set(true):  # the simulator's adstock has no l_max: it settles at spend / (1 - decay)
            true_curve = np.asarray(bayes.response(c.saturation, equilibrium_adstock(grid, true["decay"]),
                                                   {k: true[k] for k in names if k != "decay"}), dtype=float)
        curves[channel] = {"x": grid, "mean": response.mean(axis=0), "lower": lo, "upper": hi,
                           "observed": (observed.min(), observed.max()), "truth": true_curve}
    return curves


def saturation_section(c: Context) -> Part:
    """Section 9: steady-state response curves in original units and the saturation parameters' HDIs."""
    part = Part("saturation", "Saturation response curves")
    curves = saturation_curves(c)
    unit = c.unit
    if curves is None:
        part.text(f"{type(c.mmm.adstock).__name__}: response curves in original units are drawn for geometric adstock only.")
        return part
    part.text(f"In original units ({c.saturation} saturation): the sales contribution per period when a spend level is "
              "kept up period after period (the adstock has then settled at spend · Σ_l decay^l), per posterior draw; "
              f"the band is the {c.pct} HDI over draws. The yellow span is the range of spend the data contain: outside "
              "it the curve is extrapolated from the functional form and the priors.")
    c.add_figure(part, "saturation_curves",
                 plots.saturation_curves(curves, c.prob, "spend per period (sustained)", f"{unit} per period",
                                         f"Saturation response in original units: posterior mean and {c.pct} HDI"),
                 "Response per channel; yellow: observed spend range")
    rows = []
    for channel, curve in curves.items():
        for x, m, lo, hi in zip(curve["x"], curve["mean"], curve["lower"], curve["upper"]):
            rows.append({"channel": channel, "spend": x, "mean": m, "lower": lo, "upper": hi})
    c.tables["saturation_curves"] = pd.DataFrame(rows)
    summary = []
    for channel in c.channels:
        for name in c.posterior_params.data_vars:
            if name == "decay":
                continue
            d = _draws(c, name, channel)
            lo, hi = hdi(d, c.prob)
            summary.append({"channel": channel, "parameter": name, "mean": d.mean(), "lower": float(lo), "upper": float(hi)})
    c.add_table(part, "saturation_parameters", pd.DataFrame(summary),
                f"Saturation parameters in original units ({c.pct} HDI; alpha in {unit}, spend-like parameters in adstocked spend)")
    return part




