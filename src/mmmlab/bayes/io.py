"""Save a fitted MMM's whole trace as NetCDF (atomically) and load it back without re-sampling."""

from __future__ import annotations

from pathlib import Path

from mmmlab.errors import UserInputError
from mmmlab.files import atomic_path


def save_fit(mmm, path: str | Path) -> Path:
    """Write the whole trace (prior, posterior, predictive, data, config) as NetCDF, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        mmm.save(str(tmp))
    return path


def load_fit(path: str | Path):
    """The fitted MMM from its NetCDF trace, without re-sampling (``MMM.load``)."""
    from pymc_marketing.mmm import MMM

    import mmmlab.bayes.components.mean_response_hill  # noqa: F401  (these register their classes for MMM.load)
    import mmmlab.bayes.components.recursive_adstock  # noqa: F401

    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no fitted trace; run `mmmlab fit` first")
    return MMM.load(str(path))
