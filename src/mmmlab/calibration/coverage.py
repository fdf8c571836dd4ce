"""Interval coverage over many fits: how often each interval holds the truth, against a binomial band.

One fit gives, per quantity and level, whether its interval holds the true value, the interval's
width and the error of its point estimate (:func:`interval_record`). Over ``n`` fits, a calibrated
``p`` interval holds the truth a Binomial(n, p) number of times; :func:`coverage_table` sets the
observed share against that band and says, in words, what it means: below the band, intervals
that miss on both sides are too narrow, and intervals that miss mostly on one side are biased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom, binomtest

from mmmlab.bayes.summaries import hdi

LEVELS = (0.5, 0.8, 0.94)
BAND_PROB = 0.95
SIDE_TEST = 0.05  # misses this lopsided or more (two-sided binomial test against half and half) mean a bias


def interval_record(truth: float, draws: np.ndarray, levels=LEVELS) -> dict[str, float]:
    """One quantity of one fit: the truth, the posterior mean's error and, per level, the HDI's width and hit.

    Parameters
    ----------
    truth : float
    draws : numpy.ndarray
        Posterior draws of the quantity (any shape; flattened).
    levels : sequence of float

    Returns
    -------
    dict
        ``truth``, ``estimate`` (posterior mean), ``error`` (estimate - truth), and per level ``p``
        (as a percentage, e.g. 94) the fields of :func:`interval_fields`.
    """
    flat = np.asarray(draws, dtype=float).reshape(-1)
    estimate = float(flat.mean())
    out = {"truth": float(truth), "estimate": estimate, "error": estimate - float(truth)}
    for level in levels:
        out |= interval_fields(truth, *hdi(flat, level), level_tag(level))
    return out


def interval_fields(truth: float, lower: float, upper: float, tag: str) -> dict[str, float]:
    """Whether one interval holds the truth: ``hit_<tag>`` (1.0 when ``lower <= truth <= upper``),
    ``above_<tag>`` (1.0 when the truth lies above it) and ``width_<tag>``."""
    return {f"hit_{tag}": float(lower <= truth <= upper), f"above_{tag}": float(truth > upper),
            f"width_{tag}": float(upper - lower)}


def level_tag(level: float) -> str:
    """``0.94`` -> ``"94"``: the column suffix of a level."""
    return f"{round(level * 100):d}"


def binomial_band(n: int, level: float, prob: float = BAND_PROB) -> tuple[float, float]:
    """The central ``prob`` range of the share of ``n`` calibrated ``level`` intervals that hold the truth."""
    tail = (1 - prob) / 2
    return float(binom.ppf(tail, n, level) / n), float(binom.ppf(1 - tail, n, level) / n)


def coverage_table(records: pd.DataFrame, levels=LEVELS) -> pd.DataFrame:
    """Coverage per quantity and level against the binomial band, with bias and width.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per fit and quantity, with a ``quantity`` column and the columns of
        :func:`interval_record`.
    levels : sequence of float

    Returns
    -------
    pandas.DataFrame
        One row per quantity and level: ``fits``, ``coverage``, ``band_lower``, ``band_upper``,
        ``inside`` (the coverage lies in the band), ``truth_above`` and ``truth_below`` (misses with
        the truth above / below the interval), ``mean_width``, ``bias`` (mean error),
        ``relative_bias`` (mean error over the mean |truth|) and ``verdict`` in words.
    """
    rows = []
    for quantity, group in records.groupby("quantity", sort=False):
        scale = float(np.abs(group["truth"]).mean())
        bias = float(group["error"].mean())
        for level in levels:
            tag = level_tag(level)
            n = len(group)
            coverage = float(group[f"hit_{tag}"].mean())
            lower, upper = binomial_band(n, level)
            missed = group[f"hit_{tag}"] == 0
            above = int((missed & (group[f"above_{tag}"] == 1)).sum())
            below = int(missed.sum()) - above
            rows.append({
                "quantity": quantity, "level": level, "fits": n, "coverage": coverage,
                "band_lower": lower, "band_upper": upper, "inside": lower <= coverage <= upper,
                "truth_above": above, "truth_below": below,
                "mean_width": float(group[f"width_{tag}"].mean()), "bias": bias,
                "relative_bias": bias / scale if scale > 0 else np.nan,
                "verdict": coverage_words(coverage, level, lower, upper, above, below),
            })
    return pd.DataFrame(rows)


def coverage_words(coverage: float, level: float, lower: float, upper: float, above: int, below: int) -> str:
    """``calibrated`` inside the band; else which way the intervals miss, with the numbers.

    Below the band, misses with the truth mostly on one side (``above`` against ``below``, a two-sided
    binomial test at :data:`SIDE_TEST`) say the posterior is biased; misses on both sides, too narrow.
    """
    said = f"covers {coverage:.0%} at {level:.0%}"
    if coverage < lower:
        if above + below and binomtest(above, above + below).pvalue < SIDE_TEST:
            way, side, count = ("downwards", "above", above) if above > below else ("upwards", "below", below)
            return f"biased {way}: {said}, the truth {side} the interval in {count} of {above + below} misses"
        return f"intervals too narrow: {said}"
    if coverage > upper:
        return f"intervals too wide: {said}"
    return f"calibrated: {said}"
