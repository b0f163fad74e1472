"""Learned-vs-true closure of one fit set: σ_L/σ_T, the shift of the best fit and ΔNLL at fixed
values, per validation point and parameter.

Run after a workflow with `densities: [learned, truth]` (and, for the ΔNLL columns, a scan with
a fixed `scan_points.range`):
`python tests/perf/closure_learned_vs_truth.py results/Benchmark_X [--fit closure]
[--sigma-ratio 0.9 1.1] [--shift 0.25] [--dnll 0.10]`.

Both densities are fitted to the same events, so the true density's fit is the reference: its
σ_T is what the data allow, and a learned density that closes reproduces σ and the best fit
within a fraction of σ_T. ΔNLL(v) = ln L(best) − ln L(v, others profiled) at each scanned value
is compared where the true one is at least 0.5 (below that a relative difference is noise).
Prints Markdown tables and the pass/fail of each criterion; nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import yaml

LEARNED, TRUTH = "learned", "truth"


def _read(path: Path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def _val_dirs(fit_dir: Path, density: str) -> dict[int, Path]:
    out = {}
    for d in (fit_dir / density).glob("val_*"):
        if (d / "result.yaml").exists():
            out[int(d.name.removeprefix("val_"))] = d
    return out


def _dnll(val_dir: Path, parameter: str) -> dict[float, float]:
    """ΔNLL (= −Δln L) at each scanned value, from the scan points and the best fit."""
    best = _read(val_dir / "best_fit.yaml")["best_fit_nll"]
    out = {}
    for point in sorted((val_dir / "scan" / parameter).glob("point_*.yaml")):
        record = _read(point)
        if record.get("scan_value") is not None and record.get("nll") is not None:
            out[round(float(record["scan_value"]), 9)] = 0.5 * (float(record["nll"]) - best)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--fit", default="closure")
    parser.add_argument("--sigma-ratio", type=float, nargs=2, default=(0.9, 1.1))
    parser.add_argument("--shift", type=float, default=0.25)
    parser.add_argument("--dnll", type=float, default=0.10)
    args = parser.parse_args()
    fit_dir = args.results / "fits" / args.fit
    learned, truth = _val_dirs(fit_dir, LEARNED), _val_dirs(fit_dir, TRUTH)
    vals = sorted(set(learned) & set(truth))
    if not vals:
        raise SystemExit(f"{fit_dir}: no validation point fitted with both densities")
    print(
        "| val | truth | par | learned best ± σ_L | true best ± σ_T | σ_L/σ_T | (L−T)/σ_T |"
        " valid |\n|---|---|---|---|---|---|---|---|"
    )
    failures = {"sigma": [], "shift": [], "dnll": [], "invalid": []}
    ratios, shifts = {}, {}
    for v in vals:
        rl, rt = _read(learned[v] / "result.yaml"), _read(truth[v] / "result.yaml")
        valid = bool(rl["fit_valid"] and rt["fit_valid"])
        if not valid:
            failures["invalid"].append(v)
        point = ", ".join(f"{k}={float(x):g}" for k, x in rl["truth"].items())
        for p, pl in rl["parameters"].items():
            pt = rt["parameters"][p]
            ratio = pl["sigma"] / pt["sigma"]
            shift = (pl["best_fit"] - pt["best_fit"]) / pt["sigma"]
            ratios.setdefault(p, []).append(ratio)
            shifts.setdefault(p, []).append(shift)
            if not args.sigma_ratio[0] <= ratio <= args.sigma_ratio[1]:
                failures["sigma"].append((v, p, round(ratio, 3)))
            if abs(shift) > args.shift:
                failures["shift"].append((v, p, round(shift, 2)))
            print(
                f"| {v} | {point} | {p} | {pl['best_fit']:.4f} ± {pl['sigma']:.4f} | "
                f"{pt['best_fit']:.4f} ± {pt['sigma']:.4f} | {ratio:.3f} | {shift:+.2f} | "
                f"{'yes' if valid else 'NO'} |"
            )
    for p in ratios:
        print(
            f"\n{p}: σ_L/σ_T in [{min(ratios[p]):.3f}, {max(ratios[p]):.3f}], "
            f"(L−T)/σ_T in [{min(shifts[p]):+.2f}, {max(shifts[p]):+.2f}]"
        )
    scanned = sorted({d.name for v in vals for d in (learned[v] / "scan").glob("*") if d.is_dir()})
    for p in scanned:
        print(f"\nΔNLL({p}) at the scanned values (learned / true)\n")
        print("| val | value | ΔNLL_L | ΔNLL_T | L/T − 1 |\n|---|---|---|---|---|")
        for v in vals:
            dl, dt = _dnll(learned[v], p), _dnll(truth[v], p)
            for value in sorted(set(dl) & set(dt)):
                rel = dl[value] / dt[value] - 1 if abs(dt[value]) > 0 else math.nan
                judged = dt[value] >= 0.5
                if judged and abs(rel) > args.dnll:
                    failures["dnll"].append((v, value, round(rel, 3)))
                mark = f"{rel:+.3f}" if judged else f"({rel:+.3f})"
                print(f"| {v} | {value:g} | {dl[value]:.3f} | {dt[value]:.3f} | {mark} |")
    print(
        f"\ncriteria: σ_L/σ_T in {list(args.sigma_ratio)}, |L−T| ≤ {args.shift} σ_T, "
        f"|ΔNLL_L/ΔNLL_T − 1| ≤ {args.dnll} where ΔNLL_T ≥ 0.5"
    )
    for name, items in failures.items():
        print(f"{name}: {'PASS' if not items else f'FAIL {items}'}")


if __name__ == "__main__":
    main()
