"""INNFER run configs (issue 18): Python programs converted once, `export_string` and `${VAR}`
paths, and the top-level `nuisance_constraints`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from innfer_lib.core.config_files import read_config_file
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.run_config import (
    expand_variables,
    main,
    normalise_analysis_config,
    run_config_program,
)

HELPER = '''
import numpy as np

def common(name, processes):
    """The part every run config shares, as INNFER's shipped configs build it."""
    return {
        "name": name,
        "variables": ["m_jet", "pt"],
        "pois": ["mtop"],
        "nuisances": [],
        "default_values": {"mtop": np.float64(172.5)},
        "models": {p: {"density_models": [{"parameters": ["mtop"], "file": p}]} for p in processes},
    }
'''

PROGRAM = """
from common_config import common

SYSTEMATICS = ["jes", "jer", "isr", "fsr", "pdf", "scale"]
config = common("ttbar_{}".format(len(SYSTEMATICS)), ["ttbar", "wjets", "st"])
config["nuisances"] = list(SYSTEMATICS)
for syst in SYSTEMATICS:
    config["default_values"][syst] = 0.0
config["categories"] = {"run2": "year < 2019", "run3": "year >= 2022"}
print("built the config")  # a program's prints must not break the conversion
"""


def write_program(tmp_path: Path, body: str = PROGRAM) -> Path:
    (tmp_path / "common_config.py").write_text(HELPER)
    program = tmp_path / "run_config.py"
    program.write_text(body)
    return program


def test_a_program_with_imports_and_loops_converts(tmp_path: Path) -> None:
    config = run_config_program(write_program(tmp_path))
    assert config["name"] == "ttbar_6"
    assert config["nuisances"] == ["jes", "jer", "isr", "fsr", "pdf", "scale"]
    assert set(config["models"]) == {"ttbar", "wjets", "st"}
    assert config["default_values"]["mtop"] == 172.5  # a NumPy scalar, written as a number
    assert len(config["categories"]) == 2


def test_a_large_config_and_loud_program_convert(tmp_path: Path) -> None:
    body = PROGRAM + (
        "\nconfig['files'] = {f'file_{i}': {'inputs': [f'/data/sample_{i}.root'] * 20}"
        " for i in range(2000)}\nprint('x' * 200000)\n"
    )
    config = run_config_program(write_program(tmp_path, body))
    assert len(config["files"]) == 2000


def test_the_command_writes_yaml_the_workflow_reads(tmp_path: Path) -> None:
    program = write_program(tmp_path)
    out = tmp_path / "converted" / "run_config.yaml"
    assert main([str(program), "-o", str(out)]) == 0
    assert read_config_file(out) == run_config_program(program)
    assert "innfer-convert-config" in out.read_text().splitlines()[0]
    # The default output sits beside the program.
    assert main([str(program)]) == 0
    assert yaml.safe_load(program.with_suffix(".yaml").read_text())["name"] == "ttbar_6"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "raise RuntimeError('no such sample: ttbar_2018')",
            ["failed", "no such sample: ttbar_2018"],
        ),
        ("settings = {'name': 'x'}", ["defines no variable `config`"]),
        ("config = [1, 2]", ["`config` must be a dict, got list"]),
        ("config = {'files': {'a', 'b'}}", ["set", "only dicts, lists"]),
        ("import no_such_module_here", ["No module named 'no_such_module_here'"]),
    ],
)
def test_a_bad_program_is_named_and_writes_nothing(tmp_path: Path, body, words, capsys) -> None:
    program = write_program(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        run_config_program(program)
    for word in [str(program), *words]:
        assert word in str(err.value)
    out = tmp_path / "out.yaml"
    assert main([str(program), "-o", str(out)]) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.yaml*"))
    assert words[-1] in capsys.readouterr().err


def test_the_command_is_installed_with_the_package() -> None:
    from importlib.metadata import entry_points

    [script] = entry_points(group="console_scripts", name="innfer-convert-config")
    assert script.value == "innfer_lib.core.run_config:main"


def test_a_missing_program_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run config not found"):
        run_config_program(tmp_path / "nope.py")


def test_a_computed_py_config_points_to_the_command(tmp_path: Path) -> None:
    program = write_program(tmp_path)
    with pytest.raises(ConfigError, match="innfer-convert-config"):
        read_config_file(program)


def test_variables_expand_export_string_first(monkeypatch) -> None:
    monkeypatch.setenv("DATA", "/env/data")
    monkeypatch.setenv("ONLY_ENV", "/env/only")
    raw = {
        "export_string": {"DATA": "/exported/data"},
        "files": {"base": {"inputs": ["${DATA}/a.parquet", "$ONLY_ENV/b.parquet"]}},
        "data_file": "$DATA/data.parquet",
        "plot_labels": {"pt": "$p_T$ [GeV]"},
        "files_note": {"file": "$$HOME stays"},
        "default_values": {"mtop": 172.5},
    }
    out = expand_variables(raw, "run.yaml")
    assert out["files"]["base"]["inputs"] == ["/exported/data/a.parquet", "/env/only/b.parquet"]
    assert out["data_file"] == "/exported/data/data.parquet"
    # Only paths expand: a label's LaTeX is not a variable; `$$` is a literal dollar.
    assert out["plot_labels"]["pt"] == "$p_T$ [GeV]"
    assert out["files_note"]["file"] == "$HOME stays"
    assert out["default_values"] == {"mtop": 172.5}
    assert raw["data_file"] == "$DATA/data.parquet"  # the input is not changed


def test_an_unset_variable_names_the_key(monkeypatch) -> None:
    monkeypatch.delenv("INNFER_TEST_UNSET", raising=False)
    raw = {"files": {"base": {"inputs": ["ok.parquet", "${INNFER_TEST_UNSET}/b.parquet"]}}}
    with pytest.raises(ConfigError) as err:
        expand_variables(raw, "run.yaml")
    for word in ["run.yaml", "files.base.inputs[1]", "${INNFER_TEST_UNSET}", "export_string"]:
        assert word in str(err.value)
    with pytest.raises(ConfigError, match="must map variable names"):
        expand_variables({"export_string": "X=1"}, "run.yaml")


def test_top_level_constraints_move_to_inference() -> None:
    out = normalise_analysis_config({"nuisance_constraints": ["jes"]}, "run.yaml")
    assert out == {"inference": {"nuisance_constraints": ["jes"]}}
    same = {"nuisance_constraints": ["jes"], "inference": {"nuisance_constraints": ["jes"]}}
    assert normalise_analysis_config(same, "run.yaml")["inference"]["nuisance_constraints"] == [
        "jes"
    ]
    with pytest.raises(ConfigError, match="differ"):
        normalise_analysis_config(
            {"nuisance_constraints": ["jes"], "inference": {"nuisance_constraints": []}}, "r.yaml"
        )
