"""The nonlinear parameter vector ``theta``: where each parameter sits and how far the search may move it.

``theta`` holds, per channel, ``decay``, ``gamma`` and ``log k_rel`` (``k = k_rel * median(adstocked
spend)``), then the baseline's ``growth`` (multiplicative form with a trend) and the log multipliers of
every non-reference level of the ``multipliers`` columns. Bounds come from ``params.yaml`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmmlab.config.recover import RecoverySpec

NONLINEAR_PER_CHANNEL = ("decay", "gamma", "log_k_rel")  # the order of a channel's block in theta


@dataclass(frozen=True, eq=False)
class ParameterLayout:
    """Names, positions and search bounds of the nonlinear parameters.

    Parameters
    ----------
    names : tuple of str
        One name per coordinate of ``theta`` (``"TV.decay"``, ``"baseline.growth"`` ...).
    lower, upper : numpy.ndarray
        The search box, on the working scale (log for ``k_rel`` and the multipliers).
    growth_index : int or None
        Position of the baseline growth; None when the model has none.
    multiplier_offset : int
        Position of the first log multiplier; they run to the end of ``theta``.
    """

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    growth_index: int | None
    multiplier_offset: int

    def __len__(self) -> int:
        return len(self.names)

    @staticmethod
    def channel_slice(j: int) -> slice:
        """Where channel ``j``'s block (its decay, gamma and log k_rel) sits in ``theta``."""
        return slice(3 * j, 3 * j + 3)

    @staticmethod
    def channel_index(j: int, parameter: str) -> int:
        """Where one of channel ``j``'s parameters sits in ``theta``.

        Parameters
        ----------
        j : int
            Channel index.
        parameter : str
            One of ``NONLINEAR_PER_CHANNEL``: ``"decay"``, ``"gamma"`` or ``"log_k_rel"``.

        Returns
        -------
        int
        """
        return 3 * j + NONLINEAR_PER_CHANNEL.index(parameter)

    def growth(self, theta) -> float | None:
        """The baseline growth per period.

        Parameters
        ----------
        theta : numpy.ndarray

        Returns
        -------
        float or None
            None when the model has no growth.
        """
        return None if self.growth_index is None else theta[self.growth_index]

    def log_multipliers(self, theta) -> np.ndarray:
        """The log multipliers.

        Parameters
        ----------
        theta : numpy.ndarray

        Returns
        -------
        numpy.ndarray
            In the order of the multiplier names (empty when there are none).
        """
        return theta[self.multiplier_offset:]


def parameter_layout(channels, spec: RecoverySpec, growth: bool, multiplier_names) -> ParameterLayout:
    """Lay out ``theta`` for ``channels``, a growth term if ``growth``, then ``multiplier_names``.

    Parameters
    ----------
    channels : sequence of str
        Channel names, in the dataset's order.
    spec : RecoverySpec
        Supplies the search bounds (decay, gamma, k relative to the median adstock, growth, multiplier).
    growth : bool
        Whether the baseline has a growth per period.
    multiplier_names : sequence of str
        Names of the multipliers, one per non-reference level.

    Returns
    -------
    ParameterLayout
    """
    names, lo, hi = [], [], []
    for ch in channels:
        names += [f"{ch}.{p}" for p in NONLINEAR_PER_CHANNEL]
        lo += [spec.decay_bounds[0], spec.gamma_bounds[0], np.log(spec.k_bounds[0])]
        hi += [spec.decay_bounds[1], spec.gamma_bounds[1], np.log(spec.k_bounds[1])]
    growth_index = None
    if growth:
        growth_index = len(names)
        names.append("baseline.growth")
        lo.append(spec.growth_bounds[0])
        hi.append(spec.growth_bounds[1])
    offset = len(names)
    names += list(multiplier_names)
    lo += [np.log(spec.multiplier_bounds[0])] * len(multiplier_names)
    hi += [np.log(spec.multiplier_bounds[1])] * len(multiplier_names)
    return ParameterLayout(tuple(names), np.array(lo, dtype=float), np.array(hi, dtype=float), growth_index, offset)
