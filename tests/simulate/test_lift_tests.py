"""Lift-test readouts: recomputed by hand from the data and the truth, their noise, the boost option,
overlapping windows, the follow-up clipped at the data's end, bad settings, and the generate stage's file."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from mmmlab import config
from mmmlab.config import generate_section, load_params, simulation_spec
from mmmlab.errors import UserInputError
from mmmlab.simulate import simulate

CSV_COLUMNS = ["channel", "start", "end", "measure_end", "spend_before", "extra_spend", "lift", "lift_se"]


def _windows(*windows: str) -> str:
    return f"generate.experiments.windows=[{', '.join(windows)}]"


# --------------------------------------------------------------------------- by hand, independent of the code
def _response(spend: np.ndarray, c: dict) -> np.ndarray:
    """Geometric adstock then Hill, by a plain loop."""
    out, carry = [], 0.0
    for x in spend:
        carry = x + c["decay"] * carry
        out.append(c["alpha"] * carry ** c["gamma"] / (carry ** c["gamma"] + c["k"] ** c["gamma"]))
    return np.array(out)


def _by_hand(g: dict, frame: pd.DataFrame, truth: dict) -> list[dict]:
    """Each window's readout from the data's spend and the true parameters: counterfactual = observed / multiplier
    inside the window, the lift summed from the window's first period to follow_up_periods after its last."""
    e, follow_up = g["experiments"], g.get("lift_tests", {}).get("follow_up_periods", 3)
    dates = pd.to_datetime(frame["Date"])
    readouts = []
    for w in e["windows"]:
        rows = ((dates >= pd.Timestamp(w["start"])) & (dates <= pd.Timestamp(w["end"]))).to_numpy()
        if not rows.any():
            continue
        observed = frame[f"{w['channel']}_Spend"].to_numpy()
        counterfactual = np.where(rows, observed / w.get("multiplier", e["spend_multiplier"]), observed)
        if not (observed - counterfactual)[rows].any():  # no spend changed: nothing to read out
            continue
        first, last = np.flatnonzero(rows)[[0, -1]]
        stop = min(last + follow_up, len(frame) - 1)
        c = truth["channels"][w["channel"]]
        caused = _response(observed, c) - _response(counterfactual, c)
        readouts.append({
            "channel": w["channel"], "start": frame["Date"][first], "end": frame["Date"][last],
            "measure_end": frame["Date"][stop], "spend_before": counterfactual[rows].sum(),
            "extra_spend": (observed - counterfactual)[rows].sum(), "true_lift": caused[first:stop + 1].sum(),
            "boost": (e["realism"] * (w.get("response_rate", 0) * (observed - counterfactual)
                                      + e["base_lift"] * counterfactual))[rows].sum(),
        })
    return readouts


def _assert_matches_hand(g: dict, frame: pd.DataFrame, truth: dict) -> None:
    hand, recorded = _by_hand(g, frame, truth), truth["lift_tests"]
    assert len(recorded) == len(hand)
    for h, r in zip(hand, recorded):
        assert (r["channel"], r["start"], r["end"], r["measure_end"]) == (h["channel"], h["start"], h["end"],
                                                                          h["measure_end"])
        np.testing.assert_allclose([r["spend_before"], r["extra_spend"]], [h["spend_before"], h["extra_spend"]],
                                   rtol=1e-9)
        np.testing.assert_allclose(r["true_lift"], h["true_lift"] + (h["boost"] if r["boost_included"] else 0),
                                   rtol=1e-9)


# --------------------------------------------------------------------------- (a) consistency with the written files
@pytest.mark.parametrize("overrides", [(), ("generate.preset=identifiable",)], ids=["default", "identifiable"])
def test_written_readouts_equal_the_lift_recomputed_by_hand(project, quiet_tracking, overrides):
    params = load_params(overrides=overrides)
    quiet_tracking.run(params)
    frame = pd.read_csv(project / "data" / "mmm_data.csv")
    truth = json.loads((project / "data" / "truth.json").read_text())
    readouts = pd.read_csv(project / "data" / "lift_tests.csv")

    _assert_matches_hand(generate_section(params), frame, truth)
    assert list(readouts.columns) == CSV_COLUMNS
    pd.testing.assert_frame_equal(readouts, pd.DataFrame(truth["lift_tests"])[CSV_COLUMNS])
    assert list(readouts["channel"]) == ["TV", "Digital", "Radio", "Print"]
    assert (readouts["extra_spend"] > 0).all() and (readouts["lift_se"] > 0).all()
    assert [t["boost_included"] for t in truth["lift_tests"]] == [False] * 4
    # by hand: the TV window is March and April 2018, read out to July (three follow-up months)
    if not overrides:
        assert readouts.loc[0, ["start", "end", "measure_end"]].tolist() == ["2018-03-01", "2018-04-01", "2018-07-01"]


def test_the_stage_writes_a_header_only_file_without_windows(project, quiet_tracking):
    quiet_tracking.run(load_params(overrides=[_windows()]))
    assert (project / "data" / "lift_tests.csv").read_text().strip() == ",".join(CSV_COLUMNS)
    assert json.loads((project / "data" / "truth.json").read_text())["lift_tests"] == []
    assert sorted(p.name for p in (project / "data").iterdir()) == ["lift_tests.csv", "mmm_data.csv", "truth.json"]


# --------------------------------------------------------------------------- the dataset does not depend on them
def test_lift_test_settings_leave_the_dataset_and_the_rest_of_the_truth_unchanged(make):
    _, default = make()
    _, changed = make("generate.lift_tests.relative_se=0.5", "generate.lift_tests.follow_up_periods=0",
                      "generate.lift_tests.boost=include")
    pd.testing.assert_frame_equal(default.frame, changed.frame, check_exact=True)
    without = {k: v for k, v in default.truth.items() if k != "lift_tests"}
    assert without == {k: v for k, v in changed.truth.items() if k != "lift_tests"}
    assert default.truth["lift_tests"] != changed.truth["lift_tests"]


# --------------------------------------------------------------------------- (b) the measurement noise
@pytest.mark.parametrize("relative_se", [0.1, 0.3])
def test_measured_lift_scatters_around_the_true_lift_with_the_stated_se(repo_root, relative_se):
    params = load_params(repo_root / "params.yaml", (f"generate.lift_tests.relative_se={relative_se}",))
    spec = simulation_spec(params)
    tests = [t for seed in range(125) for t in simulate(dataclasses.replace(spec, seed=seed)).lift_tests]
    true = np.array([t.true_lift for t in tests])
    se = np.array([t.lift_se for t in tests])
    np.testing.assert_allclose(se, relative_se * np.abs(true), rtol=1e-12)
    z = (np.array([t.lift for t in tests]) - true) / se
    assert len(z) == 500
    assert abs(z.mean()) < 4 / np.sqrt(len(z))  # 4 standard errors of the mean
    assert 0.86 < z.std(ddof=1) < 1.14  # 4 standard errors of a normal sample's sd: 1.25x the se fails


def test_no_relative_se_reads_the_true_lift(make):
    _, sim = make("generate.lift_tests.relative_se=0")
    assert [t.lift for t in sim.lift_tests] == [t.true_lift for t in sim.lift_tests]
    assert all(t.lift_se == 0 for t in sim.lift_tests)


# --------------------------------------------------------------------------- (c) the experiment boost
def test_including_the_boost_adds_exactly_the_windows_boost(make):
    g, excluded = make()
    _, included = make("generate.lift_tests.boost=include")
    pd.testing.assert_frame_equal(excluded.frame, included.frame, check_exact=True)
    dates = pd.to_datetime(excluded.frame["Date"])
    recorded_boost = np.array(excluded.truth["contributions"]["experiments"])
    hand = _by_hand(g, excluded.frame, excluded.truth)
    for w, h, ex, inc in zip(g["experiments"]["windows"], hand, excluded.lift_tests, included.lift_tests):
        rows = ((dates >= pd.Timestamp(w["start"])) & (dates <= pd.Timestamp(w["end"]))).to_numpy()
        assert h["boost"] > 0
        np.testing.assert_allclose(inc.true_lift - ex.true_lift, recorded_boost[rows].sum(), rtol=1e-9)
        np.testing.assert_allclose(inc.true_lift - ex.true_lift, h["boost"], rtol=1e-9)
        assert (ex.boost_included, inc.boost_included) == (False, True)
        # the same standardised noise draw, scaled by each readout's own se
        np.testing.assert_allclose((inc.lift - inc.true_lift) / inc.lift_se, (ex.lift - ex.true_lift) / ex.lift_se)
    _assert_matches_hand(g, included.frame, included.truth)


# --------------------------------------------------------------------------- (d) several tests on a channel, overlaps
OVERLAPPING = _windows(
    "{channel: TV, start: 2018-03-01, end: 2018-04-30, response_rate: 2.8}",
    "{channel: TV, start: 2018-04-01, end: 2018-06-30, multiplier: 2.0}",  # overlaps the first on TV in April
    "{channel: Radio, start: 2018-04-01, end: 2018-05-31, multiplier: 1.2}",  # overlaps both on another channel
    "{channel: TV, start: 2020-01-01, end: 2020-01-31, multiplier: 0.5}",  # a second TV test, a cut
)


def test_overlapping_and_repeated_windows_each_remove_only_their_own_extra_spend(make):
    g, sim = make(OVERLAPPING)
    _, plain = make(_windows())
    planned = plain.frame["TV_Spend"].to_numpy()
    dates = sim.frame["Date"]
    factor = np.ones(len(dates))
    factor[dates.isin(["2018-03-01", "2018-04-01"]).to_numpy()] *= 1.5
    factor[dates.isin(["2018-04-01", "2018-05-01", "2018-06-01"]).to_numpy()] *= 2.0
    factor[(dates == "2020-01-01").to_numpy()] *= 0.5
    np.testing.assert_allclose(sim.frame["TV_Spend"], planned * factor, rtol=1e-12)  # April: 1.5 x 2.0

    _assert_matches_hand(g, sim.frame, sim.truth)
    lifts = [t.true_lift for t in sim.lift_tests]
    assert [t.channel for t in sim.lift_tests] == ["TV", "TV", "Radio", "TV"]
    assert lifts[0] > 0 and lifts[1] > 0 and lifts[2] > 0 and lifts[3] < 0  # the cut loses sales
    # the first test's extra spend in April is half of the spend without it (its own 1.5, the second test's 2 kept)
    april = planned[(dates == "2018-04-01").to_numpy()][0]
    march = planned[(dates == "2018-03-01").to_numpy()][0]
    np.testing.assert_allclose(sim.lift_tests[0].extra_spend, 0.5 * march + 0.5 * 2.0 * april, rtol=1e-12)
    np.testing.assert_allclose(sim.lift_tests[0].spend_before, march + 2.0 * april, rtol=1e-12)


def test_a_window_overlapping_another_channel_does_not_change_its_readout(make):
    """A Radio test during the TV test changes TV's readout not at all: each channel's curve is its own."""
    tv = "{channel: TV, start: 2018-03-01, end: 2018-04-30}"
    _, alone = make(_windows(tv))
    _, both = make(_windows(tv, "{channel: Radio, start: 2018-03-01, end: 2018-05-31, multiplier: 3}"))
    assert both.lift_tests[0].true_lift == alone.lift_tests[0].true_lift
    assert both.lift_tests[1].true_lift > 0


# --------------------------------------------------------------------------- (e) the follow-up at the data's end
def test_the_follow_up_is_clipped_at_the_end_of_the_data(make):
    g, sim = make(_windows(
        "{channel: TV, start: 2021-09-01, end: 2021-10-31}",  # three follow-up months would reach January 2022
        "{channel: Print, start: 2021-12-01, end: 2022-03-31}",  # runs past the data: its one period is December
        "{channel: Digital, start: 2022-02-01, end: 2022-03-31}",  # wholly after the data: no effect, no readout
        "{channel: Radio, start: 2021-05-01, end: 2021-05-31}",  # room for the whole follow-up
    ))
    ends = [(t.channel, t.start, t.end, t.measure_end) for t in sim.lift_tests]
    assert ends == [
        ("TV", "2021-09-01", "2021-10-01", "2021-12-01"),
        ("Print", "2021-12-01", "2021-12-01", "2021-12-01"),
        ("Radio", "2021-05-01", "2021-05-01", "2021-08-01"),
    ]
    _assert_matches_hand(g, sim.frame, sim.truth)


def test_no_follow_up_reads_the_window_alone(make):
    g, sim = make("generate.lift_tests.follow_up_periods=0")
    _, longer = make()
    assert [t.measure_end for t in sim.lift_tests] == [t.end for t in sim.lift_tests]
    assert all(short.true_lift < long.true_lift for short, long in zip(sim.lift_tests, longer.lift_tests))
    _assert_matches_hand(g, sim.frame, sim.truth)


def test_weekly_readouts_count_weeks(make):
    g, sim = make("generate.freq=W-MON", "generate.end=2019-12-31", "generate.lift_tests.follow_up_periods=2")
    tv = sim.lift_tests[0]
    assert (tv.start, tv.end, tv.measure_end) == ("2018-03-05", "2018-04-30", "2018-05-14")
    assert len(sim.lift_tests) == 2  # the Radio and Print windows fall after 2019
    _assert_matches_hand(g, sim.frame, sim.truth)


# --------------------------------------------------------------------------- (f) bad settings
def _error(repo_root, *overrides: str) -> str:
    with pytest.raises(UserInputError) as info:
        config.validate(load_params(repo_root / "params.yaml", overrides))
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("override, key", [
    ("generate.experiments.windows.1.multiplier=0", "generate.experiments.windows.1.multiplier"),
    ("generate.experiments.windows.1.multiplier=-1.5", "generate.experiments.windows.1.multiplier"),
    ("generate.experiments.windows.1.multiplier=lots", "generate.experiments.windows.1.multiplier"),
    ("generate.experiments.spend_multiplier=0", "generate.experiments.spend_multiplier"),
    ("generate.experiments.windows.2.channel=Cinema", "generate.experiments.windows.2.channel"),
    ("generate.experiments.windows.0.end=2018-02-01", "generate.experiments.windows.0.end"),
    ("generate.experiments.windows.3.response_rate=-1", "generate.experiments.windows.3.response_rate"),
    ("generate.lift_tests.relative_se=-0.1", "generate.lift_tests.relative_se"),
    ("generate.lift_tests.follow_up_periods=1.5", "generate.lift_tests.follow_up_periods"),
    ("generate.lift_tests.follow_up_periods=-1", "generate.lift_tests.follow_up_periods"),
    ("generate.lift_tests.boost=maybe", "generate.lift_tests.boost"),
])
def test_a_bad_setting_is_one_line_naming_its_key(repo_root, override, key):
    assert _error(repo_root, override).startswith(f"{key}: ")


def test_the_boost_choice_lists_its_values(repo_root):
    assert _error(repo_root, "generate.lift_tests.boost=maybe") == (
        "generate.lift_tests.boost: 'maybe' is not one of exclude, include")


@pytest.mark.parametrize("override, key, hint", [
    ("generate.experiments.windows.1.multiplyer=2", "generate.experiments.windows.1.multiplyer",
     "generate.experiments.windows.1.multiplier"),
    ("generate.lift_tests.relativ_se=0.2", "generate.lift_tests.relativ_se", "generate.lift_tests.relative_se"),
])
def test_a_misspelt_key_names_the_right_one(repo_root, override, key, hint):
    assert _error(repo_root, override) == f"{key}: unknown key (did you mean {hint}?)"


def test_defaults_a_window_multiplier_response_rate_and_the_lift_tests_section(repo_root):
    params = load_params(repo_root / "params.yaml", (_windows("{channel: TV, start: 2018-03-01, end: 2018-04-30}"),))
    del params["generate"]["lift_tests"]
    spec = simulation_spec(params)
    window = spec.experiments.windows[0]
    assert (window.multiplier, window.response_rate) == (1.5, 0.0)
    assert (spec.lift_tests.relative_se, spec.lift_tests.follow_up_periods, spec.lift_tests.boost) == (0.1, 3, "exclude")


@pytest.mark.parametrize("overrides, channels", [
    # Radio is dark in September and October on the identifiable preset
    (("generate.preset=identifiable", _windows("{channel: TV, start: 2018-03-01, end: 2018-04-30}",
                                               "{channel: Radio, start: 2021-09-01, end: 2021-10-31}")), ["TV"]),
    ((_windows("{channel: Print, start: 2019-01-01, end: 2019-02-28, multiplier: 1}",
               "{channel: Radio, start: 2019-05-01, end: 2019-05-31}"),), ["Radio"]),
    (("generate.experiments.spend_multiplier=1",), []),  # the seed's windows, none changing spend
])
def test_a_window_that_changes_no_spend_has_no_readout(make, overrides, channels):
    g, sim = make(*overrides)
    assert [t.channel for t in sim.lift_tests] == channels
    _assert_matches_hand(g, sim.frame, sim.truth)
    assert all(t.extra_spend != 0 and t.lift_se > 0 for t in sim.lift_tests)
