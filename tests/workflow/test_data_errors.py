"""Bad data files through the real rules: the message names the file and the column or key.

Each case writes the Dim1Gaussian benchmark's analysis with one thing wrong in its simulation
or observed-data file, runs the job that reads it as a user would, and checks what the
catalogue asks of every bad input (`tests/bad_inputs.py`): the run fails, the message names the
file and the column or config key, no traceback, nothing half-made is left, and the corrected
file then runs through. These jobs read parquet and ROOT files only (no TensorFlow), so a case
takes seconds.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.paths import Paths
from tests.bad_inputs import (
    Case,
    assert_job_message,
    assert_names,
    assert_no_leftovers,
    assert_no_traceback,
    assert_short,
    events,
)


def without(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.drop(columns=[column])


def with_value(column: str, row: int, value: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[row, column] = value
        return frame

    return change


@dataclass
class FrameCase:
    """A simulation file with one defect: what is wrong and what the message must name."""

    breaks: Callable[[pd.DataFrame], pd.DataFrame]
    names: tuple[str, ...]
    message: str


SIMULATION_CASES = {
    "variable column missing": FrameCase(
        without("X1"), ("'X1' (read by variables)",), "missing column(s)"
    ),
    "weight column missing": FrameCase(
        without("wt"), ("'wt' (read by files.base.weight)",), "missing column(s)"
    ),
    "parameter column missing": FrameCase(
        without("Y1"), ("'Y1' (read by files.base.parameters)",), "missing column(s)"
    ),
    "NaN in a variable": FrameCase(
        with_value("X1", 7, np.nan), ("files.base.inputs[0]",), "NaN or inf in column(s) ['X1']"
    ),
    "inf in the weight": FrameCase(
        with_value("wt", 3, np.inf), ("files.base.inputs[0]",), "NaN or inf in column(s) ['wt']"
    ),
}


@pytest.mark.parametrize("name", SIMULATION_CASES)
def test_broken_simulation_file(name: str, tmp_path: Path) -> None:
    spec = SIMULATION_CASES[name]
    case = Case(tmp_path)
    case.write_frame(spec.breaks(events()))
    failure = case.load_data_fails()
    assert_names(failure, str(case.input_file), *spec.names, spec.message)
    assert_job_message(failure, spec.message)
    assert_no_leftovers(case.results, case.loaded)
    case.write_frame(events())
    case.assert_load_data_passes()


def test_weight_reading_a_column_the_file_lacks(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.set("weight", "wt * sf")
    failure = case.load_data_fails()
    assert_names(failure, str(case.input_file), "'sf' (read by files.base.weight)")
    assert_job_message(failure, "missing column(s)")
    assert_no_leftovers(case.results, case.loaded)
    case.set("weight", "wt")
    case.assert_load_data_passes()


def test_selection_that_keeps_no_event(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.set("selection", "X1 > 1000")
    failure = case.load_data_fails()
    assert_names(failure, str(case.input_file), "files.base.selection: 'X1 > 1000'")
    assert_job_message(failure, "no event passes the selections")
    assert_no_leftovers(case.results, case.loaded)
    case.set("selection", "X1 > 100")
    case.assert_load_data_passes()


def test_file_that_is_not_parquet(tmp_path: Path) -> None:
    case = Case(tmp_path)
    case.input_file.write_bytes(b"X1,Y1,wt\n170.1,171.0,1.0\n")
    failure = case.load_data_fails()
    assert_names(failure, str(case.input_file), "files.base.inputs[0]")
    assert_job_message(failure, "cannot read as parquet")
    assert_no_leftovers(case.results, case.loaded)
    case.write_frame(events())
    case.assert_load_data_passes()


def test_file_of_an_unsupported_format(tmp_path: Path) -> None:
    case = Case(tmp_path)
    csv = case.inputs / "Gaussian.csv"
    events().to_csv(csv, index=False)
    case.set("inputs", [str(csv)])
    failure = case.load_data_fails()
    assert_names(failure, str(csv), "files.base.inputs", ".parquet", ".root")
    assert_no_traceback(failure)
    assert_short(failure, 70)
    assert_no_leftovers(case.results, case.loaded)
    case.set("inputs", [str(case.input_file)])
    case.assert_load_data_passes()


def test_input_file_that_does_not_exist(tmp_path: Path) -> None:
    case = Case(tmp_path)
    missing = case.inputs / "Gausian.parquet"
    case.set("inputs", [str(missing)])
    case.assert_config_rejected("files.base.inputs[0]", str(missing))
    case.set("inputs", [str(case.input_file)])
    case.assert_load_data_passes()


def write_root(path: Path, frame: pd.DataFrame, tree: str = "Events") -> None:
    import uproot

    with uproot.recreate(path) as handle:
        handle.mktree(tree, {c: "float64" for c in frame.columns})
        handle[tree].extend({c: frame[c].to_numpy() for c in frame.columns})


@pytest.mark.parametrize(
    "tree_name, message",
    [
        (None, "files.base.tree_name: required to read the ROOT file"),
        ("Event", "files.base.tree_name: no tree 'Event'; the file holds ['Events;1']"),
    ],
    ids=["tree name missing", "tree name wrong"],
)
def test_root_file_tree(tree_name: str | None, message: str, tmp_path: Path) -> None:
    case = Case(tmp_path)
    root = case.inputs / "Gaussian.root"
    write_root(root, events())
    case.set("inputs", [str(root)])
    if tree_name:
        case.set("tree_name", tree_name)
    failure = case.load_data_fails()
    assert_names(failure, "Gaussian.root", "files.base.inputs[0]", message)
    assert_job_message(failure, message)
    assert_no_leftovers(case.results, case.loaded)
    case.set("tree_name", "Events")
    case.assert_load_data_passes()


def test_no_yield_at_the_default_point(tmp_path: Path) -> None:
    frame = events()
    frame.loc[frame.Y1 == 172.5, "wt"] = 0.0
    case = Case(tmp_path, frame)
    target = Path(case.paths.format(case.paths.parameters, model="Gaussian", category="inclusive"))
    failure = case.fails(target)
    assert_names(failure, "models.Gaussian.yields", "files.base", "default point")
    assert_job_message(failure, "total weight at the default point is 0.0", upstream_jobs=1)
    assert_no_leftovers(case.results, target)
    case.write_frame(events())
    case.passes(target)


DATA_CASES = {
    "data lacks a variable": (without("X1"), "missing variable(s) ['X1']"),
    "NaN in the data": (with_value("X1", 2, np.nan), "NaN or inf in column(s) ['X1']"),
}


@pytest.mark.parametrize("name", DATA_CASES)
def test_broken_observed_data_file(name: str, tmp_path: Path) -> None:
    breaks, message = DATA_CASES[name]
    case = Case(tmp_path)
    data_file = case.data_file
    good = events(300)[["X1"]]
    case.write_frame(breaks(good), data_file)
    target = Path(case.paths.format(case.paths.data, category="inclusive"))
    failure = case.fails(target)
    assert_names(failure, str(data_file), "data_file", message)
    assert_job_message(failure, message)
    assert_no_leftovers(case.results, target)
    case.write_frame(good, data_file)
    case.passes(target)


def shape_nuisance_case(tmp_path: Path) -> Case:
    """The Dim2GaussianWithShapeNuisance benchmark's analysis (ν by a regression) on Case files."""
    from innfer_lib.data.benchmarks import get_benchmark

    case = Case(tmp_path)
    case.raw = get_benchmark("Dim2GaussianWithShapeNuisance").analysis_config(str(case.inputs))
    case.paths = Paths.for_analysis(case.results, case.raw["name"])
    case.loaded = Path(case.paths.format(case.paths.loaded, file="base"))
    case.write_frame(events().assign(X2=0.0), case.inputs / "Signal.parquet")
    case.write_analysis()
    return case


def test_ratio_model_of_a_weight_that_does_not_vary(tmp_path: Path) -> None:
    """A regression of ν whose file has no `weight_shifts` entry for ν would learn r = 1."""
    case = shape_nuisance_case(tmp_path)
    shifts = case.raw["files"]["base"].pop("weight_shifts")
    case.write_analysis()
    case.assert_config_rejected(
        "models.Signal.regression_models[0].parameter",
        "files.base.weight_shifts has no entry for 'nu'",
    )
    case.set("weight_shifts", shifts)
    case.assert_dry_run_passes()


def test_weight_variation_no_model_learns(tmp_path: Path) -> None:
    """A `weight_shifts` entry of ν with no model of ν would move nothing in the fit (no shape,
    no yield), although the ν = ±1 validation points are built with it."""
    case = shape_nuisance_case(tmp_path)
    models = case.raw["models"]["Signal"].pop("regression_models")
    case.write_analysis()
    case.assert_config_rejected(
        "files.base.weight_shifts.nu: varies the weights with 'nu'",
        "regression_models / classifier_models",
    )
    case.raw["models"]["Signal"]["regression_models"] = models
    case.write_analysis()
    case.assert_dry_run_passes()


def test_weight_variation_reading_a_column_the_file_lacks(tmp_path: Path) -> None:
    """INNFER's per-event variations are columns (wt_isr_up); one the file lacks is named."""
    case = shape_nuisance_case(tmp_path)
    good = dict(case.raw["files"]["base"]["weight_shifts"])
    case.set("weight_shifts", {"nu": "1 + 0.1 * nu * wt_nu_up"})
    failure = case.load_data_fails()
    assert_names(
        failure, str(case.inputs / "Signal.parquet"), "'wt_nu_up' (read by files.base.weight_shifts"
    )
    assert_job_message(failure, "missing column(s)")
    assert_no_leftovers(case.results, case.loaded)
    case.set("weight_shifts", good)
    case.assert_load_data_passes()


def test_validation_point_outside_the_ratio_models_range(tmp_path: Path) -> None:
    """ν = 5 where the regression learns ν in [-3, 3]: refused before any training."""
    case = shape_nuisance_case(tmp_path)
    loop = list(case.raw["validation"]["loop"])
    case.raw["validation"]["loop"] = [*loop, {"Y1": 172.5, "nu": 5.0}]
    case.write_analysis()
    paths = case.paths
    target = Path(
        paths.format(
            paths.aux_parameters,
            model="Signal",
            category="inclusive",
            kind="regression",
            parameter="nu",
        )
    )
    failure = case.fails(target)
    assert_names(
        failure,
        f"validation.loop[{len(loop)}]: nu = 5 is outside the range the regression model of "
        "'nu' of 'Signal' is trained on ([-3, 3] in category 'inclusive')",
    )
    assert_no_traceback(failure)
    assert_no_leftovers(case.results, target)
    case.raw["validation"]["loop"] = loop
    case.write_analysis()
    case.passes(target)
