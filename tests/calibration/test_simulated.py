"""Coverage datasets and arms: the same true parameters in every arm, lift tests only where the arm asks for them."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mmmlab.bayes.sampling import Attempt
from mmmlab.calibration import simulated
from mmmlab.calibration.runner import Task
from mmmlab.config import load_params
from mmmlab.config.calibrate import calibrate_spec
from mmmlab.config.fit import SamplerSpec
from mmmlab.diagnostics import Gates, check_convergence
from mmmlab.evaluation import Truth
from tests.conftest import REPO
from tests.test_diagnostics import trace


@pytest.fixture
def context():
    params = load_params(REPO / "params.yaml")
    study = calibrate_spec(params).studies["lift_default"]
    return simulated.CoverageContext("key", params, study, simulated.study_fit_spec(params, study))


def test_each_arm_fits_the_same_truth_with_its_own_lift_tests(context, monkeypatch):
    seen = []

    def spy(context, dataset, truth, task, lift):
        seen.append((None if lift is None else list(lift.table["channel"]), truth.channels["TV"]["decay"],
                     dataset.spend[:, 0].sum()))
        passed = Attempt(SamplerSpec(), check_convergence(trace(), Gates()), 1.0)
        intervals = {"decay (TV)": {"truth": truth.channels["TV"]["decay"]}}
        return [passed], intervals, {"TV": 0.1}, {"mean": {"regret": 0.1}}

    monkeypatch.setattr(simulated, "_bayesian", spy)
    record = simulated.coverage_fit(context, Task("lift_default", 3, {"seed": 3003}))
    assert list(record["intervals"]) == ["fit: no_tests", "fit: four_tests", "fit: eight_tests"]
    assert list(record["budget"]) == list(record["intervals"])
    assert seen[0][0] is None and seen[1][0] == ["TV", "Digital", "Radio", "Print"] and len(seen[2][0]) == 8
    assert seen[0][1] == seen[1][1] == seen[2][1] == record["drawn"]["decay.TV"]  # one truth for every arm
    assert seen[0][2] == seen[1][2] < seen[2][2]  # eight tests: more experimental spend in the data
    assert record["gates_by_method"] == dict.fromkeys(record["intervals"], True) and record["gates_passed"]
    assert all(len(record["runs"][arm]) == 1 and record["gates"][arm]["attempts"] == 1 for arm in record["intervals"])


def test_contribution_srmse_by_hand():
    dates = pd.date_range("2020-01-01", periods=4, freq="MS")
    true = pd.DataFrame({"TV": [10.0, 20.0, 30.0, 40.0], "Radio": [1.0, 1.0, 1.0, 1.0]}, index=dates)
    truth = Truth(freq="MS", channels={"TV": {}, "Radio": {}}, contributions=true.assign(baseline=100.0))
    mean = xr.DataArray(np.array([[12.0, 1.0], [18.0, 1.0], [30.0, 3.0], [40.0, 1.0]]), dims=("date", "channel"),
                        coords={"channel": ["TV", "Radio"]})
    srmse = simulated.contribution_srmse(mean, truth, ["TV", "Radio"])
    assert srmse["TV"] == pytest.approx(np.sqrt((4 + 4) / 4) / 25)
    assert srmse["Radio"] == pytest.approx(np.sqrt(4 / 4) / 1)
