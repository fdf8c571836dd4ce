"""The saved trace: compressed, without run times or series it can rebuild, the same bytes for the same draws."""

from __future__ import annotations

import random

import numpy as np
import xarray as xr

from mmmlab import bayes
from mmmlab.bayes import io
from mmmlab.config import data_spec
from mmmlab.config.fit import fit_spec
from mmmlab.dataset import load_dataset

LEFT_OUT = {"y_original_scale", "control_contribution", "channel_contribution_original_scale"}


def fake_fit(params):
    """A 'fitted' model whose posterior and posterior predictive are its prior draws (pymc-marketing's own
    deterministics, original-scale copies included), with the run times a real fit records."""
    spec = fit_spec(params)
    d = bayes.design(load_dataset(data_spec(params)), spec.model)
    mmm = bayes.build_mmm(spec, d)
    mmm.build_model(d.X, d.y)
    mmm.add_original_scale_contribution_variable(var=["channel_contribution", "y"])
    mmm.sample_prior_predictive(d.X, d.y, samples=20, random_seed=1)
    mmm.idata["/posterior"] = mmm.idata["prior"].to_dataset()
    predictive = mmm.idata["prior_predictive"].to_dataset()
    mmm.idata["/posterior_predictive"] = predictive.assign(
        y_original_scale=predictive["y"] * mmm.idata["constant_data"]["target_scale"])
    mmm.idata["/fit_data"] = mmm.create_fit_data(d.X, d.y)
    mmm.set_idata_attrs(mmm.idata)
    mmm.idata["posterior"].attrs.update(created_at="2026-01-01T00:00:00", sampling_time=12.5, tuning_steps=500)
    mmm.is_fitted_ = True
    return mmm


def test_the_trace_leaves_out_run_times_and_rebuilt_series_and_loads_them_back(short_params, project):
    mmm = fake_fit(short_params)
    path = bayes.save_fit(mmm, project / "models" / "mmm_fit.nc")

    stored = xr.open_datatree(path)
    assert all("created_at" not in node.attrs and "sampling_time" not in node.attrs for node in stored.subtree)
    assert stored["posterior"].attrs["tuning_steps"] == 500  # what the run did stays
    for group in ("prior", "posterior"):
        assert not LEFT_OUT & set(stored[group].data_vars), group
        assert {"channel_contribution", "gamma_control", "mu"} <= set(stored[group].data_vars)
    assert "y_original_scale" not in stored["posterior_predictive"].data_vars
    assert stored["posterior"]["channel_contribution"].encoding.get("zlib") or \
        stored["posterior"]["channel_contribution"].encoding.get("compression") == "gzip"
    # the fitted model in memory is as it was
    assert LEFT_OUT <= set(mmm.idata["posterior"].data_vars) and "created_at" in mmm.idata["posterior"].attrs

    loaded = bayes.load_fit(path)
    for group in ("prior", "posterior", "posterior_predictive"):
        before, after = mmm.idata[group].to_dataset(), loaded.idata[group].to_dataset()
        rebuilt = [v for v in before.data_vars if v != "y_original_scale" or group == "posterior_predictive"]
        assert set(rebuilt) <= set(after.data_vars), group
        for name in rebuilt:  # bit for bit: pymc-marketing computes each with the same one product
            assert after[name].dims == before[name].dims, (group, name)
            np.testing.assert_array_equal(after[name].values, before[name].values, err_msg=f"{group}.{name}")
        assert io.REBUILT not in after.attrs


def _reordered(tree: xr.DataTree, seed: int) -> xr.DataTree:
    """The same tree with each group's variables and coordinates in another order, as another process may hold it."""
    rng = random.Random(seed)
    groups = {}
    for node in tree.subtree:
        ds = node.to_dataset(inherit=False)
        names, coords = list(ds.data_vars), list(ds.coords)
        rng.shuffle(names)
        rng.shuffle(coords)
        groups[node.path] = xr.Dataset({n: ds[n].variable for n in names}, coords={c: ds[c].variable for c in coords},
                                       attrs=ds.attrs)
    return xr.DataTree.from_dict(groups)


def test_the_same_draws_give_the_same_bytes(short_params, project):
    """Whatever the run's times and the order pymc hands the variables over in (it builds the prior from sets)."""
    mmm = fake_fit(short_params)
    first = bayes.save_fit(mmm, project / "first.nc").read_bytes()
    mmm.idata = _reordered(mmm.idata, seed=1)
    mmm.idata["posterior"].attrs.update(created_at="2026-06-30T12:34:56", sampling_time=99.0)
    assert list(mmm.idata["prior"].data_vars) != list(xr.open_datatree(project / "first.nc")["prior"].data_vars)
    assert bayes.save_fit(mmm, project / "second.nc").read_bytes() == first

    changed = mmm.idata["posterior"].to_dataset()
    changed["adstock_alpha"] = changed["adstock_alpha"] * 0.5
    mmm.idata["/posterior"] = changed
    assert bayes.save_fit(mmm, project / "third.nc").read_bytes() != first  # other draws, other bytes
