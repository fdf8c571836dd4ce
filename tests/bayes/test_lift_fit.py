"""A real (short) fit: lift tests narrow what the model says about the tested channels."""

import warnings
from dataclasses import replace

import numpy as np
import pytest

from mmmlab import bayes
from mmmlab.bayes import sampling
from mmmlab.bayes.lift import OBSERVED, PREDICTED, add_predicted_lift

SHORT = ("fit.sampler.chains=2", "fit.sampler.draws=400", "fit.sampler.tune=300", "fit.sampler.reruns=0",
         "fit.sampler.progressbar=false", "fit.sampler.prior_samples=100")


@pytest.mark.slow
def test_lift_tests_narrow_the_lift_the_model_predicts(lift_design, monkeypatch):
    """The same short fit with and without the tests' likelihood (both predict each test's lift): with it, every
    test's predicted lift is at most half as wide and lies within two standard errors of its readout."""
    _, sim, spec, d = lift_design(*SHORT)
    predicted = {}
    for arm in ("without", "with"):
        with monkeypatch.context() as mp:
            if arm == "without":  # the predicted lifts only, no likelihood term
                mp.setattr(sampling, "add_lift_likelihood", add_predicted_lift)
            mmm = bayes.build_mmm(spec, d)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sampling.sample(mmm, d, replace(spec, sampler=replace(spec.sampler, random_seed=5)))
        assert (OBSERVED in mmm.model.named_vars) == (arm == "with")
        predicted[arm] = bayes.interval(mmm.idata["posterior"][PREDICTED], spec.hdi_prob)
    width = {arm: table["upper"] - table["lower"] for arm, table in predicted.items()}
    assert (width["with"] < 0.5 * width["without"]).all(), width
    # with the tests the posterior reproduces each readout (not the true lift: a readout is noisy)
    readouts = np.array([t.lift for t in sim.lift_tests]), np.array([t.lift_se for t in sim.lift_tests])
    assert (np.abs(predicted["with"]["mean"].to_numpy() - readouts[0]) < 2 * readouts[1]).all(), predicted["with"]
