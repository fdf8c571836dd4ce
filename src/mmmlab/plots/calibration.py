"""Figures of a calibration study: data in, matplotlib Figure out (never shown, never saved here)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mmmlab.calibration.ranks import BAND_PROB, Uniformity  # noqa: E402

COLUMNS = 4
INSIDE, OUTSIDE = "#4C72B0", "#C44E52"


def rank_ecdf_difference(checks: dict[str, Uniformity], title: str) -> Figure:
    """One panel per quantity: the ECDF of its ranks minus the uniform CDF, inside its simultaneous band.

    Parameters
    ----------
    checks : dict
        Quantity -> :class:`~mmmlab.calibration.ranks.Uniformity`.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(checks)
    rows = max(1, math.ceil(len(names) / COLUMNS))
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(3.2 * COLUMNS, 2.4 * rows), squeeze=False, sharex=True)
    for ax, name in zip(axes.flat, names):
        c = checks[name]
        ax.fill_between(c.points, c.lower - c.points, c.upper - c.points, color="0.85", step="post")
        ax.step(c.points, c.ecdf - c.points, where="post", color=INSIDE if c.inside else OUTSIDE, lw=1.2)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_title(name, fontsize=9, color="black" if c.inside else OUTSIDE)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("fractional rank", fontsize=8)
    fig.suptitle(f"{title}: ECDF of ranks minus uniform; grey: the band holding every quantity together "
                 f"{BAND_PROB:.0%} of the time (red: outside it)", fontsize=11)
    fig.tight_layout()
    return fig


def coverage_against_nominal(table: pd.DataFrame, title: str) -> Figure:
    """One panel per interval level: each quantity's coverage, its binomial band, and the nominal level.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`~mmmlab.calibration.coverage.coverage_table` rows of one method and subset.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    levels = sorted(table["level"].unique())
    quantities = list(dict.fromkeys(table["quantity"]))
    fig, axes = plt.subplots(1, len(levels), figsize=(4.2 * len(levels), 0.28 * len(quantities) + 1.6),
                             squeeze=False, sharey=True)
    for ax, level in zip(axes[0], levels):
        rows = table[table["level"] == level].set_index("quantity").loc[quantities]
        y = range(len(quantities))
        ax.hlines(y, rows["band_lower"], rows["band_upper"], color="0.75", lw=5, label="binomial 95% band")
        colors = [INSIDE if inside else OUTSIDE for inside in rows["inside"]]
        ax.scatter(rows["coverage"], y, color=colors, zorder=3, s=18, label="coverage")
        ax.axvline(level, color="0.3", lw=0.8, ls="--")
        ax.set_title(f"{level:.0%} intervals", fontsize=10)
        ax.set_xlim(0, 1.02)
        ax.set_yticks(list(y), quantities, fontsize=7)
        ax.set_xlabel("share of fits whose interval holds the truth", fontsize=8)
    axes[0][0].invert_yaxis()
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
