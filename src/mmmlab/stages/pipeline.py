"""`mmmlab pipeline`: every stage in order inside one parent MLflow run (the `main` entry point).

`dvc repro` is the incremental way to run the pipeline; this runs everything, each stage a
nested run, for `mlflow run . -e main`.
"""

from __future__ import annotations

import importlib

from mmmlab import tracking

STAGES = ("generate", "check", "recover", "fit", "report")


def run(params: dict) -> str:
    lines = []
    with tracking.pipeline_run(params):
        for stage in STAGES:
            lines.append(f"{stage}: {importlib.import_module(f'mmmlab.stages.{stage}').run(params)}")
    return "\n".join(lines)
