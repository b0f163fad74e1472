"""The workflow config's layers: which file a key came from, named-set blocks replacing the
defaults, defaults filled at every level, and the parse-time checks of architecture options and
freeze specs (without Snakemake: the workflow-level cases are tests/workflow/test_config_errors.py).
"""

from __future__ import annotations

import pytest
import yaml

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.config_files import ConfigKeyError, Problem
from innfer_lib.core.errors import ConfigError
from innfer_lib.core.workflow_config import (
    COMMAND_LINE,
    ConfigLayers,
    check_validation_indices,
    check_workflow_config,
    config_layers,
    fill_workflow_defaults,
    replace_user_blocks,
)
from innfer_lib.data.benchmarks import get_benchmark
from innfer_lib.density.training_options import check_density_options
from innfer_lib.inference.freeze import check_fit_set_freezes

DEFAULTS = {"benchmark": {"name": "Dim1Gaussian"}, "fits": {"closure": {}}, "seed": 1}


def layers(*user: tuple[str, dict]) -> ConfigLayers:
    return ConfigLayers((("config/config.yaml", DEFAULTS),), tuple(user))


def test_source_of_names_the_last_layer_holding_the_key():
    lay = layers(("a.yaml", {"seed": 2, "asimov": {"n_events": 5}}), ("b.yaml", {"seed": 3}))
    assert lay.source_of(("seed",)) == "b.yaml"
    assert lay.source_of(("asimov", "n_events")) == "a.yaml"
    assert lay.source_of(("fits", "closure", "likelihood")) == "config/config.yaml"
    # A value no layer set (a schema default) could be fixed in any of them.
    assert lay.source_of(("results_dir",)) == "config/config.yaml, a.yaml, b.yaml"
    assert lay.problem(Problem(("seed",), "bad")) == "b.yaml: seed: bad"


def test_config_layers_reads_files_and_names_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default.yaml").write_text(yaml.safe_dump(DEFAULTS))
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"fits": {"mine": {}}}))
    lay = config_layers(["default.yaml", "mine.yaml"], ["mine.yaml"], {"seed": 7})
    assert [name for name, _ in lay.defaults] == ["default.yaml"]
    assert [name for name, _ in lay.user] == ["mine.yaml", COMMAND_LINE]
    assert lay.user_config() == {"fits": {"mine": {}}, "seed": 7}


def test_user_fit_sets_replace_the_default_block_other_blocks_merge():
    merged = {**DEFAULTS, "fits": {"closure": {}, "mine": {}}, "asimov": {"n_events": 5}}
    replace_user_blocks(merged, {"fits": {"mine": {}}, "asimov": {"n_events": 5}})
    assert merged["fits"] == {"mine": {}}
    fill_workflow_defaults(merged)
    assert set(merged["asimov"]) > {"n_events"}  # the omitted asimov keys keep their defaults
    assert merged["fits"]["mine"]["likelihood"] == "unbinned_extended"


def test_schema_problems_name_the_file_that_set_the_key():
    lay = layers(("mine.yaml", {"fits": {"mine": {"likelihod": "poisson"}}}), ("--config", {}))
    config = {**DEFAULTS, "fits": {"mine": {"likelihod": "poisson"}}}
    with pytest.raises(ConfigError) as err:
        check_workflow_config(config, lay)
    assert (
        str(err.value) == "mine.yaml: fits.mine.likelihod: unknown key; did you mean 'likelihood'?"
    )


def test_many_problems_are_counted_not_listed():
    config = {**DEFAULTS, **{f"typo{i}": 1 for i in range(6)}}
    with pytest.raises(ConfigError) as err:
        check_workflow_config(config, layers(("mine.yaml", config)))
    lines = str(err.value).splitlines()
    assert len(lines) == 4 and lines[-1] == "... and 3 more problem(s)"


def test_validation_indices_out_of_range_name_the_key():
    check_validation_indices([0, 8], 9)
    with pytest.raises(ConfigKeyError) as err:
        check_validation_indices([9], 9)
    assert err.value.problem.path == ("validation_indices",) and "0..8" in str(err.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"learning_rat": 0.1}, "learning_rat: unknown key; did you mean 'learning_rate'?"),
        ({"lr_scheduler_options": {"alpah": 1}}, "lr_scheduler_options.alpah: unknown key"),
        ({"resample": True}, "resample: INNFER's `resample`"),
        ({"resample": False, "epochs": 2}, None),
        ({"epochs": 2.5}, "epochs must be an integer >= 0, got 2.5"),
        ({"early_stopping": "yes"}, "early_stopping must be true or false"),
        ({"spline_bins": 1}, "spline_bins must be an integer >= 2"),
        ({"type": "BayesFlow", "affine_mc_dropout": False}, None),
    ],
)
def test_density_options_are_checked_without_tensorflow(options, message):
    if message is None:
        check_density_options(options)
        return
    with pytest.raises(ValueError) as err:
        check_density_options(options)
    assert str(err.value).startswith(message)


def test_fit_set_freezes_are_parsed_at_parse_time(tmp_path):
    analysis = load_analysis(get_benchmark("Dim1Gaussian").analysis_config(str(tmp_path)))
    check_fit_set_freezes(
        {"a": {"freeze": "Y1=1"}, "b": None, "c": {"freeze": "all-but-one"}}, analysis
    )
    with pytest.raises(ConfigKeyError) as err:
        check_fit_set_freezes({"ok": {}, "bad": {"freeze": "Y2=1"}}, analysis)
    assert err.value.problem.path == ("fits", "bad", "freeze") and "'Y2'" in str(err.value)
