"""Media transforms against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmmlab.transforms import (
    adstock_weights,
    equilibrium_adstock,
    geometric_adstock,
    hill,
    hill_derivative,
    logistic,
    michaelis_menten,
)


# --------------------------------------------------------------------------- adstock
def test_adstock_pulse_decays_geometrically():
    np.testing.assert_allclose(geometric_adstock([100.0, 0.0, 0.0], 0.5), [100.0, 50.0, 25.0])


def test_adstock_carries_over_onto_new_spend():
    # S0 = 10; S1 = 20 + .5*10 = 25; S2 = 30 + .5*25 = 42.5; S3 = 0 + .5*42.5 = 21.25
    np.testing.assert_allclose(geometric_adstock([10, 20, 30, 0], 0.5), [10.0, 25.0, 42.5, 21.25])


def test_adstock_with_zero_decay_is_the_spend_itself():
    spend = [3.0, 1.0, 4.0, 1.0, 5.0]
    np.testing.assert_allclose(geometric_adstock(spend, 0.0), spend)


def test_adstock_first_period_has_no_history():
    # the recursion starts at S_0 = X_0, whatever the decay
    assert geometric_adstock([7.0, 0.0], 0.9)[0] == pytest.approx(7.0)


def test_adstock_two_dimensional_uses_one_decay_per_channel():
    spend = np.array([[100.0, 10.0], [0.0, 20.0], [0.0, 0.0]])
    expected = np.array([[100.0, 10.0], [80.0, 20.0 + 0.3 * 10.0], [64.0, 0.3 * 23.0]])
    np.testing.assert_allclose(geometric_adstock(spend, [0.8, 0.3]), expected)


def test_adstock_two_dimensional_scalar_decay_applies_to_all_channels():
    spend = np.array([[100.0, 40.0], [0.0, 0.0]])
    np.testing.assert_allclose(geometric_adstock(spend, 0.5), [[100.0, 40.0], [50.0, 20.0]])


def test_adstock_matches_a_plain_loop():
    rng = np.random.default_rng(1)
    spend = rng.uniform(0, 1000, 40)
    expected, carry = [], 0.0
    for x in spend:
        carry = x + 0.7 * carry
        expected.append(carry)
    np.testing.assert_allclose(geometric_adstock(spend, 0.7), expected)


def test_adstock_of_constant_spend_approaches_equilibrium():
    assert equilibrium_adstock(100.0, 0.8) == pytest.approx(500.0)
    assert geometric_adstock(np.full(200, 100.0), 0.8)[-1] == pytest.approx(500.0)
    np.testing.assert_allclose(equilibrium_adstock([10.0, 10.0], [0.5, 0.0]), [20.0, 10.0])


def test_truncated_equilibrium_sums_the_kernel_lags():
    # 10 * (1 + 0.5 + 0.25) with three lags; a decay of exactly 1 keeps every lag whole: 10 * 4
    assert equilibrium_adstock(10.0, 0.5, 3) == pytest.approx(17.5)
    assert equilibrium_adstock(10.0, 1.0, 4) == pytest.approx(40.0)
    np.testing.assert_allclose(equilibrium_adstock(1.0, [0.5, 0.0, 1.0], 2), [1.5, 1.0, 2.0])
    # with one lag the adstock is the spend itself
    assert equilibrium_adstock(7.0, 0.9, 1) == pytest.approx(7.0)


def test_equilibrium_keeps_xarray_labels():
    import xarray as xr

    decay = xr.DataArray([[0.5, 1.0]], dims=("draw", "channel"), coords={"channel": ["TV", "Radio"]})
    spend = xr.DataArray([10.0, 2.0], dims="channel", coords={"channel": ["TV", "Radio"]})
    truncated = equilibrium_adstock(spend, decay, 3)
    assert isinstance(truncated, xr.DataArray) and set(truncated.dims) == {"draw", "channel"}
    assert float(truncated.sel(channel="TV", draw=0)) == pytest.approx(17.5)  # 10 * 1.75
    assert float(truncated.sel(channel="Radio", draw=0)) == pytest.approx(6.0)  # 2 * 3 lags at decay 1
    untruncated = equilibrium_adstock(spend, decay.sel(channel=["TV"]))
    assert float(untruncated.sel(channel="TV", draw=0)) == pytest.approx(20.0)  # 10 / (1 - 0.5)


def test_adstock_weights_are_powers_of_the_decay():
    np.testing.assert_allclose(adstock_weights(0.5, 3), [1.0, 0.5, 0.25])
    np.testing.assert_allclose(adstock_weights(0.5, 3, normalize=True), [1 / 1.75, 0.5 / 1.75, 0.25 / 1.75])
    np.testing.assert_allclose(adstock_weights([0.5, 0.0], 2), [[1.0, 0.5], [1.0, 0.0]])


def test_adstock_equals_convolution_with_its_weights():
    spend = np.array([5.0, 0.0, 2.0, 8.0, 1.0])
    weights = adstock_weights(0.6, len(spend))
    convolved = np.convolve(spend, weights)[: len(spend)]
    np.testing.assert_allclose(geometric_adstock(spend, 0.6), convolved)


# --------------------------------------------------------------------------- hill
@pytest.mark.parametrize("gamma", [0.5, 0.7, 1.0, 2.0, 3.5])
def test_hill_at_half_saturation_gives_half_alpha(gamma):
    assert hill(35000.0, 25000.0, gamma, 35000.0) == pytest.approx(12500.0)


def test_hill_hand_values():
    # gamma = 1, S = 3k: alpha * 3 / 4
    assert hill(300.0, 8.0, 1.0, 100.0) == pytest.approx(6.0)
    # gamma = 2, S = 2k: alpha * 4 / 5
    assert hill(20.0, 10.0, 2.0, 10.0) == pytest.approx(8.0)
    # gamma = 2, S = k/2: alpha * (1/4) / (1/4 + 1) = alpha / 5
    assert hill(5.0, 10.0, 2.0, 10.0) == pytest.approx(2.0)
    # the seed's TV numbers: 25000 * 20000^.7 / (20000^.7 + 35000^.7)
    tv = 25000 * 20000**0.7 / (20000**0.7 + 35000**0.7)
    assert hill(20000.0, 25000.0, 0.7, 35000.0) == pytest.approx(tv)


def test_hill_is_zero_at_zero_and_bounded_by_alpha():
    s = np.array([0.0, 1.0, 1e3, 1e6, 1e12])
    out = hill(s, 5.0, 0.8, 1e3)
    assert out[0] == 0.0
    assert np.all(np.diff(out) > 0)
    assert np.all(out < 5.0)
    assert out[-1] == pytest.approx(5.0, rel=1e-6)
    assert np.all(np.isfinite(out))


def test_hill_two_dimensional_per_channel_parameters():
    s = np.array([[10.0, 30.0], [20.0, 90.0]])
    out = hill(s, np.array([2.0, 4.0]), np.array([1.0, 1.0]), np.array([10.0, 30.0]))
    np.testing.assert_allclose(out, [[1.0, 2.0], [2.0 * 2 / 3, 4.0 * 3 / 4]])


def test_hill_derivative_matches_hand_value_and_finite_differences():
    # gamma = 1: d/dS alpha S / (S + k) = alpha k / (S + k)^2; at S = k: alpha / (4k)
    assert hill_derivative(100.0, 8.0, 1.0, 100.0) == pytest.approx(8.0 / 400.0)
    s = np.array([500.0, 5000.0, 40000.0])
    h = 1e-3
    numeric = (hill(s + h, 25000.0, 0.7, 35000.0) - hill(s - h, 25000.0, 0.7, 35000.0)) / (2 * h)
    np.testing.assert_allclose(hill_derivative(s, 25000.0, 0.7, 35000.0), numeric, rtol=1e-6)


def test_logistic_hand_values():
    assert logistic(0.0, 2.0) == pytest.approx(0.0)
    # exp(-x) = 1/3 -> (2/3) / (4/3) = 1/2
    assert logistic(math.log(3.0), 1.0) == pytest.approx(0.5)
    assert logistic(1e3, 1.0) == pytest.approx(1.0)
    np.testing.assert_allclose(logistic(np.array([0.5, 2.0]), 3.0), np.tanh(np.array([0.75, 3.0])))


def test_michaelis_menten_hand_values():
    assert michaelis_menten(10.0, 6.0, 10.0) == pytest.approx(3.0)
    assert michaelis_menten(0.0, 6.0, 10.0) == 0.0
    np.testing.assert_allclose(michaelis_menten([30.0, 90.0], 4.0, 10.0), [3.0, 3.6])
