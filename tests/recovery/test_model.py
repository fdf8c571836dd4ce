"""The joint model's layout and design: one rule per question, and no state shared between copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mmmlab.dataset
from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.model import JointModel


def _theta(model: JointModel) -> np.ndarray:
    """A point inside the search box, away from its centre (no value comes from a truth)."""
    return model.layout.lower + 0.3 * (model.layout.upper - model.layout.lower)


# --------------------------------------------------------------------------- caches
def test_a_copy_owns_its_caches(small, small_spec, monkeypatch):
    """with_target's copy computes its own adstock medians and never reads (or fills) the original's."""
    model = JointModel(small, small_spec)
    computed = []
    original = JointModel.median_adstock

    def counting(self, j, decay):
        computed.append(self)
        return original(self, j, decay)

    monkeypatch.setattr(JointModel, "median_adstock", counting)
    model.k_range(0)
    copy = model.with_target(small.target * 1.1)
    copy.k_range(0)  # already known to the original: the copy must still compute its own
    copy.k_range(1)
    model.k_range(1)  # known to the copy only: the original must compute its own
    assert [m is copy for m in computed] == [False, True, True, False]


def test_a_copy_gives_residuals_of_its_own_target(small, make_small, small_spec):
    """Original and copy evaluated at the same theta, interleaved, each match a model built on its own sales."""
    other_sales = small.target + 50.0 * np.sin(np.arange(small.n_periods))
    model = JointModel(small, small_spec)
    theta = _theta(model)
    first = model.residuals(theta)
    copy = model.with_target(other_sales)
    copied = copy.residuals(theta)
    again = model.residuals(theta)
    rebuilt = JointModel(make_small(), small_spec)
    fresh_other = rebuilt.with_target(other_sales)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(copied, fresh_other.residuals(theta), rtol=1e-12)
    assert not np.allclose(first, copied)


# --------------------------------------------------------------------------- the most-frequent-level rule
def test_levels_most_frequent_first():
    from mmmlab.dataset import levels_most_frequent_first

    # counts: c 3, a 2, b 2 -> c first, the rest alphabetical
    assert levels_most_frequent_first(pd.Series(["b", "a", "c", "a", "b", "c", "c"])) == ["c", "a", "b"]
    # a tie for most frequent: the alphabetically first of the tied levels is the reference
    assert levels_most_frequent_first(pd.Series(["b", "a", "b", "a", "d"])) == ["a", "b", "d"]


def test_recovery_and_control_matrix_share_the_reference_level(make_small, small_spec):
    # Growth and Stable tie (20 each): alphabetically Growth is the reference, so neither one-hot nor multiplier has it
    economy = ["Stable"] * 20 + ["Growth"] * 20 + ["Boom"] * 8
    data = make_small(economy=economy)
    assert [c for c in data.control_matrix.columns if c.startswith("Economy")] == ["Economy[Boom]", "Economy[Stable]"]
    model = JointModel(data, small_spec)
    assert [n for n in model.layout.names if "Economy" in n] == ["baseline.Economy[Boom]", "baseline.Economy[Stable]"]


# --------------------------------------------------------------------------- overlapping experiment windows
def test_overlapping_experiments_count_for_both_channels(small, small_spec):
    """Periods 30-33 are labelled "A+B": each channel's window there holds its own spend. A is also tested in
    periods 10-13 and B in 20-23: each channel's two separate windows get a column each."""
    model = JointModel(small, small_spec)
    design = model.design(_theta(model))
    names = model.linear_names
    assert [n for n in names if n.startswith("experiment.")] == [
        "experiment.A #1", "experiment.A #2", "experiment.B #1", "experiment.B #2"]
    for name, channel, rows in [("A #1", 0, slice(10, 14)), ("A #2", 0, slice(30, 34)),
                                ("B #1", 1, slice(20, 24)), ("B #2", 1, slice(30, 34))]:
        expected = np.zeros(small.n_periods)
        expected[rows] = small.spend[rows, channel]
        np.testing.assert_array_equal(design[:, names.index(f"experiment.{name}")], expected)


def test_experiment_windows_follow_the_datasets_rule(make_small, small_spec, monkeypatch):
    """Recovery splits labels by the dataset's rule, not a rule of its own: change the rule, recovery follows."""
    monkeypatch.setattr(mmmlab.dataset, "EXPERIMENT_SEPARATOR", "&")
    labels = ["None"] * 30 + ["A&B"] * 4 + ["None"] * 14
    model = JointModel(make_small(experiments=labels), small_spec)
    assert [n for n in model.linear_names if n.startswith("experiment.")] == ["experiment.A", "experiment.B"]


def test_level_experiments_need_no_channel_names(make_small):
    labels = ["None"] * 30 + ["Promo"] * 4 + ["None"] * 14
    spec = RecoverySpec(levels="Event", multipliers=("Economy",), experiment_effect="level")
    model = JointModel(make_small(experiments=labels), spec)
    column = model.design(_theta(model))[:, model.linear_names.index("experiment.Promo")]
    np.testing.assert_array_equal(column, np.r_[np.zeros(30), np.ones(4), np.zeros(14)])


def test_spend_experiments_name_an_unknown_channel(make_small, small_spec):
    from mmmlab.errors import UserInputError

    labels = ["None"] * 30 + ["Promo"] * 4 + ["None"] * 14
    with pytest.raises(UserInputError, match=r"recover\.experiments\.effect.*'Promo'"):
        JointModel(make_small(experiments=labels), small_spec)
