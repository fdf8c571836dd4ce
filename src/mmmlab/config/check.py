"""The ``check`` section: the data-check figures' settings."""

from __future__ import annotations

from dataclasses import dataclass

from mmmlab.config.section import Section, check_number
from mmmlab.errors import UserInputError


@dataclass(frozen=True)
class CheckSpec:
    """How long the adstock pulse figure runs and which grey reference decays it draws."""

    pulse_periods: int
    reference_decays: tuple[float, ...]


def check_spec(params: dict) -> CheckSpec:
    """Validate ``params['check']``; every error names the key."""
    check = Section(params.get("check"), "check")
    periods = int(check.number("pulse_periods", lo=1, integer=True))
    references = check.get("reference_decays")
    if not isinstance(references, list):
        raise UserInputError(f"check.reference_decays: expected a list of decays, got {references!r}")
    decays = tuple(check_number(v, f"check.reference_decays.{i}", lo=0, hi=1, hi_open=True)
                   for i, v in enumerate(references))
    return CheckSpec(pulse_periods=periods, reference_decays=decays)
