"""`mmmlab optimize` on a real (tiny) fit: allocations within budget and bounds, judged against the true optimum."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mmmlab.budget.recommend import plan_for, true_curves
from mmmlab.cli import main
from mmmlab.config import load_params
from mmmlab.config.optimize import optimize_spec
from mmmlab.evaluation import load_truth
from mmmlab.stages import fit, generate

TINY = ("fit.sampler.chains=2", "fit.sampler.draws=150", "fit.sampler.tune=150", "fit.sampler.reruns=0",
        "fit.sampler.progressbar=false", "fit.sampler.prior_samples=100", "generate.seed=369")


@pytest.mark.slow
def test_allocations_respect_budget_and_bounds_and_regret_is_computed_from_the_truth(project):
    params = load_params(project / "params.yaml", TINY)
    generate.run(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit.run(params)
    result = CliRunner().invoke(main, ["optimize", "--set", "optimize.max_draws=200",
                                       "--set", "optimize.pymc_marketing=true"])
    assert result.exit_code == 0, result.output
    assert "regret" in result.output and "P(gain > 0)" in result.output
    page = (project / "reports/optimize/index.html").read_text()
    assert "Against the truth" in page and "regret" in page and page.count("<img") == 2
    assert "BudgetOptimizer computes it" in page

    table = pd.read_csv(project / "reports/optimize/tables/allocation.csv")
    metrics = json.loads((project / "reports/optimize/metrics.json").read_text())
    data = pd.read_csv(project / "data/mmm_data.csv")
    current = np.array([data[f"{c}_Spend"].tail(12).mean() for c in table["channel"]])  # the last year's mean
    np.testing.assert_allclose(table["current"], current)
    assert metrics["budget"] == pytest.approx(current.sum())
    peers = ("pymc_marketing_mean", "pymc_marketing_cvar")
    for column in ("mean", "cvar", *peers, "true_optimum"):
        assert table[column].sum() == pytest.approx(current.sum(), rel=1e-6)
        assert (table[column] >= 0.5 * current - 1e-6).all() and (table[column] <= 1.5 * current + 1e-6).all()

    # regret by hand from the true curves: (optimum - recommended) / (optimum - current)
    truth = load_truth(project / "data/truth.json")
    spec = optimize_spec(params)
    spend = data[[f"{c}_Spend" for c in table["channel"]]].to_numpy(float)
    curves = true_curves(truth, list(table["channel"]), spend, spec)
    true = {column: curves.incremental(table[column].to_numpy())[0]
            for column in ("current", "mean", *peers, "true_optimum")}
    assert metrics["truth.optimum_sales"] == pytest.approx(true["true_optimum"], rel=1e-9)
    assert metrics["truth.current_sales"] == pytest.approx(true["current"], rel=1e-9)
    for column in ("mean", *peers):  # pymc-marketing's allocations are judged exactly as the lab's
        expected = (true["true_optimum"] - true[column]) / (true["true_optimum"] - true["current"])
        assert metrics[f"{column}.truth.regret"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert true["true_optimum"] >= true[column] - 1e-6 * true["current"]  # nothing beats the true optimum
    assert plan_for(pd.DataFrame(spend, columns=table["channel"]), 12, spec).budget == pytest.approx(current.sum())


def test_without_a_trace_it_says_what_to_run(project):
    result = CliRunner().invoke(main, ["optimize"])
    assert result.exit_code == 2 and result.stderr.strip() == "error: models/mmm_fit.nc: no fitted trace; run `mmmlab fit` first"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("optimize.bounds", "[1.2, 1.5]", "optimize.bounds: expected [low, high]"),
    ("optimize.horizon", "0", "optimize.horizon: "),
    ("optimize.risk_quantile", "1", "optimize.risk_quantile: "),
])
def test_bad_settings_are_one_line_errors(project, key, value, message):
    result = CliRunner().invoke(main, ["optimize", "--set", f"{key}={value}"])
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {message}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
