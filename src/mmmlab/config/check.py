"""The ``check`` section: the data-check figures' settings."""

from __future__ import annotations

from dataclasses import dataclass

from mmmlab.config.section import Section, check_number
from mmmlab.errors import UserInputError


@dataclass(frozen=True)
class CheckSpec:
    """How long the adstock pulse figure runs and which grey reference decays it draws (defaults: params.yaml's)."""

    pulse_periods: int = 24
    reference_decays: tuple[float, ...] = (0.1, 0.9)


def check_spec(params: dict) -> CheckSpec:
    """Validate the ``check`` section of ``params`` (every key optional)."""
    d = CheckSpec()
    check = Section(params.get("check") or {}, "check")
    periods = int(check.number("pulse_periods", d.pulse_periods, lo=1, integer=True))
    references = check.get("reference_decays", list(d.reference_decays))
    if not isinstance(references, list):
        raise UserInputError(f"check.reference_decays: expected a list of decays, got {references!r}")
    decays = tuple(check_number(v, f"check.reference_decays.{i}", lo=0, hi=1, hi_open=True)
                   for i, v in enumerate(references))
    return CheckSpec(pulse_periods=periods, reference_decays=decays)
