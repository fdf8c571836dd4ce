"""Figures of the technical validation report (built from a saved trace).

Every function takes plain arrays or frames (already summarised: means and HDI bounds) and
returns a matplotlib Figure built without pyplot; the caller renders and saves it. Channel
colours follow the channel's position, as in the data-check figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.stats import gaussian_kde, rankdata

from mmmlab.plots.data_check import channel_color

PASS_COLOR, FAIL_COLOR, THRESHOLD_COLOR, TRUTH_COLOR = "steelblue", "tomato", "red", "black"


def _grid(n: int, columns: int, width: float, height: float):
    rows = max(1, int(np.ceil(n / columns)))
    columns = min(columns, max(n, 1))
    fig = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def _posterior_band(ax, x, curve: dict, color: str, prob: float, truth_width: float | None = None,
                    **mean_style) -> None:
    """One curve as every posterior panel draws it: the HDI band, the mean over it, the truth dashed.

    ``curve`` has ``mean``, ``lower``, ``upper`` and optionally ``truth`` (None: not drawn);
    ``mean_style`` goes to the mean's line, ``truth_width`` (None: matplotlib's default) to the truth's.
    """
    ax.fill_between(x, curve["lower"], curve["upper"], color=color, alpha=0.25, label=f"{prob:.0%} HDI")
    ax.plot(x, curve["mean"], color=color, label="posterior mean", **mean_style)
    if curve.get("truth") is not None:
        ax.plot(x, curve["truth"], color=TRUTH_COLOR, linestyle="--", linewidth=truth_width, label="true")


def _curve_panels(curves: dict[str, dict], prob: float, height: float, x=None, **mean_style):
    """Two columns of panels, one per channel in its colour, each with :func:`_posterior_band`.

    ``x`` is shared by every curve, or None for each curve's own ``"x"``; a curve's ``"observed"``
    range (lo, hi) is shaded under it. Returns the figure and ``(ax, channel)`` pairs to label.
    """
    fig, axes = _grid(len(curves), 2, 6.5, height)
    for j, (ax, c) in enumerate(zip(axes, curves.values())):
        if "observed" in c:
            lo, hi = c["observed"]
            ax.axvspan(lo, hi, color="gold", alpha=0.25, label="observed spend range")
        _posterior_band(ax, c["x"] if x is None else x, c, channel_color(j), prob, **mean_style)
    return fig, list(zip(axes, curves))


def compact(value: float) -> str:
    """A tick label of three significant digits, with a k or M suffix from a thousand up: 25k, 1.2M, 0.35."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def convergence_bars(summary: pd.DataFrame, r_hat_max: float, ess_bulk_min: float) -> Figure:
    """R-hat and bulk ESS per structural parameter (rows of ``summary``), threshold lines, failures in red.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per structural parameter (index: its label) with ``r_hat`` and ``ess_bulk``
        columns (:func:`mmmlab.diagnostics.parameter_summary`).
    r_hat_max : float
        The R-hat gate: a bar at or above it is red.
    ess_bulk_min : float
        The bulk ESS gate: a bar at or below it is red.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(max(10, 0.32 * len(summary) + 4), 9), layout="constrained")
    ax_r, ax_e = fig.subplots(2, 1)
    labels = list(summary.index)
    x = np.arange(len(labels))
    r_hat = summary["r_hat"].to_numpy(dtype=float)
    ess = summary["ess_bulk"].to_numpy(dtype=float)
    ax_r.bar(x, r_hat, color=[FAIL_COLOR if not r < r_hat_max else PASS_COLOR for r in r_hat],
             edgecolor="black", linewidth=0.4)
    ax_r.axhline(r_hat_max, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.5, label=f"threshold {r_hat_max:g}")
    low = min(np.nanmin(r_hat), 1.0) if len(r_hat) else 1.0
    ax_r.set_ylim(low - 0.002, max(np.nanmax(r_hat) if len(r_hat) else 1.0, r_hat_max) * 1.002 + 0.002)
    ax_r.set(title="R-hat per structural parameter (red: fails the threshold)", ylabel="R-hat")
    ax_e.bar(x, ess, color=[FAIL_COLOR if not e > ess_bulk_min else PASS_COLOR for e in ess],
             edgecolor="black", linewidth=0.4)
    ax_e.axhline(ess_bulk_min, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.5, label=f"threshold {ess_bulk_min:g}")
    ax_e.set(title="Bulk ESS per structural parameter (red: fails the threshold)", ylabel="ESS (bulk)")
    for ax in (ax_r, ax_e):
        ax.set_xticks(x, labels, rotation=90, fontsize=7)
        ax.legend(loc="upper right")
        ax.grid(True, axis="y", alpha=0.3)
    return fig


CHAIN_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def chain_color(i: int) -> str:
    """Chain ``i``'s colour (distinct from the channel colours' order; repeats after eight chains)."""
    return CHAIN_COLORS[i % len(CHAIN_COLORS)]


def _chain_legend(fig: Figure, chains: int) -> None:
    handles = [Line2D([], [], color=chain_color(c), linewidth=2, label=f"chain {c + 1}") for c in range(chains)]
    fig.legend(handles=handles, loc="outside lower center", ncol=max(chains, 1), fontsize=9, frameon=False)


def rank_plots(panels: dict[str, np.ndarray], columns: int = 4, bins: int | None = None) -> Figure:
    """One panel per parameter: each chain's share of the pooled ranks per bin, one colour per chain.

    All chains' draws are ranked together; when the chains sample the same distribution, each
    chain's ranks are uniform, so its line stays near 1 (the dashed line), inside the grey band
    that binomial chance allows (95%).

    Parameters
    ----------
    panels : dict of str to numpy.ndarray
        Panel title -> draws of shape (chain, draw).
    columns : int, optional
        Panels per row.
    bins : int, optional
        Rank bins per chain; None: one per 20 draws of a chain, from 5 to 20 bins (few draws per
        bin would make every chain look ragged).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _grid(len(panels), columns, 3.4, 1.9)
    chains = 0
    for ax, (label, values) in zip(axes, panels.items()):
        values = np.asarray(values, dtype=float)
        chains = max(chains, values.shape[0])
        ranks = rankdata(values, axis=None).reshape(values.shape)
        count = bins or int(np.clip(values.shape[1] // 20, 5, 20))
        edges = np.linspace(0.5, ranks.size + 0.5, count + 1)
        expected = values.shape[1] / count
        share = 1 / count
        band = 1.96 * np.sqrt(values.shape[1] * share * (1 - share)) / expected
        ax.axhspan(1 - band, 1 + band, color="0.88", zorder=0)
        ax.axhline(1, color="0.4", linestyle="--", linewidth=0.8)
        centres = np.arange(count) + 0.5
        for c, chain in enumerate(ranks):
            counts = np.histogram(chain, bins=edges)[0] / expected
            ax.step(centres, counts, where="mid", color=chain_color(c), linewidth=1.2)
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_xlim(0, count)
        ax.set_ylim(0, max(2.0, ax.get_ylim()[1]))
        ax.tick_params(labelsize=7)
    for ax in axes[::max(1, min(columns, len(panels)))]:
        ax.set_ylabel("rank frequency\n(1 = uniform)", fontsize=7)
    _chain_legend(fig, chains)
    fig.suptitle("Rank plots: each chain's ranks among all draws; flat near 1 means the chains agree")
    return fig


def trace_plots(panels: dict[str, np.ndarray], columns: int = 4, most: int = 400) -> Figure:
    """One panel per parameter: each chain's draws in order, one colour per chain.

    Parameters
    ----------
    panels : dict of str to numpy.ndarray
        Panel title -> draws of shape (chain, draw).
    columns : int, optional
        Panels per row.
    most : int, optional
        At most this many draws per chain are drawn (evenly spaced), so the lines stay readable.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _grid(len(panels), columns, 3.4, 1.9)
    chains = 0
    for ax, (label, values) in zip(axes, panels.items()):
        values = np.asarray(values, dtype=float)
        chains = max(chains, values.shape[0])
        step = max(1, int(np.ceil(values.shape[1] / most)))
        x = np.arange(values.shape[1])[::step]
        for c, chain in enumerate(values):
            ax.plot(x, chain[::step], color=chain_color(c), linewidth=0.6, alpha=0.75)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_formatter(lambda v, _: compact(v))
        ax.grid(True, alpha=0.3)
    for ax in axes[max(0, len(panels) - min(columns, len(panels))):len(panels)]:
        ax.set_xlabel("draw", fontsize=8)
    _chain_legend(fig, chains)
    fig.suptitle("Traces: converged chains overlap as stationary noise, without trends or stuck stretches")
    return fig


def _density(values: np.ndarray, points: int = 200, span: tuple[float, float] | None = None):
    values = values[np.isfinite(values)]
    lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
    if span is not None:
        lo, hi = max(lo, span[0]), min(hi, span[1])
    if values.size < 3 or hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return np.array([lo, lo]), np.array([0.0, 1.0])
    grid = np.linspace(lo, hi, points)
    return grid, gaussian_kde(values)(grid)


def posterior_predictive(dates, observed, mean, bands: dict[float, tuple], target: str) -> Figure:
    """Observed target over the posterior predictive mean and its HDI bands (original units).

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Start of each period.
    observed : numpy.ndarray, shape (periods,)
        The observed target (sales).
    mean : numpy.ndarray, shape (periods,)
        The posterior predictive mean.
    bands : dict of float to (numpy.ndarray, numpy.ndarray)
        HDI probability -> (lower, upper) per period; wider bands are drawn lighter.
    target : str
        The target's label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(14, 5.5), layout="constrained")
    ax = fig.subplots()
    for prob, (lo, hi) in sorted(bands.items(), reverse=True):
        ax.fill_between(dates, lo, hi, color=PASS_COLOR, alpha=0.2 if prob > 0.6 else 0.35,
                        label=f"{prob:.0%} HDI")
    ax.plot(dates, mean, color=PASS_COLOR, linewidth=2, label="posterior predictive mean")
    ax.plot(dates, observed, color="black", marker="o", markersize=3, linewidth=1, label=f"observed {target}")
    ax.set(title="Posterior predictive check (original units): observed values should sit inside the bands",
           xlabel="Period", ylabel=target)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.legend(loc="upper left")
    ax.grid(True, alpha=0.3)
    return fig


def prior_vs_posterior(panels: list[dict], title: str, columns: int = 4) -> Figure:
    """One panel per parameter and channel: prior and posterior densities, the contraction in the title.

    The x range is the central 99% of the pooled draws, so heavy prior tails do not squash the
    posterior into a spike.

    Parameters
    ----------
    panels : list of dict
        Each ``{"label", "prior", "posterior", "contraction", "prior_dominated"}`` and
        optionally ``"unit"`` (the x label): ``prior`` and ``posterior`` are arrays of draws
        in original units; ``contraction`` (float or None) goes in the title;
        ``prior_dominated`` turns the title red.
    title : str
        The figure's title.
    columns : int, optional
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _grid(len(panels), columns, 3.6, 2.8)
    for ax, panel in zip(axes, panels):
        both = np.concatenate([np.asarray(panel[k], dtype=float).ravel() for k in ("prior", "posterior")])
        both = both[np.isfinite(both)]
        span = tuple(np.quantile(both, [0.005, 0.995])) if both.size else None  # heavy prior tails would squash the plot
        for values, color, name in [(panel["prior"], "grey", "prior"), (panel["posterior"], PASS_COLOR, "posterior")]:
            grid, density = _density(np.asarray(values, dtype=float).ravel(), span=span)
            ax.plot(grid, density, color=color, label=name)
            ax.fill_between(grid, density, color=color, alpha=0.15)
        dominated = panel.get("prior_dominated")
        contraction = panel.get("contraction")
        note = "" if contraction is None or not np.isfinite(contraction) else f"\ncontraction {contraction:.2f}"
        ax.set_title(panel["label"] + note + (" (prior-dominated)" if dominated else ""),
                     fontsize=9, color=FAIL_COLOR if dominated else "black")
        ax.set_xlabel(panel.get("unit", ""), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        ax.xaxis.set_major_formatter(lambda v, _: compact(v))
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return fig


def waterfall(components: pd.Series, unit: str) -> Figure:
    """Mean total contribution of each component, stacked into the mean predicted total.

    Parameters
    ----------
    components : pandas.Series
        Component name (baseline, controls, channels ...) -> mean contribution summed over all
        periods, in target units; negative ones are drawn red.
    unit : str
        The target's label (y axis).

    Returns
    -------
    matplotlib.figure.Figure
        One bar per component starting where the previous ended, then the total.
    """
    fig = Figure(figsize=(12, 6), layout="constrained")
    ax = fig.subplots()
    start = 0.0
    total = components.sum()
    for i, (name, value) in enumerate(components.items()):
        ax.bar(i, value, bottom=start, color=PASS_COLOR if value >= 0 else FAIL_COLOR, edgecolor="black", linewidth=0.5)
        ax.text(i, max(start, start + value), compact(value), ha="center", va="bottom", fontsize=8)
        start += value
    ax.bar(len(components), total, color="dimgray", edgecolor="black", linewidth=0.5)
    ax.text(len(components), total, compact(total), ha="center", va="bottom", fontsize=8)
    ax.yaxis.set_major_formatter(lambda v, _: compact(v))
    ax.set_xticks(range(len(components) + 1), [*components.index, "total"], rotation=30, ha="right")
    ax.set(title="Waterfall of mean contributions over the whole period", ylabel=unit)
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def contributions_over_time(dates, mean: pd.DataFrame, lower: pd.DataFrame, upper: pd.DataFrame, prob: float,
                            unit: str, truth: pd.DataFrame | None = None, title: str | None = None) -> Figure:
    """One panel per channel: mean contribution per period with its HDI band (and the truth if given).

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Start of each period.
    mean, lower, upper : pandas.DataFrame, shape (periods, channels)
        Posterior mean and HDI bounds of each channel's contribution per period (target units),
        one column per channel.
    prob : float
        The HDI probability (labels).
    unit : str
        The target's label (y axes).
    truth : pandas.DataFrame, optional
        True contribution per period, same shape, drawn dashed.
    title : str, optional
        The figure's title (default: "Channel contributions over time" with the HDI level).

    Returns
    -------
    matplotlib.figure.Figure
    """
    channels = list(mean.columns)
    fig = Figure(figsize=(14, 2.4 * len(channels) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(channels), 1, sharex=True, squeeze=False).ravel())
    for j, (ax, channel) in enumerate(zip(axes, channels)):
        true = truth[channel].to_numpy() if truth is not None and channel in truth else None
        curve = {"mean": mean[channel], "lower": lower[channel], "upper": upper[channel], "truth": true}
        _posterior_band(ax, dates, curve, channel_color(j), prob, truth_width=1.2, linewidth=1.8)
        ax.set_ylabel(unit, fontsize=8)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.set_title(channel, fontsize=10, loc="left")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title or f"Channel contributions over time ({prob:.0%} HDI)")
    return fig


def contribution_share(table: pd.DataFrame, prob: float) -> Figure:
    """Each channel's share of the media contribution: mean with HDI error bars.

    Parameters
    ----------
    table : pandas.DataFrame
        Index channel; ``mean``, ``lower``, ``upper`` shares (0 to 1) of the total media
        contribution.
    prob : float
        The HDI probability (title).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(10, 1.0 + 0.7 * len(table)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(table))
    mean = table["mean"].to_numpy()
    err = np.vstack([mean - table["lower"].to_numpy(), table["upper"].to_numpy() - mean])
    ax.barh(y, mean, xerr=err, color=[channel_color(j) for j in range(len(table))], capsize=4, alpha=0.8)
    for i, (m, hi) in enumerate(zip(mean, table["upper"])):
        ax.text(hi, i, f"  {m:.1%}", va="center", fontsize=9)
    ax.set_yticks(y, list(table.index))
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set(title=f"Share of the media contribution per channel (mean, {prob:.0%} HDI)", xlabel="share")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def adstock_curves(lags: np.ndarray, curves: dict[str, dict], prob: float, title: str, ylabel: str) -> Figure:
    """Carry-over weight per lag, one panel per channel: mean, HDI band, and the true curve if given.

    Parameters
    ----------
    lags : numpy.ndarray, shape (lags,)
        The x values (periods after the spend).
    curves : dict of str to dict
        Channel -> ``{"mean", "lower", "upper"}`` arrays of shape (lags,) and optionally
        ``"truth"`` (an array, or None).
    prob : float
        The HDI probability (labels).
    title, ylabel : str
        The figure's title and the y label.
    """
    fig, panels = _curve_panels(curves, prob, 3.4, x=lags, marker="o", markersize=3)
    for ax, channel in panels:
        ax.set(title=channel, xlabel="periods after spend", ylabel=ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    return fig


def saturation_curves(curves: dict[str, dict], prob: float, xlabel: str, ylabel: str, title: str) -> Figure:
    """Response per channel in original units: mean, HDI band, observed spend range shaded, truth if given.

    The shaded range shows where the curve rests on data and where it is extrapolated.

    Parameters
    ----------
    curves : dict of str to dict
        Channel -> ``{"x", "mean", "lower", "upper", "observed": (lo, hi)}`` and optionally
        ``"truth"``: ``x`` is spend per period (points,), the curves are the contribution per
        period over ``x``, ``observed`` the smallest and largest spend in the data.
    prob : float
        The HDI probability (labels).
    xlabel, ylabel, title : str
        Axis labels and the figure's title.
    """
    fig, panels = _curve_panels(curves, prob, 3.8, linewidth=2)
    for ax, channel in panels:
        ax.set(title=channel, xlabel=xlabel, ylabel=ylabel)
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    return fig


def lift_tests(table: pd.DataFrame, prob: float, unit: str) -> Figure:
    """Each lift test: its readout (± 1.96 se) beside the lift predicted under the prior and the posterior (HDI).

    ``table`` is the fit's ``lift_tests`` table (:func:`mmmlab.bayes.summaries.lift_table`).
    """
    fig = Figure(figsize=(max(5.0, 1.6 * len(table) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(table))
    for offset, group, color in ((-0.2, "prior", "0.65"), (0.2, "posterior", None)):
        for i, row in enumerate(table.itertuples(index=False)):
            c = color or channel_color(int(row.channel_index))
            mean, lower, upper = (getattr(row, f"{group}_{k}") for k in ("mean", "lower", "upper"))
            ax.errorbar(x[i] + offset, mean, yerr=[[mean - lower], [upper - mean]], fmt="o", color=c, capsize=3,
                        label=f"{group} {prob:.0%} HDI" if i == 0 else None)
    ax.errorbar(x, table["measured"], yerr=1.96 * table["se"], fmt="D", color=TRUTH_COLOR, capsize=4,
                label="readout ± 1.96 se")
    ax.set_xticks(x, table["lift_test"], rotation=20, ha="right")
    ax.set_ylabel(f"incremental {unit}")
    ax.set_title("Lift tests: readouts and the lift the model predicts")
    ax.legend(fontsize=8)
    return fig
