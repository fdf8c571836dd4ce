"""Figures of the data check: a quick look at whether a dataset is reasonable.

Every function takes data and returns a matplotlib Figure built without pyplot (so no
global figure state and no display; PNGs render with Agg); the caller saves it.
Channel colours follow the channel's position, so they match across figures.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmmlab.dataset import experiment_indicators
from mmmlab.transforms import geometric_adstock, hill


def channel_color(index: int):
    """The colour of the ``index``-th channel (tab10, repeating).

    Parameters
    ----------
    index : int
        The channel's position in the dataset's channel order.

    Returns
    -------
    tuple of float
        An RGBA colour.
    """
    return matplotlib.colormaps["tab10"](index % 10)


def experiment_mask(labels: pd.Series, channel: str) -> np.ndarray:
    """Periods in an experiment on ``channel``; labels like ``"TV+Radio"`` name overlapping ones.

    Parameters
    ----------
    labels : pandas.Series
        The experiment column, one label per period (see
        :func:`mmmlab.dataset.experiment_indicators`).
    channel : str
        The channel's name.

    Returns
    -------
    numpy.ndarray of bool, shape (periods,)
        True in periods whose label names ``channel``.
    """
    indicators = experiment_indicators(labels, none="")
    return indicators[channel].to_numpy(dtype=bool) if channel in indicators else np.zeros(len(labels), dtype=bool)


def sales_over_time(dates: pd.DatetimeIndex, sales: np.ndarray, target: str) -> Figure:
    """The target as a time series.

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Start of each period.
    sales : numpy.ndarray, shape (periods,)
        The target per period.
    target : str
        The target's name (title and axis label).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(14, 5))
    ax = fig.subplots()
    ax.plot(dates, sales, marker="o", markersize=3, linestyle="--", linewidth=1.5)
    ax.set(title=f"{target} over time", xlabel="Period", ylabel=target)
    ax.grid(True, alpha=0.3)
    return fig


def spend_by_channel(dates: pd.DatetimeIndex, spend: pd.DataFrame, experiments: pd.Series | None = None) -> Figure:
    """Spend per channel over time; experiment windows shaded in the channel's colour.

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Start of each period (at least two: the last period's end is one step past its start).
    spend : pandas.DataFrame, shape (periods, channels)
        Spend per period, one column per channel (named by the channel).
    experiments : pandas.Series, optional
        Each period's experiment label (``"None"`` outside experiments, ``"TV+Radio"`` for
        overlapping windows); None when the data have no such column.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(14, 6))
    ax = fig.subplots()
    period_ends = dates[1:].append(pd.DatetimeIndex([dates[-1] + (dates[-1] - dates[-2])]))
    for j, channel in enumerate(spend.columns):
        color = channel_color(j)
        ax.plot(dates, spend[channel], marker=".", color=color, label=channel)
        if experiments is None:
            continue
        rows = np.flatnonzero(experiment_mask(experiments, channel))
        for run in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if rows.size else []:
            ax.axvspan(dates[run[0]], period_ends[run[-1]], color=color, alpha=0.15)
            ax.text(dates[run[0]], 1.0, f" {channel} exp.", color=color, rotation=90, va="top",
                    transform=ax.get_xaxis_transform(), fontsize=9)
    title = "Spend by channel over time" + (" (shaded: experiment windows)" if experiments is not None else "")
    ax.set(title=title, xlabel="Period", ylabel="Spend")
    ax.legend(loc="upper left")
    ax.grid(True, alpha=0.3)
    return fig


def sales_by_category(sales: np.ndarray, categories: pd.Series, target: str) -> Figure:
    """Box plots of the target per level of a text control (e.g. the economic condition).

    Parameters
    ----------
    sales : numpy.ndarray, shape (periods,)
        The target per period.
    categories : pandas.Series
        The control's level per period; its name labels the x axis. Levels are sorted.
    target : str
        The target's name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    levels = sorted(categories.unique())
    fig = Figure(figsize=(9, 5))
    ax = fig.subplots()
    ax.boxplot([sales[(categories == level).to_numpy()] for level in levels], tick_labels=levels)
    ax.set(title=f"{target} by {categories.name}", xlabel=categories.name, ylabel=target)
    ax.grid(True, alpha=0.3)
    return fig


def mean_sales_by_category(sales: np.ndarray, categories: pd.Series, target: str) -> Figure:
    """Average target per level of a text control (e.g. the seasonal event), highest first.

    Parameters as in :func:`sales_by_category`.
    """
    means = pd.Series(sales, index=categories.to_numpy()).groupby(level=0).mean().sort_values(ascending=False)
    fig = Figure(figsize=(12, 6))
    ax = fig.subplots()
    bars = ax.bar(means.index, means.to_numpy())
    ax.bar_label(bars, fmt="{:,.0f}", fontsize=8)
    ax.set(title=f"Average {target} by {categories.name}", xlabel=categories.name, ylabel=f"Average {target}")
    ax.tick_params(axis="x", labelrotation=45)
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def correlation_heatmap(frame: pd.DataFrame) -> Figure:
    """Pearson correlations between the columns of ``frame``, annotated.

    Parameters
    ----------
    frame : pandas.DataFrame
        Numeric columns, one row per period (spend per channel and the target).

    Returns
    -------
    matplotlib.figure.Figure
    """
    corr = frame.corr()
    n = len(corr)
    fig = Figure(figsize=(1.4 * n + 3, 1.2 * n + 2))
    ax = fig.subplots()
    image = ax.imshow(corr.to_numpy(), cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_xticks(range(n), corr.columns, rotation=45, ha="right")
    ax.set_yticks(range(n), corr.index)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{corr.iat[i, j]:.2f}", ha="center", va="center", fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title("Correlation between spend and sales")
    return fig


def spend_vs_sales(
    spend: pd.DataFrame,
    sales: np.ndarray,
    target: str,
    experiments: pd.Series | None = None,
    decays: dict[str, float] | None = None,
) -> Figure:
    """One scatter per channel of spend against the target, with a least-squares line.

    Experiment periods are marked apart because their spend was pushed up on purpose.

    Parameters
    ----------
    spend : pandas.DataFrame, shape (periods, channels)
        Spend per period, one column per channel.
    sales : numpy.ndarray, shape (periods,)
        The target per period.
    target : str
        The target's name.
    experiments : pandas.Series, optional
        Each period's experiment label; periods of an experiment on the panel's channel are
        drawn as red crosses.
    decays : dict of str to float, optional
        True decay per channel, when known, shown in the panel titles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = spend.shape[1]
    cols = min(n, 2)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(7 * cols, 5 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for j, (ax, channel) in enumerate(zip(axes.flat, spend.columns)):
        x = spend[channel].to_numpy()
        exp = experiment_mask(experiments, channel) if experiments is not None else np.zeros(len(x), bool)
        ax.scatter(x[~exp], sales[~exp], alpha=0.7, color=channel_color(j), label="Regular")
        if exp.any():
            ax.scatter(x[exp], sales[exp], color="red", marker="X", s=90, label="Experiment")
        slope, intercept = np.polyfit(x, sales, 1)
        grid = np.linspace(x.min(), x.max(), 100)
        ax.plot(grid, intercept + slope * grid, "k--", alpha=0.7, label="Least-squares line")
        title = f"{channel} spend vs {target}"
        if decays and channel in decays:
            title += f" (true $\\lambda$ = {decays[channel]:g})"
        ax.set(title=title, xlabel=f"{channel} spend", ylabel=target)
        ax.legend()
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def adstock_pulse(decays: dict[str, float], reference_decays: list[float], periods: int, channels: list[str]) -> Figure:
    """Response to one unit of spend in period 0, per channel decay and per reference decay.

    Parameters
    ----------
    decays : dict of str to float
        True decay per channel (may be empty).
    reference_decays : list of float
        Decays drawn grey and dashed for comparison (params ``check.reference_decays``).
    periods : int
        How many periods the curves run.
    channels : list of str
        Every channel in dataset order: a channel's position fixes its colour.

    Returns
    -------
    matplotlib.figure.Figure
        The remaining share of the pulse (1 at period 0) against periods after the spend.
    """
    pulse = np.zeros(periods)
    pulse[0] = 1.0
    fig = Figure(figsize=(12, 6))
    ax = fig.subplots()
    for channel, decay in decays.items():
        ax.plot(geometric_adstock(pulse, decay), color=channel_color(channels.index(channel)), linewidth=2.5,
                label=f"{channel} ($\\lambda$ = {decay:g})")
    for decay in reference_decays:
        ax.plot(geometric_adstock(pulse, decay), color="grey", linestyle="--", linewidth=1,
                label=f"reference $\\lambda$ = {decay:g}")
    ax.set(title="Adstock: carry-over of a one-period pulse", xlabel="Periods after the spend",
           ylabel="Remaining effect (share of the pulse)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


def hill_curves(parameters: dict[str, dict[str, float]], x_max: float, channels: list[str]) -> Figure:
    """Hill saturation curves with each half-saturation point ``(k, alpha / 2)`` marked.

    Parameters
    ----------
    parameters : dict of str to dict
        Channel -> its true ``alpha`` (sales per period), ``gamma`` and ``k`` (adstocked spend).
    x_max : float
        The x axis (adstocked spend) runs from 0 to here.
    channels : list of str
        Every channel in dataset order: a channel's position fixes its colour.

    Returns
    -------
    matplotlib.figure.Figure
        Sales contribution per period against adstocked spend.
    """
    x = np.linspace(0, x_max, 500)
    fig = Figure(figsize=(12, 6))
    ax = fig.subplots()
    for channel, p in parameters.items():
        color = channel_color(channels.index(channel))
        ax.plot(x, hill(x, p["alpha"], p["gamma"], p["k"]), color=color, linewidth=2,
                label=f"{channel} ($\\alpha$ = {p['alpha']:g}, $\\gamma$ = {p['gamma']:g}, k = {p['k']:g})")
        ax.plot([p["k"], p["k"], 0], [0, p["alpha"] / 2, p["alpha"] / 2], "k--", alpha=0.4, linewidth=1)
        ax.scatter([p["k"]], [p["alpha"] / 2], color=color, s=70, zorder=5)
    ax.set(title="Hill saturation (dots: half-saturation k, alpha / 2)", xlabel="Adstocked spend",
           ylabel="Sales contribution")
    ax.set_xlim(0, x_max)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig
