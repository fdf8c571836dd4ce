"""mmm-lab: simulate, check, recover and fit Media Mix Models against a known truth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pymc_marketing.mmm import MMM

__version__ = "0.1.0"
__all__ = ["__version__", "load_fit"]


def load_fit(path: str | Path) -> MMM:
    """A fitted model from its trace file (``models/mmm_fit.nc``, or one downloaded from a fit run).

    The one documented way to load a fit: it registers this project's pymc-marketing components
    (the recursive adstock, the mean-response Hill saturation) before ``MMM.load``, which cannot
    rebuild the model without them. Nothing is re-sampled. Importing :mod:`mmmlab` stays light:
    pymc-marketing is imported on the first call.

    Parameters
    ----------
    path : str or pathlib.Path
        A trace written by ``mmmlab fit`` (the ``model/mmm_fit.nc`` artifact of a fit run, too).

    Returns
    -------
    pymc_marketing.mmm.MMM
        The model, rebuilt, with its whole trace in ``idata`` (prior, posterior, posterior
        predictive, sampler statistics, the data it was fitted on).

    Raises
    ------
    mmmlab.errors.UserInputError
        No file at ``path``.
    """
    from mmmlab.bayes.io import load_fit as _load_fit

    return _load_fit(path)
