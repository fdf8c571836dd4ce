"""A fit that misses a gate is sampled again with more tuning (more draws after slow mixing, smaller steps after
divergent transitions, other coordinates after slow mixing); the gates themselves never change."""

from pathlib import Path

import pytest

from mmmlab.bayes.sampling import attempts_record, until_gates_pass
from mmmlab.config import load_params
from mmmlab.config.fit import Geometry, SamplerSpec, fit_spec
from mmmlab.diagnostics import Gates
from mmmlab.stages.fit import rerun_words
from mmmlab.errors import UserInputError
from tests.test_diagnostics import trace

REPO = Path(__file__).parents[2]


class Runs:
    """A sampler that returns the prepared traces in turn and records the settings it was given."""

    def __init__(self, *traces):
        self.traces, self.settings = list(traces), []

    def __call__(self, sampler: SamplerSpec):
        self.settings.append(sampler)
        return self.traces[len(self.settings) - 1]


def test_a_fit_that_passes_is_not_run_again():
    runs = Runs(trace(), trace(shift_last_chain=3.0))
    kept, attempts = until_gates_pass(runs, SamplerSpec(reruns=3), Gates())
    assert kept is runs.traces[0] and len(attempts) == 1 and attempts[0].verdict.passed


def test_a_missed_gate_reruns_with_twice_the_draws_and_tuning_from_the_next_seed():
    runs = Runs(trace(shift_last_chain=3.0), trace())
    first = SamplerSpec(draws=1000, tune=300, random_seed=7, target_accept=0.9, reruns=1)
    kept, attempts = until_gates_pass(runs, first, Gates())
    assert kept is runs.traces[1] and [a.verdict.passed for a in attempts] == [False, True]
    again = runs.settings[1]
    assert (again.draws, again.tune, again.random_seed, again.target_accept) == (2000, 600, 8, 0.9)
    assert attempts[0].as_dict()["failed"] == ["max_r_hat", "min_ess_bulk", "min_ess_tail"]


def test_after_divergences_alone_the_rerun_takes_smaller_steps_in_the_same_coordinates_with_as_many_draws():
    runs = Runs(trace(divergent=2), trace())
    first = SamplerSpec(draws=1000, tune=300, random_seed=7, target_accept=0.9, reruns=1, geometry=Geometry.level)
    _, attempts = until_gates_pass(runs, first, Gates())
    assert attempts[0].as_dict()["failed"] == ["divergences"]  # R-hat and ESS passed: no slow mixing
    again = runs.settings[1]
    assert (again.draws, again.tune, again.random_seed) == (1000, 600, 8)  # more draws would meet more divergences
    assert again.target_accept == pytest.approx(0.95)
    assert again.geometry == Geometry.level


def test_after_divergences_and_slow_mixing_the_rerun_has_twice_the_draws_and_smaller_steps():
    runs = Runs(trace(shift_last_chain=3.0, divergent=2), trace())
    _, attempts = until_gates_pass(runs, SamplerSpec(draws=1000, tune=300, target_accept=0.9, reruns=1), Gates())
    assert "divergences" in attempts[0].as_dict()["failed"] and "min_ess_bulk" in attempts[0].as_dict()["failed"]
    assert (runs.settings[1].draws, runs.settings[1].tune) == (2000, 600)
    assert runs.settings[1].target_accept == pytest.approx(0.95)


@pytest.mark.parametrize("geometry, rerun_geometry, expected", [
    (Geometry.level, Geometry.means, Geometry.means),
    (Geometry.means, Geometry.level, Geometry.level),
    (Geometry.means, Geometry.means, Geometry.means),
    (Geometry.level, None, Geometry.level),
    (Geometry.plain, Geometry.means, Geometry.plain),  # pymc-marketing's own model has no other coordinates
])
@pytest.mark.parametrize("divergent", [0, 3])
def test_after_slow_mixing_the_rerun_samples_in_the_rerun_geometry(geometry, rerun_geometry, expected, divergent):
    runs = Runs(trace(shift_last_chain=3.0, divergent=divergent), trace())
    first = SamplerSpec(target_accept=0.9, reruns=1, geometry=geometry, rerun_geometry=rerun_geometry)
    _, attempts = until_gates_pass(runs, first, Gates())
    assert runs.settings[0].geometry == geometry and runs.settings[1].geometry == expected
    assert runs.settings[1].target_accept == pytest.approx(0.95 if divergent else 0.9)
    assert [a.as_dict()["geometry"] for a in attempts] == [geometry, expected]
    record = attempts_record(attempts)
    assert record["attempts"] == 2 and record["other_geometry"] == (0.0 if expected == geometry else 1.0)
    assert record["min_ess_bulk"] == attempts[1].verdict.metrics()["min_ess_bulk"]  # the kept run's gates


@pytest.mark.parametrize("geometry, rerun_geometry, expected", [
    (Geometry.level, Geometry.means, [Geometry.level, Geometry.means, Geometry.level]),
    (Geometry.means, Geometry.level, [Geometry.means, Geometry.level, Geometry.means]),
    (Geometry.level, None, [Geometry.level] * 3),
    (Geometry.plain, Geometry.means, [Geometry.plain] * 3),
])
def test_after_divergences_alone_in_the_rerun_geometry_the_next_run_returns_to_the_first(geometry, rerun_geometry,
                                                                                         expected):
    runs = Runs(trace(shift_last_chain=3.0), trace(divergent=2), trace())  # slow, then divergent only, then passes
    first = SamplerSpec(target_accept=0.9, reruns=2, geometry=geometry, rerun_geometry=rerun_geometry)
    _, attempts = until_gates_pass(runs, first, Gates())
    assert [s.geometry for s in runs.settings] == expected
    assert [s.target_accept for s in runs.settings] == pytest.approx([0.9, 0.9, 0.95])
    assert attempts_record(attempts)["other_geometry"] == 0.0  # the kept run sampled where the first did


@pytest.mark.parametrize("geometry, rerun_geometry, expected", [
    (Geometry.level, Geometry.means, [Geometry.level, Geometry.means, Geometry.level, Geometry.level]),
    (Geometry.means, Geometry.level, [Geometry.means, Geometry.level, Geometry.means, Geometry.means]),
    (Geometry.level, None, [Geometry.level] * 4),
])
def test_after_slow_mixing_a_rerun_avoids_coordinates_that_diverged_in_this_fit(geometry, rerun_geometry, expected):
    runs = Runs(trace(shift_last_chain=3.0), trace(divergent=2), trace(shift_last_chain=3.0), trace())
    first = SamplerSpec(draws=100, target_accept=0.9, reruns=3, geometry=geometry, rerun_geometry=rerun_geometry)
    kept, attempts = until_gates_pass(runs, first, Gates())
    assert [s.geometry for s in runs.settings] == expected  # slow, divergent only, slow again: stays, more draws
    assert [s.draws for s in runs.settings] == [100, 200, 200, 400]  # divergent only: as many draws
    assert [s.target_accept for s in runs.settings] == pytest.approx([0.9, 0.9, 0.95, 0.95])
    assert kept is runs.traces[3] and attempts[-1].verdict.passed


def test_slow_and_divergent_in_the_rerun_geometry_sends_the_next_run_back_to_the_first():
    runs = Runs(trace(shift_last_chain=3.0), trace(shift_last_chain=3.0, divergent=2), trace())
    first = SamplerSpec(target_accept=0.9, reruns=2, geometry=Geometry.level, rerun_geometry=Geometry.means)
    _, attempts = until_gates_pass(runs, first, Gates())
    assert attempts[1].as_dict()["failed"] == ["max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences"]
    assert [s.geometry for s in runs.settings] == [Geometry.level, Geometry.means, Geometry.level]


def test_reruns_stop_at_the_limit_and_the_last_trace_is_kept_with_its_failure():
    runs = Runs(*(trace(shift_last_chain=3.0, seed=i) for i in range(3)))
    kept, attempts = until_gates_pass(runs, SamplerSpec(draws=100, reruns=2), Gates())
    assert [s.draws for s in runs.settings] == [100, 200, 400]
    assert kept is runs.traces[2] and not attempts[-1].verdict.passed


def test_zero_reruns_never_reruns():
    runs = Runs(trace(divergent=1), trace())
    _, attempts = until_gates_pass(runs, SamplerSpec(reruns=0), Gates())
    assert len(attempts) == 1 and len(runs.settings) == 1


def test_reruns_come_from_params_and_are_validated(tmp_path):
    params = REPO / "params.yaml"
    assert fit_spec(load_params(params, ("fit.sampler.reruns=3",))).sampler.reruns == 3
    with pytest.raises(UserInputError, match=r"fit\.sampler\.reruns"):
        fit_spec(load_params(params, ("fit.sampler.reruns=-1",)))


@pytest.mark.parametrize("value, expected", [("means", Geometry.means), ("level", Geometry.level), ("null", None)])
def test_the_rerun_geometry_comes_from_params(value, expected):
    params = load_params(REPO / "params.yaml", (f"fit.sampler.rerun_geometry={value}",))
    assert fit_spec(params).sampler.rerun_geometry == expected


@pytest.mark.parametrize("value", ["plain", "curved", "[level]"])
def test_a_rerun_geometry_that_is_not_a_level_geometry_is_refused_by_key(value):
    params = load_params(REPO / "params.yaml", (f"fit.sampler.rerun_geometry={value}",))
    with pytest.raises(UserInputError, match=r"^fit\.sampler\.rerun_geometry: .* is not one of level, means, null"):
        fit_spec(params)


def test_the_fit_summary_says_what_each_rerun_changed():
    runs = Runs(trace(divergent=2), trace(shift_last_chain=3.0), trace())
    first = SamplerSpec(draws=100, target_accept=0.9, reruns=2, geometry=Geometry.level, rerun_geometry=Geometry.means)
    _, attempts = until_gates_pass(runs, first, Gates())
    assert rerun_words(attempts) == [
        "sampling run 1 (100 draws, target_accept 0.9, level coordinates) missed divergences: sampled again with "
        "as many draws and target_accept 0.95",
        "sampling run 2 (100 draws, target_accept 0.95, level coordinates) missed max_r_hat, min_ess_bulk, "
        "min_ess_tail: sampled again with twice the draws and in the means coordinates",
    ]
