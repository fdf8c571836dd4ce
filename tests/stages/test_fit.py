"""`mmmlab fit` as a stage: CLI errors, an interrupted fit, and one real small fit that passes the gates."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mmmlab import bayes
from mmmlab.bayes.sampling import build, compiled_once, nuts_assigned_directly
from mmmlab.cli import main
from mmmlab.config import load_params, set_key
from mmmlab.diagnostics import check_convergence
from mmmlab.errors import GateFailure, UserInputError
from mmmlab.stages import fit, generate

SHORT = (  # the seed's default design (60 months), with fewer prior draws kept
    "fit.sampler.prior_samples=200",
    "fit.sampler.progressbar=false",
    # the dataset the gates were measured on (README): the workspace's generate.seed may be an experiment's, and
    # on another seed the default sampler settings can miss a gate (seed 11: they do)
    "generate.seed=369",
)


def test_truncation_beyond_one_percent_is_warned_about():
    assert bayes.truncation_warning(0.0, 60) is None and bayes.truncation_warning(bayes.TRUNCATION, 76) is None
    warning = bayes.truncation_warning(0.05, 12)
    assert "5.0%" in warning and "l_max = 12" in warning and "fit.model.adstock.l_max" in warning


def test_bad_sampler_is_a_one_line_error(project):
    result = CliRunner().invoke(main, ["fit", "--sampler", "hmc"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: fit.sampler.name: 'hmc' is not one of nutpie, pymc, numpyro, blackjax"
    ]


def test_bad_draws_is_a_one_line_error(project):
    result = CliRunner().invoke(main, ["fit", "--draws", "0"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: fit.sampler.draws: 0 is outside")


def test_interrupted_fit_keeps_the_previous_trace(project, monkeypatch):
    params = load_params(project / "params.yaml", ("generate.end=2018-12-31",))
    generate.run(params)
    trace = project / "models" / "mmm_fit.nc"
    trace.parent.mkdir()
    trace.write_bytes(b"previous trace")

    def interrupted(mmm, d, spec):
        raise KeyboardInterrupt

    monkeypatch.setattr(bayes, "sample", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit.run(params)
    assert trace.read_bytes() == b"previous trace"
    assert not (project / "reports" / "fit" / "convergence.json").exists()


def _prior_as_posterior(mmm, d, spec):
    """Stands in for bayes.sample: prior draws as the 'posterior', with sampler statistics, in seconds not minutes."""
    import xarray as xr

    build(mmm, d)
    mmm.sample_prior_predictive(d.X, d.y, samples=20, random_seed=1)
    prior = mmm.idata["prior"].to_dataset()
    mmm.idata["/posterior"] = prior
    shape = (prior.sizes["chain"], prior.sizes["draw"])
    mmm.idata["/sample_stats"] = xr.Dataset({"diverging": (("chain", "draw"), np.zeros(shape, bool)),
                                             "energy": (("chain", "draw"), np.random.default_rng(0).normal(size=shape))})
    mmm.idata["/fit_data"] = mmm.create_fit_data(d.X, d.y)
    mmm.set_idata_attrs(mmm.idata)
    mmm.is_fitted_ = True
    timings = {"build_s": 0.0, "prior_s": 0.0, "sample_wall_s": 1.0, "sampling_s": 1.0, "posterior_predictive_s": 0.0}
    return timings, [bayes.Attempt(spec.sampler, check_convergence(mmm.idata, spec.gates), 1.0)]


def _rewrite_truth_dates(path, change) -> list[str]:
    truth = json.loads(path.read_text())
    truth["dates"], keep = change(truth["dates"])
    truth["contributions"] = {k: v[keep] for k, v in truth["contributions"].items()}
    path.write_text(json.dumps(truth))
    return truth["dates"]


def _month_later(dates):
    return [str((pd.Timestamp(d) + pd.DateOffset(months=1)).date()) for d in dates], slice(None)


def _one_period_short(dates):
    return dates[:-1], slice(None, -1)


@pytest.mark.parametrize(("change", "first"), [(_month_later, "2017-01-01"), (_one_period_short, "2019-12-01")])
def test_truth_of_other_dates_is_refused_by_date(project, monkeypatch, change, first):
    """The truth is matched to the data by date: other dates (same length or not) are a one-line user error."""
    params = load_params(project / "params.yaml", ("generate.end=2019-12-31", *SHORT))  # 36 periods: enough
    generate.run(params)
    _rewrite_truth_dates(project / "data" / "truth.json", change)
    monkeypatch.setattr(bayes, "sample", _prior_as_posterior)
    with pytest.raises(UserInputError, match=rf"truth\.json: .*{first}") as caught:
        fit.run(params)
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_small_real_fit_passes_the_gates(project):
    params = load_params(project / "params.yaml", SHORT)
    generate.run(params)
    summary = fit.run(params)
    assert "convergence passed" in summary

    report = json.loads((project / "reports" / "fit" / "convergence.json").read_text())
    assert report["passed"], report["checks"]
    assert {c["name"] for c in report["checks"]} == {"max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi"}
    assert report["metrics"]["divergences"] == 0
    tables = project / "reports" / "fit" / "tables"
    for name in ("parameters", "parameters_vs_truth", "contributions_vs_truth", "roas_vs_truth", "contraction"):
        assert (tables / f"{name}.csv").exists(), name
    # 60 months of smooth spend cannot identify the decays (the classical profile intervals span
    # [0, 0.95] too): the fit must say they are prior-dominated, not claim estimates
    contraction = pd.read_csv(tables / "contraction.csv")
    decay = contraction[contraction["parameter"] == "decay"]
    assert len(decay) == 4 and decay["prior_dominated"].all(), decay
    assert len(pd.read_csv(tables / "parameters_vs_truth.csv")) == 16

    # the trace loads in a fresh process, posterior predictive included, without re-sampling
    code = (
        "from mmmlab import bayes\n"
        "m = bayes.load_fit('models/mmm_fit.nc')\n"
        "assert {'posterior', 'posterior_predictive', 'prior', 'sample_stats'} <= set(m.idata.children)\n"
        "print(m.idata['posterior'].sizes['draw'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=project)
    assert result.returncode == 0, result.stderr[-3000:]
    draws = params["fit"]["sampler"]["draws"]
    kept = report["attempts"][-1]["draws"]  # a rerun has twice the draws, as many after divergent transitions alone
    assert report["attempts"][0]["draws"] == draws and kept >= draws
    assert result.stdout.strip().splitlines()[-1] == str(kept)

    # MLflow: this project's names, the verdict and a pointer to the trace
    with sqlite3.connect(project / "mlflow.db") as db:
        run_id = db.execute("select run_uuid from tags where key='stage' and value='fit'").fetchone()[0]
        logged = dict(db.execute("select key, value from params where run_uuid=?", (run_id,)).fetchall())
        metrics = {k for (k,) in db.execute("select key from metrics where run_uuid=?", (run_id,))}
        tags = dict(db.execute("select key, value from tags where run_uuid=?", (run_id,)).fetchall())
    assert logged["fit.sampler.draws"] == str(draws) and logged["fit.model.saturation"] == "hill"
    assert {"fit.max_r_hat", "fit.min_ess_bulk", "fit.min_ess_tail", "fit.divergences", "fit.min_bfmi",
            "fit.sampling_s", "fit.ess_bulk_per_s", "fit.truth.coverage.decay", "fit.truth.srmse.TV"} <= metrics
    assert tags["fit.trace"].endswith("models/mmm_fit.nc")

    # strict: the same fit with too few draws fails a gate and exits non-zero, after writing its verdict
    strict = load_params(project / "params.yaml", SHORT)
    for item in ("fit.strict=true", "fit.sampler.chains=2", "fit.sampler.draws=30", "fit.sampler.tune=30",
                 "fit.sampler.reruns=0"):
        set_key(strict, item)
    with pytest.raises(GateFailure, match="fit.strict"):
        fit.run(strict)
    assert not json.loads((project / "reports" / "fit" / "convergence.json").read_text())["passed"]
    # the same seed and sampler draw the same posterior: below (a rerun against a fresh fit) and, byte for byte, in
    # tests/e2e/test_dvc_experiments.py (a queued experiment's trace against the workspace's)


def _posterior(path) -> dict:
    import xarray as xr

    with xr.open_datatree(path) as tree:
        posterior = tree["posterior"].to_dataset()
        return {name: posterior[name].values.copy() for name in posterior.data_vars if "date" not in posterior[name].dims}


def test_a_fit_that_mixes_too_slowly_is_sampled_again_in_the_rerun_geometry(project, monkeypatch):
    """A real (tiny) fit whose ESS gate cannot be met (slow mixing; divergent transitions not gated, so
    target_accept stays): the rerun goes through pymc-marketing's fit a second time with twice the draws, in the means
    coordinates (compiled once for it), and draws what a fit compiled afresh in them with the rerun's settings draws."""
    import nutpie

    compiles = []
    compile_model = nutpie.compile_pymc_model
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda *a, **k: compiles.append(1) or compile_model(*a, **k))
    params = load_params(project / "params.yaml", (*SHORT, "generate.end=2019-12-31", "fit.sampler.chains=2",
                                                   "fit.sampler.draws=30", "fit.sampler.tune=30",
                                                   "fit.gates.ess_bulk_min=100000", "fit.gates.divergences_max=100000",
                                                   "fit.sampler.reruns=1", "fit.sampler.geometry=level",
                                                   "fit.sampler.rerun_geometry=means"))
    generate.run(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit.run(params)
    assert len(compiles) == 2 and nutpie.compile_pymc_model is not compile_model  # level, then means; spy in place
    report = json.loads((project / "reports" / "fit" / "convergence.json").read_text())
    attempts = report["attempts"]
    assert [(a["draws"], a["tune"], a["random_seed"], a["geometry"]) for a in attempts] == [
        (30, 30, 123, "level"), (60, 60, 124, "means")]
    assert attempts[0]["target_accept"] == attempts[1]["target_accept"]
    assert all("min_ess_bulk" in a["failed"] for a in attempts) and not report["passed"]
    assert report["metrics"]["sampling_attempts"] == 2
    assert bayes.load_fit(project / "models" / "mmm_fit.nc").idata["posterior"].sizes["draw"] == 60

    rerun = _posterior(project / "models" / "mmm_fit.nc")
    for key in ("draws", "tune", "random_seed", "geometry"):
        set_key(params, f"fit.sampler.{key}={attempts[1][key]}")
    set_key(params, "fit.sampler.reruns=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit.run(params)
    assert len(compiles) == 3
    fresh = _posterior(project / "models" / "mmm_fit.nc")
    assert rerun.keys() == fresh.keys() and len(rerun) > 3
    for name, values in rerun.items():
        np.testing.assert_array_equal(values, fresh[name], err_msg=name)


def test_a_rerun_in_the_same_coordinates_reuses_the_first_compile(monkeypatch):
    import nutpie
    import pymc as pm

    compiles = []
    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model, **k: compiles.append(model) or len(compiles))
    models = []
    for name in ("a", "a", "b"):  # the same value variables twice (a model rebuilt for a rerun), then others
        with pm.Model() as model:
            pm.Normal(name)
        models.append(model)
    with compiled_once():
        got = [nutpie.compile_pymc_model(m, backend="numba") for m in models]
        again = nutpie.compile_pymc_model(models[0], backend="jax")  # other compile arguments
    assert got == [1, 1, 2] and again == 3 and compiles == [models[0], models[2], models[0]]
    assert nutpie.compile_pymc_model(models[1]) == 4  # outside the block: no reuse


def test_nuts_is_assigned_as_pymc_assigns_it_without_its_gradients():
    import pymc as pm
    import pymc.sampling.mcmc as mcmc

    with pm.Model() as continuous:
        pm.Normal("a")
        pm.HalfNormal("b")
    with pm.Model() as mixed:
        pm.Normal("a")
        pm.Poisson("n", 3)
    pymc_own = {name: mcmc.assign_step_methods(m) for name, m in (("continuous", continuous), ("mixed", mixed))}
    original = mcmc.assign_step_methods
    with nuts_assigned_directly():
        assert mcmc.assign_step_methods(continuous) == pymc_own["continuous"]
        assert mcmc.assign_step_methods(mixed) == pymc_own["mixed"]  # a discrete variable: PyMC's own choice
        assert mcmc.assign_step_methods(continuous) == ([], {mcmc.NUTS: continuous.value_vars})
        gradients = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mcmc.tg, "grad", lambda *a, **k: gradients.append(1))
            mcmc.assign_step_methods(continuous)
        assert gradients == []  # no gradient built
    assert mcmc.assign_step_methods is original  # restored
