"""One source of every default: a key left out of params.yaml means the value params.yaml ships.

Deleting a key either leaves every stage's spec as it was or is an error naming the key; it never
silently changes a setting (as fit.sampler.draws once did: 1000 in the code, 2000 in params.yaml).
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import yaml

from mmmlab.config import (
    calibrate_spec,
    check_spec,
    data_spec,
    experiment_name,
    fit_spec,
    load_params,
    recovery_spec,
    report_settings,
    simulation_spec,
)
from mmmlab.errors import UserInputError

BUILDERS = {
    "simulation": simulation_spec, "data": data_spec, "check": check_spec, "recover": recovery_spec,
    "fit": fit_spec, "report": report_settings, "tracking": experiment_name, "calibrate": calibrate_spec,
}

# every key with a default, by hand from the design (issue 13): the rest stay required
DEFAULTED = [
    "tracking.experiment",
    "generate.preset", "generate.spend.round_to", "generate.noise.round_to",
    "data.channels", "data.experiments.none", "data.encoding", "data.separator", "data.date_format",
    "check.pulse_periods", "check.reference_decays",
    "recover.uncertainty", "recover.level", "recover.residuals", "recover.nonnegative_effects",
    "recover.baseline.form", "recover.baseline.levels", "recover.baseline.multipliers", "recover.baseline.trend",
    "recover.baseline.fourier", "recover.experiments.effect",
    "recover.bounds.decay", "recover.bounds.gamma", "recover.bounds.k_relative", "recover.bounds.growth",
    "recover.bounds.multiplier", "recover.search.starts", "recover.search.screen", "recover.search.seed",
    "recover.bootstrap.draws", "recover.bootstrap.starts", "recover.bootstrap.workers",
    "recover.verdicts.decay_width", "recover.verdicts.ratio", "recover.verdicts.unidentified_share",
    "fit.model.adstock.l_max", "fit.model.adstock.normalize", "fit.model.saturation",
    "fit.model.yearly_seasonality", "fit.model.trend", "fit.model.controls", "fit.model.experiments.effect",
    "fit.sampler.name", "fit.sampler.chains", "fit.sampler.draws", "fit.sampler.tune", "fit.sampler.target_accept",
    "fit.sampler.random_seed", "fit.sampler.progressbar", "fit.sampler.low_rank", "fit.sampler.prior_samples",
    "fit.gates.r_hat_max", "fit.gates.ess_bulk_min", "fit.gates.ess_tail_min", "fit.gates.divergences_max",
    "fit.gates.bfmi_min", "fit.strict", "fit.hdi_prob", "fit.prior_dominated_below",
    "report.key_parameters", "report.curve_points", "report.max_curve_draws", "report.spend_range", "report.seed",
    "calibrate.study", "calibrate.cluster.address", "calibrate.cluster.workers",
    "calibrate.studies.sbc_default.seed", "calibrate.studies.sbc_default.ranks_draws",
    "calibrate.studies.coverage_default.seed", "calibrate.studies.coverage_default.methods",
    "calibrate.studies.coverage_default.levels",
]

# keys without a sensible default: they describe the user's data or the modeller's choices
REQUIRED = [
    "data.path", "data.truth", "data.date", "data.target", "data.controls", "data.experiments.column",
    "generate.seed", "generate.events", "generate.channels.TV.seasonality", "generate.economy.initial.Growth",
    "generate.economy.transition.Stable.Declining", "fit.priors.intercept", "fit.priors.hill.slope",
    "calibrate.studies.sbc_default.kind", "calibrate.studies.sbc_default.fits", "calibrate.studies.sbc_default.sampler",
    "calibrate.studies.sbc_default.design.seed", "calibrate.studies.coverage_default.vary",
]


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def full() -> dict:
    return load_params(REPO / "params.yaml")


@pytest.fixture(scope="module")
def shipped(full) -> list[dict]:
    """params.yaml as the workspace has it and, when git holds another version, as last committed.

    The defaults equal the values of the file the repository ships: `dvc exp run -S key=value` rewrites the
    workspace's copy (the committed one is then the shipped one), while a change being made to a default and to
    params.yaml together is in the workspace's copy only. A test passes when either copy agrees with the code.
    """
    try:
        committed = subprocess.run(["git", "show", "HEAD:params.yaml"], cwd=REPO, capture_output=True, text=True,
                                   check=False)
    except OSError:  # no git
        return [full]
    if committed.returncode != 0:  # not a git checkout
        return [full]
    head = yaml.safe_load(committed.stdout)
    return [full] if head == full else [full, head]


def _specs(params: dict) -> dict:
    return {name: build(params) for name, build in BUILDERS.items()}


def _delete(params: dict, key: str) -> dict:
    raw = copy.deepcopy(params)
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node[part]
    del node[leaf]
    return raw


def _prune(tree):
    """Drop mappings left empty (a section whose every key has a default may go too)."""
    if not isinstance(tree, dict):
        return tree
    pruned = {k: _prune(v) for k, v in tree.items()}
    return {k: v for k, v in pruned.items() if not (isinstance(v, dict) and not v)}


def _without_defaulted(params: dict) -> dict:
    reduced = params
    for key in DEFAULTED:
        reduced = _delete(reduced, key)
    return _prune(reduced)


def test_every_defaulted_key_removed_yields_the_same_specs(shipped):
    reduced = [_without_defaulted(params) for params in shipped]
    for params in reduced:
        assert "check" not in params and "report" not in params and "tracking" not in params  # whole sections gone
    assert any(_specs(r) == _specs(params) for r, params in zip(reduced, shipped))


def test_the_defaults_are_params_yaml_values(full):
    reduced = full
    for key in DEFAULTED:
        reduced = _delete(reduced, key)
    fit = fit_spec(reduced)
    # the values params.yaml ships (read by hand from the file)
    assert (fit.sampler.draws, fit.sampler.tune, fit.sampler.target_accept, fit.sampler.low_rank) == (2000, 500, 0.98, True)
    assert (fit.sampler.name, fit.sampler.chains, fit.sampler.random_seed) == ("nutpie", 4, 123)
    assert fit.hdi_prob == 0.94 and fit.strict is False and fit.model.saturation == "hill"
    assert check_spec(reduced).pulse_periods == 24
    settings, seed = report_settings(reduced)
    assert (settings.hdi_prob, settings.curve_points, settings.max_curve_draws, settings.spend_range, seed) == (0.94, 120, 1000, 1.5, 0)
    sim = simulation_spec(reduced)
    assert (sim.spend.round_to, sim.sales_round_to, sim.preset) == (1, 1000, None)
    assert experiment_name(reduced) == "mmm-lab"


@pytest.mark.parametrize("key", REQUIRED)
def test_a_required_key_left_out_is_named(full, key):
    raw = _delete(full, key)
    with pytest.raises(UserInputError) as info:
        _specs(raw)
    assert str(info.value) == f"{key}: missing"


def _leaves(tree, prefix=""):
    """Dotted keys of params.yaml's values; a prior mapping ({distribution: ...}), a study's ``vary`` and an arm's
    ``generate`` (sets of entries the user lists, like a list) and a list are one value."""
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        overrides = key == "generate" and path.startswith("calibrate.")  # a study's or arm's simulator overrides
        if isinstance(value, dict) and value and "distribution" not in value and key != "vary" and not overrides:
            yield from _leaves(value, path)
        else:
            yield path


def _silently_changed(params: dict) -> list[str]:
    before = _specs(params)
    changed = []
    for key in _leaves(params):
        try:
            after = _specs(_delete(params, key))
        except UserInputError as exc:
            assert "\n" not in str(exc)
            continue
        if after != before:
            changed.append(key)
    return changed


def test_no_key_deleted_alone_silently_changes_a_spec(shipped):
    """Each key of params.yaml deleted on its own: the same specs, or a one-line error."""
    changed = [_silently_changed(params) for params in shipped]
    assert [] in changed, changed[0]
