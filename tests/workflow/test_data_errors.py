"""Bad inputs through the real rules: a clear message naming the column, and no outputs left."""

import numpy as np
import pandas as pd
import yaml

from innfer_lib.core.paths import Paths
from innfer_lib.data.benchmarks import get_benchmark


def _setup(tmp_path, frame, **changes):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    raw = get_benchmark("Dim1Gaussian").analysis_config(str(inputs))
    for key, value in changes.items():
        raw["files"]["base"][key] = value
    frame.to_parquet(inputs / "Gaussian.parquet")
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw))
    cfg = tmp_path / "config.yaml"
    results = tmp_path / "results"
    cfg.write_text(
        yaml.safe_dump(
            {"analysis": str(analysis), "densities": ["learned"], "results_dir": str(results)}
        )
    )
    return cfg, Paths.for_analysis(results, raw["name"])


def _frame(n=2000):
    rng = np.random.default_rng(0)
    y = rng.choice([171.0, 172.5, 174.0], n)
    return pd.DataFrame({"Y1": y, "X1": rng.normal(y, 1.7), "wt": np.ones(n)})


def test_missing_weight_column_fails_cleanly(snakemake, tmp_path):
    cfg, paths = _setup(tmp_path, _frame(), weight="wt * sf")
    loaded = paths.format(paths.loaded, file="base")
    proc = snakemake(loaded, "--configfile", str(cfg), check=False)
    assert proc.returncode != 0
    log = tmp_path / "results" / "Benchmark_Dim1Gaussian" / "logs" / "load_data" / "base.log"
    text = log.read_text()
    assert "missing column(s) ['sf']" in text and "Gaussian.parquet" in text
    assert "Traceback" not in text
    assert not (tmp_path / loaded).exists() and not list(tmp_path.rglob(".base.parquet*"))


def test_preprocess_error_leaves_no_outputs(snakemake, tmp_path):
    frame = _frame()
    frame.loc[frame.Y1 == 172.5, "wt"] = 0.0  # no yield at the default point
    cfg, paths = _setup(tmp_path, frame)
    target = paths.format(paths.parameters, model="Gaussian", category="inclusive")
    proc = snakemake(target, "--configfile", str(cfg), check=False)
    assert proc.returncode != 0
    log = next((tmp_path / "results").rglob("logs/preprocess_model/*.log")).read_text()
    assert "yield" in log and "files.base" in log
    preprocess_dir = tmp_path / "results" / "Benchmark_Dim1Gaussian" / "preprocess"
    assert not [p for p in preprocess_dir.rglob("*") if p.is_file()]
