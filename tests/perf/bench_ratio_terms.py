"""Cost of the weight-ratio terms in the likelihood: NLL+gradient per call with the learned
flow alone and with the flow times the regression (or classifier) of ν.

Run after a Dim2GaussianWithShapeNuisance workflow (`densities: [learned, ...]`):
`python tests/perf/bench_ratio_terms.py results/Benchmark_Dim2GaussianWithShapeNuisance
[--events 100000] [--repeats 10]`.
Both likelihoods see the same events and weights; the time is the median over `repeats` calls
after one warm-up call (graph building). Prints one line per measurement; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import numpy as np  # noqa: E402

from innfer_lib.core.analysis import load_analysis  # noqa: E402
from innfer_lib.core.io import read_yaml  # noqa: E402
from innfer_lib.core.paths import Paths  # noqa: E402
from innfer_lib.data.benchmarks import DEFAULT_Y, SHAPE_NUISANCE, get_benchmark  # noqa: E402
from innfer_lib.density.models import load_density  # noqa: E402
from innfer_lib.inference.likelihood import Likelihood  # noqa: E402
from innfer_lib.inference.model import Category, Process  # noqa: E402
from innfer_lib.ratios.loading import RATIO_KINDS, load_ratio, ratio_model_files  # noqa: E402
from innfer_lib.ratios.reweighted import ReweightedDensity  # noqa: E402

PROCESS, CATEGORY = "Signal", "inclusive"


def _ratio(paths: Paths) -> object:
    """The run's ratio model of ν, whichever kind it trained."""
    bench = get_benchmark("Dim2GaussianWithShapeNuisance")
    for kind in RATIO_KINDS:
        analysis = load_analysis(bench.analysis_config("inputs", kind))
        (files,) = ratio_model_files(analysis, paths, PROCESS, CATEGORY).values()
        if Path(files.model).exists():
            return kind, load_ratio(files)
    raise SystemExit(f"{paths}: no trained regression or classifier of {SHAPE_NUISANCE}")


def _per_call(likelihood: Likelihood, theta: np.ndarray, repeats: int) -> float:
    likelihood.value_and_gradient(theta)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        likelihood.value_and_gradient(theta)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results/Benchmark_<name> of a finished run")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    paths = Paths.for_analysis(args.results.parent, args.results.name)
    where = {"model": PROCESS, "category": CATEGORY, "density": "learned"}
    parameters = read_yaml(paths.format(paths.parameters, **where))
    flow = load_density(paths.format(paths.density_architecture, **where), parameters)
    kind, ratio = _ratio(paths)
    bench = get_benchmark("Dim2GaussianWithShapeNuisance")
    x = bench.sample_point(np.random.default_rng(1), args.events, {"Y1": DEFAULT_Y, "nu": 0.0})
    weights = np.full(args.events, 1000.0 / args.events)
    cases = {
        "flow only": (["Y1"], flow, np.array([DEFAULT_Y + 0.1])),
        f"flow × {kind}": (
            ["Y1", SHAPE_NUISANCE],
            ReweightedDensity(flow, [ratio], f"process '{PROCESS}'"),
            np.array([DEFAULT_Y + 0.1, 0.2]),
        ),
    }
    seconds = {}
    for label, (columns, density, theta) in cases.items():
        process = Process(PROCESS, density, nominal=1000.0)
        likelihood = Likelihood(columns, [Category(CATEGORY, x, weights, [process])])
        seconds[label] = _per_call(likelihood, theta, args.repeats)
        print(
            f"{label}: {seconds[label] * 1e3:.1f} ms per NLL+gradient call "
            f"({args.events / seconds[label]:,.0f} events/s, {args.events} events, "
            f"median of {args.repeats})"
        )
    base, with_ratio = seconds.values()
    print(f"ratio terms add {with_ratio / base - 1:+.1%} per call")


if __name__ == "__main__":
    main()
