"""Reading a params mapping by dotted key: every error names the key and the allowed values.

While :func:`recording` is active, every :class:`Section` notes which keys it read, so
:func:`mmmlab.config.validate` can name a key that no spec reads (a typo, a moved key).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import enum
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import pandas as pd

from mmmlab.errors import UserInputError


class Choice(enum.StrEnum):
    """A choice among fixed strings: a member equals (and formats as) its text, so ``spec.x == "hill"`` holds."""


@dataclasses.dataclass
class Reads:
    """What the spec builders read: dotted keys (present or defaulted) and the paths read as sections."""

    keys: set[str] = dataclasses.field(default_factory=set)
    sections: set[str] = dataclasses.field(default_factory=set)


_READS: ContextVar[Reads | None] = ContextVar("mmmlab_config_reads", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Reads]:
    """Record the keys every :class:`Section` reads inside the block.

    Returns
    -------
    Reads
        Filled while the block runs.
    """
    reads = Reads()
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def join(path: str, name: Any) -> str:
    """``path.name``; the root's children (``path == ""``) are just ``name``."""
    return f"{path}.{name}" if path else str(name)


def defaults(cls: type) -> Any:
    """The field defaults of dataclass ``cls`` as attributes (fields without one are left out).

    Lets a parser take its defaults from the spec class itself, the one place they are written.
    """
    values = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    return type(f"{cls.__name__}Defaults", (), values)


def unknown_key(key: str, known: list[str], hint: str | None = None) -> UserInputError:
    """The error for ``key``, which no spec reads: the nearest of ``known`` (sibling names), or all of them.

    Parameters
    ----------
    key : str
        The dotted key.
    known : list of str
        The valid names at the same level (not dotted).
    hint : str, optional
        A full dotted key to suggest instead (a key that moved elsewhere).

    Returns
    -------
    UserInputError
        One line: ``<key>: unknown key (did you mean <nearest>?)`` or ``(known: a, b, ...)``.
    """
    parent, _, name = key.rpartition(".")
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if hint is None and close:
        hint = join(parent, close[0])
    if hint is not None:
        return UserInputError(f"{key}: unknown key (did you mean {hint}?)")
    return UserInputError(f"{key}: unknown key (known: {', '.join(sorted(known)) or 'none'})")


# --------------------------------------------------------------------------- validation helper
class Section:
    """A mapping read with its dotted path, so every error names the key.

    Parameters
    ----------
    mapping : dict
        The section's values; anything else is an error naming ``path``.
    path : str
        Its dotted key (``""`` for the whole params).
    """

    def __init__(self, mapping: Any, path: str):
        if not isinstance(mapping, dict):
            raise UserInputError(f"{path}: expected a mapping, got {mapping!r}")
        self.mapping, self.path = mapping, path
        reads = _READS.get()
        if reads is not None:
            reads.keys.add(path)
            reads.sections.add(path)

    def key(self, name: str) -> str:
        return join(self.path, name)

    def get(self, name: str, default: Any = ...) -> Any:
        """The value of ``name``, or ``default``; no default and no value: ``<key>: missing``."""
        reads = _READS.get()
        if reads is not None:
            reads.keys.add(self.key(name))
        if name in self.mapping:
            return self.mapping[name]
        if default is ...:
            raise UserInputError(f"{self.key(name)}: missing")
        return default

    def section(self, name: str, optional: bool = False) -> Section:
        """The sub-mapping ``name``; ``optional``: absent or null reads as empty (every key then defaults)."""
        value = self.get(name, None) if optional else self.get(name)
        return Section({} if optional and value is None else value, self.key(name))

    def number(self, name, default=..., *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
        """``name`` as a number in a range (see :func:`check_number`)."""
        value = self.get(name, default)
        return check_number(value, self.key(name), lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, integer=integer)

    def count_or_auto(self, name: str, default: Any = ..., *, hi: int) -> int | str:
        """``name`` as a whole number in [0, ``hi``] or the word ``auto`` (the stage decides from the data)."""
        value = self.get(name, default)
        if value == "auto":
            return value
        if isinstance(value, str):
            raise UserInputError(f"{self.key(name)}: {value!r} is not a whole number or auto")
        return self.number(name, default, lo=0, hi=hi, integer=True)

    def flag(self, name: str, default: Any = ...) -> bool:
        """``name`` as true or false."""
        value = self.get(name, default)
        if not isinstance(value, bool):
            raise UserInputError(f"{self.key(name)}: {value!r} is not true or false")
        return value

    def date(self, name: str, default: Any = ...) -> pd.Timestamp:
        """``name`` as a date (YYYY-MM-DD)."""
        value = self.get(name, default)
        try:
            return pd.Timestamp(str(value))
        except (ValueError, TypeError):
            raise UserInputError(f"{self.key(name)}: {value!r} is not a date (use YYYY-MM-DD)") from None

    def choice(self, name: str, allowed: type[Choice], default: Any = ...) -> Choice:
        """``name`` as a member of the enum ``allowed``; the error lists its values."""
        value = self.get(name, default)
        try:
            return allowed(value)
        except ValueError:
            raise UserInputError(f"{self.key(name)}: {value!r} is not one of {', '.join(allowed)}") from None


def check_number(value, key, *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    """Validate a number against a range.

    Parameters
    ----------
    value : Any
        The value read from params (a bool is not a number).
    key : str
        Its dotted key, named in the error.
    lo, hi : float, optional
        Bounds; ``lo_open``/``hi_open`` exclude them.
    integer : bool
        Require a whole number (returned as int).

    Returns
    -------
    int or float
    """
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
