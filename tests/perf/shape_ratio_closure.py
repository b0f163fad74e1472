"""Shape benchmark: how well a ratio model's ν fit follows the exact ratio's, fast, per Y1.

Run after a workflow of Dim2GaussianWithShapeNuisance has preprocessed (and, without
`--retrain`, trained and evaluated) its ratio model:
`python tests/perf/shape_ratio_closure.py <results_dir> [--model regression|classifier]
[--retrain '{"epochs": 60}'] [--events 1300] [--repeats 10] [--seed 11]`.

The workflow's closure fit set measures the flow and the ratio model together, one sample per
validation point, after a full run. This isolates the ratio model and averages over samples,
in minutes, so that a training choice can be judged before a run. Per Y1 in (171, 172.5,
174.5) and ν0 in (−1, 0, 1), `--repeats` samples of `--events` events (about a validation
point's size) are drawn from the exact density (X1 ~ N(Y1, (0.01 Y1)²), X2 ~ N(ν0 g(X1), 1));
on each, the ν likelihood of the model, −Σ ln r̂(x, ν) − n ln S(ν), and of the exact ratio are
fitted by a parabola over ν̂_T ± 2σ_T (both at the same fixed Y1, the flow left out). It
prints the mean and largest (ν̂_L − ν̂_T)/σ_T and the mean and range of σ_L/σ_T: issue 15
asks for |shift| ≤ 0.25 and σ ratios in [0.9, 1.1].

S(ν, Y1) is the run's normalisation of the model at the sample's Y1, or, with `--retrain` (a
JSON mapping of architecture overrides on the run's default architecture; the model is trained
again from the run's PreProcess tables, nothing is written), one built as the workflow builds
it, over the run's normalisation Asimov (`evaluation.regression_spline`,
`classifier.classifier_spline`). Prints its numbers; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from innfer_lib.core.io import read_yaml  # noqa: E402
from innfer_lib.data.benchmark_densities import shape_slope  # noqa: E402

BENCHMARK = "Benchmark_Dim2GaussianWithShapeNuisance"
Y_VALUES = (171.0, 172.5, 174.5)
NU_VALUES = (-1.0, 0.0, 1.0)
ARCHITECTURES = Path(__file__).resolve().parents[2] / "config" / "architecture"


def model_dirs(results: Path, kind: str) -> tuple[Path, Path]:
    """(preprocess dir, model dir) of the benchmark's ratio model of ν."""
    root = results / BENCHMARK if (results / BENCHMARK).is_dir() else results
    tail = Path("Signal") / "inclusive" / kind / "nu"
    return root / "preprocess" / tail, root / "models" / tail


def retrained(kind: str, pre: Path, overrides: dict) -> tuple[object, dict]:
    """The model trained again from the PreProcess tables with `overrides` (float64 twin)."""
    from innfer_lib.ratios import train_job
    from innfer_lib.ratios.fcnn import FCNN

    parameters = read_yaml(pre / "parameters.yaml")
    train = pd.read_parquet(pre / "train.parquet")
    test = pd.read_parquet(pre / "test.parquet")
    arch = train_job.load_fcnn_architecture(
        ARCHITECTURES / f"{kind}_default.yaml", overrides, seed=42, kind=kind
    )
    start = time.perf_counter()
    net, history = train_job.train_fcnn(train, test, parameters, arch, progress=False, kind=kind)
    print(
        f"retrained {kind} with {json.dumps(overrides)}: {time.perf_counter() - start:.0f} s, "
        f"best test loss {min(history['test_loss']):.5f}"
    )
    twin = FCNN(net.n_in, net.architecture, dtype="float64", kind=kind)
    twin.set_weights(net.get_weights())
    return twin, parameters


def normalisation_events(results: Path) -> tuple[pd.DataFrame, dict]:
    """The run's normalisation Asimov (flow events over the Y1 grid) and its grid."""
    root = results / BENCHMARK if (results / BENCHMARK).is_dir() else results
    where = root / "asimov" / "Signal" / "inclusive"
    events = pd.read_parquet(where / "normalisation_spline.parquet")
    return events, read_yaml(where / "normalisation_grid.yaml")["theta"]


def log_model(kind: str, results: Path, retrain: dict | None):
    """ln r̂(x, ν) + ln S(ν, Y1) of the run's (or a retrained) model as f(x (n, 2), ν, Y1)."""
    from innfer_lib.ratios import classifier, evaluation, regression

    pre, model = model_dirs(results, kind)
    if retrain is None:
        files = [model / "weights.npz", model / "architecture.yaml", pre / "parameters.yaml"]
        load = regression.load_regression if kind == "regression" else classifier.load_classifier
        learned = load(*files, model / "normalisation.yaml")
    else:
        network, parameters = retrained(kind, pre, retrain)
        events, grid = normalisation_events(results)
        if kind == "regression":
            ratio = regression.RegressedRatio(network, parameters)
            train = evaluation.physical_table(pd.read_parquet(pre / "train.parquet"), parameters)
            normalisation = evaluation.regression_spline(ratio, events, grid, train, "retrained")
            learned = regression.LearnedRegression(network, parameters, normalisation)
        else:
            ratio = classifier.ClassifiedRatio(network, parameters)
            nu_range = parameters["training_range"]["nu"]
            normalisation, _ = classifier.classifier_spline(
                ratio, events, grid, nu_range, "normalisation Asimov"
            )
            learned = classifier.LearnedClassifier(ratio, normalisation)
    if kind == "regression":
        return lambda x, nu, y: (
            np.log(learned.anchored_ratio_of_inputs(np.column_stack([x, np.full(len(x), nu)])))
            + np.log(learned.normalisation.value(nu, {"Y1": y}))
        )
    return lambda x, nu, y: (
        learned.ratio.log_ratio_at(x, nu) + np.log(learned.normalisation.value(nu, {"Y1": y}))
    )


def fit(values: np.ndarray, curve: np.ndarray, centre: float) -> tuple[float, float]:
    """(minimum, σ) of a parabola through NLL values."""
    a, b, _ = np.polyfit(values - centre, curve, 2)
    return centre - b / (2 * a), 1.0 / np.sqrt(2 * a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--model", choices=["regression", "classifier"], default="regression")
    parser.add_argument("--retrain", type=json.loads, default=None)
    parser.add_argument("--events", type=int, default=1300)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    log_weight = log_model(args.model, args.results, args.retrain)
    rng = np.random.default_rng(args.seed)
    n = args.events
    print(f"{args.model}, {n} events per sample, {args.repeats} samples per point")
    print("| Y1 | ν0 | shift mean | max |shift| | σ_L/σ_T mean | range |")
    print("|---|---|---|---|---|---|")
    for y in Y_VALUES:
        for nu0 in NU_VALUES:
            rows = []
            for _ in range(args.repeats):
                x1 = rng.normal(y, 0.01 * y, n)
                g = shape_slope(x1)
                x2 = rng.normal(nu0 * g, 1.0)
                # Exact: −Σ(ν g x2 − ν² g²/2) (the yield terms cancel), a parabola.
                best_t, sigma_t = np.sum(g * x2) / np.sum(g**2), 1.0 / np.sqrt(np.sum(g**2))
                values = best_t + sigma_t * np.linspace(-2.0, 2.0, 9)
                x = np.column_stack([x1, x2])
                nll = np.array([-np.sum(log_weight(x, v, y)) for v in values])
                best_l, sigma_l = fit(values, nll, best_t)
                rows.append(((best_l - best_t) / sigma_t, sigma_l / sigma_t))
            shift, ratio = np.array(rows).T
            print(
                f"| {y} | {nu0:+.0f} | {shift.mean():+.2f} | {np.abs(shift).max():.2f} | "
                f"{ratio.mean():.3f} | [{ratio.min():.3f}, {ratio.max():.3f}] |",
                flush=True,
            )


if __name__ == "__main__":
    main()
