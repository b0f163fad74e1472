"""Analysis slices give every stage what it reads: the same derived values, the same outputs.

Each rule gets a slice of the analysis config as its param (so an edit reruns only the jobs
that read it). A slice is only right if the stage's code does exactly the same with it as with
the whole config: these tests load every slice, compare the derived values, and run LoadData,
PreProcess (density and regression sets) and DataCategories of the top-mass example on the
slice and on the whole config, comparing the outputs exactly.
"""

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from innfer_lib.core.analysis import AUX_KINDS, load_analysis
from innfer_lib.core.analysis_slices import (
    CONSTRAINTS,
    OBSERVED_DATA,
    PLOT_LABELS,
    SECTIONS,
    analysis_slice,
)
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.data.data_events import load_data_events
from innfer_lib.data.examples import simulate_example
from innfer_lib.data.loading import load_file
from innfer_lib.data.preprocess import preprocess
from innfer_lib.data.preprocessor import Preprocessor
from innfer_lib.data.training_sets import aux_sets

REPO = Path(__file__).resolve().parents[2]
TOP_MASS = REPO / "config/examples/top_mass/analysis.yaml"
BENCHMARKS = [
    "Dim1Gaussian",
    "Dim1GaussianWithExpBkg",
    "Dim1GaussianWithExpBkgVaryingYield",
    "Dim2",
    "Dim5",
]


def top_mass_raw(input_dir: Path) -> dict:
    """The top-mass example (with its isr regression models) reading its inputs from
    `input_dir`."""
    raw = yaml.safe_load(TOP_MASS.read_text())
    for spec in raw["files"].values():
        spec["inputs"] = [str(input_dir / Path(p).name) for p in spec["inputs"]]
    raw["data_file"] = str(input_dir / Path(raw["data_file"]).name)
    assert raw["models"]["ttbar"]["regression_models"]
    return raw


@pytest.fixture(scope="module")
def top_mass(tmp_path_factory):
    inputs = tmp_path_factory.mktemp("top_mass")
    raw = top_mass_raw(inputs)
    files = [p for spec in raw["files"].values() for p in spec["inputs"]] + [raw["data_file"]]
    simulate_example("top_mass", {Path(p).stem: p for p in files}, events=1500, seed=3)
    return load_analysis(raw)


def configs():
    yield "top_mass", load_analysis(top_mass_raw(Path("inputs")))
    for name in BENCHMARKS:
        yield name, load_analysis(get_benchmark(name).analysis_config("inputs"))


def every_slice(analysis):
    """(description, slice) of every kind of slice a rule takes."""
    yield "frame", analysis_slice(analysis)
    for section in SECTIONS:
        yield section, analysis_slice(analysis, section)
    yield "fit plots", analysis_slice(analysis, CONSTRAINTS, PLOT_LABELS)
    for base in analysis.raw["files"]:
        yield f"file {base}", analysis_slice(analysis, file=base)
    for process in analysis.processes:
        yield f"process {process}", analysis_slice(analysis, process=process)


def derived(analysis) -> dict:
    """Everything the frame promises to keep, as plain values."""
    out = {
        "name": analysis.name,
        "variables": analysis.variables,
        "pois": analysis.pois,
        "nuisances": analysis.nuisances,
        "processes": analysis.processes,
        "categories": analysis.categories,
        "rate_processes": analysis.rate_processes,
        "split_fractions": analysis.split_fractions,
        "defaults": analysis.defaults,
        "fit_parameters": analysis.fit_parameters,
        "validation_points": analysis.validation_points,
        "default_index": analysis.default_index,
        "binned_fit": analysis.binned_fit,
    }
    for process in analysis.processes:
        out[f"varied_alone {process}"] = analysis.varied_alone(process)
        out[f"process_parameters {process}"] = analysis.process_parameters(process)
        out[f"files_of_process {process}"] = analysis.files_of_process(process)
        for category in analysis.categories:
            key = f"{process} {category}"
            out[f"model_parameters {key}"] = analysis.model_parameters(process, category)
            out[f"shape_parameters {key}"] = analysis.shape_parameters(process, category)
            out[f"model_files {key}"] = analysis.model_files(process, category)
            out[f"yields_file {key}"] = analysis.yields_file(process, category)
            out[f"validation_file {key}"] = analysis.validation_file(process, category)
            for kind in AUX_KINDS:
                out[f"{kind} {key}"] = sorted(analysis.aux_entries(process, kind, category))
    return out


@pytest.mark.parametrize(("name", "analysis"), list(configs()))
def test_every_slice_loads_and_keeps_the_frame(name, analysis):
    whole = derived(analysis)
    for what, part in every_slice(analysis):
        assert derived(load_analysis(part)) == whole, (name, what)


def test_slices_share_nothing_with_the_config():
    analysis = load_analysis(TOP_MASS)
    before = copy.deepcopy(analysis.raw)
    for _, part in every_slice(analysis):
        part["files"]["ttbar"]["inputs"].append("changed")
        part["validation"]["loop"].clear()
    assert analysis.raw == before


def test_sections_hold_only_their_keys():
    analysis = load_analysis(TOP_MASS)
    frame = analysis_slice(analysis)
    assert "plot_labels" not in frame and "data_file" not in frame
    assert "nuisance_constraints" not in frame["inference"] and "lnN" not in frame["inference"]
    assert frame["files"]["ttbar"] == {"inputs": analysis.raw["files"]["ttbar"]["inputs"]}
    assert analysis_slice(analysis, PLOT_LABELS)["plot_labels"] == analysis.raw["plot_labels"]
    assert analysis_slice(analysis, OBSERVED_DATA)["data_selection"] == "pt_nom > 400"
    wjets = analysis_slice(analysis, process="wjets")
    assert wjets["files"]["wjets"] == analysis.raw["files"]["wjets"]
    assert wjets["files"]["ttbar"] == frame["files"]["ttbar"]
    assert list(wjets["inference"]["lnN"]) == ["wjets"]
    assert list(wjets["preprocess"]["drop_from_training"]) == ["wjets"]
    with pytest.raises(ValueError, match="unknown section"):
        analysis_slice(analysis, "labels")
    with pytest.raises(ValueError, match="not a process"):
        analysis_slice(analysis, process="zz")


def test_load_data_gives_the_same_frames(top_mass):
    for base in top_mass.raw["files"]:
        part = load_analysis(analysis_slice(top_mass, file=base))
        pd.testing.assert_frame_equal(load_file(part, base), load_file(top_mass, base))


def test_data_categories_give_the_same_events(top_mass):
    part = load_analysis(analysis_slice(top_mass, OBSERVED_DATA))
    for category in top_mass.categories:
        pd.testing.assert_frame_equal(
            load_data_events(part, category), load_data_events(top_mass, category)
        )


def test_preprocess_gives_the_same_outputs(top_mass):
    loaded = {base: load_file(top_mass, base) for base in top_mass.raw["files"]}
    for process in top_mass.processes:
        part = load_analysis(analysis_slice(top_mass, process=process))
        inputs = {b: loaded[b] for b in top_mass.files_of_process(process)}
        for category in top_mass.categories:
            whole = preprocess(Preprocessor(top_mass, process, category, inputs, 7))
            sliced = preprocess(Preprocessor(part, process, category, inputs, 7))
            pd.testing.assert_frame_equal(sliced.train, whole.train)
            pd.testing.assert_frame_equal(sliced.test, whole.test)
            assert sliced.validation.keys() == whole.validation.keys()
            for index, frame in whole.validation.items():
                pd.testing.assert_frame_equal(sliced.validation[index], frame)
            assert sliced.parameters == whole.parameters
            for kind in AUX_KINDS:
                for parameter in top_mass.aux_entries(process, kind, category):
                    sets = [
                        aux_sets(Preprocessor(a, process, category, inputs, 7), kind, parameter)
                        for a in (part, top_mass)
                    ]
                    pd.testing.assert_frame_equal(sets[0].train, sets[1].train)
                    pd.testing.assert_frame_equal(sets[0].test, sets[1].test)
                    assert sets[0].info == sets[1].info
