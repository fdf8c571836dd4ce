"""Classical joint recovery: truth comes back when the data carry it, and is called unknown when not.

Truth is used only to judge estimates after they are made; no bound or start comes from it.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from mmmlab.config import data_spec, load_params, set_key, simulation_spec
from mmmlab.config.recover import RecoverySpec, recovery_spec
from mmmlab.dataset import load_dataset
from mmmlab.errors import UserInputError
from mmmlab.recovery.estimate import recover
from mmmlab.recovery.model import JointModel
from mmmlab.recovery.profile import profile_fit
from mmmlab.recovery.search import fit_point
from mmmlab.recovery.targets import Interval, Target
from mmmlab.recovery.verdicts import ratio_only, verdict
from mmmlab.simulate import simulate

CHANNELS = ("TV", "Digital", "Radio", "Print")


@pytest.fixture(scope="module")
def base_params(request):
    return load_params(request.config.rootpath / "params.yaml")


def make_data(base_params, tmp_path, overrides=(), preset=None, name="data.csv"):
    params = copy.deepcopy(base_params)
    params["generate"]["preset"] = preset
    for item in overrides:
        set_key(params, item)
    sim = simulate(simulation_spec(params))
    path = tmp_path / name
    sim.frame.to_csv(path, index=False)
    dataset = load_dataset(data_spec({"data": {**params["data"], "path": str(path), "truth": None}}))
    return dataset, sim.truth


def moved_truth(base_params, factor):
    """Overrides moving every true decay, gamma and k of the preset by ``factor``.

    A decay must stay below 1 (and the search bound 0.95): TV's 0.8 * 1.3 = 1.04 is not a decay,
    so a moved decay is capped at 0.93.
    """
    out = []
    for ch, t in base_params["generate"]["channels"].items():
        out += [f"presets.identifiable.channels.{ch}.decay={min(t['decay'] * factor, 0.93)}",
                f"presets.identifiable.channels.{ch}.gamma={t['gamma'] * factor}",
                f"presets.identifiable.channels.{ch}.k={t['k'] * factor}"]
    return out


# --------------------------------------------------------------------------- spec
def test_bounds_and_defaults_do_not_come_from_truth(base_params):
    spec = recovery_spec(base_params)
    assert spec.decay_bounds == (0.0, 0.95)
    assert spec.gamma_bounds == (0.3, 3.0)
    assert spec.k_bounds == (0.1, 10.0)
    flat = json.dumps(base_params["recover"])
    for ch in base_params["generate"]["channels"].values():  # no true alpha or k appears in the section
        assert str(ch["alpha"]) not in flat and str(ch["k"]) not in flat


@pytest.mark.parametrize("key, value, fragment", [
    ("recover.bounds.decay", "[0.5, 0.2]", "recover.bounds.decay"),
    ("recover.uncertainty", "guess", "recover.uncertainty"),
    ("recover.baseline.form", "both", "recover.baseline.form"),
    ("recover.search.starts", "0", "recover.search.starts"),
])
def test_bad_params_name_the_key(base_params, key, value, fragment):
    params = copy.deepcopy(base_params)
    set_key(params, f"{key}={value}")
    with pytest.raises(UserInputError, match=fragment.replace(".", r"\.")):
        recovery_spec(params)


def test_unknown_control_column_names_the_key(base_params, tmp_path):
    dataset, _ = make_data(base_params, tmp_path)
    spec = RecoverySpec(multipliers=("Weather",))
    with pytest.raises(UserInputError, match=r"recover\.baseline\.multipliers"):
        JointModel(dataset, spec)


# --------------------------------------------------------------------------- point estimates
@pytest.mark.parametrize("preset, overrides", [
    (None, ["generate.noise.sd=0", "generate.noise.round_to=0"]),
    ("identifiable", ["presets.identifiable.noise.sd=0"]),
])
def test_noise_free_data_give_back_the_truth(base_params, tmp_path, preset, overrides):
    dataset, truth = make_data(base_params, tmp_path, overrides, preset)
    spec = recovery_spec(base_params)
    fit = fit_point(JointModel(dataset, spec), spec)
    estimates = fit.channel_params()
    for ch in CHANNELS:
        for p in ("decay", "alpha", "gamma", "k"):
            true = truth["channels"][ch][p]
            assert estimates.loc[ch, p] == pytest.approx(true, rel=1e-3), (ch, p)
    # the baseline's nonlinear parts too: growth per period and the economy's multipliers
    assert fit.baseline_params()["growth"] == pytest.approx(truth["baseline"]["period_growth"], rel=1e-3)


def test_additive_baseline_runs_on_users_data(base_params, tmp_path):
    dataset, _ = make_data(base_params, tmp_path)
    spec = RecoverySpec(baseline="additive", fourier=2, experiment_effect="level", starts=2, screen=32)
    fit = fit_point(JointModel(dataset, spec), spec)
    stats = fit.fit_statistics()
    assert stats["r2"] > 0.5 and np.isfinite(stats["rmse"])
    assert "baseline.fourier.sin1" in fit.model.linear_names


# --------------------------------------------------------------------------- identifiable design
def test_identifiable_preset_pins_every_decay(base_params, tmp_path):
    """The shipped preset: every decay's 95% profile interval is narrower than 0.3 and holds the truth.

    On the seed the README's claim was measured on: a 95% interval misses the truth on some seeds (coverage 93% over
    the 20 benchmark seeds), and the workspace's generate.seed may be an experiment's.
    """
    dataset, truth = make_data(base_params, tmp_path, ("generate.seed=369",), preset="identifiable")
    spec = recovery_spec(base_params)
    fit = fit_point(JointModel(dataset, spec), spec)
    _, found, _ = profile_fit(fit, spec, only={"decay"})
    assert len(found) == len(CHANNELS)
    for target, interval in found:
        true = truth["channels"][target.channel]["decay"]
        assert interval.upper - interval.lower < 0.3, (target.channel, interval)
        assert interval.lower <= true <= interval.upper, (target.channel, interval, true)


@pytest.fixture(scope="module")
def moved_runs(base_params, tmp_path_factory):
    """The identifiable design with every true decay, gamma and k moved by -30% and +30%."""
    tmp = tmp_path_factory.mktemp("moved")
    spec = recovery_spec(base_params)
    runs = {}
    for factor in (0.7, 1.3):
        dataset, truth = make_data(base_params, tmp, moved_truth(base_params, factor), "identifiable", f"m{factor}.csv")
        fit = fit_point(JointModel(dataset, spec), spec)
        _, found, info = profile_fit(fit, spec, only={"decay", "gamma", "k"})
        runs[factor] = {"dataset": dataset, "truth": truth, "found": found, "info": info}
    return runs


def _verdict_word(target, interval, spec):
    return verdict(target, interval, spec, spec.level)[0]


@pytest.mark.slow
def test_estimates_follow_moved_truth(base_params, moved_runs):
    spec = recovery_spec(base_params)
    table, missed = {}, []
    for factor, run in moved_runs.items():
        for target, interval in run["found"]:
            if target.channel == "baseline":
                continue
            true = run["truth"]["channels"][target.channel][target.parameter]
            if not interval.lower <= true <= interval.upper:
                missed.append((factor, target.channel, target.parameter, interval, true))
            table[(factor, target.channel, target.parameter)] = (true, target.estimate,
                                                                  _verdict_word(target, interval, spec))
    # 95% intervals: of 24, a calibrated method misses more than 4 with probability 0.7%
    assert len(missed) <= 4, missed
    for ch in CHANNELS:
        # decay is identified in both worlds and its estimate moves with the truth
        lo, hi = table[(0.7, ch, "decay")], table[(1.3, ch, "decay")]
        assert lo[2] == hi[2] == "identified"
        assert hi[1] - lo[1] > 0.5 * (hi[0] - lo[0]) > 0, (ch, lo, hi)
        for p in ("gamma", "k"):
            lo, hi = table[(0.7, ch, p)], table[(1.3, ch, p)]
            # either the estimate follows the truth, or the output says the data cannot pin it down
            follows = hi[1] > lo[1]
            assert follows or "identified" != lo[2] or "identified" != hi[2], (ch, p, lo, hi)


def seed_sequential_method(dataset) -> pd.DataFrame:
    """The seed's method as a baseline (reimplemented here only): residualise sales on trend, month,
    economy and events; per channel choose decay, then alpha, gamma, k by maximising a correlation,
    starting mid-way in the seed's hand-set per-channel bounds."""
    from statsmodels.regression.linear_model import OLS

    from mmmlab.transforms import geometric_adstock, hill

    bounds = {"TV": [(0.6, 0.9), (15000, 35000), (0.5, 0.9), (25000, 45000)],
              "Digital": [(0.2, 0.5), (10000, 30000), (0.4, 0.8), (15000, 35000)],
              "Radio": [(0.3, 0.7), (8000, 16000), (0.6, 0.9), (8000, 16000)],
              "Print": [(0.5, 0.8), (5000, 12000), (0.7, 0.95), (7000, 13000)]}
    y = dataset.target
    n = len(y)
    month = pd.get_dummies(pd.Series(dataset.dates.month), drop_first=True).to_numpy(float)
    x = np.column_stack([np.ones(n), np.arange(n), month])
    resid = OLS(y, x).fit().resid
    for column in ("Economic_Condition", "Seasonal_Event"):
        dummies = pd.get_dummies(dataset.controls[column], drop_first=True).to_numpy(float)
        resid = OLS(resid, dummies).fit().resid
    rows = []
    for j, ch in enumerate(dataset.channels):
        spend = dataset.spend[:, j]
        b = bounds[ch]

        def adstock_objective(p, spend=spend):
            return -np.corrcoef(geometric_adstock(spend, p[0]), resid)[0, 1] ** 2 + 0.01 * (p[0] - 0.5) ** 2

        decay = minimize(adstock_objective, [np.mean(b[0])], bounds=[b[0]], method="L-BFGS-B").x[0]
        s = geometric_adstock(spend, decay)

        def hill_objective(p, s=s):
            a, g, k = p
            return (-np.corrcoef(hill(s, a, g, k), resid)[0, 1] ** 2 + 0.01 * ((a - 20000) / 10000) ** 2
                    + 0.01 * ((g - 0.7) / 0.3) ** 2 + 0.01 * ((k - 20000) / 10000) ** 2)

        a, g, k = minimize(hill_objective, [np.mean(v) for v in b[1:]], bounds=b[1:], method="L-BFGS-B").x
        rows += [{"channel": ch, "parameter": p, "estimate": v} for p, v in zip(("decay", "alpha", "gamma", "k"),
                                                                               (decay, a, g, k))]
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_seed_sequential_method_is_worse_on_moved_truth(moved_runs):
    errors = []  # (parameter, joint fit's relative error, seed method's relative error)
    for run in moved_runs.values():
        truth = run["truth"]["channels"]
        found = {(t.channel, t.parameter): t.estimate for t, _ in run["found"] if t.channel != "baseline"}
        for rec in seed_sequential_method(run["dataset"]).itertuples(index=False):
            if rec.parameter == "alpha":
                continue
            true = truth[rec.channel][rec.parameter]
            errors.append((rec.parameter, abs(found[(rec.channel, rec.parameter)] - true) / true,
                           abs(rec.estimate - true) / true))
    ours = [e[1] for e in errors]
    seeds = [e[2] for e in errors]
    # decay, gamma, k over both moved worlds: the joint fit's typical error is smaller
    assert np.median(ours) < np.median(seeds), (np.median(ours), np.median(seeds))
    # and on decay, which the data identify, it is far smaller
    assert np.mean([e[1] for e in errors if e[0] == "decay"]) < 0.5 * np.mean([e[2] for e in errors if e[0] == "decay"])


def test_cli_rejects_an_unknown_method(project):
    from click.testing import CliRunner

    from mmmlab.cli import main

    result = CliRunner().invoke(main, ["recover", "--method", "guess"])
    assert result.exit_code == 2
    assert "recover.uncertainty" in result.output


# --------------------------------------------------------------------------- default design
@pytest.mark.slow
def test_default_design_intervals_cover_and_admit_ignorance(base_params, tmp_path):
    spec = recovery_spec(base_params)
    covered, total, decay_verdicts = 0, 0, []
    for seed in (11, 12, 13):
        dataset, truth = make_data(base_params, tmp_path, [f"generate.seed={seed}"], name=f"d{seed}.csv")
        result = recover(dataset, spec)
        est = result.channel_estimates()
        for rec in est.itertuples(index=False):
            true = truth["channels"][rec.channel][rec.parameter]
            covered += bool(rec.lower <= true <= rec.upper)
            total += 1
            if rec.parameter == "decay":
                decay_verdicts.append(rec.verdict)
        assert len(result.notes) >= len(est)
    assert covered / total >= 0.85, (covered, total)  # nominal 0.95; measured over 20 seeds in `make bench`
    # 60 monthly rows cannot pin the decays: the output must say so, not print precise numbers
    assert sum(v != "identified" for v in decay_verdicts) >= 0.75 * len(decay_verdicts)


# --------------------------------------------------------------------------- the stage
def _write_params(project, overrides):
    params = load_params(project / "params.yaml")
    for item in overrides:
        set_key(params, item)
    import yaml

    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.slow
def test_stage_writes_outputs_with_and_without_truth(project):
    from mmmlab.stages import generate
    from mmmlab.stages import recover as stage

    _write_params(project, ["recover.uncertainty=bootstrap", "recover.bootstrap.draws=12", "recover.bootstrap.workers=2",
                            "recover.bootstrap.starts=0"])
    params = load_params(project / "params.yaml")
    generate.run(params)
    summary = stage.run(params)
    assert "truth inside" in summary
    record = json.loads((project / "models/recovery.json").read_text())
    assert {"estimates", "verdicts", "fit", "contributions", "baseline"} <= set(record)
    assert len([e for e in record["estimates"] if e["channel"] in CHANNELS]) == 16
    table = pd.read_csv(project / "reports/recovery/tables/comparison.csv")
    assert list(table.columns[:8]) == ["channel", "parameter", "true", "recovered", "difference_pct", "lower", "upper",
                                       "truth_inside"]
    assert (table["channel"] == "ALL").sum() == 4
    figures = {p.name for p in (project / "reports/recovery/figures").glob("*.png")}
    assert figures == {"parameters.png", "response_curves.png", "fit.png", "contributions.png"}
    metrics = json.loads((project / "reports/recovery/metrics.json").read_text())
    assert {"r2", "mape", "rmse", "TV.decay.abs_error", "TV.decay.rel_error", "nrmse.decay",
            "contribution.TV.srmse"} <= set(metrics)

    # a user's own data: no truth file, same command, no comparison
    _write_params(project, ["data.truth=null", "recover.uncertainty=none"])
    summary = stage.run(load_params(project / "params.yaml"))
    assert "truth" not in summary
    assert not (project / "reports/recovery/tables/comparison.csv").exists()
    metrics = json.loads((project / "reports/recovery/metrics.json").read_text())
    assert "TV.decay.abs_error" not in metrics and "r2" in metrics


# --------------------------------------------------------------------------- verdict wording
def test_verdicts_in_plain_words():
    spec = RecoverySpec()
    decay = Target("TV", "decay", "nl", 0, 0.5, 0.0, 0.95, False, 0.02)
    word, text = verdict(decay, Interval(0.02, 0.93, False, False), spec, 0.95)
    assert word == "not identified" and text == "decay of TV: not identified, 95% interval 0.02-0.93"
    word, _ = verdict(decay, Interval(0.41, 0.58, False, False), spec, 0.95)
    assert word == "identified"
    word, _ = verdict(decay, Interval(0.0, 0.12, True, False), spec, 0.95)  # no carry-over is an answer too
    assert word == "identified"
    alpha = Target("Radio", "alpha", "linear", 0, 5000.0, 0.0, np.inf, False, 100.0)
    word, text = verdict(alpha, Interval(0.0, 20000.0, True, False), spec, 0.95)
    assert word == "not identified" and "not distinguishable from zero" in text

    # power-law regime: along k's profile alpha grows with k while alpha/k^gamma stays put
    k = Target("Radio", "k", "k", 2, 20000.0, 500.0, 1e6, True, 0.05)
    ks = np.geomspace(20000, 1e6, 8)
    k.path = [(kv, 1.0, 3.0 * kv**0.8, 0.8) for kv in ks]
    note = ratio_only(k, Interval(8000.0, 1e6, False, True), "weakly identified", 3.9)
    assert note is not None and note.startswith("alpha and k of Radio: only their ratio")
    k.path = [(kv, 1.0, 5000.0, 0.8) for kv in ks]  # alpha does not follow k: no such claim
    assert ratio_only(k, Interval(8000.0, 1e6, False, True), "weakly identified", 3.9) is None


def test_parameter_bars_render_unbounded_intervals(tmp_path):
    """An interval reaching infinity (an unidentified alpha) is cut at the axis, not drawn to infinity."""
    import pandas as pd
    from matplotlib.image import imread

    from mmmlab.files import write_figure
    from mmmlab.plots.recovery import parameter_bars

    rows = []
    for p, (true, est, lo, hi) in {"decay": (0.8, 0.5, 0.0, 0.95), "alpha": (25000, 1.3e7, 3e5, float("inf")),
                                   "gamma": (0.7, 3.0, 0.3, 3.0), "k": (35000, 2e5, 2e3, 3.4e6)}.items():
        rows.append({"channel": "TV", "parameter": p, "true": true, "estimate": est, "lower": lo, "upper": hi,
                     "difference_pct": 100 * (est - true) / true})
    write_figure(tmp_path / "bars.png", parameter_bars(pd.DataFrame(rows)))
    image = imread(tmp_path / "bars.png")
    assert image.shape[0] < 2000 and image.shape[1] < 3000
