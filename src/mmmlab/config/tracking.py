"""The ``tracking`` section: where MLflow files every stage's run."""

from __future__ import annotations

from dataclasses import dataclass

from mmmlab.config.section import Section


@dataclass(frozen=True)
class TrackingSpec:
    """MLflow settings; the default is params.yaml's."""

    experiment: str = "mmm-lab"  # the MLflow experiment every stage logs to


def tracking_spec(params: dict) -> TrackingSpec:
    """Validate the ``tracking`` section of ``params`` (every key optional)."""
    t = Section(params.get("tracking") or {}, "tracking")
    return TrackingSpec(experiment=str(t.get("experiment", TrackingSpec().experiment)))


def experiment_name(params: dict) -> str:
    """The MLflow experiment name in ``params`` (``tracking.experiment``)."""
    return tracking_spec(params).experiment
