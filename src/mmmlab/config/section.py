"""Reading a params mapping by dotted key: every error names the key and the allowed values."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mmmlab.errors import UserInputError


# --------------------------------------------------------------------------- validation helper
class Section:
    """A mapping read with its dotted path, so every error names the key."""

    def __init__(self, mapping: Any, path: str):
        if not isinstance(mapping, dict):
            raise UserInputError(f"{path}: expected a mapping, got {mapping!r}")
        self.mapping, self.path = mapping, path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def get(self, name: str, default: Any = ...) -> Any:
        if name in self.mapping:
            return self.mapping[name]
        if default is ...:
            raise UserInputError(f"{self.key(name)}: missing")
        return default

    def section(self, name: str) -> Section:
        return Section(self.get(name), self.key(name))

    def number(self, name, default=..., *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
        value = self.get(name, default)
        return check_number(value, self.key(name), lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, integer=integer)

    def date(self, name: str, default: Any = ...) -> pd.Timestamp:
        value = self.get(name, default)
        try:
            return pd.Timestamp(str(value))
        except (ValueError, TypeError):
            raise UserInputError(f"{self.key(name)}: {value!r} is not a date (use YYYY-MM-DD)") from None

    def choice(self, name: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(name, default)
        if value not in allowed:
            raise UserInputError(f"{self.key(name)}: {value!r} is not one of {', '.join(allowed)}")
        return value


def check_number(value, key, *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    """Validate a number against a range; the message names ``key`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserInputError(f"{key}: {value!r} is not a number")
    if integer and int(value) != value:
        raise UserInputError(f"{key}: {value!r} is not a whole number")
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and (value >= hi if hi_open else value > hi)
    if too_low or too_high:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        span = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise UserInputError(f"{key}: {value!r} is outside {span}")
    return int(value) if integer else float(value)
