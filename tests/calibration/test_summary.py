"""A study's records summarised: counts by hand, verdicts with and without the fits that failed a gate."""

from __future__ import annotations

import numpy as np
import pytest

from mmmlab.calibration.summary import (
    budget_table,
    coverage_records,
    coverage_tables,
    counts,
    informed_table,
    sbc_table,
    sbc_uniformity,
    srmse_table,
)
from mmmlab.plots.calibration import coverage_against_nominal, rank_ecdf_difference

L = 99


def _sbc_records(n=200, seed=2):
    """Ranks of a calibrated quantity ("good") and of one whose draws sit half an sd high ("shifted"); the fits
    that fail a gate (every fifth) are the ones where "gated" is off: their ranks are all 0."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        theta, y = rng.standard_normal(), 0.0
        y = theta + rng.standard_normal()
        good = y / 2 + np.sqrt(0.5) * rng.standard_normal(L)
        shifted = good + 0.5 * np.sqrt(0.5)
        passed = i % 5 != 0
        gated = good if passed else np.full(L, theta + 10)  # failed fits: the truth below every draw
        records.append({"index": i, "gates_passed": passed,
                        "ranks": {"good": int((good < theta).sum()), "shifted": int((shifted < theta).sum()),
                                  "gated": int((gated < theta).sum())}})
    return records + [{"index": n, "error": "RuntimeError: sampler crashed"}]


def test_counts_by_hand():
    records = [{"index": 0, "gates_passed": True}, {"index": 1, "gates_passed": False},
               {"index": 2, "gates_passed": True}, {"index": 3, "error": "ValueError: x"}]
    assert counts(records) == {"fits_done": 3, "fits_failed": 1, "gates_passed": 2, "gate_pass_rate": pytest.approx(2 / 3)}


def test_sbc_verdicts_with_and_without_the_failed_gates():
    records = _sbc_records()
    checks = sbc_uniformity(records, L)
    table = sbc_table(checks, records, L).set_index("quantity")
    assert table.loc["good", "fits"] == 200  # the failed fit is counted apart, never ranked
    assert table.loc["good", "verdict"] == "calibrated"
    assert table.loc["shifted", "verdict"].startswith("biased upwards")
    # the failed-gate fits alone spoil "gated"; without them it is calibrated
    assert table.loc["gated", "verdict"] != "calibrated"
    assert table.loc["gated", "verdict_gates_passed"] == "calibrated"
    fig = rank_ecdf_difference(checks["all fits"], "SBC")
    assert sum(ax.get_visible() for ax in fig.axes) == 3


def test_coverage_tables_per_method_and_subset():
    intervals = {"decay.TV": {"truth": 0.5, "estimate": 0.6, "error": 0.1, "hit_94": 1.0, "above_94": 0.0,
                              "width_94": 0.3}}
    missed = {"decay.TV": {"truth": 0.5, "estimate": 0.9, "error": 0.4, "hit_94": 0.0, "above_94": 0.0,
                           "width_94": 0.1}}
    records = [{"index": i, "gates_passed": i < 3, "intervals": {"fit": intervals if i < 3 else missed}}
               for i in range(5)]
    table = coverage_tables(coverage_records(records)).set_index("subset")
    assert table.loc["all fits", "coverage"] == pytest.approx(3 / 5)
    assert table.loc["gates passed", "coverage"] == pytest.approx(1.0)
    assert table.loc["all fits", "bias"] == pytest.approx((3 * 0.1 + 2 * 0.4) / 5)
    assert (table.loc["all fits", "truth_above"], table.loc["all fits", "truth_below"]) == (0, 2)
    fig = coverage_against_nominal(table.reset_index().query("subset == 'all fits'"), "coverage")
    assert len(fig.axes) == 1


def test_srmse_table_and_gates_per_method_by_hand():
    records = [
        {"index": 0, "gates_passed": False, "gates_by_method": {"fit: a": True, "fit: b": False},
         "intervals": {"fit: a": {"q": {"truth": 1.0}}, "fit: b": {"q": {"truth": 1.0}}},
         "srmse": {"fit: a": {"TV": 0.1}, "fit: b": {"TV": 0.4}}},
        {"index": 1, "gates_passed": True, "gates_by_method": {"fit: a": True, "fit: b": True},
         "intervals": {"fit: a": {"q": {"truth": 1.0}}, "fit: b": {"q": {"truth": 1.0}}},
         "srmse": {"fit: a": {"TV": 0.3}, "fit: b": {"TV": 0.2}}},
        {"index": 2, "error": "RuntimeError"},
    ]
    long = coverage_records(records).set_index(["index", "method"])
    assert long.loc[(0, "fit: a"), "gates_passed"] and not long.loc[(0, "fit: b"), "gates_passed"]
    table = srmse_table(records).set_index(["method", "channel"])
    assert table.loc[("fit: a", "TV")].to_dict() == pytest.approx({"fits": 2, "mean": 0.2, "median": 0.2, "largest": 0.3})
    assert table.loc[("fit: b", "TV"), "largest"] == pytest.approx(0.4)


def test_budget_table_by_hand():
    def fit(index, regret, true_gain, supported, over_promise=10.0):
        return {"index": index, "gates_passed": True,
                "budget": {"fit": {"mean": {"regret": regret, "true_gain": true_gain, "promised_gain": 5.0,
                                            "over_promise": over_promise, "supported": supported}}}}

    records = [fit(0, 0.0, 50.0, 1.0), fit(1, 0.04, 40.0, 1.0, 20.0), fit(2, 0.5, 20.0, 0.0),
               fit(3, 1.2, -5.0, 1.0), fit(4, 1.5, -8.0, 0.0), {"index": 5, "error": "died"}]
    row = budget_table(records).set_index(["method", "objective"]).loc[("fit", "mean")]
    assert row["fits"] == 5  # the failed fit is not summarised
    assert row["regret_median"] == pytest.approx(0.5)
    assert row["regret_q25"] == pytest.approx(0.04) and row["regret_q75"] == pytest.approx(1.2)
    assert row["regret_at_most_5pct"] == pytest.approx(2 / 5)  # 0.0 and 0.04
    assert row["over_promise_median"] == pytest.approx(10.0)
    assert row["loses"] == 2  # true gains -5 and -8
    assert row["claims_gain_but_loses"] == 1  # only index 3 was called supported
    assert budget_table([{"index": 0, "gates_passed": True}]).empty


def test_informed_table_by_hand():
    def fit(index, tv, radio):
        return {"index": index, "gates_passed": True,
                "intervals": {"fit": {"alpha (TV)": {"truth": 1.0, "contraction": tv},
                                      "alpha (Radio)": {"truth": 1.0, "contraction": radio},
                                      "contribution (TV)": {"truth": 9.0}}}}

    records = [fit(0, 0.9, 0.1), fit(1, 0.5, 0.49), fit(2, 0.2, -0.3), {"index": 3, "error": "died"}]
    table = informed_table(coverage_records(records), 0.5).set_index("quantity")
    assert list(table.index) == ["alpha (TV)", "alpha (Radio)"]  # totals carry no contraction
    assert table.loc["alpha (TV)", "fits"] == 3
    assert table.loc["alpha (TV)", "informed"] == pytest.approx(2 / 3)  # 0.9 and exactly 0.5 count
    assert table.loc["alpha (Radio)", "informed"] == pytest.approx(0.0)  # 0.49 does not
    assert table.loc["alpha (TV)", "contraction_median"] == pytest.approx(0.5)
    assert table.loc["alpha (Radio)", "contraction_median"] == pytest.approx(0.1)
    assert informed_table(coverage_records([fit(0, 0.9, 0.1)]).drop(columns="contraction"), 0.5).empty
