"""One `dvc repro` for the whole session: tests that only read its results share the reproduced copy, tests that change
a project take a copy of it of their own."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.e2e.helpers import copy_project, copy_repository, env, sh, small_params


@dataclass(frozen=True)
class Reproduced:
    """A repository copy with small settings after its first `dvc repro` (never change it: take `project_copy`)."""

    root: Path
    head: str  # the commit the pipeline ran at
    output: str  # what `dvc repro` printed, without the import profile
    seconds: float  # the whole `dvc repro`
    stage_seconds: dict[str, float]  # each stage's, from its 'Running stage' line to the next one (or the end)
    imported: dict[str, set[str]]  # the project's modules each stage imported (mmmlab.*)
    temp: Path  # the TMPDIR the pipeline ran with


# a line of Python's import profile (PYTHONPROFILEIMPORTTIME) naming one of the project's modules
PROJECT_IMPORT = re.compile(r"import time:.*\|\s*(mmmlab(?:\.\w+)*)\s*$")


def _timed_repro(root: Path, environment: dict) -> tuple[str, float, dict[str, float], dict[str, set[str]]]:
    """`dvc repro` (asserted to succeed) with every process's imports profiled: its output without the profile, its
    seconds, each stage's seconds and the project's modules each stage imported. DVC prints no lock update for a stage
    whose outputs match the committed dvc.lock, so a stage ends where the next one starts."""
    t0 = time.perf_counter()
    process = subprocess.Popen(["dvc", "repro"], cwd=root, env=environment | {"PYTHONPROFILEIMPORTTIME": "1"},
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines, seconds, imported, current, started = [], {}, {}, None, 0.0
    for line in process.stdout:
        now = time.monotonic()
        if line.startswith("import time:"):
            if current and (module := PROJECT_IMPORT.match(line)):  # before the first stage: DVC's own imports
                imported[current].add(module.group(1))
            continue
        lines.append(line)
        if line.startswith("Running stage '"):
            if current:
                seconds[current] = now - started
            current, started = line.split("'")[1], now
            imported[current] = set()
    process.wait()
    if current:
        seconds[current] = time.monotonic() - started
    output = "".join(lines)
    assert process.returncode == 0, output[-3000:]
    return output, time.perf_counter() - t0, seconds, imported


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory) -> Reproduced:
    root = copy_repository(tmp_path_factory.mktemp("repo"))
    (root / "params.yaml").write_text(small_params((root / "params.yaml").read_text()))
    sh(root, "git", "commit", "-qam", "small settings")
    head = sh(root, "git", "rev-parse", "HEAD").strip()
    temp = tmp_path_factory.mktemp("tempdir")
    output, seconds, stage_seconds, imported = _timed_repro(root, env(root) | {"PYTHONUNBUFFERED": "1",
                                                                               "TMPDIR": str(temp)})
    return Reproduced(root, head, output, seconds, stage_seconds, imported, temp)


@pytest.fixture
def project_copy(reproduced, tmp_path) -> Path:
    """This test's own copy of the reproduced project, to change freely."""
    return copy_project(reproduced.root, tmp_path / "repo")
