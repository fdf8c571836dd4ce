"""SBC ranks and their uniformity check: hand-computed ranks, and a check that fails on a biased posterior."""

from __future__ import annotations

import numpy as np
import pytest

from mmmlab.calibration.ranks import rank, thinned, uniformity

L = 99


def test_rank_counts_the_draws_below_the_truth():
    draws = np.array([0.5, 1.5, 2.5, 3.5])
    assert [rank(t, draws) for t in (0.0, 1.0, 3.0, 4.0)] == [0, 1, 3, 4]
    assert rank(1.5, draws) == 1  # a draw equal to the truth is not below it


def test_thinned_takes_evenly_spaced_draws_across_chains():
    draws = np.arange(20.0).reshape(2, 10)  # chain 0: 0..9, chain 1: 10..19
    np.testing.assert_array_equal(thinned(draws, 4), [0.0, 6.0, 13.0, 19.0])  # positions 0, 6.33, 12.67, 19
    with pytest.raises(ValueError):
        thinned(draws, 21)


def _sbc_ranks(shift_in_sd: float, scale: float = 1.0, n: int = 300, seed: int = 1) -> np.ndarray:
    """SBC of a conjugate normal model (prior N(0, 1), one observation with sd 1): the exact posterior is
    N(y / 2, 1 / 2); ``shift_in_sd`` moves it by a fraction of its sd, ``scale`` widens or narrows it."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n)
    y = theta + rng.standard_normal(n)
    sd = np.sqrt(0.5)
    draws = (y / 2 + shift_in_sd * sd)[:, None] + scale * sd * rng.standard_normal((n, L))
    return np.array([rank(t, d) for t, d in zip(theta, draws)])


def test_the_exact_posterior_is_calibrated():
    result = uniformity(_sbc_ranks(0.0), L)
    assert result.inside and result.verdict == "calibrated"


@pytest.mark.parametrize("shift, scale, verdict", [
    (0.5, 1.0, "biased upwards"),  # draws shifted up by half an sd: the truth sits low, ranks pile at 0
    (-0.5, 1.0, "biased downwards"),
    (0.0, 0.5, "intervals too narrow"),
    (0.0, 2.0, "intervals too wide"),
])
def test_a_miscalibrated_posterior_is_flagged_by_its_shape(shift, scale, verdict):
    result = uniformity(_sbc_ranks(shift, scale), L)
    assert not result.inside
    assert result.verdict.startswith(verdict)


def test_the_family_band_keeps_many_calibrated_quantities_inside():
    """40 calibrated quantities: a 95% band each lets some out by chance; the Bonferroni band keeps them in."""
    from mmmlab.calibration.ranks import family_prob

    assert family_prob(47) == pytest.approx(1 - 0.05 / 47)
    sets = [_sbc_ranks(0.0, seed=s) for s in range(40)]
    single = sum(not uniformity(r, L).inside for r in sets)
    family = sum(not uniformity(r, L, family_prob(40)).inside for r in sets)
    assert single >= 1 and family == 0
