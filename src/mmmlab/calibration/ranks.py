"""Simulation-based calibration: ranks of true values among posterior draws, and whether they are uniform.

For a model fitted to data simulated from its own prior, the rank of each true value among ``L``
(nearly independent) posterior draws is uniform on ``0..L`` exactly when the posterior is
calibrated (Talts et al. 2018). The ranks' ECDF is read against a simultaneous 95% band for a
uniform sample (Säilynoja et al. 2022), computed by arviz-stats; its shape names the failure:
ranks piled at both ends mean intervals too narrow, in the middle too wide, at one end a bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from arviz_stats.ecdf_utils import ecdf_pit

BAND_PROB = 0.95
BAND_SIMULATIONS = 1000
BAND_SEED = 214  # the band is simulated: a fixed seed gives the same band for the same number of fits


def thinned(draws: np.ndarray, count: int) -> np.ndarray:
    """``count`` draws taken evenly from the flattened draws (chains one after another).

    Parameters
    ----------
    draws : numpy.ndarray, shape (chain, draw) or (draws,)
    count : int
        How many to keep (``L``); at most the number of draws.

    Returns
    -------
    numpy.ndarray, shape (count,)
    """
    flat = np.asarray(draws, dtype=float).reshape(-1)
    if count > flat.size:
        raise ValueError(f"{count} draws asked of {flat.size}")
    return flat[np.linspace(0, flat.size - 1, count).round().astype(int)]


def rank(truth: float, draws: np.ndarray) -> int:
    """How many of ``draws`` lie below ``truth`` (0..len(draws))."""
    return int(np.sum(np.asarray(draws) < truth))


def randomised_pit(ranks: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Ranks on ``0..draws`` spread uniformly within their bins: exactly uniform on (0, 1) when calibrated.

    Parameters
    ----------
    ranks : numpy.ndarray of int
    draws : int
        ``L``, the number of posterior draws each rank was taken among.
    rng : numpy.random.Generator
    """
    return (np.asarray(ranks, dtype=float) + rng.uniform(size=len(ranks))) / (draws + 1)


@dataclass(frozen=True)
class Uniformity:
    """The ranks' ECDF against its simultaneous band, and the verdict in words.

    Attributes
    ----------
    points : numpy.ndarray
        Evaluation points in [0, 1].
    ecdf, lower, upper : numpy.ndarray
        The ECDF of the PIT values and the simultaneous ``BAND_PROB`` band at ``points``.
    verdict : str
        ``calibrated``, or what the shape of the departure says.
    """

    points: np.ndarray
    ecdf: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    verdict: str

    @property
    def inside(self) -> bool:
        """The whole ECDF lies inside its band."""
        return bool(np.all((self.ecdf >= self.lower) & (self.ecdf <= self.upper)))


def uniformity(ranks: np.ndarray, draws: int, seed: int = 0) -> Uniformity:
    """Whether ranks are uniform, by the ECDF of their randomised PIT values against a simultaneous band.

    Parameters
    ----------
    ranks : numpy.ndarray of int
        One rank per simulation, each on ``0..draws``.
    draws : int
        ``L``.
    seed : int
        For the randomisation within rank bins.

    Returns
    -------
    Uniformity
    """
    pit = randomised_pit(ranks, draws, np.random.default_rng(seed))
    points, ecdf, lower, upper = ecdf_pit(pit, BAND_PROB, BAND_SIMULATIONS, rng=np.random.default_rng(BAND_SEED))
    return Uniformity(points, ecdf, lower, upper, _shape(points, ecdf, lower, upper))


def _shape(points, ecdf, lower, upper) -> str:
    """Name the departure: where the ECDF leaves its band, and on which side.

    Above the band below the median (too many low ranks) together with below the band above it
    (too many high ranks) is a U: intervals too narrow. The reverse is too wide. Only too many low
    ranks: the truth tends to lie below the draws, so the posterior is biased upwards; only high: downwards.
    """
    above, below = ecdf > upper, ecdf < lower
    if not (above.any() or below.any()):
        return "calibrated"
    low, high = points < 0.5, points > 0.5
    many_low = (above & low).any()  # the ECDF rises too early: too many small ranks
    many_high = (below & high).any()  # it stays too low late: too many large ranks
    few_low, few_high = (below & low).any(), (above & high).any()
    if many_low and many_high:
        return "intervals too narrow (ranks piled at both ends)"
    if few_low and few_high:
        return "intervals too wide (ranks piled in the middle)"
    if many_low or few_high:
        return "biased upwards (the truth tends to lie below the posterior)"
    return "biased downwards (the truth tends to lie above the posterior)"
