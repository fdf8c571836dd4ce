"""Shared fixtures of the simulator's tests."""

from contextlib import contextmanager

import pytest

from mmmlab.config import generate_section, load_params, simulation_spec
from mmmlab.simulate import simulate


@pytest.fixture
def quiet_tracking(monkeypatch):
    """The generate stage without MLflow (tracking is not under test here; the CLI tests run it for real)."""
    from mmmlab.stages import generate

    @contextmanager
    def stage_run(*args, **kwargs):
        yield "no-run"

    monkeypatch.setattr(generate.tracking, "stage_run", stage_run)
    for name in ("set_tags", "log_dataset", "log_metrics", "log_artifact"):
        monkeypatch.setattr(generate.tracking, name, lambda *a, **k: None)
    return generate


@pytest.fixture
def make(repo_root):
    """``make(*overrides) -> (raw generate section with preset merged, Simulation)``."""

    def _make(*overrides: str):
        params = load_params(repo_root / "params.yaml", overrides)
        return generate_section(params), simulate(simulation_spec(params))

    return _make
