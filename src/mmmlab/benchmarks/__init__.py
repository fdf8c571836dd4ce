"""Measurements (never assertions): each module's ``run()`` writes reports/benchmarks/<name>.json."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def write_result(output: str, result: dict) -> Path:
    """Write ``result`` after a ``machine`` block (cores, Python, platform, load average at the end) to ``output``."""
    from mmmlab.config import resolve
    from mmmlab.files import write_json

    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
               "load_average_at_end": os.getloadavg()}
    path = resolve(output)
    write_json(path, {"machine": machine} | result)
    return path
