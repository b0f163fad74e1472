"""Custom steps through the workflow (issue 18): INNFER's `--step Custom` as a rule.

On a tiny Dim1Gaussian benchmark, preprocessed once for the module:

- the shipped example module (config/examples/custom/mass_fractions.py) runs as the rule
  `custom_<step>`, its output asked for by path; the DAG then reruns it when the module file
  or the options change, and only then;
- each way a module can fail in the job (a module name that is not importable, no `run`,
  `run` raises, writes no output, writes only some) fails the job in a line naming the step,
  the module and what is wrong, leaves none of the step's outputs and no temporaries, and the
  corrected module then runs through.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from innfer_lib.core.paths import Paths
from tests.bad_inputs import (
    assert_job_message,
    assert_names,
    assert_no_leftovers,
    run_failing,
    run_workflow,
)
from tests.conftest import REPO, job_counts

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "config" / "examples" / "custom" / "mass_fractions.py"
BENCHMARK = {"name": "Dim1Gaussian", "events": 2000, "data_events": 200}
WHERE = dict(model="Gaussian", category="inclusive")
GOOD = "def run(inputs, outputs, options, log):\n    outputs['x.yaml'].write_text('ok')\n"


class Run:
    """A results directory with the benchmark preprocessed, and configs of custom steps."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.results = tmp / "results"
        self.paths = Paths.for_analysis(self.results, "Benchmark_Dim1Gaussian")

    def config(self, name: str, steps: dict[str, Any]) -> Path:
        path = self.tmp / f"{name}.yaml"
        base = {"results_dir": str(self.results), "benchmark": BENCHMARK, "densities": ["learned"]}
        path.write_text(yaml.safe_dump({**base, "custom": steps}))
        return path

    def output(self, step: str, name: str) -> Path:
        return Path(self.paths.format(self.paths.custom_output, step=step, output=name))

    def module(self, name: str, text: str) -> Path:
        path = self.tmp / f"{name}.py"
        path.write_text(text)
        return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    state = Run(tmp_path_factory.mktemp("custom"))
    parameters = state.paths.format(state.paths.parameters, **WHERE)
    proc = run_workflow("--cores", "1", parameters, "--configfile", str(state.config("base", {})))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return state


def example_step(module: Path, options: Any) -> dict[str, Any]:
    return {
        "module": str(module),
        "options": options,
        "inputs": {"train": {"output": "train"}, "parameters": {"output": "parameters"}},
        "outputs": ["fractions.yaml"],
    }


def test_example_module_runs_and_reruns_when_its_module_or_options_change(run: Run) -> None:
    module = run.tmp / "mass_fractions.py"
    shutil.copy(EXAMPLE, module)
    config = run.config("example", {"fractions": example_step(module, "column=Y1;quantiles_of=X1")})
    target = run.output("fractions", "fractions.yaml")
    proc = run_workflow("--cores", "1", str(target), "--configfile", str(config))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = yaml.safe_load(target.read_text())
    points = result["processes"]["Gaussian"]["inclusive"]
    assert len(points) > 1 and result["column"] == "Y1"
    assert sum(p["eff_fraction"] for p in points.values()) == pytest.approx(1.0)
    total = sum(p["sum_w"] for p in points.values())
    assert sum(p["fraction"] * p["sum_w"] for p in points.values()) == pytest.approx(total)
    assert all(set(p["quantiles"]) == {"0.16", "0.5", "0.84"} for p in points.values())

    def planned(config_file: Path) -> dict[str, int]:
        proc = run_workflow("custom", "-n", "--configfile", str(config_file))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return job_counts(proc.stdout + proc.stderr)

    assert "custom_fractions" not in planned(config)
    # The mapping form of the same options is the same params: nothing to rerun.
    same = run.config(
        "same", {"fractions": example_step(module, {"column": "Y1", "quantiles_of": "X1"})}
    )
    assert "custom_fractions" not in planned(same)
    other = run.config("other", {"fractions": example_step(module, "column=Y1")})
    assert planned(other)["custom_fractions"] == 1
    module.write_text(module.read_text() + "\n# edited\n")
    assert planned(config)["custom_fractions"] == 1


#: name -> (module text, or an importable name; what the message must name)
FAILURES = {
    "not_importable": (
        None,
        ("custom.not_importable.module", "no module named 'innfer_missing_step'"),
    ),
    "no_run": (
        "def main(inputs, outputs, options, log):\n    pass\n",
        ("custom.no_run.function", "defines no function 'run'"),
    ),
    "raises": (
        "def run(inputs, outputs, options, log):\n"
        "    outputs['x.yaml'].write_text('half')\n"
        "    raise KeyError('sim_mass')\n",
        ("raised KeyError: 'sim_mass'", "line 3, in run"),
    ),
    "writes_nothing": (
        "def run(inputs, outputs, options, log):\n    log.info('nothing to do')\n",
        ("did not write the declared output(s) ['x.yaml', 'y.yaml']", "it wrote nothing"),
    ),
    "writes_one": (
        "def run(inputs, outputs, options, log):\n    outputs['x.yaml'].write_text('x')\n",
        ("did not write the declared output(s) ['y.yaml']", "it wrote ['x.yaml']"),
    ),
}


@pytest.mark.parametrize("step", FAILURES)
def test_failing_module_fails_the_job_and_leaves_nothing(run: Run, step: str) -> None:
    text, names = FAILURES[step]
    module = str(run.module(step, text)) if text else "innfer_missing_step"
    entry = {
        "module": module,
        "inputs": {"parameters": {"output": "parameters", **WHERE}},
        "outputs": ["x.yaml", "y.yaml"],
    }
    config = run.config(step, {step: entry})
    outputs = [run.output(step, "x.yaml"), run.output(step, "y.yaml")]
    failure = run_failing(
        "--cores", "1", "custom", "--configfile", str(config), results_dir=run.results
    )
    assert_names(failure, f"innfer error in rule custom_{step}", f"custom.{step}", *names)
    assert_job_message(failure, names[0])
    assert_no_leftovers(run.results, *outputs)
    assert not [p for p in outputs[0].parent.glob(".*")], "a staging directory was left"

    good = run.module(f"{step}_fixed", GOOD + "    outputs['y.yaml'].write_text('ok')\n")
    config = run.config(f"{step}_fixed", {step: {**entry, "module": str(good)}})
    proc = run_workflow("--cores", "1", "custom", "--configfile", str(config))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert all(p.read_text() == "ok" for p in outputs)
