"""What the data inform: each parameter's prior-to-posterior contraction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab.bayes.units import LOG_SCALE, original_scale_parameters


# --------------------------------------------------------------------------- what the data inform
def _free_variables(idata) -> list[str]:
    prior = set(idata["prior"].data_vars) if "prior" in idata.children else set()
    post = idata["posterior"]
    return [v for v in post.data_vars if v in prior and "date" not in post[v].dims
            and not v.startswith(("adstock_", "saturation_")) and ("contribution" not in v or v == "intercept_contribution")]


def prior_posterior_contraction(idata, hdi_prob: float = 0.94, threshold: float = 0.5) -> pd.DataFrame:
    """How much the data narrowed each parameter: 1 - (posterior interval width / prior interval width).

    One row per parameter and channel (original units) and per other structural parameter (internal
    scale). Widths are central ``hdi_prob`` intervals, on a log scale for scale parameters (alpha, k,
    lam, y_sigma). ``prior_dominated`` marks contraction below ``threshold``: the data said little.
    """
    lo, hi = (1 - hdi_prob) / 2, (1 + hdi_prob) / 2
    prior_p, post_p = original_scale_parameters(idata, "prior"), original_scale_parameters(idata, "posterior")
    pairs = [(name, post_p[name], prior_p[name]) for name in post_p.data_vars]
    pairs += [(name, idata["posterior"][name], idata["prior"][name]) for name in _free_variables(idata)]
    rows = []
    for name, post, prior in pairs:
        dims = [d for d in post.dims if d not in ("chain", "draw")]
        stacked_post = post.stack(_s=("chain", "draw")).transpose(*dims, "_s") if dims else post.stack(_s=("chain", "draw"))
        stacked_prior = prior.stack(_s=("chain", "draw")).transpose(*dims, "_s") if dims else prior.stack(_s=("chain", "draw"))
        labels = [(d, str(v)) for d in dims for v in post[d].values] if dims else [(None, None)]
        for dim, label in labels:
            a = (stacked_post.sel({dim: label}) if dim else stacked_post).values.astype(float)
            b = (stacked_prior.sel({dim: label}) if dim else stacked_prior).values.astype(float)
            log = name in LOG_SCALE and a.min() > 0 and b.min() > 0
            a, b = (np.log(a), np.log(b)) if log else (a, b)
            w_post, w_prior = np.subtract(*np.quantile(a, [hi, lo])), np.subtract(*np.quantile(b, [hi, lo]))
            contraction = 1 - w_post / w_prior if w_prior > 0 else np.nan
            rows.append({"parameter": name, "channel": label if dim == "channel" else None,
                         "coord": label if dim != "channel" else None, "scale": "log" if log else "linear",
                         "prior_sd": float(b.std()), "posterior_sd": float(a.std()),
                         "prior_width": float(w_prior), "posterior_width": float(w_post),
                         "contraction": float(contraction), "prior_dominated": bool(contraction < threshold)})
    return pd.DataFrame(rows)
