"""`mmmlab pipeline`: every stage in order inside one parent MLflow run (the `main` entry point).

`dvc repro` is the incremental way to run the pipeline; this runs everything, each stage a
nested run, for `mlflow run . -e main`.
"""

from __future__ import annotations

import importlib

from mmmlab import tracking

STAGES = ("generate", "check", "recover", "fit", "report", "optimize")


def run(params: dict) -> str:
    """Run every stage of ``STAGES`` in order, each as a nested MLflow run of one parent run.

    Parameters
    ----------
    params : dict
        The raw params, passed whole to each stage.

    Returns
    -------
    str
        One line per stage: ``"<stage>: <its summary line>"``.

    Raises
    ------
    UserInputError
        From the first stage that finds its settings or inputs invalid; later stages do not run.
    GateFailure
        When a convergence gate fails under ``fit.strict``; the report stage does not run.
    """
    lines = []
    with tracking.pipeline_run(params):
        for stage in STAGES:
            lines.append(f"{stage}: {importlib.import_module(f'mmmlab.stages.{stage}').run(params)}")
    return "\n".join(lines)
