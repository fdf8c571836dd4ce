"""The model's predicted lift of a test equals the simulator's noise-free lift at the true parameters."""

import numpy as np
import pytest

from mmmlab import bayes
from mmmlab.bayes.lift import OBSERVED, PREDICTED
from mmmlab.bayes.sampling import build

EXTRA_WINDOWS = (  # a second TV test overlapping the first, with its own multiplier, and a Print test
    "generate.experiments.windows=[{channel: TV, start: '2018-03-01', end: '2018-04-30', response_rate: 2.8},"
    " {channel: TV, start: '2018-04-01', end: '2018-06-30', multiplier: 2.0},"
    " {channel: Print, start: '2021-06-01', end: '2021-07-31', multiplier: 1.3}]",
)
CUTS = (  # tests that cut spend to a fifth (negative extra spend and lift), beside one that adds it
    ("generate.experiments.windows=[{channel: TV, start: '2018-03-01', end: '2018-04-30', multiplier: 0.2},"
     " {channel: Radio, start: '2020-01-01', end: '2020-02-29', multiplier: 0.2},"
     " {channel: Digital, start: '2019-07-01', end: '2019-08-31'}]"),
)


def _model_at_truth(lift_design, overrides=()):
    _, sim, spec, d = lift_design(*overrides)
    mmm = bayes.build_mmm(spec, d)
    build(mmm, d)
    return mmm, d, sim.truth


def _predicted_at(mmm, d, truth, factor=1.0):
    """The model's predicted lifts with every channel parameter at the truth, mapped by hand to the model's units
    (k and alpha divided by pymc-marketing's channel and target scales); ``factor`` scales the true k."""
    model = mmm.model
    channel_scale = model["channel_scale"].get_value()
    target_scale = float(model["target_scale"].get_value())
    true = [truth["channels"][c] for c in d.channels]
    point = {"adstock_alpha": [t["decay"] for t in true], "saturation_slope": [t["gamma"] for t in true],
             "saturation_kappa": [factor * t["k"] / s for t, s in zip(true, channel_scale)],
             "saturation_beta": [t["alpha"] / target_scale for t in true]}
    predicted = model.compile_fn(model[PREDICTED], inputs=[model[n] for n in point], on_unused_input="ignore")
    return predicted({n: np.array(v) for n, v in point.items()})


@pytest.mark.parametrize("overrides", [(), EXTRA_WINDOWS, CUTS], ids=["the seed's four tests", "overlapping tests",
                                                                  "spend cuts"])
def test_predicted_lift_at_the_true_parameters_is_the_true_lift(lift_design, overrides):
    mmm, d, truth = _model_at_truth(lift_design, overrides)
    true_lift = [t["true_lift"] for t in truth["lift_tests"]]
    assert len(true_lift) == len(d.lift.lift) >= 3
    if overrides == CUTS:
        assert true_lift[0] < 0 and true_lift[1] < 0 < true_lift[2]
    np.testing.assert_allclose(_predicted_at(mmm, d, truth), true_lift, rtol=1e-9)
    # the comparison can fail: another curve predicts other lifts
    assert not np.allclose(_predicted_at(mmm, d, truth, factor=1.2), true_lift, rtol=1e-3)


def test_the_readouts_are_the_likelihood_terms_observations(lift_design):
    mmm, d, truth = _model_at_truth(lift_design)
    observed = mmm.model.rvs_to_values[mmm.model[OBSERVED]]
    np.testing.assert_array_equal(observed.get_value(), [t["lift"] for t in truth["lift_tests"]])
    np.testing.assert_array_equal(mmm.model["lift_se"].get_value(), [t["lift_se"] for t in truth["lift_tests"]])
