"""What a study runs: its tasks, the function a worker runs for each, and how a record is logged."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mmmlab.calibration.runner import Task
from mmmlab.config.calibrate import StudyKind, StudySpec

RECORD_IDS = ("index", "seed")  # record keys logged as a child run's params; the numbers under them as metrics


@dataclass(frozen=True)
class Plan:
    """A study ready to run.

    Attributes
    ----------
    tasks : list of Task
        One per fit, in index order.
    work : callable
        Task -> record, run on a worker (importable by name).
    description : list of str
        The design and model in sentences, for the report.
    key : str
        The study's name and a digest of every setting its fits depend on: records made under
        another key are not this study's (:func:`settings_key`).
    """

    tasks: list[Task]
    work: Callable[[Task], dict]
    description: list[str]
    key: str


def settings_key(study: StudySpec, params: dict) -> str:
    """``<study>-<digest>``: the digest of the study's settings (but its number of fits: more fits extend a study),
    the fit, simulator, recovery and budget sections, and the package's source (records made by other code are stale)."""
    own = {k: v for k, v in params["calibrate"]["studies"][study.name].items() if k != "fits"}
    settings = [params.get("fit"), own, params.get("generate"), params.get("presets"), params.get("recover"),
                params.get("optimize")]
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + path.read_bytes())
    return f"{study.name}-{digest.hexdigest()[:12]}"


def plan_for(study: StudySpec, params: dict) -> Plan:
    """The plan of ``study``: SBC (:mod:`.sbc`) or coverage against the simulator (:mod:`.simulated`)."""
    if study.kind == StudyKind.sbc:
        from mmmlab.calibration.sbc import sbc_plan

        return sbc_plan(study, params)
    from mmmlab.calibration.simulated import coverage_plan

    return coverage_plan(study, params)


def child_params(record: dict) -> dict:
    """A fit's identifiers (its index and seed) and, for a failed fit, its error."""
    return {k: record[k] for k in (*RECORD_IDS, "error") if k in record}


def child_metrics(record: dict, prefix: str = "") -> dict[str, float]:
    """Every finite number of a record, by dotted path (``ranks.decay.TV``, ``intervals.fit.k.TV.hit_94``)."""
    out = {}
    for key, value in record.items():
        if key in RECORD_IDS:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= child_metrics(value, f"{path}.")
        elif isinstance(value, (bool, int, float)) and math.isfinite(float(value)):
            out[path] = float(value)
    return out
