"""Convergence gates: thresholds as a frozen spec, checks returning a verdict object.

The defaults are the seed report's thresholds, plus a BFMI floor for every chain (see
:class:`Gates`). Only structural parameters count (variables without a ``date`` dimension), as
in the seed report's summary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr


@dataclass(frozen=True)
class Gates:
    """Thresholds a fit must meet."""

    r_hat_max: float = 1.01
    ess_bulk_min: float = 400
    ess_tail_min: float = 400
    divergences_max: int = 0
    bfmi_min: float = 0.3


@dataclass(frozen=True)
class GateCheck:
    name: str
    value: float
    threshold: float
    rule: str  # how value must compare with threshold: "<", ">" or "<="
    passed: bool

    @property
    def missing(self) -> bool:
        """The trace lacks what the gate needs (its value is NaN); such a gate never passes."""
        return bool(np.isnan(self.value))

    def sentence(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        if self.missing:
            return f"{self.name}: missing from the trace (must be {self.rule} {self.threshold:g}): {verdict}"
        return f"{self.name} = {self.value:.4g} (must be {self.rule} {self.threshold:g}): {verdict}"


@dataclass(frozen=True)
class Verdict:
    checks: tuple[GateCheck, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def metrics(self) -> dict[str, float]:
        return {c.name: c.value for c in self.checks}

    def as_dict(self) -> dict:
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks]}

    def plain_words(self) -> str:
        head = "Convergence PASSED" if self.passed else "Convergence FAILED"
        return "\n".join([head, *(f"  {c.sentence()}" for c in self.checks)])


def structural_variables(posterior: xr.Dataset) -> list[str]:
    """Posterior variables without a date dimension (the model's parameters, not per-period series)."""
    return [name for name, var in posterior.data_vars.items() if "date" not in var.dims]


def parameter_summary(idata, hdi_prob: float = 0.94) -> pd.DataFrame:
    """Mean, sd, HDI, bulk/tail ESS and R-hat of every structural scalar, sorted by R-hat (worst first).

    Unrounded: arviz 1.x would otherwise round to two significant digits (R-hat 1.04 -> 1.0).
    """
    import arviz as az  # here, not at the top: the configuration imports Gates, and arviz takes seconds to import

    names = structural_variables(idata["posterior"].to_dataset())
    table = az.summary(idata, var_names=names, ci_kind="hdi", ci_prob=hdi_prob, round_to="none")
    return pd.DataFrame(table).sort_values("r_hat", ascending=False)


def check_convergence(idata, gates: Gates) -> Verdict:
    """Apply the gates to a fitted DataTree (groups ``posterior`` and ``sample_stats``).

    A statistic missing from ``sample_stats`` (``diverging``, ``energy``) fails its gate: a value
    of NaN, which :meth:`GateCheck.sentence` reports as missing.
    """
    import arviz as az

    posterior = idata["posterior"].to_dataset()
    names = structural_variables(posterior)
    subset = posterior[names]
    r_hat = _extreme(az.rhat(subset), np.nanmax)
    ess_bulk = _extreme(az.ess(subset, method="bulk"), np.nanmin)
    ess_tail = _extreme(az.ess(subset, method="tail"), np.nanmin)
    stats = idata["sample_stats"].to_dataset()
    # a statistic the sampler did not record is unknown, not good: NaN fails every comparison below
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else float("nan")
    bfmi = float(np.min(az.bfmi(idata)["energy"].values)) if "energy" in stats else float("nan")
    return Verdict(
        checks=(
            GateCheck("max_r_hat", r_hat, gates.r_hat_max, "<", r_hat < gates.r_hat_max),
            GateCheck("min_ess_bulk", ess_bulk, gates.ess_bulk_min, ">", ess_bulk > gates.ess_bulk_min),
            GateCheck("min_ess_tail", ess_tail, gates.ess_tail_min, ">", ess_tail > gates.ess_tail_min),
            GateCheck("divergences", divergences, gates.divergences_max, "<=", bool(divergences <= gates.divergences_max)),
            GateCheck("min_bfmi", bfmi, gates.bfmi_min, ">", bool(bfmi > gates.bfmi_min)),
        )
    )


def _extreme(values: xr.Dataset, reduce) -> float:
    return float(reduce([reduce(v.values) for v in values.data_vars.values()]))
