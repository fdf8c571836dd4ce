"""The optimize page's verdict: green when moving money is supported, amber when not, red when the truth says a
supported recommendation sells less than the current allocation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mmmlab.budget.page import build
from mmmlab.budget.recommend import Plan
from mmmlab.config.optimize import OptimizeSpec

PLAN = Plan(("TV", "Radio"), 200.0, np.array([100.0, 100.0]), np.array([50.0, 50.0]), np.array([150.0, 150.0]))


def _recommended(gain_lower: float) -> dict:
    one = {"allocation": {"TV": 120.0, "Radio": 80.0}, "expected": 1000.0, "lower": 900.0, "upper": 1100.0,
           "gain": 50.0, "gain_lower": gain_lower, "gain_upper": 90.0, "p_gain_positive": 0.9,
           "supported": gain_lower > 0}
    return {"mean": one, "cvar": dict(one)}


def _judgement(true_gain: float) -> dict:
    per = {"true_sales": 950.0 + true_gain, "true_gain": true_gain, "promised_gain": 50.0,
           "over_promise": 50.0 - true_gain, "regret": (60.0 - true_gain) / 60.0}
    return {"optimum": {"allocation": {"TV": 130.0, "Radio": 70.0}, "true_sales": 1010.0}, "current_sales": 950.0,
            "mean": per, "cvar": dict(per)}


def _page(recommended, judgement):
    figures = {"allocation": Figure(), "response_curves": Figure()}
    return build(PLAN, OptimizeSpec(), recommended, judgement, 0.94, figures, pd.DataFrame({"channel": ["TV"]}), {})


@pytest.mark.parametrize(("gain_lower", "true_gain", "level"), [
    (10.0, None, "green"),    # supported, no truth
    (-10.0, None, "amber"),   # the gain's HDI includes zero
    (10.0, 20.0, "green"),    # supported and the truth gains
    (10.0, -5.0, "red"),      # supported, but the truth loses money against not moving
    (-10.0, -5.0, "amber"),   # not supported: the page already says not to move
])
def test_the_verdict_follows_support_and_the_true_gain(gain_lower, true_gain, level):
    report = _page(_recommended(gain_lower), None if true_gain is None else _judgement(true_gain))
    assert report.headline.level == level
    assert report.metrics["headline.level"] == ["green", "amber", "red"].index(level)
    assert ("do not support moving money" in report.headline.text) == (gain_lower <= 0)


def test_with_a_truth_the_page_states_the_regret_and_the_true_gain():
    report = _page(_recommended(10.0), _judgement(20.0))
    assert "loses 67% of the achievable gain" in report.headline.text  # (60 - 20) / 60
    assert "the truth gives 20" in report.headline.text
    assert [p.anchor for p in report.parts] == ["budget", "recommendations", "truth"]
    assert [p.anchor for p in _page(_recommended(10.0), None).parts] == ["budget", "recommendations"]
