"""params.yaml -> validated specs: good values accepted, bad ones named by their dotted key."""

from __future__ import annotations

import copy

import pytest

from mmmlab.config import (
    data_spec,
    flatten,
    generate_section,
    load_params,
    set_key,
    simulation_spec,
)
from mmmlab.errors import UserInputError


@pytest.fixture
def params(repo_root) -> dict:
    return load_params(repo_root / "params.yaml")


def _error(params: dict, *overrides: str, build=simulation_spec) -> str:
    raw = copy.deepcopy(params)
    for item in overrides:
        set_key(raw, item)
    with pytest.raises(UserInputError) as info:
        build(raw)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_repository_params_are_valid(params):
    """Whatever values the workspace's params.yaml holds (`dvc exp run -S` changes them), they build a spec that
    carries them over: values are compared with the file, never with the shipped ones."""
    section = generate_section(params)  # with its preset merged, as the simulator sees it
    spec = simulation_spec(params)
    assert spec.channel_names == tuple(section["channels"])
    assert (spec.freq, spec.seed) == (section["freq"], section["seed"])
    for channel in spec.channels:
        raw = section["channels"][channel.name]
        for key in ("base_spend", "growth", "decay", "alpha", "gamma", "k"):
            assert getattr(channel, key) == raw[key], (channel.name, key)
        assert list(channel.seasonality) == raw["seasonality"]
    experiments = section["experiments"]
    assert (spec.experiments.realism, spec.experiments.spend_multiplier) == (experiments["realism"],
                                                                             experiments["spend_multiplier"])
    assert [w.channel for w in spec.experiments.windows] == [w["channel"] for w in experiments["windows"]]
    assert spec.economy.states == tuple(section["economy"]["index"])
    assert spec.economy.index == tuple(section["economy"]["index"].values())
    assert [(e.name, e.date) for e in spec.events] == [(e["name"], e["date"]) for e in section["events"]]
    assert (spec.sales_round_to, spec.noise_sd) == (section["noise"]["round_to"], section["noise"]["sd"])


# --------------------------------------------------------------------------- the bad params
@pytest.mark.parametrize("decay", ["1.2", "1", "1.0", "-0.1"])
def test_decay_outside_unit_interval_is_rejected(params, decay):
    message = _error(params, f"generate.channels.TV.decay={decay}")
    assert message.startswith("generate.channels.TV.decay:")
    assert "[0, 1)" in message


@pytest.mark.parametrize("decay", ["0", "0.0", "0.999"])
def test_decay_inside_unit_interval_is_accepted(params, decay):
    raw = copy.deepcopy(params)
    set_key(raw, f"generate.channels.Radio.decay={decay}")
    assert simulation_spec(raw).channels[2].decay == float(decay)


@pytest.mark.parametrize("freq", ["D", "M", "W", "weekly", "W-SUN"])
def test_unknown_frequency_is_rejected(params, freq):
    message = _error(params, f"generate.freq={freq}")
    assert message.startswith("generate.freq:")
    assert repr(freq) in message and "MS" in message and "W-MON" in message


def test_weekly_frequency_is_accepted(params):
    raw = copy.deepcopy(params)
    set_key(raw, "generate.freq=W-MON")
    assert simulation_spec(raw).freq == "W-MON"


@pytest.mark.parametrize("end", ["2016-06-30", "2017-01-01"])
def test_end_not_after_start_is_rejected(params, end):
    message = _error(params, f"generate.end={end}")
    assert message.startswith("generate.end:")
    assert end in message and "2017-01-01" in message


@pytest.mark.parametrize("end, freq", [("2017-01-20", "MS"), ("2017-01-05", "W-MON")])
def test_range_with_fewer_than_two_periods_is_a_user_error(params, end, freq):
    # found by this test: simulate() raised a bare ValueError here (traceback, exit code 1)
    message = _error(params, f"generate.end={end}", f"generate.freq={freq}")
    assert "generate.end" in message


def test_not_a_date_is_rejected(params):
    message = _error(params, "generate.start=someday")
    assert message.startswith("generate.start:") and "someday" in message


@pytest.mark.parametrize("value", ["-5", "-0.01"])
def test_negative_spend_base_is_rejected(params, value):
    message = _error(params, f"generate.channels.Print.base_spend={value}")
    assert message.startswith("generate.channels.Print.base_spend:")
    assert value.lstrip("-") in message


def test_unknown_channel_in_experiment_is_rejected(params):
    raw = copy.deepcopy(params)
    raw["generate"]["experiments"]["windows"][1]["channel"] = "Cinema"
    message = _error(raw)
    assert message.startswith("generate.experiments.windows.1.channel:")
    assert "'Cinema'" in message and "TV" in message


def test_experiment_window_ending_before_it_starts_is_rejected(params):
    raw = copy.deepcopy(params)
    raw["generate"]["experiments"]["windows"][0]["end"] = "2018-02-01"
    message = _error(raw)
    assert message.startswith("generate.experiments.windows.0.end:")


@pytest.mark.parametrize("realism", ["1.5", "-0.1"])
def test_realism_outside_zero_one_is_rejected(params, realism):
    assert _error(params, f"generate.experiments.realism={realism}").startswith("generate.experiments.realism:")


@pytest.mark.parametrize(
    "override, key",
    [
        ("generate.channels.TV.decay=high", "generate.channels.TV.decay"),
        ("generate.channels.TV.decay=true", "generate.channels.TV.decay"),
        ("generate.channels.TV.k=0", "generate.channels.TV.k"),
        ("generate.channels.Digital.gamma=-1", "generate.channels.Digital.gamma"),
        ("generate.channels.Digital.alpha=-1", "generate.channels.Digital.alpha"),
        ("generate.channels.Radio.seasonality=[1, 2]", "generate.channels.Radio.seasonality"),
        ("generate.channels.Radio.seasonality=[1,1,1,1,1,1,1,1,1,1,1,-1]", "generate.channels.Radio.seasonality.11"),
        ("generate.channels={}", "generate.channels"),
        ("generate.seed=-1", "generate.seed"),
        ("generate.seed=1.5", "generate.seed"),
        ("generate.spend.clip=[1.1, 0.9]", "generate.spend.clip.1"),
        ("generate.spend.clip=0.9", "generate.spend.clip"),
        ("generate.spend.smoothing=1", "generate.spend.smoothing"),
        ("generate.noise.sd=-0.1", "generate.noise.sd"),
        ("generate.baseline.level=-1", "generate.baseline.level"),
        ("generate.economy.initial.Stable=0.5", "generate.economy.initial"),
        ("generate.economy.transition.Growth.Boom=0.1", "generate.economy.transition.Growth.Boom"),
        ("generate.events=[{name: X, date: 13-45, multiplier: 1}]", "generate.events.0.date"),
        ("generate.events=[{name: X, date: 02-14, multiplier: -1}]", "generate.events.0.multiplier"),
        ("generate.preset=nosuch", "generate.preset"),
    ],
)
def test_other_bad_values_name_their_key(params, override, key):
    message = _error(params, override)
    assert message.startswith(f"{key}:"), message


def test_missing_key_is_named(params):
    raw = copy.deepcopy(params)
    del raw["generate"]["seed"]
    assert _error(raw) == "generate.seed: missing"


def test_missing_generate_section_is_named():
    with pytest.raises(UserInputError, match=r"^generate: expected a mapping"):
        simulation_spec({})


# --------------------------------------------------------------------------- presets
def test_preset_is_merged_over_generate(params):
    raw = copy.deepcopy(params)
    raw["presets"]["demo"] = {"end": "2026-12-31", "spend": {"volatility": 0.3, "clip": [0.5, 1.5]},
                              "noise": {"round_to": 0}}
    set_key(raw, "generate.preset=demo")
    merged = generate_section(raw)
    assert merged["end"] == "2026-12-31"
    base_spend = params["generate"]["spend"]
    assert merged["spend"] == {**base_spend, "volatility": 0.3, "clip": [0.5, 1.5]}  # deep merge keeps the rest
    assert merged["noise"] == {"sd": params["generate"]["noise"]["sd"], "round_to": 0}
    assert merged["channels"] == params["generate"]["channels"]
    assert raw["generate"]["spend"] == base_spend  # the params themselves are untouched
    spec = simulation_spec(raw)
    assert spec.preset == "demo" and spec.end.year == 2026 and spec.sales_round_to == 0


def test_shipped_identifiable_preset_is_valid(params):
    raw = copy.deepcopy(params)
    set_key(raw, "generate.preset=identifiable")
    assert simulation_spec(raw).preset == "identifiable"


# --------------------------------------------------------------------------- load_params and overrides
def test_overrides_are_parsed_as_yaml(repo_root):
    raw = load_params(repo_root / "params.yaml", ["generate.seed=5", "generate.freq=W-MON", "generate.new.key=[1, 2]"])
    assert raw["generate"]["seed"] == 5
    assert raw["generate"]["freq"] == "W-MON"
    assert raw["generate"]["new"] == {"key": [1, 2]}


@pytest.mark.parametrize("item", ["generate.seed", "=5"])
def test_override_without_key_or_value_is_rejected(repo_root, item):
    with pytest.raises(UserInputError, match="expected key=value"):
        load_params(repo_root / "params.yaml", [item])


def test_override_through_a_value_is_rejected(repo_root):
    with pytest.raises(UserInputError, match=r"^override generate.seed.x: generate.seed is not a section"):
        load_params(repo_root / "params.yaml", ["generate.seed.x=1"])


def test_missing_and_malformed_params_files(tmp_path):
    with pytest.raises(UserInputError, match="parameter file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("generate: [unclosed\n")
    with pytest.raises(UserInputError, match="not valid YAML") as info:
        load_params(bad)
    assert "\n" not in str(info.value)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(UserInputError, match="must be a mapping"):
        load_params(scalar)


def test_flatten_names_nested_keys():
    assert flatten({"a": {"b": 1, "c": [10, {"d": 2}]}}, "data") == {"data.a.b": 1, "data.a.c.0": 10, "data.a.c.1.d": 2}


# --------------------------------------------------------------------------- data spec
def test_data_spec_reads_the_mapping(params, tmp_path):
    spec = data_spec(params)
    assert spec.date == "Date" and spec.target == "Total_Sales" and spec.channels is None
    assert spec.controls == ("Economic_Condition", "Seasonal_Event")
    assert (spec.experiment_column, spec.experiment_none) == ("Experiment_Channel", "None")
    assert spec.path.name == "mmm_data.csv" and spec.path.is_absolute()
    own = data_spec({"data": {"path": str(tmp_path / "x.csv"), "truth": None, "date": "d", "target": "y",
                              "channels": ["a", "b"], "controls": None, "experiments": {"column": None}}})
    assert own.truth is None and own.channels == ("a", "b") and own.controls == () and own.path == tmp_path / "x.csv"
    assert own.experiment_column is None and own.experiment_none == "None"


@pytest.mark.parametrize("override, key", [("data.channels=[]", "data.channels"), ("data.channels=TV", "data.channels"),
                                           ("data.controls=Economic_Condition", "data.controls"),
                                           ("data.experiments.column=[a]", "data.experiments.column"),
                                           ("data.experiments.none=off", "data.experiments.none"),  # YAML: false
                                           ("data.experiments=Experiment_Channel", "data.experiments")])
def test_bad_data_spec_names_the_key(params, override, key):
    assert _error(params, override, build=data_spec).startswith(f"{key}:")


def test_override_reaches_into_lists_by_index():
    raw = {"generate": {"experiments": {"windows": [{"channel": "TV"}, {"channel": "Radio"}]}}}
    set_key(raw, "generate.experiments.windows.1.channel=Print")
    assert raw["generate"]["experiments"]["windows"][1]["channel"] == "Print"
    with pytest.raises(UserInputError, match="generate.experiments.windows.5"):
        set_key(raw, "generate.experiments.windows.5.channel=TV")
