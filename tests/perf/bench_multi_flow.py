"""NLL + gradient of a multi-flow likelihood: events/s of each evaluation path, in one run.

The likelihood is shaped like the top-mass example's: 2 categories × 2 processes, each process
a default-architecture flow (2 observables; ttbar conditioned on mtop and jes, W+jets on jes),
a rate parameter and two lnN nuisances: 6 parameters, `--events` events per category. The
flows are not trained but have random weights: a call costs the same as with trained ones,
and the density depends on x and θ, which is what the precision check needs.

Paths, each timed on the same events and θ (`--repeats` calls after a warm-up call):

- `polymorphic`: the tf.function called as such (signature matching on every call), as the
  likelihood did before it called concrete functions;
- `concrete`: the likelihood's default (`likelihood.Traced`);
- `shared`: each flow evaluated through its own traced function
  (`ConditionalFlow.evaluation_log_prob`), as a batch job's likelihoods after its first do;
- `xla`: the per-event graphs compiled with XLA (`jit_compile`);
- `float32`, `float32_xla`: the flows evaluated in float32, their per-event log-densities summed
  in float64 (load_density's `precision`).

For the float32 paths it also prints the NLL's jitter: −ln L₃₂ − (−ln L₆₄) at `--jitter-points`
θ vectors scattered around the first (σ of that difference after removing its mean; a smooth
offset does not move a minimum, noise does), next to Minuit's EDM target (0.002 × tol × errordef
= 2×10⁻⁴ at iminuit's tol 0.1, errordef 0.5), and the gradient's largest relative deviation.

With `--fit`, it also minimises the float64 likelihood from a start away from the minimum,
once as `minimise` did before (Minuit estimating second derivatives from function values)
and once as it does now (Minuit given the Hessian from gradient differences): wall time,
evaluations, gradients and how far the two minima differ, after the graphs are traced.

Run: `python tests/perf/bench_multi_flow.py [--events 2500] [--repeats 10]
[--paths concrete xla ...] [--fit]`. Prints one line per path; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402

from innfer_lib.core.config_files import read_config_file  # noqa: E402
from innfer_lib.density.flow import ConditionalFlow  # noqa: E402
from innfer_lib.density.models import LearnedDensity  # noqa: E402
from innfer_lib.inference import likelihood as likelihood_module  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402

PARAMETERS = ["isr", "jes", "lumi", "mtop", "mu_ttbar", "wjets_norm"]
THETA = {"isr": 0.1, "jes": -0.2, "lumi": 0.05, "mtop": 172.8, "mu_ttbar": 1.02, "wjets_norm": 0.1}
CONDITIONS = {"ttbar": ["mtop", "jes"], "wjets": ["jes"]}
PATHS = ("polymorphic", "concrete", "shared", "xla", "float32", "float32_xla")
#: Minuit's EDM target at iminuit's default tol (0.1) and errordef 0.5: 0.002 × tol × errordef.
EDM_TARGET = 0.002 * 0.1 * 0.5


def _flow_weights(seed: int, n_cond: int) -> list[np.ndarray]:
    """The random weights of one default-architecture flow (float64 master copy)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    arch = read_config_file(REPO / "config" / "architecture" / "density_default.yaml")
    arch.pop("type", None)
    flow = ConditionalFlow(2, n_cond, arch, dtype="float64")
    # A fresh flow is the identity (its conditioners' last layers start at zero), so its
    # density would not depend on θ at all: every weight is perturbed, as training would.
    rng = np.random.default_rng(seed)
    weights = [w + rng.normal(scale=0.05, size=np.shape(w)) for w in flow.get_weights()]
    return weights, arch


def _density(weights, arch, process: str, precision: str, shared: bool) -> LearnedDensity:
    conditions = CONDITIONS[process]
    flow = ConditionalFlow(2, len(conditions), arch, dtype=precision)
    flow.set_weights(weights)
    stand = {"m_jet": {"mean": 0.0, "std": 1.0}, "pt": {"mean": 0.0, "std": 1.0}}
    stand |= {"mtop": {"mean": 172.5, "std": 1.0}, "jes": {"mean": 0.0, "std": 1.0}}
    return LearnedDensity(flow, stand, ["m_jet", "pt"], conditions, shared_trace=shared)


def build(
    events: int, precision: str, jit_compile: bool, flows: dict, shared: bool = False
) -> Likelihood:
    rng = np.random.default_rng(7)
    categories = []
    for category in ("one_b", "two_b"):
        x = rng.normal(size=(events, 2))
        weights = np.full(events, 1.0)
        processes = [
            Process(
                "ttbar",
                _density(*flows[(category, "ttbar")], "ttbar", precision, shared),
                nominal=0.7 * events,
                rate_parameter="mu_ttbar",
                lnN={"lumi": [0.98, 1.02]},
            ),
            Process(
                "wjets",
                _density(*flows[(category, "wjets")], "wjets", precision, shared),
                nominal=0.3 * events,
                lnN={"lumi": [0.98, 1.02], "wjets_norm": [0.9, 1.1]},
            ),
        ]
        categories.append(Category(category, x, weights, processes))
    return Likelihood(
        PARAMETERS,
        categories,
        constrained=["isr", "jes", "lumi", "wjets_norm"],
        jit_compile=jit_compile,
    )


def _polymorphic(self, *args):
    """Traced.__call__ as it was: the tf.function itself, matched on every call."""
    return self.function(*args)


def time_path(name: str, args: argparse.Namespace, flows: dict, theta: np.ndarray) -> tuple:
    precision = "float32" if name.startswith("float32") else "float64"
    original = likelihood_module.Traced.__call__
    if name == "polymorphic":
        likelihood_module.Traced.__call__ = _polymorphic
    try:
        nll = build(args.events, precision, name.endswith("xla"), flows, name == "shared")
        start = time.perf_counter()
        nll.value_and_gradient(theta)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.repeats):
            value, grad = nll.value_and_gradient(theta)
        per_call = (time.perf_counter() - start) / args.repeats
    finally:
        likelihood_module.Traced.__call__ = original
    n_events = 2 * args.events
    print(
        f"{name:12s} {n_events / per_call:12,.0f} events/s  {1e3 * per_call:8.1f} ms per call  "
        f"first call (tracing) {first:6.1f} s  −ln L {value:.6f}",
        flush=True,
    )
    return nll, per_call


def jitter(nll32: Likelihood, nll64: Likelihood, points: int) -> None:
    rng = np.random.default_rng(3)
    base = np.array([THETA[p] for p in PARAMETERS])
    diffs, grad_dev = [], 0.0
    for _ in range(points):
        theta = base + rng.normal(scale=0.05, size=base.size)
        v32, g32 = nll32.value_and_gradient(theta)
        v64, g64 = nll64.value_and_gradient(theta)
        diffs.append(v32 - v64)
        scale = np.maximum(np.abs(g64), 1.0)
        grad_dev = max(grad_dev, float(np.max(np.abs(g32 - g64) / scale)))
    d = np.asarray(diffs)
    print(
        f"  float32 − float64 −ln L over {points} θ: mean {d.mean():+.2e}, σ {d.std():.2e} "
        f"(Minuit's EDM target {EDM_TARGET:.0e}); gradient max |Δ|/max(|g|, 1) {grad_dev:.1e}"
    )


LIMITS = {
    "isr": (-3.0, 3.0),
    "jes": (-3.0, 3.0),
    "lumi": (-3.0, 3.0),
    "mtop": (169.5, 175.5),
    "mu_ttbar": (0.0, 3.0),
    "wjets_norm": (-3.0, 3.0),
}


def _minuit_from_values(task, x0):
    """`minimiser._minuit` as it was: no Hessian, so Minuit estimates it from values."""
    from iminuit import Minuit

    m = Minuit(task.objective.value, x0, grad=task.objective.gradient, name=task.columns)
    m.errordef = Minuit.LIKELIHOOD
    m.strategy = task.strategy
    m.tol = task.tolerance
    for name, (lo, hi) in task.limits.items():
        m.limits[name] = (lo, hi)
    return m


def fit(nll: Likelihood) -> None:
    """Time MIGRAD with Minuit's own second derivatives against the differenced Hessian."""
    from innfer_lib.inference import minimiser

    start = dict(THETA, mtop=173.6, jes=0.4, mu_ttbar=0.8)
    results = {}
    original = minimiser._minuit
    for name in ("from values", "from gradients"):
        minimiser._minuit = _minuit_from_values if name == "from values" else original
        try:
            t0 = time.perf_counter()
            result = minimiser.minimise(nll.value_and_gradient, PARAMETERS, start, LIMITS)
            seconds = time.perf_counter() - t0
        finally:
            minimiser._minuit = original
        print(
            f"fit, Hessian {name:15s} {seconds:7.1f} s  evaluations "
            f"{result['likelihood_evaluations']:4d} (gradients used {result['ngrad']:3d})  "
            f"valid {result['valid']}  edm {result['edm']:.1e}  "
            f"−ln L {result['best_fit_nll'] / 2:.6f}",
            flush=True,
        )
        results[name] = result
    a, b = (np.array(r["best_fit"]) for r in results.values())
    d_nll = (results["from gradients"]["best_fit_nll"] - results["from values"]["best_fit_nll"]) / 2
    print(f"  minima differ by Δ(−ln L) {d_nll:+.1e}, max |Δθ| {np.max(np.abs(a - b)):.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2500, help="events per category")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--jitter-points", type=int, default=20)
    parser.add_argument("--fit", action="store_true", help="also time a fit (see above)")
    args = parser.parse_args()
    if args.fit and "concrete" not in args.paths:
        parser.error("--fit needs the concrete path")
    flows = {}
    for i, category in enumerate(("one_b", "two_b")):
        for j, process in enumerate(("ttbar", "wjets")):
            flows[(category, process)] = _flow_weights(10 * i + j, len(CONDITIONS[process]))
    theta = np.array([THETA[p] for p in PARAMETERS])
    print(f"4 flows, 2 × {args.events} events, {len(PARAMETERS)} parameters; {os.cpu_count()} cpus")
    built = {}
    for name in args.paths:
        built[name] = time_path(name, args, flows, theta)
    if "float32" in built and "concrete" in built:
        jitter(built["float32"][0], built["concrete"][0], args.jitter_points)
    if args.fit:
        fit(built["concrete"][0])
    if "polymorphic" in built:
        base = built["polymorphic"][1]
        ratios = ", ".join(f"{n} {base / t:.2f}×" for n, (_, t) in built.items())
        print(f"events/s relative to polymorphic: {ratios}")


if __name__ == "__main__":
    main()
