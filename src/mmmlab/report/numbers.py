"""One way to write numbers in every table and sentence of the report.

Rules (:func:`number` for one value, :func:`column` for a table column):

- thousands separators from 1,000 up, written without decimals (``1,419,225``);
- below that, 4 significant digits in fixed point (``0.4016``, ``40.3``, ``0.00003004``);
- scientific notation only for values so tiny that fixed point stops being readable (below ``1e-6``);
- a column whose values share a magnitude (within a factor ``SPREAD``) gets one number of decimals,
  so its digits line up; a column mixing magnitudes (rows of different parameters, say) is written
  value by value with the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

SIGNIFICANT = 4  # significant digits below 1,000
TINY = 1e-6  # below this (and not zero) a single value is written in scientific notation
SPREAD = 1e3  # a column whose largest value is more than this times its smallest is written value by value


def decimals(magnitude: float, digits: int = SIGNIFICANT) -> int:
    """Decimals that write ``magnitude`` with ``digits`` significant digits (none from 1,000 up).

    Parameters
    ----------
    magnitude : float
        A positive, finite size.
    digits : int, optional
        Significant digits wanted.

    Returns
    -------
    int
        0 for magnitudes of 1,000 and more, else ``digits - 1 - floor(log10(magnitude))``.
    """
    if magnitude >= 1000:
        return 0
    return max(0, digits - 1 - math.floor(math.log10(magnitude)))


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def number(value, places: int | None = None, digits: int = SIGNIFICANT) -> str:
    """One number as the report writes it.

    Parameters
    ----------
    value : float or int or None
        The number; None, NaN and infinities give an empty string.
    places : int, optional
        Fixed decimals (a column's, from :func:`column`); None: ``digits`` significant digits
        with trailing zeros dropped.
    digits : int, optional
        Significant digits below 1,000 when ``places`` is None (sentences may ask for 3).

    Returns
    -------
    str
        ``"1,419,225"``, ``"0.4016"``, ``"0.8"``, ``"0.00003004"``, ``"3.2e-08"``, ``"0"``, ``""``.
    """
    if value is None or not _is_number(value) or not np.isfinite(value):
        return ""
    v = float(value)
    if v == 0:
        return "0"
    size = abs(v)
    if places is not None:
        text = f"{v:,.{places}f}"
        return text[1:] if text.startswith("-") and not any(ch in "123456789" for ch in text) else text  # no "-0.000"
    if size < TINY:
        return f"{v:.2g}"
    if size >= 1000 or float(v).is_integer():
        return f"{v:,.0f}"
    text = f"{v:,.{decimals(size, digits)}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return text


def column(values: Iterable) -> list[str]:
    """A table column's numbers written alike (missing values empty).

    Parameters
    ----------
    values : iterable of float or None
        The column.

    Returns
    -------
    list of str
        With one shared number of decimals when the nonzero values lie within a factor ``SPREAD``
        of each other and are not all whole numbers (enough for 4 significant digits of the
        largest and at least 2 of the smallest); otherwise :func:`number` of each value.
    """
    values = list(values)
    sizes = [abs(float(v)) for v in values if _is_number(v) and np.isfinite(v) and v != 0]
    if not sizes or all(float(v).is_integer() for v in values if _is_number(v) and np.isfinite(v)):
        return [number(v) for v in values]
    top, low = max(sizes), min(sizes)
    if top > SPREAD * low:
        return [number(v) for v in values]
    places = max(decimals(top), decimals(low, 2))  # the largest keeps 4 significant digits, the smallest at least 2
    return [number(v, places) for v in values]


def percent(value: float, places: int = 0) -> str:
    """A share as a percentage: ``0.1894`` -> ``"19%"`` (``places`` decimals); empty when not finite."""
    if value is None or not np.isfinite(value):
        return ""
    return f"{value:.{places}%}"
