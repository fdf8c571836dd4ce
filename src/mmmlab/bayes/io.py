"""Save a fitted MMM's trace as NetCDF (atomically, compressed, the same bytes for the same draws) and load it back.

The file holds the sampled parameters and deterministics, the prior and posterior predictive, the
data and the model's configuration, compressed. Per-period series that are one product of saved
variables (pymc-marketing's ``*_original_scale`` copies and ``control_contribution``) are left out and
rebuilt exactly on load; the parameter groups' ``y_original_scale`` (one more predictive draw per
sample, which no code reads) is left out. So are the times of the run (when each group was created,
how long sampling took), so that a re-run with the same inputs writes the same bytes: the fit stage
reports its timings in ``reports/fit/convergence.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from mmmlab.bayes.build import quiet_pymc_marketing
from mmmlab.errors import UserInputError
from mmmlab.files import atomic_path

# attributes that record when or how fast this run went, not what it computed
RUN_TIME_ATTRS = ("created_at", "sampling_time")
# groups of draws, which may hold per-period series that the file leaves out
DRAW_GROUPS = ("prior", "posterior", "prior_predictive", "posterior_predictive")
SUFFIX = "_original_scale"
REBUILT = "mmmlab_rebuilt_on_load"  # group attribute: the series load_fit rebuilds
# beside the parameters, pymc-marketing's scaled copy of the likelihood's variable: with nutpie one more predictive
# draw per sample, which no code reads (the report reads the predictive group's copy)
NOT_STORED = {"prior": ("y_original_scale",), "posterior": ("y_original_scale",)}
COMPRESSION = {"zlib": True, "complevel": 4, "shuffle": True}


def save_fit(mmm, path: str | Path) -> Path:
    """Write the trace as compressed NetCDF, atomically, without its run times and derived series.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        A fitted model; its ``idata`` is not changed.
    path : str or pathlib.Path
        The NetCDF file; an interrupted write leaves the previous file as it was.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    full = mmm.idata
    tree = stored_tree(full, list(mmm.model.named_vars))
    encoding = {group: {name: COMPRESSION for name, var in tree[group].data_vars.items() if var.dtype.kind in "biufc"}
                for group in tree.groups}
    # MMM.save writes self.idata, after adding what MMM.load needs (the names of the scaled-back variables)
    mmm.idata = tree
    try:
        with atomic_path(path) as tmp, quiet_pymc_marketing():
            mmm.save(str(tmp), engine="h5netcdf", encoding={g: e for g, e in encoding.items() if e})
    finally:
        mmm.idata = full
    return path


def stored_tree(idata: xr.DataTree, order: Sequence[str] = ()) -> xr.DataTree:
    """The tree as :func:`save_fit` writes it: no run times, no series that :func:`load_fit` rebuilds or no code reads.

    Parameters
    ----------
    idata : xarray.DataTree
        A fitted model's trace; not changed.
    order : sequence of str
        Variable names in a fixed order (the model's): each group's variables follow it, the others
        come after it by name, and coordinates follow the variables. pymc builds the prior's groups
        from sets, whose order changes from process to process with Python's string hashing, and
        NetCDF lays out the file in the order it is given.

    Returns
    -------
    xarray.DataTree
        A new tree sharing the arrays; a group that lost series that :func:`load_fit` rebuilds names
        them in its ``REBUILT`` attribute.
    """
    rank = {name: i for i, name in enumerate(order)}
    groups = {}
    for node in idata.subtree:
        ds = node.to_dataset(inherit=False)
        attrs = {k: v for k, v in node.attrs.items() if k not in RUN_TIME_ATTRS}
        if node.name in DRAW_GROUPS:
            rebuilt = sorted(name for name in ds.data_vars if _rebuildable(name, ds))
            ds = ds.drop_vars([*rebuilt, *(v for v in NOT_STORED.get(node.name, ()) if v in ds.data_vars)])
            if rebuilt:
                attrs[REBUILT] = json.dumps(rebuilt)
        groups[node.path] = _in_order(ds, rank, attrs)
    return xr.DataTree.from_dict(groups)


def _in_order(ds: xr.Dataset, rank: dict[str, int], attrs: dict) -> xr.Dataset:
    """``ds`` rebuilt with its variables in ``rank``'s order (the rest by name), its coordinates in the order their
    dimensions first appear, then by name: NetCDF lays the file out in this order."""
    names = sorted(ds.data_vars, key=lambda name: (rank.get(name, len(rank)), name))
    dims = list(dict.fromkeys(d for name in names for d in ds[name].dims))
    coords = [c for c in dims if c in ds.coords] + sorted(c for c in ds.coords if c not in dims)
    return xr.Dataset({name: ds[name].variable for name in names}, coords={c: ds[c].variable for c in coords},
                      attrs=attrs)


def _rebuildable(name: str, ds: xr.Dataset) -> bool:
    if name == "control_contribution":
        return "gamma_control" in ds.data_vars
    return name.endswith(SUFFIX) and name.removesuffix(SUFFIX) in ds.data_vars


def load_fit(path: str | Path):
    """The fitted MMM from its NetCDF trace, without re-sampling (``MMM.load``), with the derived series rebuilt.

    Parameters
    ----------
    path : str or pathlib.Path
        A trace written by :func:`save_fit`.

    Returns
    -------
    pymc_marketing.mmm.MMM
        The model, rebuilt, with its trace in ``idata``: ``control_contribution`` (control data x
        ``gamma_control``) and ``<name>_original_scale`` (``<name>`` x the target scale) rebuilt
        where :func:`save_fit` left them out.

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
        mmm = MMM.load(str(path))
    restore_derived(mmm.idata)
    return mmm


def restore_derived(idata: xr.DataTree) -> None:
    """Rebuild, in place, the series a group's ``REBUILT`` attribute names, as pymc-marketing computes them.

    ``control_contribution`` is the control data times ``gamma_control``; ``<name>_original_scale``
    is ``<name>`` times the target scale (one product each, so the values are the sampled ones, bit for bit).

    Parameters
    ----------
    idata : xarray.DataTree
        A trace written by :func:`save_fit`, with ``constant_data``.
    """
    for group in DRAW_GROUPS:
        if group not in idata.children or REBUILT not in idata[group].attrs:
            continue
        ds = idata[group].to_dataset(inherit=False)
        data = idata["constant_data"].to_dataset(inherit=False)
        names = json.loads(ds.attrs.pop(REBUILT))
        extra = {}
        for name in names:
            if name == "control_contribution":
                value = data["control_data"] * ds["gamma_control"]
            else:
                value = ds[name.removesuffix(SUFFIX)] * data["target_scale"]
            extra[name] = value.transpose("chain", "draw", ...)
        idata[group] = xr.DataTree(ds.assign(extra))
