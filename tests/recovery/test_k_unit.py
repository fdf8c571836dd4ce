"""k is searched relative to the median *positive* adstocked spend, so flighted channels keep a usable k range."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mmmlab.recovery.model import JointModel
from mmmlab.recovery.projection import k_unit


def test_k_unit_is_the_median_of_the_positive_values():
    adstock = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 3.0], [2.0, 0.0], [4.0, 5.0], [6.0, 7.0]])
    # column 0: 2, 4, 6 -> 4; column 1: 1, 3, 5, 7 -> (3 + 5) / 2
    np.testing.assert_allclose(k_unit(adstock), [4.0, 4.0])
    assert float(k_unit(adstock[:, 0])) == pytest.approx(4.0)  # one channel, 1-D


def _flighted(make_small):
    """The small dataset with channel B dark in 80% of the months (as pymc-marketing's example x2)."""
    dataset = make_small()
    spend = dataset.spend.copy()
    spend[np.random.default_rng(0).uniform(size=len(spend)) < 0.8, 1] = 0.0
    return type(dataset)(**{**dataset.__dict__, "spend": spend})


def test_a_flighted_channel_gets_a_positive_k_range_without_warnings(make_small, small_spec):
    model = JointModel(_flighted(make_small), small_spec)
    positive = model.spend[model.spend[:, 1] > 0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lo, hi = model.k_range(1)
    # at decay 0 the adstock is the spend: the lowest k is 0.1 x the median positive spend
    assert lo == pytest.approx(small_spec.k_bounds[0] * np.median(positive))
    assert 0 < lo < hi


@pytest.mark.parametrize("flighted", [False, True])
def test_the_jacobian_matches_finite_differences(make_small, small_spec, flighted):
    """The analytic Jacobian moves k with its unit (the median positive adstock) exactly as the residuals do."""
    dataset = _flighted(make_small) if flighted else make_small()
    model = JointModel(dataset, small_spec)
    theta = model.layout.lower + 0.37 * (model.layout.upper - model.layout.lower)
    analytic = model.jacobian(theta)
    numeric = np.empty_like(analytic)
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = 1e-6 * max(1.0, abs(theta[i]))
        numeric[:, i] = (model.residuals(theta + step) - model.residuals(theta - step)) / (2 * step[i])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6 * np.abs(numeric).max())
