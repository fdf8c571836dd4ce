"""Shared fixtures of the Bayesian model's tests."""

import pytest
from tests.conftest import REPO

from mmmlab import bayes
from mmmlab.config import GENERATED_COLUMNS, data_spec, fit_spec, load_params, simulation_spec
from mmmlab.dataset import load_dataset
from mmmlab.lift_data import load_lift_tests
from mmmlab.simulate import simulate
from mmmlab.simulate.lift_tests import readout_frame


@pytest.fixture
def lift_design(tmp_path):
    """``lift_design(*overrides) -> (params, simulation, fit spec, design with the lift tests)``: the simulator's
    data and readouts written as CSVs and read back as the fit stage reads them."""

    def make(*overrides: str):
        params = load_params(REPO / "params.yaml", overrides)
        sim = simulate(simulation_spec(params))
        csv, lifts = tmp_path / "data.csv", tmp_path / "lift_tests.csv"
        sim.frame.to_csv(csv, index=False)
        readout_frame(sim.lift_tests).to_csv(lifts, index=False)
        dataset = load_dataset(data_spec({"data": {"path": str(csv), "truth": None, **GENERATED_COLUMNS}}))
        spec = fit_spec(params)
        return params, sim, spec, bayes.design(dataset, spec.model, load_lift_tests(lifts, dataset, "lift_tests"))

    return make
