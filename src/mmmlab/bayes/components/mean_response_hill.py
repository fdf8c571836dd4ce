"""Hill saturation sampled by its response at mean spend instead of its asymptote.

``beta * hill(x; slope, kappa)`` with ``beta = value / hill(reference; slope, kappa)``: ``value`` is
the channel's response (share of max sales) when its normalised adstock sits at ``reference``, its
mean scaled spend. The curve and the map to original units are the Hill's (``saturation_beta`` is
kept in the trace as a deterministic), but the sampler no longer walks the curved ridge along
which a large ``kappa`` trades against a large ``beta`` when spend stays below saturation: data fix
``value`` almost directly. With normalised adstock the mean adstock equals the mean spend, so the
reference is a data constant and does not move with the decay.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pymc.dims as pmd
from pymc_extras.prior import Prior
from pymc_marketing.mmm.components.saturation import SaturationTransformation
from pymc_marketing.mmm.transformers import hill_function
from pymc_marketing.serialization import serialization
from pytensor.xtensor import as_xtensor


@serialization.register
class MeanResponseHill(SaturationTransformation):
    """Hill saturation with priors on (slope, kappa, value at ``reference``)."""

    lookup_name = "hill_mean_response"
    default_priors: ClassVar[dict[str, Prior]] = {
        "slope": Prior("Gamma", alpha=3, beta=3),
        "kappa": Prior("LogNormal", mu=0.693, sigma=0.8),
        "value": Prior("HalfNormal", sigma=0.3),
    }

    def __init__(self, reference, priors=None, prefix=None) -> None:
        self.reference = [float(r) for r in np.atleast_1d(reference)]
        if not all(r > 0 for r in self.reference):
            raise ValueError(f"reference must be positive per channel, got {self.reference}")
        super().__init__(priors=priors, prefix=prefix)

    def function(self, x, slope, kappa, value, *, dim: str | None = None):
        """``beta * hill(x)``, with ``beta`` derived from ``value`` and stored as ``saturation_beta``."""
        reference = as_xtensor(np.asarray(self.reference), dims=("channel",))
        beta = pmd.Deterministic(f"{self.prefix}_beta", value / hill_function(reference, slope, kappa))
        return beta * hill_function(x, slope, kappa)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reference": self.reference}


def mean_reference(spend: np.ndarray) -> np.ndarray:
    """Each channel's mean spend over its maximum (pymc-marketing's channel scale): the reference input.

    Parameters
    ----------
    spend : numpy.ndarray, shape (periods, channels)
        Spend per period.

    Returns
    -------
    numpy.ndarray, shape (channels,)
        Mean over max per channel; NaN for a channel never spent on.
    """
    spend = np.asarray(spend, dtype=float)
    with np.errstate(invalid="ignore"):  # a channel never spent on gives nan, which the caller names
        return spend.mean(axis=0) / np.abs(spend).max(axis=0)
