"""The Bayesian MMM without MCMC: model from params, bad params, the exact scale mapping, save/load.

Expected values come from mmmlab.transforms applied to the mapped parameters and the raw spend,
compared with pymc-marketing's own original-scale contribution deterministic (prior draws).
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

from mmmlab import bayes
from mmmlab.config import data_spec, load_params
from mmmlab.config.fit import fit_spec
from mmmlab.dataset import load_dataset
from mmmlab.errors import UserInputError
from mmmlab.transforms import equilibrium_adstock, geometric_adstock, hill, logistic, michaelis_menten


def _design(params):
    spec = fit_spec(params)
    return spec, bayes.design(load_dataset(data_spec(params)), spec.model)


def _with(params, *overrides):
    params = copy.deepcopy(params)
    from mmmlab.config import set_key

    for item in overrides:
        set_key(params, item)
    return params


def test_model_builds_from_params(short_params):
    short_params = _with(short_params, "fit.model.yearly_seasonality=2", "fit.model.adstock.l_max=null")
    spec, d = _design(short_params)
    mmm = bayes.build_mmm(spec, d)
    mmm.build_model(d.X, d.y)
    names = {v.name for v in mmm.model.free_RVs}
    assert {"adstock_alpha", "saturation_slope", "saturation_kappa", "saturation_beta", "intercept_contribution",
            "gamma_control", "gamma_fourier", "y_sigma"} <= names
    assert list(mmm.model.coords["channel"]) == ["TV", "Digital", "Radio", "Print"]
    controls = list(mmm.model.coords["control"])
    assert "trend" in controls and "Experiment_Channel[TV]" in controls
    assert len(mmm.model.coords["fourier_mode"]) == 2 * short_params["fit"]["model"]["yearly_seasonality"]
    assert mmm.adstock.l_max == len(d.X) and mmm.adstock.normalize is False  # null: no truncation at all
    assert str(mmm.model_config["adstock_alpha"]) == 'Prior("Beta", alpha=2, beta=2, dims="channel")'
    # controls are scaled (pymc-marketing does not): every column within [-1, 1], reaching 1 in size
    assert np.allclose(np.abs(d.X[list(d.controls)]).max(), 1.0)


def test_model_follows_its_params(short_params):
    params = _with(short_params, "fit.model.saturation=logistic", "fit.model.controls=[Economic_Condition]",
                   "fit.model.trend=false", "fit.model.yearly_seasonality=0", "fit.model.adstock.l_max=6",
                   "fit.priors.adstock_alpha={distribution: Beta, alpha: 1, beta: 3}")
    spec, d = _design(params)
    mmm = bayes.build_mmm(spec, d)
    mmm.build_model(d.X, d.y)
    names = {v.name for v in mmm.model.free_RVs}
    assert {"saturation_lam", "saturation_beta"} <= names and "saturation_kappa" not in names
    assert "gamma_fourier" not in names
    assert list(mmm.model.coords["control"]) == ["Economic_Condition[Declining]", "Economic_Condition[Growth]"]
    assert mmm.adstock.l_max == 6
    assert str(mmm.model_config["adstock_alpha"]) == 'Prior("Beta", alpha=1, beta=3, dims="channel")'


@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_chains_run_in_parallel(short_params, sampler):
    # pm.sample's default (half the CPU count) would put every chain on one core of a 2-core machine
    spec, _ = _design(_with(short_params, f"fit.sampler.name={sampler}", "fit.sampler.chains=3"))
    assert spec.sampler.sampler_config()["cores"] == 3


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("fit.model.saturation=tanh", "fit.model.saturation"),
        ("fit.sampler.name=hmc", "fit.sampler.name"),
        ("fit.sampler.draws=0", "fit.sampler.draws"),
        ("fit.priors.adstock_alpha={distribution: Betta, alpha: 2}", "fit.priors.adstock_alpha.distribution"),
        ("fit.priors.adstock_alpha={distribution: Beta, a: 2}", "fit.priors.adstock_alpha"),
        ("fit.priors.hill.slope=3", "fit.priors.hill.slope"),
        ("fit.priors.hill.kappa={distribution: LogNormal, mu: x}", "fit.priors.hill.kappa.mu"),
        ("fit.priors.hill.steepness={distribution: Normal}", "fit.priors.hill.steepness"),
        ("fit.gates.r_hat_max=0.9", "fit.gates.r_hat_max"),
        ("fit.model.saturation=hill_mean_response", "fit.model.adstock.normalize"),
        ("fit.strict=maybe", "fit.strict"),
        ("fit.hdi_prob=1.5", "fit.hdi_prob"),
    ],
)
def test_bad_params_name_the_key(repo_root, override, key):
    params = load_params(repo_root / "params.yaml", (override,))
    with pytest.raises(UserInputError, match=rf"^{key.replace('.', r'\.')}"):
        fit_spec(params)


def test_missing_sampler_backend_says_how_to_install(repo_root, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("jax", "numpyro") else real(name, *a))
    params = load_params(repo_root / "params.yaml", ("fit.sampler.name=numpyro",))
    spec = fit_spec(params)  # valid params: only the fit, which needs the packages, refuses them
    with pytest.raises(UserInputError, match=r"fit\.sampler\.name: numpyro needs jax and numpyro.*\[samplers\]"):
        bayes.build_mmm(spec, None)


def test_unknown_control_names_the_key(short_params):
    params = _with(short_params, "fit.model.controls=[Weather]")
    with pytest.raises(UserInputError, match=r"^fit\.model\.controls: 'Weather'"):
        _design(params)


def _prior_fit(params, samples=40):
    spec, d = _design(params)
    mmm = bayes.build_mmm(spec, d)
    mmm.build_model(d.X, d.y)
    mmm.add_original_scale_contribution_variable(var=["channel_contribution", "y"])
    mmm.sample_prior_predictive(d.X, d.y, samples=samples, random_seed=1)
    return mmm, d


@pytest.mark.parametrize(
    ("saturation", "normalize"),
    [("hill", False), ("hill", True), ("hill_mean_response", True), ("logistic", True), ("michaelis_menten", False)],
)
def test_scale_mapping_is_exact(short_params, saturation, normalize):
    """transforms(original spend, mapped parameters) == the model's own channel_contribution_original_scale."""
    params = _with(short_params, f"fit.model.saturation={saturation}", f"fit.model.adstock.normalize={str(normalize).lower()}")
    mmm, d = _prior_fit(params)
    mapped = bayes.original_scale_parameters(mmm.idata, "prior")
    model = bayes.channel_contributions(mmm.idata, "prior").values  # (chain, draw, date, channel)
    spend = d.X[list(d.channels)].to_numpy()
    n_draws = mapped.sizes["draw"]
    for draw in range(n_draws):
        p = {k: mapped[k].isel(chain=0, draw=draw).values for k in mapped.data_vars}
        adstock = geometric_adstock(spend, p["decay"])  # the simulator's recursion, in spend units
        if saturation.startswith("hill"):
            expected = hill(adstock, p["alpha"], p["gamma"], p["k"])
        elif saturation == "logistic":
            expected = p["alpha"] * logistic(adstock, p["lam"])
        else:
            expected = michaelis_menten(adstock, p["alpha"], p["lam"])
        scale = np.abs(model[0, draw]).max()
        np.testing.assert_allclose(expected, model[0, draw], rtol=1e-7, atol=1e-9 * scale)
    # the map is not the identity: alpha is in sales units, not a share of the maximum
    assert float(mapped["alpha"].mean()) > 100


def test_mean_response_is_the_steady_state_response_at_mean_spend(short_params):
    """hill_mean_response's value, in sales, is the simulator's Hill at the steady adstock of mean spend."""
    params = _with(short_params, "fit.model.saturation=hill_mean_response", "fit.model.adstock.normalize=true")
    mmm, d = _prior_fit(params)
    prior = mmm.idata["prior"]
    assert "saturation_value" in prior and "saturation_beta" in prior  # beta derived, kept for the unit map
    mapped = bayes.original_scale_parameters(mmm.idata, "prior")
    lags = bayes.adstock_of(mmm.idata)[0]
    steady = equilibrium_adstock(d.X[list(d.channels)].to_numpy().mean(axis=0), mapped["decay"], lags)
    expected = hill(steady.values, mapped["alpha"].values, mapped["gamma"].values, mapped["k"].values)
    value = (prior["saturation_value"] * mmm.idata["constant_data"]["target_scale"]).transpose("chain", "draw", "channel")
    np.testing.assert_allclose(value.values, expected, rtol=1e-9)


def test_never_spent_channel_is_named_for_mean_response(short_params, project):
    params = _with(short_params, "fit.model.saturation=hill_mean_response", "fit.model.adstock.normalize=true")
    spec, d = _design(params)
    d.X["Print"] = 0.0
    with pytest.raises(UserInputError, match="'Print'"):
        bayes.build_mmm(spec, d)


def test_null_l_max_follows_the_decay_prior_not_the_data(short_params):
    """null: lags until a decay at the prior's 99th percentile keeps <= 1% of its weight, capped at the periods."""
    from scipy.stats import beta

    def lags(prior: str, n_periods: int) -> int:
        spec, _ = _design(_with(short_params, "fit.model.adstock.l_max=null", f"fit.priors.adstock_alpha={prior}"))
        return bayes.l_max(spec, ("TV", "Radio"), n_periods)

    expected = np.log(bayes.TRUNCATION) / np.log(beta.ppf(0.99, 2, 2))  # ~75.9
    assert lags("{distribution: Beta, alpha: 2, beta: 2}", 500) == np.ceil(expected) == 76
    assert lags("{distribution: Beta, alpha: 2, beta: 2}", 40) == 40  # never more than the periods
    short = np.log(bayes.TRUNCATION) / np.log(beta.ppf(0.99, 1, 3))  # a prior of shorter carry-over
    assert lags("{distribution: Beta, alpha: 1, beta: 3}", 500) == np.ceil(short) < np.ceil(expected)
    hierarchical = "{distribution: Beta, alpha: 2, beta: {distribution: Gamma, alpha: 200, beta: 100}}"  # from draws
    assert abs(lags(hierarchical, 500) - expected) <= 6
    spec, _ = _design(_with(short_params, "fit.model.adstock.l_max=12"))
    assert bayes.l_max(spec, ("TV",), 500) == 12


def test_l_max_leaves_nothing_in_the_temp_folder(short_params, tmp_path_factory, monkeypatch):
    """Each fit (and each calibration fit) computes it: a compiled constant's source once piled up in /tmp."""
    import tempfile

    temp = tmp_path_factory.mktemp("temp")
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    spec, _ = _design(_with(short_params, "fit.model.adstock.l_max=null", "fit.priors.adstock_alpha="
                            "{distribution: Beta, alpha: 2.5, beta: 3.5}"))  # a graph no earlier test compiled
    assert bayes.l_max(spec, ("TV",), 500) > 1
    assert list(temp.iterdir()) == []


def test_truncated_adstock_is_reported_by_l_max(short_params):
    params = _with(short_params, "fit.model.adstock.l_max=3")
    mmm, _ = _prior_fit(params, samples=10)
    assert bayes.adstock_of(mmm.idata) == (3, False)


def test_contraction_flags_prior_dominated_parameters(short_params):
    """A posterior that is the prior itself is prior-dominated; a posterior squeezed 10x is not."""
    mmm, _ = _prior_fit(short_params, samples=200)
    prior = mmm.idata["prior"].to_dataset()
    squeezed = prior.copy()
    for name in ("adstock_alpha", "saturation_slope"):
        squeezed[name] = prior[name].mean() + (prior[name] - prior[name].mean()) / 10
    mmm.idata["/posterior"] = squeezed
    table = bayes.prior_posterior_contraction(mmm.idata)
    channel_rows = table[table["channel"].notna()].set_index(["parameter", "channel"])
    assert not channel_rows.loc["decay", "prior_dominated"].any()
    assert not channel_rows.loc["gamma", "prior_dominated"].any()
    assert channel_rows.loc["k", "prior_dominated"].all()
    np.testing.assert_allclose(channel_rows.loc["decay", "contraction"], 0.9, atol=1e-9)


@pytest.mark.parametrize(("form", "saturation"), [("hill", {"saturation_beta"}), ("hill_mean_response", {"saturation_value"})])
def test_free_parameters_are_the_sampled_ones(short_params, form, saturation):
    """From the trace alone: hill_mean_response's derived saturation_beta is not a free parameter."""
    mmm, _ = _fake_fit(_with(short_params, f"fit.model.saturation={form}", "fit.model.adstock.normalize=true"))
    free = bayes.free_parameters(mmm.idata)
    expected = {"adstock_alpha", "saturation_slope", "saturation_kappa", "intercept_contribution", "gamma_control",
                "y_sigma"} | saturation
    assert set(free) == expected and len(free) == len(expected)
    assert set(free) == {v.name for v in mmm.model.free_RVs}  # what pymc samples


def _fake_fit(params):
    """A 'fitted' model whose posterior is its prior draws: the save/load path without MCMC."""
    mmm, d = _prior_fit(params, samples=20)
    posterior_vars = [v for v in mmm.idata["prior"].data_vars]
    mmm.idata["/posterior"] = mmm.idata["prior"].to_dataset()[posterior_vars]
    mmm.idata["/fit_data"] = mmm.create_fit_data(d.X, d.y)
    mmm.set_idata_attrs(mmm.idata)
    mmm.is_fitted_ = True
    return mmm, d


@pytest.mark.parametrize("form", ["hill", "hill_mean_response"])
def test_trace_round_trip_in_a_fresh_process(short_params, project, form):
    mmm, _ = _fake_fit(_with(short_params, f"fit.model.saturation={form}", "fit.model.adstock.normalize=true"))
    path = bayes.save_fit(mmm, project / "models" / "mmm_fit.nc")
    assert [p.name for p in path.parent.iterdir()] == ["mmm_fit.nc"]  # no temporary file left
    expected = bayes.original_scale_parameters(mmm.idata)["k"].values
    np.save(project / "k.npy", expected)
    code = (
        "import sys, numpy as np\n"
        "from mmmlab import bayes\n"
        f"m = bayes.load_fit({str(path)!r})\n"
        "groups = set(m.idata.children)\n"
        "assert {'posterior', 'prior', 'prior_predictive', 'fit_data', 'constant_data'} <= groups, groups\n"
        "assert 'channel_contribution_original_scale' in m.model.named_vars\n"
        "k = bayes.original_scale_parameters(m.idata)['k'].values\n"
        f"np.testing.assert_array_equal(k, np.load({str(project / 'k.npy')!r}))\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=project)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_failed_save_keeps_the_previous_trace(short_params, project, monkeypatch):
    mmm, _ = _fake_fit(short_params)
    path = project / "models" / "mmm_fit.nc"
    path.parent.mkdir()
    path.write_bytes(b"previous trace")

    def broken_save(target, **kwargs):
        with open(target, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(mmm, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        bayes.save_fit(mmm, path)
    assert path.read_bytes() == b"previous trace"
    assert [p.name for p in path.parent.iterdir()] == ["mmm_fit.nc"]


def test_load_without_a_trace_is_a_user_error(project):
    with pytest.raises(UserInputError, match="mmmlab fit"):
        bayes.load_fit(project / "models" / "mmm_fit.nc")


def test_importing_the_model_leaves_the_warning_filters_alone():
    """Silencing pymc-marketing is scoped to the calls that need it, never process-wide at import."""
    code = (
        "import warnings\n"
        "import pymc, pymc_extras, mmmlab.config.fit\n"  # third-party imports may add their own filters first
        "before = list(warnings.filters)\n"
        "import mmmlab.bayes, mmmlab.bayes.build, mmmlab.bayes.sampling, mmmlab.bayes.io\n"
        "added = [f for f in warnings.filters if f not in before]\n"
        "assert not added, added\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
