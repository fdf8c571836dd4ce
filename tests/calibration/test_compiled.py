"""Compile once, fit many: swapped data move the posterior exactly as compiling the model on them would.

One model is compiled for the module (two years of the simulator's monthly data, three controls,
tiny draws); a second, on another simulated dataset, shows that swapping its data into the first
gives the very draws of compiling it (same seed, same process). The per-process compile folder is
checked in subprocesses: it changes the environment and must run before pytensor is imported.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmmlab import bayes
from mmmlab.bayes.geometry import PREFIX
from mmmlab.calibration.compiled import (
    CONTRIBUTIONS,
    CompiledFit,
    DifferentStructure,
    sampled_model,
    stored_variables,
)
from mmmlab.config import data_spec, load_params, simulation_spec
from mmmlab.config.fit import Geometry, fit_spec
from mmmlab.dataset import load_dataset
from mmmlab.rewrite_cache import FOLDER_ENV
from mmmlab.simulate import simulate

REPO = Path(__file__).resolve().parents[2]
# the short_params data, with few enough controls for 24 periods, and draws enough to see a shift
SHORT = ("generate.end=2018-12-31", "fit.model.controls=[Economic_Condition]", "fit.sampler.chains=2",
         "fit.sampler.draws=60", "fit.sampler.tune=60", "fit.sampler.reruns=0", "data.truth=null")


def _design(folder: Path, seed: int):
    """The fit spec and the design of the simulator's dataset with ``seed`` (no stage run: no MLflow)."""
    params = load_params(REPO / "params.yaml", (*SHORT, f"generate.seed={seed}", f"data.path={folder / 'data.csv'}"))
    simulate(simulation_spec(params)).frame.to_csv(folder / "data.csv", index=False)
    spec = fit_spec(params)
    return spec, bayes.design(load_dataset(data_spec(params)), spec.model)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> CompiledFit:
    return CompiledFit.build(*_design(tmp_path_factory.mktemp("base"), seed=369))


def test_prior_draws_are_finite_joint_draws_with_sales_in_original_units(base):
    draws = base.prior_draws(8, seed=0)
    periods, channels = len(base.base.X), len(base.base.channels)
    assert draws["y"].dims == ("draw", "date") and draws["y"].shape == (8, periods)
    assert draws["adstock_alpha"].shape == (8, channels) and draws["intercept_contribution"].shape == (8,)
    assert draws[CONTRIBUTIONS].shape == (8, periods, channels)
    assert set(base.parameters) <= set(draws.data_vars)
    assert all(np.isfinite(draws[v].values).all() for v in draws.data_vars)
    # pymc-marketing's target scale is the base sales' max; y is the likelihood's draw times that scale
    scale = float(base.scales["target_scale"])
    assert scale == pytest.approx(float(base.base.y.abs().max()))
    z = (draws["y"] / scale - draws["mu"]) / draws["y_sigma"]
    assert abs(float(z.mean())) < 0.4 and 0.7 < float(z.std()) < 1.3  # 192 standard normal draws


def test_a_higher_target_moves_the_intercept_up_and_the_trace_reads_as_the_fit_stages(base):
    y = base.base.y.to_numpy()
    shift = 1.0  # of the base target scale, which stays the same in both fits: the intercept's units
    low = base.sample(y, seed=1)
    high = base.sample(y + shift * float(base.scales["target_scale"]), seed=1)
    moved = float(high["posterior"]["intercept_contribution"].mean() - low["posterior"]["intercept_contribution"].mean())
    assert 0.7 < moved < 1.3  # 0.90-0.99 on four seeds
    np.testing.assert_array_equal(high["constant_data"]["target_scale"].values, base.scales["target_scale"])
    posterior = high["posterior"]
    assert (posterior.sizes["chain"], posterior.sizes["draw"]) == (2, 60)
    assert set(bayes.free_parameters(high)) == set(base.parameters)
    assert bayes.channel_contributions(high).shape == (2, 60, len(y), len(base.base.channels))
    assert set(bayes.original_scale_parameters(high).data_vars) == {"decay", "alpha", "gamma", "k"}


def test_swapped_data_give_the_draws_of_a_fresh_compile_on_them(base, tmp_path):
    spec, other = _design(tmp_path, seed=1000)
    fresh = CompiledFit.build(spec, other)
    swapped = base.sample(other.y, seed=5, design=other, scales="data")
    compiled = fresh.sample(other.y, seed=5)
    for name, values in compiled["posterior"].data_vars.items():
        np.testing.assert_array_equal(swapped["posterior"][name].values, values.values, err_msg=name)
    for name in ("channel_scale", "target_scale"):
        np.testing.assert_array_equal(swapped["constant_data"][name].values, fresh.scales[name])
        assert not np.array_equal(fresh.scales[name], base.scales[name])  # another dataset, other maxima
    held = base.sample(other.y, seed=5, design=other)  # the base design's scales: another model
    assert not np.array_equal(held["posterior"]["intercept_contribution"].values,
                              compiled["posterior"]["intercept_contribution"].values)


def test_a_sampler_in_other_coordinates_samples_a_twin_compiled_once(base):
    means = dataclasses.replace(base.spec.sampler, geometry=Geometry.means)
    assert base.spec.sampler.geometry == Geometry.level and base.in_geometry(Geometry.level) is base
    y = base.base.y.to_numpy()
    switched = base.sample(y, seed=3, sampler=means)
    twin = base.in_geometry(Geometry.means)
    assert twin is not base and base.twins == {Geometry.means: twin}  # compiled on the first call, then reused
    assert PREFIX + "log_mean" in {rv.name for rv in sampled_model(twin.mmm).free_RVs}
    direct = twin.sample(y, seed=3)
    assert set(switched["posterior"].data_vars) == set(stored_variables(base.mmm))  # the trace reads as before
    for name, values in direct["posterior"].data_vars.items():
        np.testing.assert_array_equal(switched["posterior"][name].values, values.values, err_msg=name)


def test_a_design_of_another_structure_or_a_wrong_target_is_refused(base):
    d = base.base
    fewer = dataclasses.replace(d, X=d.X.drop(columns=["trend"]), controls=d.controls[:-1],
                                control_scale={c: d.control_scale[c] for c in d.controls[:-1]})
    assert d.controls[-1] == "trend"
    with pytest.raises(DifferentStructure, match="control_columns"):
        base.data_values(d.y, design=fewer)
    with pytest.raises(ValueError, match="periods"):
        base.data_values(d.y.to_numpy()[:-1])


HOLD = """
import os, sys
from pathlib import Path
from mmmlab.calibration.compiledir import worker_compiledir
folder = worker_compiledir(Path(sys.argv[1]))
assert worker_compiledir(Path(sys.argv[1])) == folder
import pytensor
from mmmlab.rewrite_cache import default_folder
print(folder, os.environ["PYTENSOR_FLAGS"], pytensor.config.base_compiledir, pytensor.config.compiledir,
      default_folder(), flush=True)
sys.stdin.read()  # the slot stays taken until the test closes stdin
"""

LATE = """
import sys
from pathlib import Path
import pytensor
from mmmlab.calibration.compiledir import worker_compiledir
try:
    worker_compiledir(Path(sys.argv[1]))
except RuntimeError as error:
    print(error)
"""


def test_each_worker_process_gets_a_compile_folder_of_its_own_and_shares_the_rewritten_graphs(tmp_path):
    shared = tmp_path / "shared"  # the folder every process would share
    env = {**os.environ, "PYTENSOR_FLAGS": f"compiledir={shared},floatX=float64"}
    env.pop(FOLDER_ENV, None)
    python = [sys.executable, "-c"]
    first = subprocess.Popen([*python, HOLD, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=env)
    try:
        folder, flags, base_dir, compiledir, rewrites = first.stdout.readline().split()
        others = [subprocess.Popen([*python, script, str(base)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   text=True, env=env) for script, base in ((HOLD, tmp_path), (LATE, tmp_path / "late"))]
        second, late = (process.communicate()[0] for process in others)
    finally:
        first.communicate("")
    assert folder == base_dir == str(tmp_path / "worker-0") and Path(compiledir).parent == tmp_path / "worker-0"
    assert flags == f"floatX=float64,base_compiledir={folder}"  # the shared compiledir is dropped
    assert second.split()[0] == str(tmp_path / "worker-1")  # worker-0 is taken while the first process lives
    assert rewrites == second.split()[-1] == str(tmp_path / "rewrites")
    assert late.startswith("pytensor was imported before worker_compiledir")
