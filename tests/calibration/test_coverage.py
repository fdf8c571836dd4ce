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
    assert outside["hit_94"] == 0.0 and outside["error"] == pytest.approx(-0.7)
    below = interval_record(-0.1, DRAWS, levels=(0.94,))
    assert below["hit_94"] == 0.0


def test_the_binomial_band_is_the_central_95_percent_of_calibrated_counts():
    lower, upper = binomial_band(100, 0.94)
    assert (lower, upper) == (binom.ppf(0.025, 100, 0.94) / 100, binom.ppf(0.975, 100, 0.94) / 100)
    assert lower < 0.94 < upper


def _records(hits: list[float], truth=1.0, estimate=1.5) -> pd.DataFrame:
    return pd.DataFrame({"quantity": "decay.TV", "truth": truth, "estimate": estimate, "error": estimate - truth,
                         "hit_94": hits, "width_94": 0.2})


@pytest.mark.parametrize("hits, inside, verdict", [
    ([1.0] * 94 + [0.0] * 6, True, "calibrated: covers 94% at 94%"),
    ([1.0] * 71 + [0.0] * 29, False, "intervals too narrow: covers 71% at 94%"),
])
def test_coverage_against_its_band(hits, inside, verdict):
    row = coverage_table(_records(hits), levels=(0.94,)).iloc[0]
    assert row["fits"] == 100 and row["coverage"] == pytest.approx(sum(hits) / 100)
    assert bool(row["inside"]) is inside and row["verdict"] == verdict
    assert row["bias"] == pytest.approx(0.5) and row["relative_bias"] == pytest.approx(0.5)


def test_intervals_that_always_cover_at_50_percent_are_too_wide():
    records = _records([1.0] * 40).rename(columns={"hit_94": "hit_50", "width_94": "width_50"})
    row = coverage_table(records, levels=(0.5,)).iloc[0]
    assert not row["inside"] and row["verdict"] == "intervals too wide: covers 100% at 50%"
