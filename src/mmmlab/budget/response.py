"""Incremental sales of a spend plan over a horizon, through the project's one adstock and Hill curve.

A plan spends ``s_c`` per period on channel ``c`` for ``horizon`` periods after the data. The
adstock is linear in spend, so over the horizon it is the adstock carried from the data's spend
(``carried``: the history followed by no spend) plus ``s_c`` times the adstock of one unit spent
every horizon period (``unit``), both computed by :func:`mmmlab.transforms.geometric_adstock`. The
plan's incremental sales are ``sum_t hill(carried_t + s_c unit_t) - hill(carried_t)``: what the plan
adds to what past spend still brings. Parameters may hold one row per posterior draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmmlab.transforms import geometric_adstock, hill


@dataclass(frozen=True)
class ResponseCurves:
    """Per draw and channel: Hill parameters and the horizon's carried and unit adstock.

    Attributes
    ----------
    channels : tuple of str
    alpha, gamma, k : numpy.ndarray, shape (draws, channels)
        Hill asymptote (sales per period), shape and half-saturation point (adstocked spend).
    carried : numpy.ndarray, shape (draws, horizon, channels)
        Adstock over the horizon from the history's spend alone.
    unit : numpy.ndarray, shape (draws, horizon, channels)
        Adstock over the horizon of one unit spent in every horizon period.
    """

    channels: tuple[str, ...]
    alpha: np.ndarray
    gamma: np.ndarray
    k: np.ndarray
    carried: np.ndarray
    unit: np.ndarray

    @classmethod
    def from_parameters(cls, channels, decay, alpha, gamma, k, history: np.ndarray, horizon: int,
                        l_max: int | None = None) -> ResponseCurves:
        """Curves of channel parameters (one row per draw, or one row) after the spend ``history``.

        Parameters
        ----------
        channels : sequence of str
        decay, alpha, gamma, k : array-like, shape (channels,) or (draws, channels)
            In the simulator's units.
        history : numpy.ndarray, shape (periods, channels)
            Spend per period before the horizon.
        horizon : int
            Periods planned.
        l_max : int, optional
            Lags of the adstock (None: every period, the simulator's).
        """
        decay, alpha, gamma, k = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (decay, alpha, gamma, k))
        draws = max(len(decay), len(alpha), len(gamma), len(k))
        decay, alpha, gamma, k = (np.broadcast_to(v, (draws, len(channels))) for v in (decay, alpha, gamma, k))
        periods = len(history)
        past = np.concatenate([np.asarray(history, dtype=float), np.zeros((horizon, len(channels)))])
        future = np.concatenate([np.zeros((periods, len(channels))), np.ones((horizon, len(channels)))])
        carried = np.stack([geometric_adstock(past, row, l_max)[periods:] for row in decay])
        unit = np.stack([geometric_adstock(future, row, l_max)[periods:] for row in decay])
        return cls(tuple(channels), alpha, gamma, k, carried, unit)

    @property
    def draws(self) -> int:
        return len(self.alpha)

    def per_channel(self, spend) -> np.ndarray:
        """Incremental sales over the horizon of spending ``spend`` (channels,) per period: (draws, channels)."""
        s = np.asarray(spend, dtype=float)
        args = (self.alpha[:, None, :], self.gamma[:, None, :], self.k[:, None, :])
        return (hill(self.carried + s * self.unit, *args) - hill(self.carried, *args)).sum(axis=1)

    def incremental(self, spend) -> np.ndarray:
        """Total incremental sales over the horizon per draw: (draws,)."""
        return self.per_channel(spend).sum(axis=1)
