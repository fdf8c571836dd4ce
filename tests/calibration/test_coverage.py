"""Coverage over fits: hand-counted hits, the binomial band and the words; each comparison can fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from mmmlab.calibration.coverage import binomial_band, coverage_table, interval_record

DRAWS = np.linspace(0.0, 1.0, 1001)  # uniform on [0, 1]: the 50% HDI is about [x, x + 0.5]


def test_an_interval_record_by_hand():
    inside = interval_record(0.5, DRAWS, levels=(0.94,))
    assert inside["hit_94"] == 1.0 and inside["width_94"] == pytest.approx(0.94, abs=0.002)
    assert inside["estimate"] == pytest.approx(0.5) and inside["error"] == pytest.approx(0.0)
    outside = interval_record(1.2, DRAWS, levels=(0.94,))
    assert outside["hit_94"] == 0.0 and outside["above_94"] == 1.0 and outside["error"] == pytest.approx(-0.7)
    below = interval_record(-0.1, DRAWS, levels=(0.94,))
    assert below["hit_94"] == 0.0 and below["above_94"] == 0.0 and inside["above_94"] == 0.0


def test_which_side_a_miss_is_on_comes_from_the_interval_not_from_the_mean():
    skewed = np.concatenate([np.zeros(900), np.linspace(0.0, 10.0, 100)])  # mean 0.5, the 50% HDI at 0
    record = interval_record(0.3, skewed, levels=(0.5,))
    assert record["hit_50"] == 0.0 and record["above_50"] == 1.0 and record["error"] > 0


def test_the_binomial_band_is_the_central_95_percent_of_calibrated_counts():
    lower, upper = binomial_band(100, 0.94)
    assert (lower, upper) == (binom.ppf(0.025, 100, 0.94) / 100, binom.ppf(0.975, 100, 0.94) / 100)
    assert lower < 0.94 < upper


def _records(hits: list[float], truth=1.0, estimate=1.5, above=0.0) -> pd.DataFrame:
    return pd.DataFrame({"quantity": "decay.TV", "truth": truth, "estimate": estimate, "error": estimate - truth,
                         "hit_94": hits, "above_94": above, "width_94": 0.2})


def _misses(hits: int, above: int, below: int) -> pd.DataFrame:
    """100 fits of truth 1.0: ``hits`` intervals hold it (marked ``above``, which a hit must not count),
    ``above`` miss with the truth above the interval and ``below`` with it below; every estimate 1.2."""
    return _records([1.0] * hits + [0.0] * (above + below), estimate=1.2,
                    above=np.array([1.0] * (hits + above) + [0.0] * below))


@pytest.mark.parametrize("hits, inside, verdict", [
    ([1.0] * 94 + [0.0] * 6, True, "calibrated: covers 94% at 94%"),
    ([1.0] * 71 + [0.0] * 29, False,
     "biased upwards: covers 71% at 94%, the truth below the interval in 29 of 29 misses"),
])
def test_coverage_against_its_band(hits, inside, verdict):
    row = coverage_table(_records(hits), levels=(0.94,)).iloc[0]
    assert row["fits"] == 100 and row["coverage"] == pytest.approx(sum(hits) / 100)
    assert bool(row["inside"]) is inside and row["verdict"] == verdict
    assert row["bias"] == pytest.approx(0.5) and row["relative_bias"] == pytest.approx(0.5)


@pytest.mark.parametrize("hits, above, below, verdict", [
    # misses 15 to 14: two-sided binomial p about 1, the intervals miss on both sides
    (71, 15, 14, "intervals too narrow: covers 71% at 94%"),
    (85, 15, 0, "biased downwards: covers 85% at 94%, the truth above the interval in 15 of 15 misses"),
    # 12 of 15 on one side: p = 2 (C(15,12) + C(15,13) + C(15,14) + 1) / 2^15 = 0.035
    (85, 3, 12, "biased upwards: covers 85% at 94%, the truth below the interval in 12 of 15 misses"),
    # 11 of 15: p = 2 (1365 + 455 + 105 + 15 + 1) / 2^15 = 0.118, no evidence of a side
    (85, 11, 4, "intervals too narrow: covers 85% at 94%"),
])
def test_below_the_band_misses_on_one_side_are_a_bias_on_both_sides_too_narrow(hits, above, below, verdict):
    row = coverage_table(_misses(hits, above, below), levels=(0.94,)).iloc[0]
    assert (row["truth_above"], row["truth_below"]) == (above, below)
    assert not row["inside"] and row["verdict"] == verdict


def test_intervals_that_always_cover_at_50_percent_are_too_wide():
    records = _records([1.0] * 40).rename(columns={"hit_94": "hit_50", "above_94": "above_50", "width_94": "width_50"})
    row = coverage_table(records, levels=(0.5,)).iloc[0]
    assert not row["inside"] and row["verdict"] == "intervals too wide: covers 100% at 50%"
