"""Compile once, fit many: the fit stage's model compiled once with nutpie, refitted by swapping its data.

A calibration study fits one model hundreds of times. Building and compiling it (PyTensor graph
rewrites, Numba) takes about 10 s with a warm Numba cache and 30 s with a cold one, longer than
sampling one short fit (2-7 s single-threaded). :class:`CompiledFit` builds the model exactly as
``mmmlab fit`` does (:func:`mmmlab.bayes.build_mmm`, then pymc-marketing's ``build_model``),
compiles it once with nutpie and fits each new dataset by replacing the values of the model's
``pm.Data`` containers in the compiled model (nutpie's ``with_data``): ``target_data``,
``channel_data``, ``control_data``, pymc-marketing's ``channel_scale`` and ``target_scale``, and
the level geometry's design of the control coefficients (:func:`mmmlab.bayes.geometry.linear_data`).
In one process the same seed then gives the very draws of a model built and compiled afresh on
those data. Across processes it need not: Numba code loaded from the cache and code compiled
afresh can differ in the last bit, which the sampler's trajectories amplify into other (equally
valid) draws. :func:`built_model` and :func:`prior_draws` serve the driver, which needs the model
and its prior but no compile.

pymc-marketing divides spend by each channel's maximum and sales by their maximum (the scales).
Simulation-based calibration holds them at the base design's (``scales="base"``): the true values
are drawn from the priors of that one model, so a dataset's own maxima would change the model the
posterior comes from and the ranks would not be uniform even for an exact sampler. A coverage
study fits each simulated dataset as ``mmmlab fit`` would, with its own scales (``scales="data"``).

Each worker process compiles into a folder of its own (:func:`mmmlab.calibration.compiledir.worker_compiledir`): PyTensor's
compile lock and Numba's file cache are not safe with several processes compiling into one folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

import numpy as np
import xarray as xr

from mmmlab.bayes import callbacks
from mmmlab.bayes.build import build_mmm, quiet_pymc_marketing
from mmmlab.bayes.design_matrix import Design
from mmmlab.bayes.geometry import PREFIX, linear_data, linear_prior
from mmmlab.bayes.sampling import all_draws, build, compiles_kept
from mmmlab.config.fit import FitSpec, Geometry, Sampler, SamplerSpec
from mmmlab.errors import UserInputError

SCALES = ("channel_scale", "target_scale")  # pymc-marketing's pm.Data holding the scales
# trace attributes (pymc-marketing's) that a swapped design must share with the compiled one
STRUCTURE = ("channel_columns", "control_columns", "yearly_seasonality", "adstock", "saturation")
EACH_FIT_ENV = "MMMLAB_COMPILE_EACH_FIT"  # "1": compile for every fit (the calibration benchmark's baseline)
CONTRIBUTIONS = "channel_contribution_original_scale"  # per period and channel, in sales
MU = "mu"  # the likelihood's mean per period, on pymc-marketing's scale
LINEAR_DESIGN = PREFIX + "linear_design"  # the level geometry's pm.Data computed from each dataset (linear_data)

PRIOR_DRAWS = 1000  # prior draws a compiled model keeps, to measure how much each fit narrowed its parameters
KEPT_MODELS = 4  # compiled models a worker keeps: one per arm of a study (and structure of its datasets)
_compiled: dict[str, CompiledFit] = {}  # compiled_for's models in this process, oldest first


class DifferentStructure(ValueError):
    """A design whose model differs from the compiled one (channels, controls, dates, Fourier modes,
    adstock or saturation settings): it needs a :class:`CompiledFit` of its own."""


@dataclass(frozen=True, eq=False)
class CompiledFit:
    """The fit stage's model of one base design, compiled once with nutpie and refitted by swapping data.

    Build it with :meth:`build`. It always samples with nutpie: only nutpie's compiled model
    swaps data without compiling again.

    Attributes
    ----------
    spec : FitSpec
        The fit's settings; ``spec.sampler`` gives chains, draws, tune, target_accept and low_rank.
    base : Design
        The design the model was built on; its channel and target scales are the ``"base"`` scales.
    mmm : pymc_marketing.mmm.MMM
        The built model (``mmm.model``), with ``channel_contribution_original_scale`` added as the
        fit stage adds it.
    compiled : nutpie.compile_pymc.CompiledPyMCModel
        The compiled model, holding the base design's data.
    cores : int
        Chains nutpie runs at once; 1 runs them one after another in the calling thread.
    twins : dict
        The same model compiled in other coordinates, by geometry, for reruns in them (:meth:`in_geometry`).
    """

    spec: FitSpec
    base: Design
    mmm: object
    compiled: object
    cores: int = 1
    twins: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, spec: FitSpec, d: Design, cores: int = 1) -> CompiledFit:
        """Build the fit stage's model on ``d`` and compile it with nutpie.

        Parameters
        ----------
        spec : FitSpec
            The validated ``fit`` section, with the study's sampler settings.
        d : Design
            The base design (:func:`mmmlab.bayes.design`).
        cores : int
            Chains sampled at once; keep 1 on a single-threaded worker process.

        Returns
        -------
        CompiledFit

        Raises
        ------
        UserInputError
            ``fit.sampler.name`` is not nutpie, or the data have no more periods than the model
            has parameters (as ``mmmlab fit`` refuses them).
        """
        if spec.sampler.name != Sampler.nutpie:
            raise UserInputError(f"fit.sampler.name: calibration compiles the model once with nutpie and swaps "
                                 f"the data between fits; {spec.sampler.name} cannot (use nutpie)")
        import nutpie

        mmm = built_model(spec, d)
        with compiles_kept():
            compiled = callbacks.compile_pymc_model(nutpie.compile_pymc_model, sampled_model(mmm),
                                                    var_names=stored_variables(mmm))
        return cls(spec=spec, base=d, mmm=mmm, compiled=compiled, cores=cores)

    def in_geometry(self, geometry: Geometry) -> CompiledFit:
        """This model sampled in ``geometry``'s coordinates: itself, or a twin built and compiled on first use."""
        if geometry == self.spec.sampler.geometry:
            return self
        if geometry not in self.twins:
            spec = replace(self.spec, sampler=replace(self.spec.sampler, geometry=geometry))
            self.twins[geometry] = CompiledFit.build(spec, self.base, self.cores)
        return self.twins[geometry]

    @property
    def parameters(self) -> list[str]:
        """The model's sampled parameters, as the trace names them (:func:`mmmlab.bayes.free_parameters`)."""
        return [rv.name for rv in self.mmm.model.free_RVs]

    @property
    def scales(self) -> dict[str, np.ndarray]:
        """The base design's ``channel_scale`` (one per channel) and ``target_scale`` (a scalar)."""
        return {name: np.asarray(self.mmm.model[name].get_value()) for name in SCALES}

    def prior_draws(self, n: int, seed: int) -> xr.Dataset:
        """Joint draws from the model's priors and its likelihood: :func:`prior_draws` of :attr:`mmm`."""
        return prior_draws(self.mmm, n, seed)

    @cached_property
    def prior(self) -> xr.Dataset:
        """:data:`PRIOR_DRAWS` draws of the priors, as a trace's ``prior`` group (chain, draw), drawn once."""
        return self.prior_draws(PRIOR_DRAWS, seed=0).expand_dims(chain=[0])

    def data_values(self, y, design: Design | None = None,
                    scales: Literal["base", "data"] = "base") -> dict[str, np.ndarray]:
        """The values of the model's ``pm.Data`` for target ``y``, as a fresh build on these data sets them.

        A model is built (not compiled: about 50 ms) on the design and ``y`` by the fit stage's
        code, and its data read back; with ``scales="base"`` the scales are then replaced by the
        base design's.

        Parameters
        ----------
        y : array-like
            Sales, one value per period of the design.
        design : Design, optional
            Spend and controls (the controls as :func:`mmmlab.bayes.design` scaled them); None for
            the base design's. Its model must have the compiled one's structure.
        scales : {"base", "data"}
            ``"base"``: the base design's channel and target scales (SBC). ``"data"``: those of
            these data, each channel's max spend and the max of ``y`` (as ``mmmlab fit`` fits them).

        Returns
        -------
        dict of str to numpy.ndarray
            Every ``pm.Data`` the compiled model reads, by name.

        Raises
        ------
        ValueError
            ``y`` has not one value per period, or ``scales`` is neither.
        DifferentStructure
            The design's model differs from the compiled one.
        """
        if scales not in ("base", "data"):
            raise ValueError(f"scales must be 'base' or 'data', got {scales!r}")
        d = self.base if design is None else design
        y = np.asarray(y, dtype=float)
        if y.shape != (len(d.X),):
            raise ValueError(f"y has shape {y.shape}; the design has {len(d.X)} periods")
        fresh = build_mmm(self.spec, d)
        build(fresh, d, y)
        if design is not None:
            self._same_structure(fresh)
        values = {v.name: np.asarray(v.get_value()) for v in fresh.model.data_vars}
        if scales == "base":
            values |= self.scales
        read = {var.name for var in self.compiled.shared_var_keys}
        if LINEAR_DESIGN in read and design is not None:  # the level geometry's data follow the design's controls
            values |= linear_data(fresh.model, self.linear_spread)
        elif LINEAR_DESIGN in read:  # the base design's: as compiled
            values |= {var.name: self.compiled.shared_data[key] for var, key in self.compiled.shared_var_keys.items()
                       if var.name.startswith(PREFIX)}
        return {name: value for name, value in values.items() if name in read}

    @cached_property
    def linear_spread(self) -> np.ndarray:
        """The prior spreads that whiten the level geometry's linear block
        (:func:`mmmlab.bayes.geometry.linear_prior`)."""
        return linear_prior(self.mmm.model)[1]

    def sample(self, y, seed: int, design: Design | None = None, scales: Literal["base", "data"] = "base",
               sampler: SamplerSpec | None = None) -> xr.DataTree:
        """Sample the posterior given sales ``y`` (and another design's data), without compiling again.

        Parameters
        ----------
        y : array-like
            Sales (original units), one value per period.
        design : Design, optional
            Another dataset's spend and controls (coverage); None keeps the base design's (SBC).
        scales : {"base", "data"}
            The base design's scales (SBC), or these data's own (a coverage fit, as ``mmmlab fit``
            fits it); see :meth:`data_values`.
        seed : int
            nutpie's seed.
        sampler : SamplerSpec, optional
            Chains, draws, tune, target_accept, adaptation and geometry (another geometry samples
            :meth:`in_geometry`'s twin; the seed is not used); None: ``spec.sampler``'s.

        Returns
        -------
        xarray.DataTree
            ``posterior`` (chain, draw) of the :func:`stored_variables`; nutpie's ``sample_stats``;
            ``constant_data`` with the ``channel_scale`` and ``target_scale`` the fit used; the
            attributes pymc-marketing gives a trace (``adstock``, ``saturation``, ...). So
            :func:`mmmlab.bayes.original_scale_parameters`, :func:`mmmlab.bayes.channel_contributions`
            and :func:`mmmlab.bayes.free_parameters` read it as they read the fit stage's trace.

        Raises
        ------
        Interrupted
            nutpie caught a KeyboardInterrupt and returned fewer draws than asked.
        """
        import nutpie

        s = sampler or self.spec.sampler
        if s.geometry != self.spec.sampler.geometry:
            return self.in_geometry(s.geometry).sample(y, seed, design, scales, s)
        values = self.data_values(y, design, scales)
        trace = nutpie.sample(self.compiled.with_data(**values), draws=s.draws,
                              tune=max(s.tune, 1),  # as pm.sample: nuts-rs panics at tune 0
                              chains=s.chains, cores=self.cores, seed=seed, target_accept=s.target_accept,
                              adaptation="low_rank" if s.low_rank else "diag", progress_bar=False, save_warmup=False)
        all_draws(trace["posterior"], s.chains, s.draws)
        trace["posterior"] = trace["posterior"].to_dataset()[stored_variables(self.mmm)]  # not nutpie's own coordinates
        dims = self.mmm.model.named_vars_to_dims
        coords = {"channel": list(self.base.channels)}
        trace["constant_data"] = xr.DataTree(xr.Dataset(
            {name: (dims.get(name, ()), values[name]) for name in SCALES}, coords=coords))
        trace.attrs.update(self.mmm.create_idata_attrs())
        return trace

    def _same_structure(self, fresh) -> None:
        """Raise DifferentStructure when ``fresh`` (built on another design) is not the compiled model's twin."""
        mine, theirs = self.mmm.create_idata_attrs(), fresh.create_idata_attrs()
        for key in STRUCTURE:
            if mine[key] != theirs[key]:
                raise DifferentStructure(f"the design changes the model's {key}: compile a CompiledFit for it")
        mine, theirs = (({dim: list(labels) for dim, labels in m.model.coords.items()}) for m in (self.mmm, fresh))
        for dim in mine.keys() | theirs.keys():
            if mine.get(dim) != theirs.get(dim):
                raise DifferentStructure(f"the design changes the model's {dim} labels: compile a CompiledFit for it")


def built_model(spec: FitSpec, d: Design):
    """The fit stage's model on ``d``, built but not compiled, as :func:`mmmlab.bayes.sample` builds it.

    Parameters
    ----------
    spec : FitSpec
        The validated ``fit`` section.
    d : Design
        The model's inputs.

    Returns
    -------
    pymc_marketing.mmm.MMM
        :func:`mmmlab.bayes.build_mmm`, then :func:`mmmlab.bayes.sampling.build`; ``mmm.model``
        is the PyMC model.

    Raises
    ------
    UserInputError
        The data have no more periods than the model has parameters (as ``mmmlab fit`` refuses them).
    """
    mmm = build_mmm(spec, d)
    build(mmm, d)
    return mmm


def sampled_model(mmm):
    """The PyMC model NUTS samples for ``mmm``, its data swappable: the level geometry's
    (:meth:`mmmlab.bayes.geometry.LevelGeometryMMM.sampling_model`), or pymc-marketing's own."""
    return mmm.sampling_model() if hasattr(mmm, "sampling_model") else mmm.model


def stored_variables(mmm) -> list[str]:
    """What a posterior and the prior draws hold: the free parameters, every deterministic without a
    date dimension (``saturation_beta`` of ``hill_mean_response``, total media contribution), the
    likelihood's mean ``mu`` (date, pymc-marketing's scale) and ``channel_contribution_original_scale``
    (date, channel; sales).

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        A built model (:func:`built_model`).

    Returns
    -------
    list of str
        The free parameters first, in the model's order.
    """
    model = mmm.model
    dims = model.named_vars_to_dims
    undated = [v.name for v in model.deterministics if "date" not in dims.get(v.name, ())]
    return [rv.name for rv in model.free_RVs] + undated + [MU, CONTRIBUTIONS]


def prior_draws(mmm, n: int, seed: int) -> xr.Dataset:
    """Joint draws from the model's priors and its likelihood, with the sales in original units.

    The SBC's true values and datasets: draw ``i`` of ``y`` is sales simulated from the likelihood
    at draw ``i`` of the parameters, on the spend and controls the model was built on, and put in
    sales with that design's ``target_scale``. No compile for nutpie: the driver can call it.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        A built model (:func:`built_model`, or :attr:`CompiledFit.mmm`).
    n : int
        Number of draws.
    seed : int
        Random seed.

    Returns
    -------
    xarray.Dataset
        Dim ``draw`` (0..n-1) first: the :func:`stored_variables` and ``y`` (draw, date), the
        likelihood's draw on pymc-marketing's scale times ``target_scale``.
    """
    import pymc as pm

    target, kept = mmm.output_var, stored_variables(mmm)
    with quiet_pymc_marketing(), compiles_kept():
        prior = pm.sample_prior_predictive(draws=n, model=mmm.model, var_names=[*kept, target], random_seed=seed)
    y = prior["prior_predictive"][target] * float(mmm.model["target_scale"].get_value())
    return prior["prior"].to_dataset()[kept].assign({target: y}).isel(chain=0, drop=True)


def compiled_for(key: str, spec: FitSpec, d: Design) -> CompiledFit:
    """This process's :class:`CompiledFit` for ``key``: built and compiled on the first call, then reused.

    A worker keeps the :data:`KEPT_MODELS` latest keys' models (a study's arms each need one). With ``MMMLAB_COMPILE_EACH_FIT=1``
    every call builds and compiles afresh (the baseline of ``python -m mmmlab.benchmarks calibrate``).

    Parameters
    ----------
    key : str
        Names the study and its settings: it must change whenever ``spec`` or ``d`` do (e.g. the
        study's name and a digest of its params).
    spec, d
        As for :meth:`CompiledFit.build` (one core: a single-threaded worker).

    Returns
    -------
    CompiledFit
    """
    if os.environ.get(EACH_FIT_ENV) == "1":
        return CompiledFit.build(spec, d)
    if key not in _compiled:
        while len(_compiled) >= KEPT_MODELS:
            _compiled.pop(next(iter(_compiled)))  # the oldest
        _compiled[key] = CompiledFit.build(spec, d)
    return _compiled[key]
