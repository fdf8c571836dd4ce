"""What a fit's residuals still carry: autocorrelation (Durbin-Watson, lag-1 ACF) and yearly seasonality.

Residuals that remember their past mean the model misses slow structure (trend, season, carry-over)
and its intervals are too narrow; a residual autocorrelation at one year's lag means the season is
not modelled. Both stages (recover and fit) print these words after their summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.96  # a white-noise autocorrelation lies within +-Z95 / sqrt(n) 95% of the time


@dataclass(frozen=True)
class ResidualChecks:
    """Durbin-Watson and residual autocorrelations, with the white-noise band they are read against."""

    durbin_watson: float
    acf_lag1: float
    acf_year: float | None  # at one year's lag; None when the series is shorter than two years
    year_lag: int
    band: float

    @property
    def autocorrelated(self) -> bool:
        """The lag-1 autocorrelation lies outside the white-noise band."""
        return abs(self.acf_lag1) > self.band

    @property
    def seasonal(self) -> bool:
        """The autocorrelation at one year's lag lies outside the white-noise band."""
        return self.acf_year is not None and abs(self.acf_year) > self.band

    def words(self, seasonality_key: str) -> list[str]:
        """One line per finding (a clean bill of health is one line too).

        Parameters
        ----------
        seasonality_key : str
            The params key that adds Fourier terms in the stage (named in the advice).
        """
        lines = []
        if self.autocorrelated:
            lines.append(f"residuals are autocorrelated: Durbin-Watson {self.durbin_watson:.2f}, lag-1 autocorrelation "
                         f"{self.acf_lag1:.2f} (white noise: within ±{self.band:.2f}); the model misses slow structure "
                         "(trend, season, carry-over) and its intervals are too narrow")
        if self.seasonal:
            lines.append(f"residuals still carry yearly seasonality: autocorrelation {self.acf_year:.2f} at lag "
                         f"{self.year_lag} (white noise: within ±{self.band:.2f}); add Fourier terms "
                         f"({seasonality_key}) or a seasonal control")
        if not lines:
            year = "" if self.acf_year is None else f", {self.acf_year:.2f} at lag {self.year_lag}"
            lines.append(f"residuals look like white noise: Durbin-Watson {self.durbin_watson:.2f}, autocorrelation "
                         f"{self.acf_lag1:.2f} at lag 1{year} (within ±{self.band:.2f})")
        return lines

    def metrics(self) -> dict[str, float]:
        """Numbers for metrics.json and MLflow (``residual_acf_year`` only when measured)."""
        out = {"residual_durbin_watson": self.durbin_watson, "residual_acf_lag1": self.acf_lag1}
        if self.acf_year is not None:
            out["residual_acf_year"] = self.acf_year
        return out


def autocorrelation(x: np.ndarray, lag: int) -> float:
    """The sample autocorrelation of ``x`` at ``lag`` (the usual estimator: lag covariance over the variance)."""
    centred = x - x.mean()
    return float(centred[lag:] @ centred[:-lag] / (centred @ centred))


def periods_per_year(dates: pd.DatetimeIndex) -> int:
    """Periods in one year of regularly spaced ``dates`` (12 monthly, 52 weekly)."""
    step = float(np.median(np.diff(dates.values).astype("timedelta64[D]").astype(float)))
    return max(1, round(365.25 / step))


def residual_checks(residuals, dates: pd.DatetimeIndex) -> ResidualChecks:
    """Durbin-Watson and the residual autocorrelations at lag 1 and at one year.

    Parameters
    ----------
    residuals : array_like, shape (periods,)
        Observed minus fitted, in any units.
    dates : pandas.DatetimeIndex
        The periods, regularly spaced.

    Returns
    -------
    ResidualChecks
    """
    r = np.asarray(residuals, dtype=float)
    lag = periods_per_year(dates)
    dw = float(np.sum(np.diff(r) ** 2) / np.sum(r**2))
    year = autocorrelation(r, lag) if len(r) >= 2 * lag else None
    return ResidualChecks(dw, autocorrelation(r, 1), year, lag, Z95 / np.sqrt(len(r)))
