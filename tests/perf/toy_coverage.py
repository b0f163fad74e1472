"""Toy coverage on Dim1GaussianWithExpBkgVaryingYield, true and learned density (issue 19).

Runs the workflow's toy rules with `tests/perf/toy_coverage.yaml`: 3 validation points, a
small affine flow trained by the workflow, and three fit sets, 500 toys per point each:
`coverage` (H⁻¹ and sandwich), `coverage_scan` (plus the profile scan and MINOS) and
`coverage_bootstrap` (plus 20 bootstrap refits per toy); `--toys`/`--per-job` override the
first set. Prints per fit set and density the coverage table (every source,
parameter, point and pooled), the headline figures (sandwich 68.3 % coverage within ±2.5 %
and pull width 1 ± 0.05), the wall time per 100 toys (the toy_fit jobs' own wall time, their
likelihood set-up included; training and the rest of the DAG excluded) and the load average.
Nothing is asserted.

`python tests/perf/toy_coverage.py [--cores 2] [--toys N] [--per-job K] [--fits F ...]
[--densities D ...] [--default-flow] [--collect-only] [--continue]` (`--collect-only` prints
the tables of a finished run; fit sets not run are listed as such). `--default-flow` trains
the project's default architecture (interleaved affine and spline couplings) instead of the
small affine flow, into its own results directory: in one X dimension an affine coupling is
only an affine map of a Gaussian, which cannot be the exponential background. `--continue`
finishes a stopped run without redoing what exists (mtime triggers only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tests" / "perf" / "toy_coverage.yaml"
BENCHMARK_DIR = "Benchmark_Dim1GaussianWithExpBkgVaryingYield"
DENSITIES = ("truth", "learned")
FITS = ("coverage", "coverage_scan", "coverage_bootstrap")
#: The must-be-true band: sandwich 68.3 % coverage within ±2.5 %, pull width 1 ± 0.05.
COVERAGE_BAND, WIDTH_BAND = 0.025, 0.05


def _config(args: argparse.Namespace) -> tuple[Path, dict]:
    config = yaml.safe_load(CONFIG.read_text())
    if args.default_flow:
        config.pop("density_architecture_overrides")
        config["results_dir"] += "_default_flow"
    config["densities"] = list(args.densities)
    fit = config["fits"]["coverage"]
    if args.toys:
        fit["toys"] = args.toys
    if args.per_job:
        fit["toy_options"]["per_job"] = args.per_job
    path = Path(tempfile.mkstemp(suffix=".yaml", prefix="toy_coverage_")[1])
    path.write_text(yaml.safe_dump(config))
    return path, config


def _headline(summary: dict, source: str = "sandwich") -> list[str]:
    lines = []
    for parameter, cells in summary["sources"].get(source, {}).items():
        for key, cell in cells.items():
            c, p = cell["coverage"][1], cell["pull"]
            if c.get("fraction") is None or p["width"] is None:
                continue
            in_band = abs(c["fraction"] - c["nominal"]) <= COVERAGE_BAND
            width_ok = abs(p["width"] - 1) <= WIDTH_BAND
            lines.append(
                f"  {source} {parameter} val {key}: coverage 68.3 % = "
                f"{100 * c['fraction']:.1f} % [{100 * c['low']:.1f}, {100 * c['high']:.1f}] "
                f"({'in' if in_band else 'OUT of'} ±2.5 %), pull width {p['width']:.3f} ± "
                f"{p['width_error']:.3f} ({'in' if width_ok else 'OUT of'} 1 ± 0.05), "
                f"n = {cell['n_used']}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--toys", type=int)
    parser.add_argument("--per-job", type=int)
    parser.add_argument("--fits", nargs="+", choices=FITS, default=list(FITS))
    parser.add_argument("--densities", nargs="+", choices=DENSITIES, default=list(DENSITIES))
    parser.add_argument("--default-flow", action="store_true")
    parser.add_argument("--collect-only", action="store_true")
    parser.add_argument(
        "--continue",
        dest="resume",
        action="store_true",
        help="finish a stopped run: only missing outputs run (Snakemake's --rerun-triggers "
        "mtime), so edits to the code since then do not retrain the flow or redo toys",
    )
    args = parser.parse_args()
    path, config = _config(args)
    # Relative targets, like the config's results_dir: Snakemake matches paths as written.
    relative = Path(config["results_dir"]) / BENCHMARK_DIR
    root = REPO / relative
    targets = [
        str(relative / "toys" / f / d / "coverage.yaml") for f in args.fits for d in args.densities
    ]
    load_before = os.getloadavg()
    started = time.time()
    if not args.collect_only:
        command = [
            str(Path(sys.executable).with_name("snakemake")),
            *targets,
            "--cores",
            str(args.cores),
            "--configfile",
            str(path),
            *(["--rerun-triggers", "mtime"] if args.resume else []),
        ]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, cwd=REPO, check=True)
    elapsed = time.time() - started
    for fit in args.fits:
        for density in args.densities:
            where = root / "toys" / fit / density
            if not (where / "coverage.yaml").exists():
                print(f"\n## {fit}: {density} density: not run")
                continue
            summary = yaml.safe_load((where / "coverage.yaml").read_text())
            cost = summary["cost"]
            print(f"\n## {fit}: {density} density (toys from the {summary['generator']} density)\n")
            print((where / "coverage.md").read_text())
            print("\n".join(_headline(summary)))
            print(
                f"  toys {cost['toys']} in {cost['jobs']} jobs; wall per 100 toys "
                f"{cost['wall_seconds_per_100_toys']:.1f} s (job total {cost['wall_seconds']:.0f} s"
                f", of which the first toys with tracing {cost['first_toy_seconds']:.0f} s); "
                f"retraced batches: {cost['batches_retraced'] or 'none'}"
            )
    if not args.collect_only:
        print(
            f"\nrun wall {elapsed:.0f} s on {args.cores} cores; load average before "
            f"{load_before[0]:.2f}, at the end {os.getloadavg()[0]:.2f} (1 min) / "
            f"{os.getloadavg()[1]:.2f} (5 min) / {os.getloadavg()[2]:.2f} (15 min)"
        )


if __name__ == "__main__":
    main()
