"""Custom steps (issue 18): the option string, the `custom:` block's checks and input
resolution, and the job's module loading, staging and failures, without Snakemake."""

from __future__ import annotations

import logging
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from innfer_lib.core.config_files import ConfigKeyError, format_path
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.paths import Paths
from innfer_lib.custom.job import (
    STAGING_PREFIX,
    CustomStepError,
    load_step_function,
    module_inputs,
    run_custom_step,
)
from innfer_lib.custom.options import parse_option_string, step_options
from innfer_lib.custom.steps import CustomStep, custom_steps, workflow_sources

# ------------------------------------------------------------------------------------ options


def test_innfer_option_string_of_the_run_book() -> None:
    text = "gen_mass=GenTop1_mass;gen_mass_other=GenTop2_mass;mass_name=sim_mass"
    assert parse_option_string(text) == {
        "gen_mass": "GenTop1_mass",
        "gen_mass_other": "GenTop2_mass",
        "mass_name": "sim_mass",
    }


def test_option_values_are_read_as_yaml() -> None:
    text = " n = 3 ; x=1.5;flag=true;q=[0.16, 0.5];nothing=null;s=a=b;e=;"
    assert parse_option_string(text) == {
        "n": 3,
        "x": 1.5,
        "flag": True,
        "q": [0.16, 0.5],
        "nothing": None,
        "s": "a=b",
        "e": "",
    }


def test_option_string_is_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"x=__import__('pathlib').Path('{marker}').touch();y=!!python/object:os.system ls"
    options = parse_option_string(text)
    assert options["x"].startswith("__import__") and isinstance(options["y"], str)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "named"),
    [("column", "'column' is not key=value"), ("=Y1", "'=Y1'"), ("a=1;a=2", "'a' is given twice")],
)
def test_bad_option_string_names_the_entry(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_option_string(text)


def test_options_mapping_is_a_copy_and_none_is_empty() -> None:
    given = {"column": "Y1"}
    options = step_options(given)
    options["column"] = "X1"
    assert given == {"column": "Y1"} and step_options(None) == {}


# -------------------------------------------------------------------------- the custom block

PATHS = Paths.for_analysis("/results", "Ana")
SOURCES = workflow_sources(
    PATHS,
    files=["ttbar_file"],
    processes=["ttbar", "wjets"],
    categories=["one_b", "two_b"],
    vals=[0, 1, 2],
    observed_data=False,
)


@pytest.fixture
def module_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module file, named by a path relative to the working directory as a config does."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mod.py").write_text("raise SystemExit('imported at parse time')\n")
    return "mod.py"


def steps(module: str, **entries: dict[str, Any]) -> dict[str, CustomStep]:
    block = {name: {"module": module, "outputs": ["x.yaml"], **e} for name, e in entries.items()}
    return custom_steps(block, SOURCES, PATHS.custom_output)


def config_error(module: str, **entries: dict[str, Any]) -> str:
    with pytest.raises(ConfigKeyError) as info:
        steps(module, **entries)
    return f"{format_path(info.value.problem.path)}: {info.value.problem.message}"


def test_a_step_resolves_its_inputs_without_importing_the_module(module_file: str) -> None:
    [step] = steps(
        module_file,
        fractions={
            "options": "column=Y1;quantiles_of=X1",
            "inputs": {
                "train": {"output": "train"},
                "params": {"output": "parameters", "model": "ttbar"},
                "one": {"output": "validation", "model": "wjets", "category": "two_b", "val": 2},
                "plain": "inputs/reference.yaml",
            },
            "outputs": ["fractions.yaml", "plots/x.pdf"],
        },
    ).values()
    pre = "/results/Ana/preprocess"
    assert step.module_file == "mod.py" and step.module_name is None
    assert step.options == {"column": "Y1", "quantiles_of": "X1"}
    assert step.inputs["train"] == [
        [[m, c], f"{pre}/{m}/{c}/train.parquet"]
        for m in ("ttbar", "wjets")
        for c in ("one_b", "two_b")
    ]
    assert step.inputs["params"] == [
        [["ttbar", c], f"{pre}/ttbar/{c}/parameters.yaml"] for c in ("one_b", "two_b")
    ]
    assert step.inputs["one"] == f"{pre}/wjets/two_b/val/val_2.parquet"
    assert step.inputs["plain"] == "inputs/reference.yaml"
    assert step.outputs == {
        "fractions.yaml": "/results/Ana/custom/fractions/fractions.yaml",
        "plots/x.pdf": "/results/Ana/custom/fractions/plots/x.pdf",
    }
    named = step.rule_inputs()
    assert named["input__train"] == [path for _, path in step.inputs["train"]]
    assert named["input__one"] == step.inputs["one"] and named["module"] == "mod.py"
    assert step.input_layout() == {
        "train": [keys for keys, _ in step.inputs["train"]],
        "params": [["ttbar", "one_b"], ["ttbar", "two_b"]],
        "one": None,
        "plain": None,
    }
    assert (step.function, step.mem_mb, step.runtime) == ("run", 4000, 60)


def test_a_module_name_is_not_a_file_and_not_checked_on_disk() -> None:
    [step] = steps("my_analysis.fractions", a={}).values()
    assert step.module_file is None and step.module_name == "my_analysis.fractions"
    assert step.rule_inputs() == {}


def test_a_step_reads_another_steps_output(module_file: str) -> None:
    both = steps(
        module_file,
        first={"outputs": ["a.yaml"]},
        second={"inputs": {"a": {"step": "first", "output": "a.yaml"}}},
    )
    assert both["second"].inputs["a"] == both["first"].outputs["a.yaml"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"inputs": {"t": {"output": "trian"}}}, "s.inputs.t.output: 'trian'.*'train'"),
        ({"inputs": {"t": {"output": "data"}}}, "s.inputs.t.output: 'data' is not a workflow"),
        (
            {"inputs": {"t": {"output": "train", "model": "ttbr"}}},
            "s.inputs.t.model: 'ttbr' is not a process; did you mean 'ttbar'",
        ),
        (
            {"inputs": {"t": {"output": "validation", "val": 7}}},
            "s.inputs.t.val: '7' is not a validation index",
        ),
        (
            {"inputs": {"t": {"output": "train", "val": 0}}},
            r"s.inputs.t.val: the output 'train' has no val; it has \['model', 'category'\]",
        ),
        (
            {"inputs": {"t": {"output": "loaded", "file": "ttbar"}}},
            "s.inputs.t.file: 'ttbar' is not a `files` entry; did you mean 'ttbar_file'",
        ),
        ({"inputs": {"t": {"step": "nope", "output": "x.yaml"}}}, "t.step: 'nope' is not a custom"),
        ({"inputs": {"t": {"step": "s", "output": "x.yaml"}}}, "cannot read its own outputs"),
        ({"options": "column"}, "s.options: 'column' is not key=value"),
        ({"inputs": {"my input": "x.yaml"}}, "s.inputs.my input: 'my input': an input's name"),
        ({"function": "run-it"}, "s.function: 'run-it' is not a function name"),
        ({"outputs": ["/abs.yaml"]}, r"s.outputs\[0\]: '/abs.yaml': expected a relative"),
        ({"outputs": ["../up.yaml"]}, r"s.outputs\[0\]: '../up.yaml': a part of the name"),
        ({"outputs": [".hidden"]}, r"s.outputs\[0\]: '.hidden': a part of the name"),
        ({"outputs": ["./a.yaml"]}, r"'./a.yaml': expected a relative file name"),
        ({"outputs": ["a//b.yaml"]}, r"'a//b.yaml': expected a relative file name"),
        ({"outputs": ["x.yaml", "x.yaml"]}, r"s.outputs\[1\]: 'x.yaml' is listed twice"),
        ({"outputs": ["a", "a/b.yaml"]}, "one would be the other's directory"),
        ({"outputs": ["{model}.yaml"]}, "braces are not allowed"),
    ],
)
def test_bad_step_names_the_key(module_file: str, entry: dict[str, Any], message: str) -> None:
    assert re.search(message, config_error(module_file, s=entry))


def test_other_steps_output_must_be_declared(module_file: str) -> None:
    text = config_error(
        module_file,
        a={"outputs": ["a.yaml"]},
        b={"inputs": {"x": {"step": "a", "output": "b.yaml"}}},
    )
    assert "custom.b.inputs.x.output: 'b.yaml' is not a declared output of custom step 'a'" in text


def test_steps_reading_each_other_in_a_cycle(module_file: str) -> None:
    text = config_error(
        module_file,
        a={"inputs": {"x": {"step": "b", "output": "x.yaml"}}},
        b={"inputs": {"x": {"step": "a", "output": "x.yaml"}}},
    )
    assert "a cycle: a -> b -> a" in text


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("missing.py", "custom.s.module: no such file: missing.py"),
        ("dir/missing.py", "custom.s.module: no such file: dir/missing.py"),
        ("dir/module", "custom.s.module: 'dir/module': the path of a module file ends in .py"),
        ("my module", "'my module' is neither the path of a .py file nor an importable"),
    ],
)
def test_bad_module_is_named_at_parse_time(module_file: str, module: str, message: str) -> None:
    assert message in config_error(module, s={})


def test_bad_step_name(module_file: str) -> None:
    assert "custom.my-step: 'my-step': a step name starts with a letter" in config_error(
        module_file, **{"my-step": {}}
    )


# --------------------------------------------------------------------------------------- job


def write_module(tmp_path: Path, body: str, name: str = "step_module.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


WRITES_BOTH = """
    def run(inputs, outputs, options, log):
        log.info("writing %s", sorted(outputs))
        outputs["a.yaml"].write_text(str(options["value"]))
        outputs["sub/b.txt"].write_text(inputs["in"].read_text())
"""


def outputs_in(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "results" / "custom" / "s"
    return {"a.yaml": root / "a.yaml", "sub/b.txt": root / "sub" / "b.txt"}


def leftovers(tmp_path: Path) -> list[Path]:
    """Files under the step's directory (its outputs, anything staged) and staging dirs."""
    root = tmp_path / "results" / "custom"
    found = root.rglob("*") if root.exists() else []
    return sorted(p for p in found if p.is_file() or p.name.startswith(STAGING_PREFIX))


def run_step(tmp_path: Path, module: str, options: dict[str, Any] | None = None) -> None:
    source = tmp_path / "in.txt"
    source.write_text("input text")
    run_custom_step(
        step="s",
        module=module,
        function="run",
        inputs={"in": source},
        outputs=outputs_in(tmp_path),
        options=options or {"value": 3},
    )


def test_the_function_writes_its_outputs_through_staging(tmp_path: Path) -> None:
    options = {"value": 3}
    run_step(tmp_path, write_module(tmp_path, WRITES_BOTH), options)
    outputs = outputs_in(tmp_path)
    assert outputs["a.yaml"].read_text() == "3"
    assert outputs["sub/b.txt"].read_text() == "input text"
    assert not [p for p in leftovers(tmp_path) if STAGING_PREFIX in str(p)]
    assert options == {"value": 3}


def test_expanded_inputs_are_keyed_by_wildcard_tuples() -> None:
    layout: dict[str, Any] = {"one": None, "many": [["ttbar", "one_b"], ["ttbar", "two_b"]]}
    files = {"input__one": "/r/a.yaml", "input__many": ["/r/t1", "/r/t2"], "module": "m.py"}
    assert module_inputs(layout, files) == {
        "one": Path("/r/a.yaml"),
        "many": {("ttbar", "one_b"): Path("/r/t1"), ("ttbar", "two_b"): Path("/r/t2")},
    }


def test_module_that_raises_fails_naming_its_line_and_leaves_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module = write_module(
        tmp_path,
        """
        def run(inputs, outputs, options, log):
            outputs["a.yaml"].write_text("half")
            check(options)

        def check(options):
            raise ValueError(f"value {options['value']} is out of range")
        """,
    )
    with caplog.at_level(logging.ERROR), pytest.raises(CustomStepError) as info:
        run_step(tmp_path, module)
    message = str(info.value)
    assert f"custom.s: {module}:run raised ValueError: value 3 is out of range" in message
    assert f"(at {module}, line 7, in check)" in message
    assert leftovers(tmp_path) == []
    assert "line 4, in run: check(options)" in caplog.text


@pytest.mark.parametrize(
    ("body", "missing", "wrote"),
    [
        ("pass", "['a.yaml', 'sub/b.txt']", "it wrote nothing"),
        ("outputs['a.yaml'].write_text('x')", "['sub/b.txt']", "it wrote ['a.yaml']"),
    ],
)
def test_missing_outputs_are_named_and_nothing_is_kept(
    tmp_path: Path, body: str, missing: str, wrote: str
) -> None:
    module = write_module(tmp_path, f"def run(inputs, outputs, options, log):\n    {body}\n")
    with pytest.raises(CustomStepError, match="did not write the declared output") as info:
        run_step(tmp_path, module)
    assert missing in str(info.value) and wrote in str(info.value)
    assert leftovers(tmp_path) == []


def test_undeclared_files_are_discarded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    module = write_module(
        tmp_path,
        WRITES_BOTH + '        (outputs["a.yaml"].parent / "extra.txt").write_text("x")\n',
    )
    with caplog.at_level(logging.WARNING):
        run_step(tmp_path, module)
    assert "discarded ['extra.txt']" in caplog.text
    assert sorted(p.name for p in leftovers(tmp_path) if p.is_file()) == ["a.yaml", "b.txt"]


def test_library_error_keeps_its_message(tmp_path: Path) -> None:
    module = write_module(
        tmp_path,
        """
        from innfer_lib.core.io import read_yaml

        def run(inputs, outputs, options, log):
            read_yaml("/no/such/parameters.yaml")
        """,
    )
    with pytest.raises(CustomStepError, match=r"custom.s: .*:run: missing file: /no/such/param"):
        run_step(tmp_path, module)
    assert leftovers(tmp_path) == []


def test_sys_exit_is_a_failure(tmp_path: Path) -> None:
    module = write_module(
        tmp_path, "import sys\ndef run(inputs, outputs, options, log):\n    sys.exit(0)\n"
    )
    with pytest.raises(CustomStepError, match=r"called sys.exit\(0\)"):
        run_step(tmp_path, module)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (
            "def other(inputs, outputs, options, log): pass",
            ConfigError,
            "defines no function 'run'",
        ),
        ("run = 3", ConfigError, "'run' in .* is a int, not a function"),
        (
            "def run(inputs, outputs): pass",
            CustomStepError,
            r"run\(inputs, outputs\) in .* must take the keyword arguments "
            r"\(inputs, outputs, options, log\)",
        ),
        ("import not_a_real_dependency_xyz", ConfigError, "importing .* failed: ModuleNotFound"),
        ("raise RuntimeError('at import')", ConfigError, "failed: RuntimeError: at import"),
    ],
)
def test_module_without_a_usable_function(
    tmp_path: Path, body: str, error: type[Exception], message: str
) -> None:
    module = write_module(tmp_path, body + "\n")
    with pytest.raises(error, match=message):
        load_step_function("s", module, "run")


def test_function_taking_keywords_only_is_accepted(tmp_path: Path) -> None:
    module = write_module(tmp_path, "def run(**kwargs): pass\n")
    function, where = load_step_function("s", module, "run")
    assert callable(function) and where == str(Path(module).resolve())


def test_missing_module_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="custom.s.module: no such file: .*gone.py"):
        load_step_function("s", str(tmp_path / "gone.py"), "run")


def test_module_by_import_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "my_custom_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "steps.py").write_text("def run(inputs, outputs, options, log): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    function, where = load_step_function("s", "my_custom_pkg.steps", "run")
    assert where.endswith("steps.py")
    with pytest.raises(ConfigError, match="custom.s.module: no module named 'my_custom_pkg.nope'"):
        load_step_function("s", "my_custom_pkg.nope", "run")
    with pytest.raises(ConfigError, match="no module named 'innfer_no_such_module'"):
        load_step_function("s", "innfer_no_such_module", "run")
    sys.modules.pop("my_custom_pkg.steps", None)
    sys.modules.pop("my_custom_pkg", None)


# ------------------------------------------------------------------------ the example module

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "custom"


def test_example_fractions_of_two_mass_points(tmp_path: Path) -> None:
    """Two points whose inverse-variance fractions and N_eff are known by hand."""
    import pandas as pd

    from innfer_lib.core.io import write_parquet, write_yaml

    # point 172 (standardised -1): weights 1, 1, 1, 1; point 174 (+1): weights 2, 2
    frame = pd.DataFrame(
        {
            "Y1": [-1.0] * 4 + [1.0] * 2,
            "X1": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "wt": [1.0] * 4 + [2.0] * 2,
        }
    )
    write_parquet(tmp_path / "train.parquet", frame)
    standardisation = {"Y1": {"mean": 173.0, "std": 1.0}, "X1": {"mean": 0.0, "std": 1.0}}
    write_yaml(tmp_path / "parameters.yaml", {"density": {"standardisation": standardisation}})
    key = ("ttbar", "one_b")
    run_custom_step(
        step="fractions",
        module=str(EXAMPLE / "mass_fractions.py"),
        function="run",
        inputs={
            "train": {key: tmp_path / "train.parquet"},
            "parameters": {key: tmp_path / "parameters.yaml"},
        },
        outputs={"fractions.yaml": tmp_path / "out" / "fractions.yaml"},
        options=parse_option_string("column=Y1;quantiles_of=X1;quantiles=[0.5]"),
    )
    points = yaml.safe_load((tmp_path / "out" / "fractions.yaml").read_text())["processes"]
    low, high = points["ttbar"]["one_b"]["172.0"], points["ttbar"]["one_b"]["174.0"]
    assert (low["sum_w"], low["eff_events"], high["sum_w"], high["eff_events"]) == (4, 4, 4, 2)
    assert low["eff_fraction"] == pytest.approx(4 / 6) and high["eff_fraction"] == pytest.approx(
        2 / 6
    )
    # Σw/Σw²: 1 and 0.5; scaled so that 4·f_low + 4·f_high = 8
    assert low["fraction"] == pytest.approx(4 / 3) and high["fraction"] == pytest.approx(2 / 3)
    assert low["quantiles"] == {"0.5": 1.0} and high["quantiles"] == {"0.5": 4.0}


def test_example_needs_its_column_option(tmp_path: Path) -> None:
    with pytest.raises(CustomStepError, match="option 'column'.* is required"):
        run_custom_step(
            step="fractions",
            module=str(EXAMPLE / "mass_fractions.py"),
            function="run",
            inputs={"train": {}, "parameters": {}},
            outputs={"fractions.yaml": tmp_path / "fractions.yaml"},
            options={},
        )
    assert not (tmp_path / "fractions.yaml").exists()
