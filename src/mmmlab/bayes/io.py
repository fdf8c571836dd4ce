"""Save a fitted MMM's whole trace as NetCDF (atomically) and load it back without re-sampling."""

from __future__ import annotations

from pathlib import Path

from mmmlab.bayes.build import quiet_pymc_marketing
from mmmlab.errors import UserInputError
from mmmlab.files import atomic_path


def save_fit(mmm, path: str | Path) -> Path:
    """Write the whole trace (prior, posterior, predictive, data, config) as NetCDF, atomically.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        A fitted model.
    path : str or pathlib.Path
        The NetCDF file; an interrupted write leaves the previous file as it was.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp, quiet_pymc_marketing():
        mmm.save(str(tmp))
    return path


def load_fit(path: str | Path):
    """The fitted MMM from its NetCDF trace, without re-sampling (``MMM.load``).

    Parameters
    ----------
    path : str or pathlib.Path
        A trace written by :func:`save_fit`.

    Returns
    -------
    pymc_marketing.mmm.MMM
        The model, rebuilt, with its whole trace in ``idata``.

    Raises
    ------
    UserInputError
        No file at ``path``.
    """
    with quiet_pymc_marketing():
        from pymc_marketing.mmm import MMM

        import mmmlab.bayes.components.mean_response_hill
        import mmmlab.bayes.components.recursive_adstock  # noqa: F401

    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no fitted trace; run `mmmlab fit` first")
    with quiet_pymc_marketing():
        return MMM.load(str(path))
