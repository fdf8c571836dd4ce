"""Importing the package changes nothing process-wide: no environment variables, no warnings filters.

The libraries it uses are imported first: what they set on import is theirs, not ours.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import importlib, os, pkgutil, warnings
import arviz, matplotlib.pyplot, mlflow, mlflow.data, numba, nutpie, pymc, pymc_marketing.mlflow, pymc_marketing.mmm
import pytensor, pytensor.link.numba.dispatch, scipy.optimize, statsmodels.api
import mmmlab
environment, filters = dict(os.environ), list(warnings.filters)
for module in pkgutil.walk_packages(mmmlab.__path__, "mmmlab."):
    if ".benchmarks" not in module.name and not module.name.endswith("__main__"):
        importlib.import_module(module.name)
changed = sorted(k for k in set(os.environ) | set(environment) if os.environ.get(k) != environment.get(k))
added = [f for f in warnings.filters if f not in filters]
print(changed, added)
"""


def test_importing_every_module_leaves_environment_and_warnings_alone():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[] []"
