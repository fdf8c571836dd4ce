"""Fit-stage speed and sampling efficiency: this project's model per sampler vs pymc-marketing out of the box.

For the default data and the identifiable design preset (and, with this project's model in its
level geometry and in pymc-marketing's plain coordinates, nutpie only, two more seeds of each; on
the preset also with ``hill_mean_response``; on the default design also with the lift tests the
simulator generates beside the data, as ``mmmlab fit`` fits them), each configuration runs in a fresh
process (so compile caches in memory do not favour later runs) and records: the fit stage's wall
time (build, prior draws, compile, sample, posterior predictive, save), min bulk ESS per second,
gradient evaluations per effective sample, leapfrog steps per draw, the time of one
log-probability-and-gradient evaluation (pytensor, at the initial point), the gates and, with the truth, decay coverage and
contribution SRMSE (for the out-of-the-box model too). "Out of the box" is pymc-marketing's MMM with its default priors, normalised
geometric adstock (l_max 12) and logistic saturation, the same data, controls and draws.

    python -m mmmlab.benchmarks fit            # writes reports/benchmarks/fit.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmmlab.benchmarks import write_result
from mmmlab.config.fit import fit_spec

NOTES = ("one fresh process per row; stage_wall_s = build + prior draws + compile + sample + posterior "
         "predictive + save (imports excluded, reported as import_s). grad_evals_per_ess counts the kept "
         "draws' leapfrog steps over min bulk ESS; leapfrog_steps_per_draw is their mean. logp_dlogp_eval_s is one pytensor (C backend) "
         "log-probability-and-gradient evaluation at the initial point of the model NUTS samples. The machine's cores may be shared.")
OUTPUT = "reports/benchmarks/fit.json"
SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")
EVERY = (*("mmmlab:" + s for s in SAMPLERS), "out_of_the_box:nutpie")
PRESET = ("generate.preset=identifiable",)
# this project's model as params.yaml has it (the level geometry); the same model sampled in pymc-marketing's own
# coordinates (plain); with the Hill sampled by its response at mean spend
KINDS = {"mmmlab": (), "mmmlab_plain": ("fit.sampler.geometry=plain",),
         "mmmlab_mean_response": ("fit.model.saturation=hill_mean_response", "fit.model.adstock.normalize=true"),
         "mmmlab_lift": ()}
WITH_LIFT_TESTS = {"mmmlab_lift"}  # fitted with the generated lift tests, as `mmmlab fit` fits the generated data
BOTH_GEOMETRIES = ("mmmlab:nutpie", "mmmlab_plain:nutpie")
LIFT = "lift_tests.csv"
# design -> (simulator overrides, configurations); the other seeds show whether a result is one seed's luck.
# The pymc sampler is left out on the preset: there it runs past TIMEOUT_S, so its row would only record the timeout.
DESIGNS = {
    "default": ((), (*EVERY, "mmmlab_plain:nutpie", "mmmlab_lift:nutpie")),
    "default seed 1": (("generate.seed=1",), (*BOTH_GEOMETRIES, "mmmlab_lift:nutpie")),
    "default seed 2": (("generate.seed=2",), (*BOTH_GEOMETRIES, "mmmlab_lift:nutpie")),
    "identifiable": (PRESET, (*BOTH_GEOMETRIES, "mmmlab_mean_response:nutpie", "mmmlab:numpyro", "mmmlab:blackjax",
                              "out_of_the_box:nutpie")),
    "identifiable seed 1": ((*PRESET, "generate.seed=1"), BOTH_GEOMETRIES),
    "identifiable seed 2": ((*PRESET, "generate.seed=2"), BOTH_GEOMETRIES),
}
TIMEOUT_S = 600  # one configuration may not take longer than this


def run() -> Path:
    from mmmlab.bayes.build import missing_sampler_packages
    from mmmlab.config import project_root

    root = project_root()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mmmlab-bench-fit-") as tmp:
        for design, (overrides, configs) in DESIGNS.items():
            folder = Path(tmp) / design.replace(" ", "_")
            folder.mkdir()
            _generate(root / "params.yaml", overrides, folder)
            for config in configs:
                kind, sampler = config.split(":")
                missing = missing_sampler_packages(sampler)
                row = {"design": design, "config": kind, "sampler": sampler}
                if missing:
                    rows.append(row | {"installed": False, "missing": missing})
                    continue
                print(f"benchmark fit: {design} / {kind} / {sampler}", file=sys.stderr, flush=True)
                rows.append(row | {"installed": True} | _child(root / "params.yaml", overrides, folder, kind, sampler))
                write_result(OUTPUT, {"notes": NOTES, "runs": rows})  # after every row, so a stopped benchmark keeps what it measured
    return write_result(OUTPUT, {"notes": NOTES, "runs": rows})



def _generate(params_file: Path, overrides: tuple, folder: Path) -> None:
    from mmmlab.config import load_params, simulation_spec
    from mmmlab.files import write_json
    from mmmlab.simulate import readout_frame, simulate

    sim = simulate(simulation_spec(load_params(params_file, overrides)))
    sim.frame.to_csv(folder / "mmm_data.csv", index=False)
    write_json(folder / "truth.json", sim.truth)
    readout_frame(sim.lift_tests).to_csv(folder / LIFT, index=False)


def _child(params_file: Path, overrides: tuple, folder: Path, kind: str, sampler: str) -> dict:
    args = json.dumps({"params": str(params_file), "overrides": list(overrides), "folder": str(folder),
                       "kind": kind, "sampler": sampler})
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "mmmlab.benchmarks.fit", args], capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {TIMEOUT_S} s", "process_wall_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}",
                "process_wall_s": wall}
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"process_wall_s": wall}


def measure(args: dict) -> dict:
    """One configuration, in this process: the fit stage's work, timed, plus efficiency and recovery numbers."""
    t0 = time.perf_counter()
    import numpy as np

    from mmmlab import bayes
    from mmmlab.calibration.compiled import sampled_model
    from mmmlab.config import data_spec, load_params
    from mmmlab.dataset import load_dataset
    from mmmlab.diagnostics import check_convergence
    from mmmlab.evaluation import align_truth, contribution_errors, covers, load_truth
    from mmmlab.lift_data import load_lift_tests

    folder = Path(args["folder"])
    overrides = [*args["overrides"], *KINDS.get(args["kind"], ()),
                 f"data.path={folder / 'mmm_data.csv'}", f"data.truth={folder / 'truth.json'}",
                 f"fit.sampler.name={args['sampler']}", "fit.sampler.progressbar=false"]
    params = load_params(args["params"], tuple(overrides))
    spec = fit_spec(params)
    dspec = data_spec(params)
    dataset = load_dataset(dspec)
    with_lift = args["kind"] in WITH_LIFT_TESTS
    lift = load_lift_tests(folder / LIFT, dataset, "fit.calibration.lift_tests") if with_lift else None
    d = bayes.design(dataset, spec.model, lift)
    import_s = time.perf_counter() - t0

    t = time.perf_counter()
    mmm = bayes.build_mmm(spec, d) if args["kind"] in KINDS else out_of_the_box(spec, d)
    timings, attempts = bayes.sample(mmm, d, spec)
    with tempfile.TemporaryDirectory() as tmp:
        ts = time.perf_counter()
        bayes.save_fit(mmm, Path(tmp) / "mmm_fit.nc")
        timings["save_s"] = time.perf_counter() - ts
    stage_wall = time.perf_counter() - t

    idata = mmm.idata
    verdict = check_convergence(idata, spec.gates).metrics()
    steps = idata["sample_stats"].to_dataset()
    steps = next((steps[n] for n in ("n_steps", "num_steps", "tree_size") if n in steps), None)
    out = {
        "import_s": import_s,
        "stage_wall_s": stage_wall,
        **timings,
        "compile_and_overhead_s": timings["sample_wall_s"] - timings["sampling_s"],
        **verdict,
        "gates_passed": bool(check_convergence(idata, spec.gates).passed),
        "min_ess_bulk_per_stage_s": verdict["min_ess_bulk"] / stage_wall,
        "min_ess_bulk_per_sampling_s": verdict["min_ess_bulk"] / timings["sampling_s"],
        "grad_evals_per_ess": float(steps.sum()) / verdict["min_ess_bulk"] if steps is not None else None,
        "leapfrog_steps_per_draw": float(steps.mean()) if steps is not None else None,
        "logp_dlogp_eval_s": logp_dlogp_time(sampled_model(mmm)),
        "chains": spec.sampler.chains, "draws": spec.sampler.draws, "tune": spec.sampler.tune,
        "target_accept": spec.sampler.target_accept, "attempts": [a.as_dict() for a in attempts],
        "l_max": bayes.adstock_of(idata)[0],
        "lift_tests": 0 if lift is None else len(lift.lift),
    }
    truth = load_truth(dspec.truth)
    if truth is not None:  # decays and contributions compare across saturations
        truth = align_truth(truth, d.X[bayes.DATE])
        contrib = bayes.channel_contributions(idata).mean(("chain", "draw")).to_pandas()
        errors = contribution_errors(truth.channel_contributions[list(d.channels)], contrib)
        out["srmse"] = dict(zip(errors["channel"], errors["srmse"]))
        p = bayes.original_scale_parameters(idata)
        lower, upper = bayes.hdi(p["decay"], spec.hdi_prob)
        out["decay_true_in_hdi"] = {
            c: bool(covers(float(lower.sel(channel=c)), truth.channels[c]["decay"], float(upper.sel(channel=c))))
            for c in d.channels
        }
        out["decay_mean"] = {c: float(np.mean(p["decay"].sel(channel=c))) for c in d.channels}
        out["decay_hdi"] = {c: [float(lower.sel(channel=c)), float(upper.sel(channel=c))] for c in d.channels}
    return out


def out_of_the_box(spec, d):
    """pymc-marketing's MMM as its documentation starts: default priors, normalised adstock, logistic saturation."""
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

    config = {k: v for k, v in spec.sampler.sampler_config().items() if k not in ("target_accept", "nuts")}
    return MMM(date_column=bayes_date(), channel_columns=list(d.channels), target_column="y",
               control_columns=list(d.controls) or None, adstock=GeometricAdstock(l_max=12),
               saturation=LogisticSaturation(), sampler_config=config)


def bayes_date() -> str:
    from mmmlab.bayes import DATE

    return DATE


def logp_dlogp_time(model, evals: int = 2000) -> float:
    """Seconds per log-probability-and-gradient evaluation at the model's initial point."""
    import numpy as np

    f = model.logp_dlogp_function(ravel_inputs=True)
    f.set_extra_values({})
    point = model.initial_point()
    x = np.concatenate([np.ravel(point[v.name]) for v in f._grad_vars])
    f(x)
    t = time.perf_counter()
    for _ in range(evals):
        f(x)
    return (time.perf_counter() - t) / evals


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1])), default=float))
