"""Bad-input catalogue, configs: typos and bad values in the workflow config, the analysis
config and the architecture file fail at parse time (`snakemake -n`), in a few lines naming the
file and the key path the user wrote, and the corrected config then dry-runs (a few cases run a
cheap target for real instead).

Also the config merge: a user's `fits:` replaces the default fit sets instead of joining them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bad_inputs import (
    assert_names,
    assert_no_leftovers,
    assert_no_traceback,
    assert_short,
    run_failing,
    run_workflow,
)
from tests.conftest import REPO

TOP_MASS = REPO / "config" / "examples" / "top_mass" / "analysis.yaml"
ARCHITECTURE = REPO / "config" / "architecture" / "density_default.yaml"
SCAN_FILES = {
    "hyperparameter_scan": REPO / "config" / "architecture" / "density_scan.yaml",
    "bayesian_tuning": REPO / "config" / "architecture" / "density_scan_bayesian.yaml",
}

Edit = Callable[[dict[str, Any]], None]

#: A custom step of the example module: each custom case breaks one of its keys.
CUSTOM_STEP = {
    "module": "config/examples/custom/mass_fractions.py",
    "options": "column=Y1",
    "inputs": {"train": {"output": "train"}, "parameters": {"output": "parameters"}},
    "outputs": ["fractions.yaml"],
}


def _set(*path: str | int, value: Any) -> Edit:
    """An edit that sets one key (creating nothing above it)."""

    def edit(raw: dict[str, Any]) -> None:
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _rename(*path: str | int, to: str) -> Edit:
    """An edit that misspells one key: its value moves to the key `to`."""

    def edit(raw: dict[str, Any]) -> None:
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[to] = node.pop(path[-1])

    return edit


@dataclass
class Case:
    """One bad input: what the user wrote, which file is blamed and what it must name."""

    id: str
    names: tuple[str, ...]
    #: Workflow-config keys of the bad run (the corrected run leaves them out).
    workflow: dict[str, Any] = field(default_factory=dict)
    #: Edit of the top-mass analysis config (the corrected run uses it unedited).
    analysis: Edit | None = None
    #: Keys added to the architecture file (the corrected run uses the default file).
    architecture: dict[str, Any] | None = None
    #: Which file the message must name: "workflow", "analysis", "architecture" or "--config".
    blamed: str = "workflow"
    #: `--config` arguments of the bad run (the corrected run leaves them out).
    cli: tuple[str, ...] = ()
    #: Recover with a real run of a cheap target (loading the benchmark's events), not `-n`.
    real_run: bool = False
    #: (search, keys set in its shipped scan file): a bad scan file, blamed as "architecture"
    #: (the corrected run uses the shipped file).
    scan: tuple[str, dict[str, Any]] | None = None


CASES = [
    # --- workflow config: unknown keys at every level, with the close key named
    Case("top-level-typo", ("fitz", "did you mean 'fits'"), {"fitz": {"mine": {}}}),
    Case(
        "fit-set-typo",
        ("fits.mine.likelihod", "did you mean 'likelihood'"),
        {"fits": {"mine": {"likelihod": "poisson"}}},
    ),
    Case(
        "minimiser-typo",
        ("fits.mine.minimiser.tolerence", "did you mean 'tolerance'"),
        {"fits": {"mine": {"minimiser": {"tolerence": 0.01}}}},
    ),
    Case(
        "scan-points-typo",
        ("fits.mine.scan_points.npoints", "did you mean 'n_points'"),
        {"fits": {"mine": {"scan_points": {"npoints": 5}}}},
    ),
    # --- toy coverage: a count of at least one, options only with toys
    Case(
        "toys-zero",
        ("fits.mine.toys", "less than the minimum of 1"),
        {"fits": {"mine": {"toys": 0}}},
    ),
    Case(
        "toys-not-integer",
        ("fits.mine.toys", "expected integer"),
        {"fits": {"mine": {"toys": 2.5}}},
    ),
    Case(
        "toy-options-without-toys",
        ("fits.mine.toy_options", "without toys"),
        {"fits": {"mine": {"toy_options": {"per_job": 3}}}},
    ),
    Case(
        "toy-options-typo",
        ("fits.mine.toy_options.perjob", "did you mean 'per_job'"),
        {"fits": {"mine": {"toys": 10, "toy_options": {"perjob": 3}}}},
    ),
    Case(
        "asimov-typo",
        ("asimov.n_event", "did you mean 'n_events'"),
        {"asimov": {"n_event": 100}},
    ),
    Case(
        "classifier-architecture-typo",
        (
            "classifier_architecture_overrides.normalise_batch_category",
            "did you mean 'normalise_batch_categories'",
        ),
        {"classifier_architecture_overrides": {"normalise_batch_category": False}},
    ),
    Case(
        "classifier-types-parameter",
        ("classifier_types.isr", "no classifier model of 'isr'"),
        {"classifier_types": {"isr": "FCNN_TwoPointInterpolator"}},
    ),
    Case(
        "prune-classifier-metric",
        ("prune_classifier_models.roc_auc_val", "roc_auc_test"),
        {"prune_classifier_models": {"roc_auc_val": 0.505}},
    ),
    Case(
        "prune-classifier-threshold",
        ("prune_classifier_models.roc_auc_test", "'high'"),
        {"prune_classifier_models": {"roc_auc_test": "high"}},
    ),
    # --- density_warm_start: each entry names a process and an existing weights file
    Case(
        "warm-start-process",
        ("density_warm_start.Gausian", "not a process", "Gaussian"),
        {"density_warm_start": {"Gausian": "weights.npz"}},
    ),
    Case(
        "warm-start-missing-file",
        ("density_warm_start.Gaussian", "no such weights file", "nowhere/inclusive.npz"),
        {"density_warm_start": {"Gaussian": "nowhere/{category}.npz"}},
    ),
    Case(
        "warm-start-placeholder",
        ("density_warm_start.Gaussian", "only placeholder", "{category}"),
        {"density_warm_start": {"Gaussian": "old/{model}.npz"}},
    ),
    # --- generator.data plots the observed data, which an analysis without data_file lacks
    Case(
        "generator-data-without-data",
        ("generator.data", "no data_file"),
        {"generator": {"data": True}},
        analysis=lambda raw: raw.pop("data_file"),
    ),
    Case(
        "benchmark-typo",
        ("benchmark.event", "did you mean 'events'"),
        {"benchmark": {"name": "Dim1Gaussian", "event": 1000}},
    ),
    Case(
        "summary-typo",
        ("summaries.both.label", "did you mean 'labels'"),
        {"summaries": {"both": {"fits": ["closure"], "label": {"closure": "x"}}}},
    ),
    # --- workflow config: bad values and names
    Case("seed-type", ("seed", "expected integer", "'abc'"), {"seed": "abc"}),
    Case(
        "likelihood-value",
        ("fits.mine.likelihood", "did you mean 'unbinned_extended'"),
        {"fits": {"mine": {"likelihood": "unbinned_extendd"}}},
    ),
    Case(
        "density-name",
        ("densities", "'learnt'", "did you mean 'learned'"),
        {"densities": ["learnt"]},
    ),
    Case(
        "metric-family-name",
        ("density_performance_metrics.families", "'histogramm'", "did you mean 'histogram'"),
        {"density_performance_metrics": {"families": ["loss", "histogramm"]}},
    ),
    Case(
        "metric-multidim-name",
        ("density_performance_metrics.multidim", "'wasserstien'", "did you mean 'wasserstein'"),
        {"density_performance_metrics": {"multidim": ["wasserstien"]}},
    ),
    Case("pvalue-toys", ("pvalues.toys", "0", "minimum"), {"pvalues": {"toys": 0}}),
    Case(
        "pvalue-toys-per-job",
        ("pvalues.toys_per_job", "minimum"),
        {"pvalues": {"toys": 10, "toys_per_job": 0}},
    ),
    Case(
        "validation-indices-empty",
        ("validation_indices", "at least 1"),
        {"validation_indices": []},
    ),
    Case(
        "validation-indices-range",
        ("validation_indices", "99", "0..8"),
        {"validation_indices": [0, 99]},
    ),
    Case(
        "freeze-unknown-parameter",
        ("fits.mine.freeze", "'Y2'"),
        {"fits": {"mine": {"freeze": "Y2=1"}}},
    ),
    Case(
        "scan-unknown-parameter",
        ("fits.mine.scan", "'Y2'"),
        {"fits": {"mine": {"scan": ["Y2"]}}},
    ),
    Case(
        "summary-unknown-fit-set",
        ("summaries.both.fits", "'closur'", "did you mean 'closure'"),
        {"summaries": {"both": {"fits": ["closur"]}}},
    ),
    Case(
        "example-without-analysis",
        ("example", "'analysis'"),
        {"example": {"name": "top_mass"}},
    ),
    Case(
        "missing-analysis-file",
        ("analysis", "no such file", "missing.yaml"),
        {"analysis": "missing.yaml"},
    ),
    Case(
        "missing-architecture-file",
        ("density_architecture", "no such file", "nope.yaml"),
        {"density_architecture": "nope.yaml"},
    ),
    # --- density_architecture_overrides and the architecture file, at parse time
    Case(
        "override-typo",
        ("density_architecture_overrides.learning_rat", "did you mean 'learning_rate'"),
        {"density_architecture_overrides": {"learning_rat": 0.01}},
    ),
    Case(
        "override-value",
        ("density_architecture_overrides.epochs", "'ten'"),
        {"density_architecture_overrides": {"epochs": "ten"}},
    ),
    Case(
        "override-scheduler-typo",
        (
            "density_architecture_overrides.lr_scheduler_options.warmup_fracton",
            "did you mean 'warmup_fraction'",
        ),
        {"density_architecture_overrides": {"lr_scheduler_options": {"warmup_fracton": 0.2}}},
    ),
    Case(
        "override-ensemble-zero",
        ("density_architecture_overrides.ensemble", "integer >= 1", "got 0"),
        {"density_architecture_overrides": {"ensemble": 0}},
    ),
    Case(
        "architecture-file-ensemble-not-integer",
        ("ensemble", "integer >= 1", "got 2.5"),
        architecture={"ensemble": 2.5},
        blamed="architecture",
    ),
    Case(
        "scan-file-typo",
        ("num_coupling_layer", "did you mean 'num_coupling_layers'", "hyperparameter_scan"),
        scan=("hyperparameter_scan", {"num_coupling_layer": [4, 8]}),
        blamed="architecture",
    ),
    Case(
        "scan-file-empty-axis",
        ("spline_bins", "empty list"),
        scan=("hyperparameter_scan", {"spline_bins": []}),
        blamed="architecture",
    ),
    Case(
        "scan-file-jobs-key",
        ("ensemble", "cannot be scanned"),
        scan=("hyperparameter_scan", {"ensemble": [1, 2]}),
        blamed="architecture",
    ),
    Case(
        "tuning-file-empty-range",
        ("learning_rate", "empty range [0.01, 0.0001]"),
        scan=("bayesian_tuning", {"learning_rate": [0.01, 0.0001]}),
        blamed="architecture",
    ),
    Case(
        "tuning-file-bad-value",
        ("spline_bins", "integer >= 2"),
        scan=("bayesian_tuning", {"spline_bins": [1, 8]}),
        blamed="architecture",
    ),
    Case(
        "scan-metric-not-computed",
        ("hyperparameter_scan.metric", "bdt_auc_tset", "did you mean 'bdt_auc_test_inf'"),
        {"hyperparameter_scan": {"metric": "bdt_auc_tset,max"}},
    ),
    Case(
        "tuning-metric-direction",
        ("bayesian_tuning.metric", "direction must be min or max"),
        {"bayesian_tuning": {"metric": "loss_test,lowest"}},
    ),
    Case(
        "tuning-workers-zero",
        ("bayesian_tuning.workers", "minimum"),
        {"bayesian_tuning": {"workers": 0}},
    ),
    Case(
        "density-architecture-not-a-search",
        ("density_architecture", "no such file: best_of_scna", "best_of_scan"),
        {"density_architecture": "best_of_scna"},
    ),
    Case(
        "architecture-file-typo",
        ("learning_rat", "did you mean 'learning_rate'"),
        architecture={"learning_rat": 0.01},
        blamed="architecture",
    ),
    Case(
        "architecture-file-innfer-option",
        ("active_learning", "not supported"),
        architecture={"active_learning": True},
        blamed="architecture",
    ),
    # --- analysis config: unknown keys at every level, unknown names
    Case(
        "selection-typo",
        ("files.ttbar.selecton", "did you mean 'selection'"),
        analysis=_rename("files", "ttbar", "selection", to="selecton"),
        blamed="analysis",
    ),
    Case(
        "model-entry-typo",
        ("models.ttbar.density_models[0].paramters", "did you mean 'parameters'"),
        analysis=_rename("models", "ttbar", "density_models", 0, "parameters", to="paramters"),
        blamed="analysis",
    ),
    Case(
        "shift-typo",
        ("shifts.jes.rnge", "did you mean 'range'"),
        analysis=_rename(
            "models", "ttbar", "density_models", 0, "shifts", "jes", "range", to="rnge"
        ),
        blamed="analysis",
    ),
    Case(
        "weight-shift-function-typo",
        ("files.ttbar.weight_shifts.isr.inptus", "did you mean 'inputs'"),
        analysis=_rename("files", "ttbar", "weight_shifts", "isr", "inputs", to="inptus"),
        blamed="analysis",
    ),
    Case(
        "preprocess-typo",
        ("preprocess.train_test_val_splt", "did you mean 'train_test_val_split'"),
        analysis=_rename("preprocess", "train_test_val_split", to="train_test_val_splt"),
        blamed="analysis",
    ),
    Case(
        "lnn-typo",
        ("inference.lnN.ttbar[0].rat", "did you mean 'rate'"),
        analysis=_set("inference", "lnN", "ttbar", 0, "rat", value=1.1),
        blamed="analysis",
    ),
    Case(
        "pretransform-not-a-switch",
        ("preprocess.density_pretransform_to_gaussian", "boolean"),
        analysis=_set("preprocess", "density_pretransform_to_gaussian", value="yes"),
        blamed="analysis",
    ),
    Case(
        "unknown-process-in-preprocess",
        ("preprocess.drop_from_training", "'ttbr'", "did you mean 'ttbar'"),
        analysis=_set("preprocess", "drop_from_training", value={"ttbr": {"mtop": [172.5]}}),
        blamed="analysis",
    ),
    Case(
        "unknown-category",
        ("models.ttbar.yields[0].categories", "'one_bb'", "did you mean 'one_b'"),
        analysis=_set("models", "ttbar", "yields", 0, "categories", value=["one_bb", "two_b"]),
        blamed="analysis",
    ),
    Case(
        "unknown-default-value",
        ("default_values", "'mtopp'", "did you mean 'mtop'"),
        analysis=_set("default_values", "mtopp", value=172.5),
        blamed="analysis",
    ),
    Case(
        "analysis-value-type",
        ("models.ttbar.density_models[0].n_copies", "expected integer", "'two'"),
        analysis=_set("models", "ttbar", "density_models", 0, "n_copies", value="two"),
        blamed="analysis",
    ),
    Case(
        "analysis-top-level-typo",
        ("nuisance", "did you mean 'nuisances'"),
        analysis=_rename("nuisances", to="nuisance"),
        blamed="analysis",
    ),
    Case(
        "validation-typo",
        ("validation.lop", "did you mean 'loop'"),
        analysis=_rename("validation", "loop", to="lop"),
        blamed="analysis",
    ),
    Case(
        "validation-file-typo",
        ("validation.files.ttbar[0].fle", "did you mean 'file'"),
        analysis=_rename("validation", "files", "ttbar", 0, "file", to="fle"),
        blamed="analysis",
    ),
    Case(
        "inference-typo",
        ("inference.rate_parameter", "did you mean 'rate_parameters'"),
        analysis=_rename("inference", "rate_parameters", to="rate_parameter"),
        blamed="analysis",
    ),
    Case(
        "validation-point-unknown-parameter",
        ("validation.loop[1]", "'mtopp'", "did you mean 'mtop'"),
        analysis=_set("validation", "loop", 1, value={"mtopp": 171.5}),
        blamed="analysis",
    ),
    Case(
        "model-file-not-in-files",
        ("models.ttbar.density_models[0]", "'ttbr'", "did you mean 'ttbar'"),
        analysis=_set("models", "ttbar", "density_models", 0, "file", value="ttbr"),
        blamed="analysis",
    ),
    Case(
        "innfer-unsupported-model-key",
        ("models.ttbar.density_models[0].split", "INNFER", "not supported"),
        analysis=_set("models", "ttbar", "density_models", 0, "split", value=2),
        blamed="analysis",
    ),
    Case(
        "export-string-not-a-mapping",
        ("export_string", "expected a mapping", "X=1"),
        analysis=_set("export_string", value="X=1"),
        blamed="analysis",
    ),
    Case(
        "path-variable-unset",
        ("data_file", "${INNFER_TEST_UNSET}", "export_string"),
        analysis=_set("data_file", value="${INNFER_TEST_UNSET}/data.parquet"),
        blamed="analysis",
    ),
    Case(
        "nuisance-constraints-twice",
        ("nuisance_constraints", "inference.nuisance_constraints", "differ"),
        analysis=_set("nuisance_constraints", value=["jes"]),
        blamed="analysis",
    ),
    Case(
        "analysis-required-key",
        ("<top level>", "missing the required key 'preprocess'"),
        analysis=lambda raw: raw.pop("preprocess"),
        blamed="analysis",
    ),
    Case(
        "truth-without-benchmark",
        ("densities", "'truth' needs a benchmark"),
        {"densities": ["learned", "truth"]},
        analysis=lambda raw: None,
    ),
    # --- bad fit sets and summaries
    Case(
        "fit-set-not-a-mapping",
        ("fits.mine", "expected a mapping", "'poisson'"),
        {"fits": {"mine": "poisson"}},
    ),
    Case(
        "no-fit-sets",
        ("fits", "at least an entry", "{}"),
        {"fits": {}},
    ),
    Case(
        "binned-likelihood-without-binned-fit-input",
        ("fits.mine.likelihood", "binned_extended fits bin counts", "inference.binned_fit"),
        {"fits": {"mine": {"postfit": True, "likelihood": "binned_extended"}}},
    ),
    # --- scan overlays
    Case(
        "scan-plot-unknown-fit-set",
        ("scan_plots.both.fits", "'closur'", "did you mean 'closure'"),
        {"fits": {"closure": {"scan": "pois"}}, "scan_plots": {"both": {"fits": ["closur"]}}},
    ),
    Case(
        "scan-plot-stat-only-is-the-main-curve",
        ("scan_plots.both.stat_only", "after the first"),
        {
            "fits": {"closure": {"scan": "pois"}, "stat": {"scan": "pois"}},
            "scan_plots": {"both": {"fits": ["closure", "stat"], "stat_only": "closure"}},
        },
    ),
    Case(
        "scan-plot-unknown-key",
        ("scan_plots.both", "rezero_scan"),
        {
            "fits": {"closure": {"scan": "pois"}},
            "scan_plots": {"both": {"fits": ["closure"], "rezero_scan": True}},
        },
    ),
    Case(
        "bootstrap-no-replicas",
        ("fits.mine.bootstrap.n", "0", "minimum"),
        {"fits": {"mine": {"bootstrap": {"n": 0}}}},
    ),
    Case(
        "bootstrap-per-job",
        ("fits.mine.bootstrap.per_job", "minimum"),
        {"fits": {"mine": {"bootstrap": {"per_job": 0}}}},
    ),
    Case(
        "bootstrap-method",
        ("fits.mine.bootstrap.method", "'poisson'"),
        {"fits": {"mine": {"bootstrap": {"method": "undersample_to_eff_events"}}}},
    ),
    Case(
        "summary-from-bootstrap-without-bootstrap",
        ("fits.mine.summary_from", "needs the `bootstrap` option"),
        {"fits": {"mine": {"summary_from": "bootstrap"}}},
    ),
    Case(
        "bootstrap-with-binned-likelihood",
        ("fits.mine.bootstrap", "binned", "resamples the fitted events"),
        {"fits": {"mine": {"bootstrap": {}, "likelihood": "binned"}}},
    ),
    Case(
        "resampled-fit-set-split",
        ("fits.mine.split", "data_type: resampled", "'val'", "not 'full'"),
        {"fits": {"mine": {"data_type": "resampled", "split": "full"}}},
    ),
    # --- fit-set granularity (issue 19)
    Case(
        "fit-set-validation-point-out-of-range",
        ("fits.mine.validation_points", "9 is not a validation point", "0..8"),
        {"fits": {"mine": {"validation_points": [0, 9]}}},
    ),
    Case(
        "scan-points-file-missing",
        ("fits.mine.scan_points.file", "does/not/exist.yaml", "no such scan-points file"),
        {
            "fits": {
                "mine": {
                    "scan": "pois",
                    "scan_points": {"from": "input", "file": "does/not/exist.yaml"},
                }
            }
        },  # fmt: skip
    ),
    Case(
        # a YAML mapping, but of other keys than the scanned parameters
        "scan-points-file-wrong-keys",
        ("fits.mine.scan_points.file", "config/config.yaml", "is not scanned", "['Y1']"),
        {
            "fits": {
                "mine": {
                    "scan": "pois",
                    "scan_points": {"from": "input", "file": "config/config.yaml"},
                }
            }
        },  # fmt: skip
    ),
    Case(
        "scan-points-values-unsorted",
        ("fits.mine.scan_points.values", "Y1", "strictly ascending"),
        {
            "fits": {
                "mine": {
                    "scan": "pois",
                    "scan_points": {"from": "input", "values": {"Y1": [173.0, 172.0]}},
                }
            }
        },  # fmt: skip
    ),
    Case(
        "all-but-one-options-without-the-freeze",
        ("fits.mine.all_but_one", "freeze: all-but-one"),
        {"fits": {"mine": {"all_but_one": {"loop_over_nuisances": True}}}},
    ),
    Case(
        "debug-point-unknown-parameter",
        ("fits.mine.debug_points[0]", "'Y2'"),
        {"fits": {"mine": {"likelihood_debug": True, "debug_points": [{"Y2": 1.0}]}}},
    ),
    Case(
        "per-process-fit-unknown-process",
        ("fits.mine.processes", "'Gausian'", "did you mean 'Gaussian'"),
        {"fits": {"mine": {"processes": ["Gausian"]}}},
    ),
    # --- simulation-to-data normalisation
    Case(
        "sim-to-data-typo",
        ("sim_to_data.aply", "did you mean 'apply'"),
        {"sim_to_data": {"aply": True}},
    ),
    Case(
        "sim-to-data-unknown-category",
        ("sim_to_data.groups[0]", "'inclusiv' is not a category", "did you mean 'inclusive'"),
        {"sim_to_data": {"groups": [["inclusiv"]]}},
    ),
    Case(
        "sim-to-data-unknown-process",
        ("sim_to_data.processes", "'wjet' is not a process", "did you mean 'wjets'"),
        {"sim_to_data": {"processes": ["wjet"]}},
        analysis=lambda raw: None,
    ),
    Case(
        "sim-to-data-category-twice",
        ("sim_to_data.groups[1]", "'one_b' is already in group 0"),
        {"sim_to_data": {"groups": [["one_b"], ["two_b", "one_b"]]}},
        analysis=lambda raw: None,
    ),
    Case(
        "sim-to-data-without-data",
        ("sim_to_data", "observed data", "no data_file"),
        {"sim_to_data": {"apply": True}},
        analysis=lambda raw: [
            raw.pop(k) for k in ("data_file", "data_calculate", "data_selection")
        ],
    ),
    Case(
        "summary-unknown-density",
        ("summaries.both.densities", "['truth']"),
        {
            "densities": ["learned"],
            "summaries": {"both": {"fits": ["closure"], "densities": ["truth"]}},
        },
    ),
    # --- custom steps (issue 18): the block's keys, the module file, options, inputs, outputs
    Case(
        "custom-step-typo",
        ("custom.mine.optoins", "did you mean 'options'"),
        {"custom": {"mine": {**CUSTOM_STEP, "optoins": "column=Y1"}}},
    ),
    Case(
        "custom-without-outputs",
        ("custom.mine", "missing the required key 'outputs'"),
        {"custom": {"mine": {"module": CUSTOM_STEP["module"]}}},
    ),
    Case(
        "custom-module-file-missing",
        ("custom.mine.module", "no such file: config/examples/custom/mass_fractoins.py"),
        {"custom": {"mine": {**CUSTOM_STEP, "module": "config/examples/custom/mass_fractoins.py"}}},
    ),
    Case(
        "custom-option-string",
        ("custom.mine.options", "'quantiles_of' is not key=value"),
        {"custom": {"mine": {**CUSTOM_STEP, "options": "column=Y1;quantiles_of"}}},
    ),
    Case(
        "custom-input-output-name",
        ("custom.mine.inputs.train.output", "'trian'", "did you mean 'train'"),
        {"custom": {"mine": {**CUSTOM_STEP, "inputs": {"train": {"output": "trian"}}}}},
    ),
    Case(
        "custom-input-wildcard-typo",
        ("custom.mine.inputs.train.modle", "did you mean 'model'"),
        {
            "custom": {
                "mine": {**CUSTOM_STEP, "inputs": {"train": {"output": "train", "modle": "x"}}}
            }
        },
    ),
    Case(
        "custom-input-unknown-process",
        ("custom.mine.inputs.train.model", "'Gausian'", "did you mean 'Gaussian'"),
        {
            "custom": {
                "mine": {
                    **CUSTOM_STEP,
                    "inputs": {"train": {"output": "train", "model": "Gausian"}},
                }
            }
        },
    ),
    Case(
        "custom-output-outside-its-directory",
        ("custom.mine.outputs[0]", "'../fractions.yaml'"),
        {"custom": {"mine": {**CUSTOM_STEP, "outputs": ["../fractions.yaml"]}}},
    ),
    # --- the architecture file's values
    Case(
        "architecture-file-value",
        ("spline_bins", "integer >= 2", "1"),
        architecture={"spline_bins": 1},
        blamed="architecture",
    ),
    Case(
        "architecture-file-type",
        ("type", "'BayesFlw'"),
        architecture={"type": "BayesFlw"},
        blamed="architecture",
    ),
    # --- the command line is a layer of its own, named as such
    Case("command-line-typo", ("fitz", "did you mean 'fits'"), cli=("fitz=1",), blamed="--config"),
    Case(
        "command-line-nested-typo",
        ("asimov.n_event", "did you mean 'n_events'"),
        cli=("asimov={n_event: 5}",),
        blamed="--config",
    ),
    # --- recovered by a real run of a cheap target, not only a dry run
    Case(
        "override-typo-real-run",
        ("density_architecture_overrides.epoch", "did you mean 'epochs'"),
        {"density_architecture_overrides": {"epoch": 1}},
        real_run=True,
    ),
    Case(
        "benchmark-value-real-run",
        ("benchmark.events", "expected integer", "'many'"),
        {"benchmark": {"name": "Dim1Gaussian", "events": "many"}},
        real_run=True,
    ),
    Case(
        "validation-indices-empty-real-run",
        ("validation_indices", "at least 1"),
        {"validation_indices": []},
        real_run=True,
    ),
]

#: A cheap real target: the benchmark's simulated events, loaded (no training, no TensorFlow).
REAL_TARGET = "Benchmark_Dim1Gaussian/load_data/base.parquet"
#: Benchmark size of the real runs, so they take seconds.
REAL_BENCHMARK = {"name": "Dim1Gaussian", "events": 2000, "data_events": 200}


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _setup(case: Case, tmp_path: Path, bad: bool) -> tuple[Path, Path | None, Path | None]:
    """Write the workflow config (and the analysis and architecture files) of a case."""
    workflow: dict[str, Any] = {"results_dir": str(tmp_path / "results")}
    if case.real_run:
        workflow["benchmark"] = dict(REAL_BENCHMARK)
    analysis = architecture = None
    if case.analysis is not None:
        raw = yaml.safe_load(TOP_MASS.read_text())
        if bad:
            case.analysis(raw)
        analysis = _write(tmp_path / "analysis.yaml", raw)
        workflow.update(analysis=str(analysis), example={"name": "top_mass"})
    if case.architecture is not None:
        raw = yaml.safe_load(ARCHITECTURE.read_text())
        if bad:
            raw.update(copy.deepcopy(case.architecture))
        architecture = _write(tmp_path / "architecture.yaml", raw)
        workflow["density_architecture"] = str(architecture)
    if case.scan is not None:
        search, keys = case.scan
        raw = yaml.safe_load(SCAN_FILES[search].read_text())
        if bad:
            raw.update(copy.deepcopy(keys))
        architecture = _write(tmp_path / f"{search}.yaml", raw)
        workflow[search] = {"architecture": str(architecture)}
    if bad:
        workflow.update(copy.deepcopy(case.workflow))
    return _write(tmp_path / "config.yaml", workflow), analysis, architecture


_RECOVERED: set[tuple[str, ...]] = set()


def _assert_recovers(case: Case, tmp_path: Path, config: Path) -> None:
    """The corrected config dry-runs (or, for a real-run case, builds a cheap target).

    Corrected dry-run configs that differ from one already run only in their temporary
    directory are the same run, so each is run once per session.
    """
    if case.real_run:
        target = tmp_path / "results" / REAL_TARGET
        proc = run_workflow("--cores", "1", str(target), "--configfile", str(config))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert target.is_file()
        return
    key = tuple(
        f"{p.name}:{p.read_text().replace(str(tmp_path), '<tmp>')}"
        for p in sorted(tmp_path.glob("*.yaml"))
    )
    if key in _RECOVERED:
        return
    proc = run_workflow("-n", "--configfile", str(config))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _RECOVERED.add(key)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_config_fails_at_parse_time_naming_file_and_key(case: Case, tmp_path: Path) -> None:
    config, analysis, architecture = _setup(case, tmp_path, bad=True)
    blamed = {
        "workflow": config,
        "analysis": analysis,
        "architecture": architecture,
        "--config": "--config",
    }[case.blamed]
    args = ["--config", *case.cli] if case.cli else []
    if case.real_run:
        target = tmp_path / "results" / REAL_TARGET
        args = ["--cores", "1", str(target), *args]
    else:
        args = ["-n", *args]
    failure = run_failing(*args, "--configfile", str(config), results_dir=tmp_path / "results")
    assert_names(failure, str(blamed), *case.names)
    assert_no_traceback(failure)
    assert_short(failure)
    assert_no_leftovers(tmp_path / "results")
    assert not (tmp_path / "results").exists()
    _setup(case, tmp_path, bad=False)
    _assert_recovers(case, tmp_path, config)


def test_catalogue_size() -> None:
    assert len(CASES) >= 25
    assert sum(c.real_run for c in CASES) >= 3


# ------------------------------------------------------------------------------ config merging


def _fit_sets(config: Path) -> set[str]:
    """The fit sets whose jobs a dry run of the `fits` stage lists."""
    proc = run_workflow("fits", "-n", "--configfile", str(config))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return set(re.findall(r"/fits/([A-Za-z0-9_]+)/", proc.stdout + proc.stderr))


@pytest.mark.slow
def test_user_fits_replace_the_default_fit_sets(tmp_path: Path) -> None:
    results = str(tmp_path / "results")
    mine = _write(tmp_path / "mine.yaml", {"results_dir": results, "fits": {"mine": {}}})
    assert _fit_sets(mine) == {"mine"}
    default = _write(tmp_path / "default.yaml", {"results_dir": results})
    assert _fit_sets(default) == {"closure"}
