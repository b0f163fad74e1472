"""Cost of one fit on Dim5: NLL+gradient events/s, and calls and wall time of fit, Hessian, D.

Run: `python tests/perf/bench_fit.py [--events 100000] [--density learned|truth]
[--hessian auto|autodiff|numerical]`.
`learned` uses the trained flow of a Dim5 workflow run (`--model results/Benchmark_Dim5`) or else
an untrained flow of the default architecture (same cost per call, but a flat NLL); `truth` the
benchmark's analytic density. Prints one line per measurement; nothing is
asserted (numbers belong in notes, not tests).
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
from innfer_lib.data.benchmarks import get_benchmark  # noqa: E402
from innfer_lib.density.models import LearnedDensity, TrueDensity  # noqa: E402
from innfer_lib.inference.hessian import hessian_at  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.minimiser import minimise  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402

TRUTH = 172.5


def _density(kind: str, bench, x: np.ndarray, model: str | None):
    if kind == "truth":
        return TrueDensity(bench.name, "Signal")
    if model:
        from innfer_lib.core.io import read_yaml
        from innfer_lib.core.paths import Paths
        from innfer_lib.density.models import load_density

        where = {"model": "Signal", "category": "inclusive", "density": "learned"}
        paths = Paths(str(Path(model)))
        parameters = read_yaml(paths.parameters.format(**where))
        return load_density(paths.density_architecture.format(**where), parameters)
    from innfer_lib.density.flow import ConditionalFlow

    arch = read_config_file(REPO / "config" / "architecture" / "density_default.yaml")
    arch.pop("type", None)
    flow = ConditionalFlow(x.shape[1], 1, arch, dtype="float64")
    stand = {
        f"X{i + 1}": {"mean": float(x[:, i].mean()), "std": float(x[:, i].std())}
        for i in range(x.shape[1])
    }
    stand["Y1"] = {"mean": TRUTH, "std": 4.0}
    return LearnedDensity(flow, stand, list(stand)[:-1], ["Y1"])


def _timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--density", choices=["learned", "truth"], default="learned")
    parser.add_argument(
        "--model",
        help="results/<name> directory of a Dim5 workflow run whose trained flow to use; "
        "without it an untrained flow of the default architecture is used, which costs the "
        "same per call but whose NLL is flat in Y1 (so the fit's call counts mean nothing)",
    )
    parser.add_argument(
        "--hessian",
        choices=["auto", "autodiff", "numerical"],
        default="auto",
        help="as the fit sets' `hessian` option (auto: autodiff only where ln L is C² in θ)",
    )
    args = parser.parse_args()
    bench = get_benchmark("Dim5")
    rng = np.random.default_rng(1)
    x = bench.sample_x(rng, np.full(args.events, TRUTH))
    weights = np.full(args.events, 1000.0 / args.events)
    density = _density(args.density, bench, x, args.model)
    process = Process("Signal", density, nominal=1000.0)
    likelihood = Likelihood(["Y1"], [Category("inclusive", x, weights, [process])])
    theta = np.array([TRUTH + 0.3])
    _timed(
        "first NLL+gradient (graph build included)", lambda: likelihood.value_and_gradient(theta)
    )
    repeats = 3
    start = time.perf_counter()
    for _ in range(repeats):
        likelihood.value_and_gradient(theta)
    per_call = (time.perf_counter() - start) / repeats
    print(
        f"NLL+gradient: {args.events / per_call:,.0f} events/s "
        f"({per_call:.3f} s per call, {args.events} events, density {args.density})"
    )
    result = _timed(
        "fit (MIGRAD)",
        lambda: minimise(
            likelihood.value_and_gradient, ["Y1"], {"Y1": TRUTH + 1.0}, {"Y1": (166.0, 180.0)}
        ),
    )
    print(
        f"fit: nfcn {result['nfcn']}, ngrad {result['ngrad']}, likelihood evaluations "
        f"{result['likelihood_evaluations']}, valid {result['valid']}, "
        f"Y1 = {result['best_fit'][0]:.4f}"
    )
    best = np.array(result["best_fit"])
    before = dict(likelihood.n_calls)
    hessian, how = _timed(
        f"Hessian ({args.hessian}, graph build included)",
        lambda: hessian_at(likelihood, best, [0], args.hessian),
    )
    spent = {k: likelihood.n_calls[k] - before[k] for k in before}
    print(f"Hessian: {how}, calls {spent}")
    dmatrix = _timed("D-matrix (graph build included)", lambda: likelihood.dmatrix(best))
    _timed("Hessian again", lambda: hessian_at(likelihood, best, [0], args.hessian))
    _timed("D-matrix again", lambda: likelihood.dmatrix(best))
    print(f"σ(H⁻¹) = {1 / np.sqrt(hessian[0, 0]):.4f}, D/H = {dmatrix[0, 0] / hessian[0, 0]:.4f}")
    print(f"calls: {likelihood.n_calls}")


if __name__ == "__main__":
    main()
