"""Unknown params keys are errors: one line naming the dotted key and the nearest valid one.

The expected suggestions are the keys as written in params.yaml, chosen by hand.
"""

from __future__ import annotations

import pytest
import yaml

from mmmlab import config
from mmmlab.config import load_params
from mmmlab.errors import UserInputError


def _error(repo_root, *overrides: str) -> str:
    params = load_params(repo_root / "params.yaml", overrides)
    with pytest.raises(UserInputError) as info:
        config.validate(params)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_repository_params_are_valid(repo_root):
    config.validate(load_params(repo_root / "params.yaml"))


@pytest.mark.parametrize("preset", ["identifiable"])
def test_repository_params_are_valid_with_each_preset(repo_root, preset):
    config.validate(load_params(repo_root / "params.yaml", (f"generate.preset={preset}",)))


TYPOS = [
    ("fit.sampler.drawz=2000", "fit.sampler.drawz", "fit.sampler.draws"),
    ("check.pulse_periodz=3", "check.pulse_periodz", "check.pulse_periods"),
    ("tracking.experimen=x", "tracking.experimen", "tracking.experiment"),
    ("data.targt=Sales", "data.targt", "data.target"),
    ("data.experiments.nonee=No", "data.experiments.nonee", "data.experiments.none"),
    ("generate.spend.volatilty=0.1", "generate.spend.volatilty", "generate.spend.volatility"),
    ("generate.channels.TV.dekay=0.5", "generate.channels.TV.dekay", "generate.channels.TV.decay"),
    ("generate.experiments.windows.0.response=1", "generate.experiments.windows.0.response",
     "generate.experiments.windows.0.response_rate"),
    ("generate.events.0.multiplyer=1", "generate.events.0.multiplyer", "generate.events.0.multiplier"),
    ("generate.economy.transition.Stabel={Stable: 1.0}", "generate.economy.transition.Stabel",
     "generate.economy.transition.Stable"),
    ("presets.identifiable.noise.sdd=0.1", "presets.identifiable.noise.sdd", "presets.identifiable.noise.sd"),
    ("recover.bounds.gama=[1, 2]", "recover.bounds.gama", "recover.bounds.gamma"),
    ("recover.search.startz=3", "recover.search.startz", "recover.search.starts"),
    ("fit.model.adstock.lmax=3", "fit.model.adstock.lmax", "fit.model.adstock.l_max"),
    ("fit.priors.intercep={distribution: HalfNormal, sigma: 1}", "fit.priors.intercep", "fit.priors.intercept"),
    # a prior of a saturation other than the chosen one (hill) is checked too
    ("fit.priors.logistic.lamb={distribution: Gamma, alpha: 2, beta: 2}", "fit.priors.logistic.lamb",
     "fit.priors.logistic.lam"),
    ("fit.gates.rhat_max=1.1", "fit.gates.rhat_max", "fit.gates.r_hat_max"),
    ("report.curve_point=50", "report.curve_point", "report.curve_points"),
    ("fitt.sampler.draws=10", "fitt", "fit"),
    # keys that moved: the hint names the new place
    ("report.hdi_prob=0.9", "report.hdi_prob", "fit.hdi_prob"),
    ("recover.experiments.column=Foo", "recover.experiments.column", "data.experiments.column"),
    ("recover.experiments.none=No", "recover.experiments.none", "data.experiments.none"),
    ("fit.model.experiments.column=Foo", "fit.model.experiments.column", "data.experiments.column"),
]


@pytest.mark.parametrize("override, key, nearest", TYPOS, ids=[t[1] for t in TYPOS])
def test_unknown_key_names_the_key_and_the_nearest_valid_one(repo_root, override, key, nearest):
    assert _error(repo_root, override) == f"{key}: unknown key (did you mean {nearest}?)"


def test_unknown_key_without_a_close_match_lists_the_known_ones(repo_root):
    message = _error(repo_root, "foo.bar=1")
    assert message == "foo: unknown key (known: calibrate, check, data, fit, generate, optimize, presets, recover, report, tracking)"


def test_unknown_key_in_the_file_is_an_error(repo_root, tmp_path):
    raw = yaml.safe_load((repo_root / "params.yaml").read_text())
    raw["fit"]["sampler"]["drawz"] = 2000
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(UserInputError, match=r"^fit\.sampler\.drawz: unknown key \(did you mean fit\.sampler\.draws\?\)$"):
        config.validate(load_params(path))


def test_a_bad_value_in_another_stages_section_is_found(repo_root):
    # validate builds every stage's spec, not only the running stage's
    assert _error(repo_root, "check.pulse_periods=0").startswith("check.pulse_periods: ")
    assert _error(repo_root, "fit.sampler.name=stan").startswith("fit.sampler.name: ")


def test_extra_list_items_stay_valid(repo_root):
    # an added event or window is data, not a key
    config.validate(load_params(repo_root / "params.yaml", (
        "generate.events=[{name: Sale, date: '06-01', multiplier: 1.1}]",
    )))


def test_a_bad_value_under_a_preset_names_the_preset(repo_root):
    # the key is generate's, but the value came from the preset: the message says which preset was merged
    message = _error(repo_root, "presets.identifiable.noise.sd=-1")
    assert message == "generate.noise.sd: -1 is outside [0, inf] (with generate.preset: identifiable)"
    message = _error(repo_root, "generate.preset=identifiable", "presets.identifiable.noise.sd=-1")
    assert message == "generate.noise.sd: -1 is outside [0, inf] (with generate.preset: identifiable)"
