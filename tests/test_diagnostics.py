"""Convergence gates on synthetic draws whose convergence is known by construction."""

import numpy as np
import pytest
import xarray as xr

from mmmlab.config import Section
from mmmlab.config.fit import gates_spec
from mmmlab.diagnostics import Gates, check_convergence, parameter_summary
from mmmlab.errors import UserInputError


def trace(shift_last_chain=0.0, divergent=0, energy_sd=1.0, seed=0, without=()):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(4, 500))
    a[3] += shift_last_chain
    posterior = xr.Dataset(
        {
            "a": (("chain", "draw"), a),
            "b": (("chain", "draw", "channel"), rng.normal(size=(4, 500, 2))),
            "mu": (("chain", "draw", "date"), rng.normal(size=(4, 500, 3)) + 100),  # per-date: ignored
        },
        coords={"channel": ["TV", "Radio"]},
    )
    diverging = np.zeros((4, 500), bool)
    diverging.flat[:divergent] = True
    # energy as a random walk with tiny steps -> low BFMI; iid draws -> high BFMI
    steps = rng.normal(size=(4, 500))
    energy = np.cumsum(steps, axis=1) if energy_sd == 0 else steps * energy_sd
    stats = xr.Dataset({"diverging": (("chain", "draw"), diverging), "energy": (("chain", "draw"), energy)})
    stats = stats.drop_vars(list(without))  # a sampler that records fewer statistics
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def test_well_mixed_draws_pass_every_gate():
    verdict = check_convergence(trace(), Gates())
    assert verdict.passed, verdict.plain_words()
    assert verdict.metrics()["divergences"] == 0


def test_a_stuck_chain_fails_r_hat_and_ess():
    verdict = check_convergence(trace(shift_last_chain=3.0), Gates())
    failed = {c.name for c in verdict.checks if not c.passed}
    assert {"max_r_hat", "min_ess_bulk"} <= failed
    assert "FAILED" in verdict.plain_words()


def test_divergences_fail_the_gate_and_are_counted():
    verdict = check_convergence(trace(divergent=3), Gates())
    assert not verdict.passed
    assert verdict.metrics()["divergences"] == 3


def test_low_bfmi_fails():
    verdict = check_convergence(trace(energy_sd=0), Gates())
    bfmi = _check(verdict, "min_bfmi")
    assert bfmi.value < 0.3 and not bfmi.passed


def _check(verdict, name):
    return next(c for c in verdict.checks if c.name == name)


@pytest.mark.parametrize(("statistic", "gate"), [("diverging", "divergences"), ("energy", "min_bfmi")])
def test_a_missing_statistic_fails_its_gate_and_says_so(statistic, gate):
    """No divergence record is not zero divergences: a gate that cannot be checked fails, and says why."""
    verdict = check_convergence(trace(without=(statistic,)), Gates())
    check = _check(verdict, gate)
    assert not check.passed and not verdict.passed
    assert "missing" in check.sentence(), check.sentence()
    others = [c for c in verdict.checks if c.name != gate]
    assert all(c.passed for c in others) and all("missing" not in c.sentence() for c in others)


def test_per_date_variables_are_not_structural():
    table = parameter_summary(trace())
    assert set(table.index) == {"a", "b[TV]", "b[Radio]"}


def test_thresholds_come_from_params_and_are_validated():
    gates = gates_spec(Section({"r_hat_max": 1.05, "ess_bulk_min": 100}, "fit.gates"))
    assert gates.r_hat_max == 1.05 and gates.ess_bulk_min == 100 and gates.ess_tail_min == 400
    with pytest.raises(UserInputError, match="fit.gates.r_hat_max"):
        gates_spec(Section({"r_hat_max": 0.5}, "fit.gates"))


def test_summary_is_not_rounded():
    import arviz as az

    idata = trace(shift_last_chain=0.37)
    table = parameter_summary(idata)
    exact = float(az.rhat(idata["posterior"].to_dataset()[["a"]])["a"])
    assert table.loc["a", "r_hat"] == pytest.approx(exact, rel=1e-12)
