"""Figures of the classical recovery: data in, matplotlib Figure out (never shown, never saved here).

:func:`recovery_figures` draws the stage's four from a recovery and, when there is one, its truth comparison.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mmmlab.transforms import equilibrium_adstock, hill  # noqa: E402

PARAMETERS = ("decay", "alpha", "gamma", "k")
LABELS = {"decay": "Decay rate (λ)", "alpha": "Max impact (α)", "gamma": "Steepness (γ)", "k": "Half-saturation (k)"}
COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


def difference_color(pct: float) -> str:
    """The seed's traffic light: green below 10%, orange below 20%, red otherwise.

    Parameters
    ----------
    pct : float
        A signed difference in percent (recovered vs true).

    Returns
    -------
    str
        A matplotlib colour name; grey when ``pct`` is not finite.
    """
    if not np.isfinite(pct):
        return "grey"
    return "green" if abs(pct) < 10 else "orange" if abs(pct) < 20 else "red"


def parameter_bars(table: pd.DataFrame, summary: pd.DataFrame | None = None, level: float = 0.95) -> Figure:
    """True vs recovered bars per parameter type, % difference labels, recovered intervals as error bars.

    One panel each for decay, alpha (sales per period), gamma and k (adstocked spend). Error
    bars reaching far above the bars (or to infinity: an open profile interval) are cut and
    marked, so one unbounded interval does not flatten the panel.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per channel and parameter: ``channel``, ``parameter``, ``estimate``, ``lower``,
        ``upper`` and, with a truth, ``true`` and ``difference_pct``.
    summary : pandas.DataFrame, optional
        The seed's per-type rows: ``parameter``, ``rmse``, ``nrmse_pct``; shown in each panel.
    level : float, optional
        The intervals' confidence level, for the titles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    has_truth = "true" in table.columns
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    for ax, parameter in zip(axes.flat, PARAMETERS):
        rows = table[table["parameter"] == parameter]
        x = np.arange(len(rows))
        width = 0.38
        est = rows["estimate"].to_numpy(dtype=float)
        top = np.nanmax(np.concatenate([est, rows["true"].to_numpy(dtype=float) if has_truth else est]))
        ceiling = 1.6 * abs(top)  # intervals reaching past it (even to infinity) are cut there, marked "^"
        upper = rows["upper"].to_numpy(dtype=float)
        cut = ~(upper <= ceiling)
        lo = np.clip(est - rows["lower"].to_numpy(dtype=float), 0, None)
        hi = np.clip(np.where(cut, ceiling, upper) - est, 0, None)
        for i in np.flatnonzero(cut & np.isfinite(est)):
            ax.annotate("^ continues", (x[i] + (width / 2 if has_truth else 0), ceiling), ha="center",
                        va="bottom", fontsize=8)
        ax.set_ylim(min(0.0, np.nanmin(est)), 1.12 * ceiling)
        if has_truth:
            ax.bar(x - width / 2, rows["true"], width, label="True", color=COLORS[0])
        ax.bar(x + width / 2 if has_truth else x, est, width, label="Recovered", color=COLORS[1],
               yerr=np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)]), capsize=4,
               error_kw={"elinewidth": 1, "ecolor": "black", "alpha": 0.6})
        if has_truth:
            for i, (_, rec) in enumerate(rows.iterrows()):
                pct = rec["difference_pct"]
                ax.text(i + width / 2, max(rec["estimate"], 0) + 0.03 * abs(top), f"{pct:+.1f}%", ha="center",
                        color=difference_color(pct), fontweight="bold")
                ax.plot([i - width / 2, i + width / 2], [rec["true"], rec["estimate"]], "k--", alpha=0.4)
        if summary is not None and parameter in set(summary["parameter"]):
            s = summary[summary["parameter"] == parameter].iloc[0]
            ax.text(0.5, 0.95, f"RMSE: {s['rmse']:.3g}, NRMSE: {s['nrmse_pct']:.1f}%", transform=ax.transAxes,
                    ha="center", va="top", fontsize=10, bbox={"facecolor": "white", "alpha": 0.8})
        ax.set_xticks(x)
        ax.set_xticklabels(rows["channel"])
        ax.set_ylabel(LABELS[parameter])
        ax.set_title(f"{LABELS[parameter]}: true vs recovered ({100 * level:.0f}% intervals)")
        ax.legend(loc="upper right" if summary is None else "center right")
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def response_curves(max_spend: dict[str, float], recovered: pd.DataFrame, true: dict | None = None) -> Figure:
    """Response at equilibrium adstock (spend repeated every period), true vs recovered, per channel.

    Parameters
    ----------
    max_spend : dict of str to float
        Largest observed spend per period of each channel; the x axis runs to 1.2 times it.
    recovered : pandas.DataFrame
        Index channel; columns ``decay``, ``alpha``, ``gamma``, ``k`` (the simulator's units).
    true : dict, optional
        Channel -> a dict with the same keys, drawn as the true curve.

    Returns
    -------
    matplotlib.figure.Figure
        Sales impact per period against spend per period, one panel per channel.
    """
    channels = list(recovered.index)
    cols = 2 if len(channels) > 1 else 1
    rows = int(np.ceil(len(channels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(14, 5 * rows), squeeze=False)
    for ax, ch in zip(axes.flat, channels):
        spend = np.linspace(0, 1.2 * max_spend[ch], 200)
        r = recovered.loc[ch]
        fitted = hill(equilibrium_adstock(spend, r["decay"]), r["alpha"], r["gamma"], r["k"])
        text = f"Recovered: λ={r['decay']:.2f}, α={r['alpha']:,.0f}, γ={r['gamma']:.2f}, k={r['k']:,.0f}"
        if true is not None and ch in true:
            t = true[ch]
            ax.plot(spend, hill(equilibrium_adstock(spend, t["decay"]), t["alpha"], t["gamma"], t["k"]), "b-",
                    label="True response")
            text = f"True: λ={t['decay']:.2f}, α={t['alpha']:,.0f}, γ={t['gamma']:.2f}, k={t['k']:,.0f}\n" + text
        ax.plot(spend, fitted, "r--", label="Recovered response")
        ax.axvline(max_spend[ch], color="grey", lw=0.8, ls=":", label="largest observed spend")
        ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=9, bbox={"facecolor": "white", "alpha": 0.8})
        ax.set_xlabel(f"{ch} spend per period")
        ax.set_ylabel("Sales impact per period (equilibrium)")
        ax.set_title(f"{ch} response curve")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    for ax in list(axes.flat)[len(channels):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def fitted_sales(actual: pd.Series, components: pd.DataFrame, channels: list[str], stats: dict) -> Figure:
    """Actual vs fitted sales, the baseline (with experiments) and the channels stacked on it.

    Parameters
    ----------
    actual : pandas.Series
        The target per period.
    components : pandas.DataFrame, shape (periods, components)
        Index dates; fitted sales per period split into ``baseline``, ``experiments`` and one
        column per channel (they sum to the fitted sales).
    channels : list of str
        The channel columns of ``components``, stacked in this order.
    stats : dict
        Fit statistics with ``r2``, ``mape`` (percent) and ``rmse`` (sales).

    Returns
    -------
    matplotlib.figure.Figure
    """
    dates = components.index
    base = (components["baseline"] + components["experiments"]).to_numpy()
    fitted = components.sum(axis=1).to_numpy()
    fig, ax = plt.subplots(figsize=(15, 8))
    ax.plot(dates, actual.to_numpy(), "k-", lw=2, label="Actual sales")
    ax.plot(dates, base, "b--", alpha=0.7, label="Baseline (+ experiments)")
    ax.plot(dates, fitted, "r-", alpha=0.8, label="Fitted sales (baseline + media)")
    bottom = base.copy()
    for i, ch in enumerate(channels):
        top = bottom + components[ch].to_numpy()
        ax.fill_between(dates, bottom, top, color=COLORS[i % len(COLORS)], alpha=0.3, label=f"{ch} impact")
        bottom = top
    ax.text(0.01, 0.02, f"R² = {stats['r2']:.4f}   MAPE = {stats['mape']:.2f}%   RMSE = {stats['rmse']:,.0f}",
            transform=ax.transAxes, fontsize=12, bbox={"facecolor": "white", "alpha": 0.8})
    ax.set_title("Actual vs fitted sales with channel impacts (joint recovery)")
    ax.set_xlabel("Date")
    ax.set_ylabel("Sales")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", ncol=2)
    fig.tight_layout()
    return fig


def contributions(recovered: pd.DataFrame, true: pd.DataFrame | None = None) -> Figure:
    """Channel contributions over time (true vs recovered) and in total.

    Parameters
    ----------
    recovered : pandas.DataFrame, shape (periods, channels)
        Index dates; recovered sales contribution per period of each channel.
    true : pandas.DataFrame, optional
        The true contributions with (at least) the same channel columns; totals then show the
        % difference.

    Returns
    -------
    matplotlib.figure.Figure
    """
    channels = list(recovered.columns)
    fig, (ax_time, ax_total) = plt.subplots(1, 2, figsize=(16, 6), gridspec_kw={"width_ratios": [2.2, 1]})
    for i, ch in enumerate(channels):
        color = COLORS[i % len(COLORS)]
        ax_time.plot(recovered.index, recovered[ch], "--", color=color, label=f"{ch} recovered")
        if true is not None:
            ax_time.plot(true.index, true[ch], "-", color=color, alpha=0.8, label=f"{ch} true")
    ax_time.set_title("Channel contributions over time")
    ax_time.set_ylabel("Sales per period")
    ax_time.grid(alpha=0.3)
    ax_time.legend(ncol=2, fontsize=8)
    x = np.arange(len(channels))
    width = 0.38
    rec_total = recovered.sum().to_numpy()
    if true is not None:
        true_total = true[channels].sum().to_numpy()
        ax_total.bar(x - width / 2, true_total, width, label="True", color=COLORS[0])
        ax_total.bar(x + width / 2, rec_total, width, label="Recovered", color=COLORS[1])
        for i in range(len(channels)):
            pct = 100 * (rec_total[i] - true_total[i]) / true_total[i] if true_total[i] else np.nan
            ax_total.text(i + width / 2, max(rec_total[i], 0) * 1.02, f"{pct:+.1f}%", ha="center",
                          color=difference_color(pct), fontweight="bold")
    else:
        ax_total.bar(x, rec_total, width, label="Recovered", color=COLORS[1])
    ax_total.set_xticks(x)
    ax_total.set_xticklabels(channels)
    ax_total.set_title("Total contribution")
    ax_total.grid(alpha=0.3, axis="y")
    ax_total.legend()
    fig.tight_layout()
    return fig


def recovery_figures(result, dataset, level: float, truth=None, comparison: dict | None = None) -> dict[str, Figure]:
    """The recover stage's figures by name.

    Parameters
    ----------
    result : mmmlab.recovery.Recovery
        The recovery.
    dataset : Dataset
        The data it was fitted on (sales and spend).
    level : float
        The intervals' level (labels).
    truth : mmmlab.evaluation.Truth, optional
        Aligned with the data; its parameters are drawn as the true response curves.
    comparison : dict, optional
        :func:`mmmlab.evaluation.recovery_comparison` of ``result`` with ``truth``.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``parameters`` (:func:`parameter_bars`; true vs recovered with a comparison), ``response_curves``,
        ``fit`` (:func:`fitted_sales`) and ``contributions``.
    """
    fit = result.fit
    channels = list(fit.model.channels)
    if comparison is not None:
        bars = parameter_bars(comparison["table"], comparison["summary"], level)
    else:
        bars = parameter_bars(result.channel_estimates(), None, level)
    max_spend = {ch: float(dataset.spend[:, j].max()) for j, ch in enumerate(channels)}
    curves = response_curves(max_spend, fit.channel_params(), truth.channels if truth is not None else None)
    actual = pd.Series(dataset.target, index=dataset.dates)
    sales = fitted_sales(actual, fit.components(), channels, fit.fit_statistics())
    true_contrib = comparison["true_contributions"] if comparison is not None else None
    return {"parameters": bars, "response_curves": curves, "fit": sales,
            "contributions": contributions(fit.components()[channels], true_contrib)}
