"""Bad expressions through the real rules: one short message naming the file, key and column.

Strings outside the expression grammar (escape attempts, unknown functions) fail when the
workflow reads the analysis config, before any job runs; values of the wrong kind (numbers
stored as text, a selection that is not true/false) fail in the job that reads them, naming the
input file. Each case then runs through with the corrected input.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from innfer_lib.core.paths import Paths
from innfer_lib.data.benchmarks import get_benchmark
from tests.bad_inputs import (
    assert_names,
    assert_no_leftovers,
    assert_no_traceback,
    assert_short,
    run_failing,
    run_workflow,
)

#: A failed job prints Snakemake's banner and job block (~60 lines) around the message; a
#: library traceback printed in the terminal and again from the log took 200 more.
MAX_JOB_ERROR_LINES = 70


def assert_job_message(failure, text):
    """The job's message reaches the terminal once, and once more from the job log."""
    lines = [line for line in failure.terminal.splitlines() if text in line]
    assert 1 <= len(lines) <= 2, failure.terminal
    assert_no_traceback(failure)
    assert_short(failure, MAX_JOB_ERROR_LINES)


class Case:
    """An analysis config (the Dim1Gaussian benchmark) reading one parquet file in `tmp_path`."""

    def __init__(self, tmp_path, frame=None):
        self.inputs = tmp_path / "inputs"
        self.inputs.mkdir()
        self.results = tmp_path / "results"
        self.marker = tmp_path / "marker"
        self.analysis = tmp_path / "analysis.yaml"
        self.config = tmp_path / "config.yaml"
        self.raw = get_benchmark("Dim1Gaussian").analysis_config(str(self.inputs))
        self.write_frame(frame if frame is not None else events())
        self.config.write_text(
            yaml.safe_dump(
                {
                    "analysis": str(self.analysis),
                    "densities": ["learned"],
                    "results_dir": str(self.results),
                }
            )
        )
        self.paths = Paths.for_analysis(self.results, self.raw["name"])
        self.loaded = Path(self.paths.format(self.paths.loaded, file="base"))

    def write_frame(self, frame):
        frame.to_parquet(self.inputs / "Gaussian.parquet")

    def set(self, key, value):
        """Set `files.base.<key>` and write the analysis config."""
        self.raw["files"]["base"][key] = value
        self.analysis.write_text(yaml.safe_dump(self.raw))

    def dry_run_fails(self):
        return run_failing(str(self.loaded), "-n", "--configfile", str(self.config))

    def load_data_fails(self):
        return run_failing(
            str(self.loaded), "--configfile", str(self.config), results_dir=self.results
        )

    def assert_dry_run_passes(self):
        proc = run_workflow(str(self.loaded), "-n", "--configfile", str(self.config))
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def assert_load_data_passes(self):
        proc = run_workflow(str(self.loaded), "--configfile", str(self.config))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert self.loaded.exists()


def events(n=2000):
    rng = np.random.default_rng(0)
    y = rng.choice([171.0, 172.5, 174.0], n)
    return pd.DataFrame({"Y1": y, "X1": rng.normal(y, 1.7), "wt": np.ones(n), "run": 3.0})


READ_TIME_CASES = {
    "escape in selection": (
        "selection",
        "X1.__class__.__init__.__globals__['sys'].modules['os'].system('touch {M}')",
        "X1 > 160",
        ["files.base.selection", "X1.__class__"],
    ),
    "escape in weight": (
        "weight",
        "wt * (lambda: wt.to_csv('{M}'))()",
        "wt * 1.0",
        ["files.base.weight", "lambda"],
    ),
    "unknown function": (
        "calculate",
        {"X1": "sqr(X1 ** 2)"},
        {"X1": "sqrt(X1 ** 2)"},
        ["files.base.calculate.X1", "sqr", "did you mean sqrt"],
    ),
}


@pytest.mark.parametrize("name", READ_TIME_CASES)
def test_rejected_when_the_config_is_read(name, tmp_path):
    key, bad, good, names = READ_TIME_CASES[name]
    case = Case(tmp_path)
    case.set(key, bad.format(M=case.marker) if isinstance(bad, str) else bad)
    failure = case.dry_run_fails()
    assert_names(failure, str(case.analysis), *names)
    assert_no_traceback(failure)
    assert_short(failure)
    assert not case.marker.exists(), "the expression ran"
    assert not case.results.exists(), "a job ran before the config was rejected"
    case.set(key, good)
    case.assert_dry_run_passes()


@pytest.mark.slow
def test_numbers_stored_as_text_in_a_selection(tmp_path):
    frame = events()
    case = Case(tmp_path, frame.astype({"run": str}))
    case.set("selection", "run > 1")
    failure = case.load_data_fails()
    assert_names(failure, "Gaussian.parquet", "files.base.selection", "'run'", "run > 1", "str")
    assert_job_message(failure, "reads column 'run' of dtype str")
    assert_no_leftovers(case.results, case.loaded)
    case.write_frame(frame)
    case.assert_load_data_passes()


@pytest.mark.slow
def test_selection_that_is_not_boolean(tmp_path):
    case = Case(tmp_path)
    case.set("selection", "X1 * 2")
    failure = case.load_data_fails()
    assert_names(failure, "Gaussian.parquet", "files.base.selection", "'X1 * 2'", "not a boolean")
    assert_job_message(failure, "'X1 * 2' is not a boolean selection")
    assert_no_leftovers(case.results, case.loaded)
    case.set("selection", "X1 * 2 > 0")
    case.assert_load_data_passes()
