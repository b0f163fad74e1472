"""A change to the analysis config reaches the params of the jobs that read it, and no others.

Snakemake reruns a job whose params changed. Each rule takes a slice of the analysis config
(innfer_lib.core.analysis_slices), so editing a plot label must rerun plots only, a file's
selection only that file's LoadData and its processes' PreProcess, a nuisance constraint
only the fits. These tests build the DAG of the top-mass example (evaluation, scans, post-fit
and impacts on) for the config and for edited copies, and compare every job's params.
"""

import re

import pytest
import yaml

from tests.conftest import REPO, introspect_workflow

TOP_MASS = REPO / "config/examples/top_mass"

PARAMS = r"""
jobs = {}
plot_rules = set()
for job in dag_jobs():
    key = job.rule.name + " " + json.dumps(dict(job.wildcards_dict), sort_keys=True)
    jobs[key] = sorted(repr(value) for value in job.non_derived_params)
    if any(str(f).endswith((".pdf", ".png")) for f in job.output):
        plot_rules.add(job.rule.name)
emit({"jobs": jobs, "plot_rules": sorted(plot_rules)})
"""


def edited(tmp_path, name, edit):
    """The top-mass analysis config with `edit` applied, written under `tmp_path`."""
    raw = yaml.safe_load((TOP_MASS / "analysis.yaml").read_text())
    edit(raw)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def parse(analysis, results_dir):
    config = {
        **yaml.safe_load((TOP_MASS / "workflow.yaml").read_text()),
        "analysis": analysis,
        "results_dir": results_dir,
        "validation_indices": [0],
        "fits": {
            "closure": {},
            "extras": {
                "scan": "pois",
                "scan_2d": {"parameters": ["mtop", "jes"], "n_points": 3},
                "postfit": True,
                "impacts": "approximate",
            },
        },
    }
    return introspect_workflow("import json\n" + PARAMS, config)


def set_labels(raw):
    raw["plot_labels"] = {**raw["plot_labels"], "m_jet": "large-R jet mass [GeV]"}


def tighten_ttbar(raw):
    raw["files"]["ttbar"]["selection"] = "pt_nom > 450"


def unconstrain_lumi(raw):
    raw["inference"]["nuisance_constraints"].remove("lumi")


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analysis_params")
    results = str(tmp / "results")
    out = {"original": parse(str(TOP_MASS / "analysis.yaml"), results)}
    for edit in (set_labels, tighten_ttbar, unconstrain_lumi):
        out[edit.__name__] = parse(edited(tmp, edit.__name__, edit), results)
    return out


def changed_jobs(parsed, edit):
    before, after = parsed["original"]["jobs"], parsed[edit]["jobs"]
    assert before.keys() == after.keys(), "the edit changed the DAG"
    return sorted(key for key in before if before[key] != after[key])


def rules_of(jobs):
    """The rules of the jobs, a batch of points (`points_per_job`) under its per-point rule."""
    return {re.sub(r"_batch\d+$", "", job.split()[0]) for job in jobs}


def test_plot_labels_reach_plot_jobs_only(parsed):
    changed = rules_of(changed_jobs(parsed, "set_labels"))
    plot_rules = set(parsed["original"]["plot_rules"])
    assert changed <= plot_rules, changed - plot_rules
    assert changed == {
        "input_plot_training",
        "input_plot_validation",
        "plot_density",
        "plot_density_y",
        "generator",
        "generator_combined",
        "generator_summary",
        "flow",
        "plot_regression",
        "scan_plot",
        "scan_2d_collect",
        "postfit_plot",
        "impacts_plot",
        "input_plot_nuisance_variations",
        "input_plot_comparing_train_with_variations",
        "generator_nuisance_variations",
    }


def test_a_files_entry_reaches_its_own_jobs_only(parsed):
    # The isr regression's training sets read the ttbar file too (ttbar's own aux jobs only).
    assert changed_jobs(parsed, "tighten_ttbar") == [
        'load_data {"file": "ttbar"}',
        'preprocess_aux {"category": "one_b", "kind": "regression", "model": "ttbar", '
        '"parameter": "isr"}',
        'preprocess_aux {"category": "two_b", "kind": "regression", "model": "ttbar", '
        '"parameter": "isr"}',
        'preprocess_model {"category": "one_b", "model": "ttbar"}',
        'preprocess_model {"category": "two_b", "model": "ttbar"}',
        # ttbar's nuisance-variation sets are built from the same file
        'preprocess_nuisance_variations {"category": "one_b", "model": "ttbar", "order": "single"}',
        'preprocess_nuisance_variations {"category": "two_b", "model": "ttbar", "order": "single"}',
    ]


def test_nuisance_constraints_reach_fit_jobs_only(parsed):
    changed = rules_of(changed_jobs(parsed, "unconstrain_lumi"))
    assert changed == {
        "initial_fit",
        "hessian",
        "scan",
        "scan_2d",
        "fit_result",
        "postfit_plot",
        "impacts_plot",
    }
