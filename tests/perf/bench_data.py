"""Throughput and peak memory of LoadData + PreProcess on a 1e6-event, 10-column input.

Run: `python tests/perf/bench_data.py [--events 1000000]`. Prints rows/s per stage and the
peak resident memory of the process (ru_maxrss), which includes the input frame itself.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from innfer_lib.core.analysis import load_analysis  # noqa: E402
from innfer_lib.data.loading import load_file  # noqa: E402
from innfer_lib.data.preprocess import preprocess  # noqa: E402
from innfer_lib.data.preprocessor import Preprocessor  # noqa: E402

MASSES = [171.5, 172.5, 173.5]


def make_input(path: Path, n: int, seed: int = 1) -> None:
    """Ten columns: six observables, a generated-mass column, a category flag and two weights."""
    rng = np.random.default_rng(seed)
    m = rng.choice(MASSES, n)
    frame = {f"x{i}_nom": rng.normal(m if i == 0 else 0.0, 1.0 + i, n) for i in range(6)}
    frame.update(
        {
            "m": m,
            "nb": rng.integers(1, 3, n).astype(np.float64),
            "gen_wt": rng.normal(1.0, 0.1, n),
            "wt_up": rng.normal(1.05, 0.01, n),
        }
    )
    pd.DataFrame(frame).to_parquet(path, index=False)


def analysis_config(path: Path) -> dict:
    variables = [f"x{i}" for i in range(6)]
    return {
        "name": "Bench",
        "variables": variables,
        "pois": ["m"],
        "nuisances": ["jes", "eff"],
        "default_values": {"m": 172.5},
        "categories": {"one": "nb == 1", "two": "nb == 2"},
        "files": {
            "sig": {
                "inputs": [str(path)],
                "weight": "gen_wt",
                "parameters": ["m"],
                "selection": "x1_nom > -6",
                "calculate": {v: f"{v}_nom * (1 + 0.01 * jes)" for v in variables},
                "weight_shifts": {"eff": "1 + (wt_up - 1) * eff"},
            }
        },
        "models": {
            "sig": {
                "density_models": [
                    {
                        "parameters": ["m", "jes", "eff"],
                        "file": "sig",
                        "shifts": {
                            "jes": {"type": "continuous", "range": [-3, 3]},
                            "eff": {"type": "flat_top", "range": [-1, 1]},
                        },
                    }
                ],
                "yields": [{"file": "sig"}],
            }
        },
        "validation": {
            "loop": [{"m": v} for v in MASSES] + [{"jes": 1.0}, {"eff": -1.0}],
            "files": {"sig": [{"file": "sig"}]},
        },
        "preprocess": {"train_test_val_split": "0.6:0.2:0.2"},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sig.parquet"
        make_input(path, args.events)
        analysis = load_analysis(analysis_config(path))
        start = time.perf_counter()
        loaded = load_file(analysis, "sig")
        t_load = time.perf_counter() - start
        start = time.perf_counter()
        result = preprocess(Preprocessor(analysis, "sig", "one", {"sig": loaded}, seed=42))
        t_pre = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = args.events
    print(f"events: {n}, columns in: 10, loaded: {loaded.shape[1]}")
    print(f"load_data:  {t_load:6.2f} s  {n / t_load:12,.0f} rows/s")
    print(
        f"preprocess: {t_pre:6.2f} s  {n / t_pre:12,.0f} rows/s (one category of two; "
        f"yields with 2 nuisances, train {len(result.train)}, 5 validation points)"
    )
    print(f"total:      {t_load + t_pre:6.2f} s  {n / (t_load + t_pre):12,.0f} rows/s")
    print(f"peak RSS:   {peak:8.0f} MiB")


if __name__ == "__main__":
    main()
