"""Calibration of the p-value chain: uniform p-values when the simulation is the density's own.

Runs `innfer_lib.density.pvalues.calibration` with a benchmark's true density as the synthetic
generator and independent simulated samples drawn from the same truth, and prints, per
metric, the Kolmogorov-Smirnov p-value of the p-values' uniformity. Weighted samples carry
gamma-distributed weights with 5 % of them negative, independent of x (so they still follow
the truth, with N_eff ≈ 0.54 N). Both toy designs can be run: this workflow's (`reweighted`,
the simulated weights on synthetic events) and INNFER's (`effective`, N_eff unit weights).

    python tests/perf/pvalue_calibration.py --datasets 100 --toys 400 --weights signed
"""

import argparse
import time

import numpy as np

from innfer_lib.density.models import TrueDensity
from innfer_lib.density.performance import MetricOptions, summary_metric_keys
from innfer_lib.density.pvalues import PValueSetup, calibration, weighted_simulator

POINTS = ({"Y1": 171.0}, {"Y1": 173.0}, {"Y1": 175.0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="Dim1Gaussian")
    parser.add_argument("--process", default="Gaussian")
    parser.add_argument("--events", type=int, default=600, help="simulated events per point")
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--toys", type=int, default=400)
    parser.add_argument("--weights", choices=["unit", "signed"], default="signed")
    parser.add_argument("--toy-events", choices=["reweighted", "effective"], default="reweighted")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    density = TrueDensity(args.benchmark, args.process)
    options = MetricOptions(families=("histogram", "multidim"), datasets=("val",))
    columns = list(density.x_columns)
    keys = summary_metric_keys(options, columns)
    setup = PValueSetup(options, "val", args.seed, columns, toy_events=args.toy_events)
    start = time.perf_counter()
    result = calibration(
        density,
        weighted_simulator(density, POINTS, args.events, args.weights == "signed", 7),
        args.datasets,
        args.toys,
        setup,
        keys,
    )
    print(
        f"{args.benchmark} truth, {args.datasets} datasets of {args.events} events x "
        f"{len(POINTS)} points, {args.weights} weights, {args.toys} {args.toy_events} toys"
    )
    # KS p: the p-values against the uniform distribution; KS2 p: the observed values
    # against the toys (exact when toys are shared, pvalues.calibration).
    print(f"{'metric':36s} {'KS p':>7s} {'KS D':>6s} {'KS2 p':>7s} {'mean p':>7s}")
    for key, row in result.items():
        print(
            f"{key:36s} {row['ks_p_value']:7.4f} {row['ks_statistic']:6.3f} "
            f"{row['ks_two_sample_p_value']:7.4f} {np.mean(row['p_values']):7.3f}"
        )
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
