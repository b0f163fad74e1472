"""Closure with and without the density pre-transforms on one benchmark (issue 18).

Runs the `summaries` target of the benchmark four times, each in its own results directory
(no pre-transform, Gaussianising splines, PCA whitening, both), one after the other on the
machine's cores, then prints per variant the closure χ² of the learned and the true density
(the same fits of the same events, so the truth row is the floor the data allow; the true
density does not depend on the pre-transform, so only the first variant fits it), the best
test loss of the flow and the wall time of the run:

`python tests/perf/pretransform_closure.py --out /tmp/pt [--benchmark Dim5] [--events 200000]
[--no-run]`

With `--no-run` it only reads the results of an earlier run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import yaml

VARIANTS = {
    "none": {},
    "gaussianise": {"density_pretransform_to_gaussian": True},
    "pca": {"density_pretransform_pca_whitening": True},
    "both": {"density_pretransform_to_gaussian": True, "density_pretransform_pca_whitening": True},
}


def _read(path: Path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def run_variant(out: Path, name: str, benchmark: str, events: int, cores: int) -> float:
    """Run one variant's `summaries` target; returns the wall time in seconds."""
    config = out / f"{name}.yaml"
    workflow = {
        "results_dir": str(out / name),
        "benchmark": {"name": benchmark, "events": events, "preprocess": VARIANTS[name]},
    }
    if name != next(iter(VARIANTS)):
        workflow["densities"] = ["learned"]
    config.write_text(yaml.safe_dump(workflow))
    start = time.monotonic()
    with open(out / f"{name}.log", "w") as log:
        subprocess.run(
            ["snakemake", "summaries", "--cores", str(cores), "--configfile", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.monotonic() - start


def fit_results(results: Path, density: str) -> dict[int, dict]:
    """Each validation point's closure-fit parameters of one density."""
    out = {}
    for path in results.glob(f"*/fits/closure/{density}/val_*/result.yaml"):
        out[int(path.parent.name.removeprefix("val_"))] = _read(path)["parameters"]
    return out


def against_truth(results: Path, reference: Path) -> dict[str, str]:
    """σ_L/σ_T (median, range) and the rms and largest |best_L − best_T|/σ_T over the points.

    The true density's fits come from the reference run: the benchmark's events (and so the
    validation sets) do not depend on the pre-transform.
    """
    learned, truth = fit_results(results, "learned"), fit_results(reference, "truth")
    row = {}
    for parameter in sorted({p for fits in truth.values() for p in fits}):
        points = sorted(set(learned) & set(truth))
        ratios = [learned[i][parameter]["sigma"] / truth[i][parameter]["sigma"] for i in points]
        shifts = [
            abs(learned[i][parameter]["best_fit"] - truth[i][parameter]["best_fit"])
            / truth[i][parameter]["sigma"]
            for i in points
        ]
        if points:
            row[f"σ_L/σ_T {parameter}"] = (
                f"{sorted(ratios)[len(ratios) // 2]:.3f} ({min(ratios):.3f}–{max(ratios):.3f})"
            )
            rms = (sum(x * x for x in shifts) / len(shifts)) ** 0.5
            row[f"shift/σ_T {parameter} rms, max"] = f"{rms:.2f}, {max(shifts):.2f}"
    return row


def closure_row(results: Path) -> dict[str, str]:
    """χ²/ndf and p of each density and parameter, and the flow's best test loss."""
    row: dict[str, str] = {}
    found = next(results.glob("*/summary/closure/chi_squared.yaml"), None)
    if found is None:
        return row
    chi2 = _read(found)["chi2"]["closure"]
    for density, per_parameter in chi2.items():
        for parameter, entry in per_parameter.items():
            row[f"{density} {parameter}"] = (
                f"{entry['chi2']:.2f}/{entry['ndf']} (p {entry['p_value']:.2f})"
            )
    history = next(results.glob("*/models/*/*/learned/history.yaml"), None)
    if history is not None:
        losses = _read(history).get("test_loss") or []
        row["best test loss"] = f"{min(losses):.5f}" if losses else "?"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--benchmark", default="Dim5")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--no-run", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    times = {}
    if not args.no_run:
        for name in VARIANTS:
            times[name] = run_variant(args.out, name, args.benchmark, args.events, args.cores)
    reference = args.out / next(iter(VARIANTS))
    rows = {
        name: {**closure_row(args.out / name), **against_truth(args.out / name, reference)}
        for name in VARIANTS
    }
    columns = sorted({c for row in rows.values() for c in row})
    print(f"| pre-transform | {' | '.join(columns)} | wall |")
    print("|---" * (len(columns) + 2) + "|")
    for name, row in rows.items():
        wall = f"{times[name]:.0f} s" if name in times else "-"
        print(f"| {name} | {' | '.join(row.get(c, '-') for c in columns)} | {wall} |")


if __name__ == "__main__":
    main()
