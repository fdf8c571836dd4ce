"""Figures of the budget allocation: allocations side by side, and response curves with the chosen points."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mmmlab.plots.data_check import channel_color


def allocations(channels, columns: dict[str, np.ndarray], unit: str) -> Figure:
    """Spend per period per channel under each allocation (current, recommended ones, the true optimum)."""
    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(channels))
    width = 0.8 / len(columns)
    for i, (name, spend) in enumerate(columns.items()):
        ax.bar(x + (i - (len(columns) - 1) / 2) * width, spend, width, label=name)
    ax.set_xticks(x, channels)
    ax.set_ylabel(f"spend per period ({unit})")
    ax.set_title("Allocation of the budget per period")
    ax.legend(fontsize=8)
    return fig


def response_curves(channels, spend_grid: np.ndarray, mean: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                    points: dict[str, np.ndarray], prob: float, truth: np.ndarray | None = None) -> Figure:
    """Per channel: incremental sales over the horizon against spend per period (posterior mean, HDI band,
    the truth dashed when known), with each allocation's spend marked.

    ``spend_grid`` (points, channels); ``mean``, ``lower``, ``upper`` and ``truth`` the same shape.
    """
    n = len(channels)
    fig = Figure(figsize=(3.4 * n, 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n))
    markers = dict(zip(points, "osD^vPX*h"))
    for j, (ax, channel) in enumerate(zip(axes, channels)):
        color = channel_color(j)
        ax.fill_between(spend_grid[:, j], lower[:, j], upper[:, j], color=color, alpha=0.25, label=f"{prob:.0%} HDI")
        ax.plot(spend_grid[:, j], mean[:, j], color=color, label="posterior mean")
        if truth is not None:
            ax.plot(spend_grid[:, j], truth[:, j], color="black", linestyle="--", label="truth")
        for name, spend in points.items():
            ax.axvline(spend[j], color="0.3", linestyle=":", linewidth=0.8)
            ax.plot([spend[j]], [np.interp(spend[j], spend_grid[:, j], mean[:, j])], markers[name], color="0.2",
                    label=name)
        ax.set_title(channel)
        ax.set_xlabel("spend per period")
    axes[0].set_ylabel("incremental sales over the horizon")
    axes[0].legend(fontsize=7)
    return fig
