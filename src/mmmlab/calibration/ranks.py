"""Simulation-based calibration: ranks of true values among posterior draws, and whether they are uniform.

For a model fitted to data simulated from its own prior, the rank of each true value among ``L``
(nearly independent) posterior draws is uniform on ``0..L`` exactly when the posterior is
calibrated (Talts et al. 2018). The ranks' ECDF is read against a simultaneous 95% band for a
uniform sample (Säilynoja et al. 2022), computed by arviz-stats; its shape names the failure:
ranks piled at both ends mean intervals too narrow, in the middle too wide, at one end a bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from arviz_stats.ecdf_utils import compute_ecdf, get_pointwise_confidence_band, simulate_confidence_bands

BAND_PROB = 0.95
MIN_SIMULATIONS = 1000  # draws of a uniform sample's ECDF that the band is simulated from (at least)
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


def family_prob(quantities: int, prob: float = BAND_PROB) -> float:
    """The band probability per quantity that makes ``quantities`` bands hold together with ``prob`` (Bonferroni).

    With 47 quantities and 95% bands each, a calibrated model would see about two quantities leave
    their band by chance; with ``1 - 0.05 / 47`` each, all stay inside 95% of the time.
    """
    return 1 - (1 - prob) / max(quantities, 1)


@lru_cache(maxsize=64)
def band(fits: int, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The simultaneous ``prob`` band of the ECDF of ``fits`` uniform values (Säilynoja et al. 2022, arviz-stats).

    Returns
    -------
    points, lower, upper : numpy.ndarray
        Evaluation points in [0, 1] and the band there.
    """
    simulations = max(MIN_SIMULATIONS, int(np.ceil(20 / (1 - prob))))  # enough to place the band's quantile
    inner = np.arange(1, fits) / fits
    pointwise = simulate_confidence_bands(fits, 1, inner, prob, simulations, np.random.default_rng(BAND_SEED))
    lower, upper = get_pointwise_confidence_band(pointwise, fits, inner)
    ends = ([0.0], [1.0])
    return (np.concatenate([ends[0], inner, ends[1]]), np.concatenate([ends[0], lower, ends[1]]),
            np.concatenate([ends[0], upper, ends[1]]))


def uniformity(ranks: np.ndarray, draws: int, prob: float = BAND_PROB, seed: int = 0) -> Uniformity:
    """Whether ranks are uniform, by the ECDF of their randomised PIT values against a simultaneous band.

    Parameters
    ----------
    ranks : numpy.ndarray of int
        One rank per simulation, each on ``0..draws``.
    draws : int
        ``L``.
    prob : float
        The band's probability (:func:`family_prob` for one of several quantities).
    seed : int
        For the randomisation within rank bins.

    Returns
    -------
    Uniformity
    """
    pit = randomised_pit(ranks, draws, np.random.default_rng(seed))
    points, lower, upper = band(len(pit), prob)
    ecdf = compute_ecdf(pit, points)
    ecdf[0], ecdf[-1] = 0.0, 1.0
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
