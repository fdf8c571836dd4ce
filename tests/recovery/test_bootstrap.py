"""The parametric bootstrap: draws are matched to parameters by name, and impossible sales are never hidden."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from mmmlab.recovery import bootstrap
from mmmlab.recovery.model import JointModel
from mmmlab.recovery.search import fit_point


@pytest.fixture(scope="module")
def small_fit(small, small_spec):
    return fit_point(JointModel(small, small_spec), small_spec)


def _intervals(found):
    return {(t.channel, t.parameter): (iv.lower, iv.upper) for t, iv in found}


def test_draws_are_matched_to_parameters_by_name(small_fit, small_spec, monkeypatch):
    """The targets listed in another order get the same intervals: nothing is matched by position."""
    _, found, _ = bootstrap.bootstrap_fit(small_fit, small_spec)
    in_order = _intervals(found)
    original = bootstrap.targets
    monkeypatch.setattr(bootstrap, "targets", lambda fit: original(fit)[::-1])
    _, found, _ = bootstrap.bootstrap_fit(small_fit, small_spec)
    assert _intervals(found) == in_order
    # and the labels make sense: every decay interval lies in the decay search box
    for (_, parameter), (lo, hi) in in_order.items():
        if parameter == "decay":
            assert 0.0 <= lo <= hi <= 0.95


def test_non_positive_simulated_sales_are_redrawn_counted_and_reported(small_fit, small_spec, monkeypatch):
    """A fit with a relative noise sd of 0.6 simulates sales <= 0 in some periods (a draw below -1/0.6 = -1.67 sd,
    about 5% of periods): they are drawn again, counted in the result and named in one plain warning."""
    noisy = dataclasses.replace(small_fit, rss=0.6**2 * small_fit.df_resid)  # sigma = sqrt(rss / df) = 0.6
    assert noisy.sigma == pytest.approx(0.6)
    targets = []
    original = JointModel.with_target

    def capture(self, y):
        targets.append(np.array(y))
        return original(self, y)

    monkeypatch.setattr(JointModel, "with_target", capture)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, info = bootstrap.bootstrap_fit(noisy, small_spec)
    messages = [str(w.message) for w in caught if "zero or negative" in str(w.message)]
    assert len(messages) == 1, [str(w.message) for w in caught]
    count = info["bootstrap_redrawn_sales"]
    # 10 draws x 48 periods at about 5% each: some, and far from all
    assert 0 < count < 0.2 * 10 * 48
    assert f"{count} of 480" in messages[0]
    # every refitted target is positive and none sits at a floor: no period is clamped
    sales = np.concatenate(targets)
    assert sales.min() > 0
    assert np.sum(sales < 1e-3 * small_fit.model.y.min()) == 0


def test_no_warning_when_every_simulated_sale_is_positive(small_fit, small_spec):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, info = bootstrap.bootstrap_fit(small_fit, small_spec)  # relative noise sd about 0.02
    assert info["bootstrap_redrawn_sales"] == 0
    assert not [w for w in caught if "zero or negative" in str(w.message)]
