"""Fit jobs see only the fit-set options that define their problem.

Snakemake reruns a job whose params changed. When every fit job got the whole fit-set block,
adding a scan or switching the Hessian method reran every (expensive) fit; these tests parse
the workflow with two fit sets that differ only in such options and compare what each rule's
params would be.
"""

import pytest

from tests.conftest import introspect_workflow

PARAMS = r"""
g = workflow.globals
out = {}
for fit in ("plain", "extras"):
    w = Wildcards(fit=fit)
    out[fit] = {
        "fit": g["fit_params"](w),
        "hessian": g["fit_option"]("hessian")(w),
        "scan_points": g["fit_option"]("scan_points")(w),
    }
emit(out)
"""


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    config = {
        "results_dir": str(tmp_path_factory.mktemp("params") / "results"),
        "benchmark": {"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 1000},
        "fits": {
            "plain": {"covariance": "dmatrix"},
            "extras": {
                "covariance": "hessian",
                "hessian": "numerical",
                "scan": "pois",
                "scan_points": {"n_points": 7},
                "approximate_uncertainty": True,
                "impacts": "approximate",
                "summary_from": "scan",
                "postfit": True,
            },
        },
    }
    return introspect_workflow(PARAMS, config)


def test_options_that_do_not_change_the_fit_do_not_reach_fit_jobs(params):
    assert params["plain"]["fit"] == params["extras"]["fit"]
    assert set(params["plain"]["fit"]) == {
        "data_type",
        "split",
        "likelihood",
        "scale_to_eff_events",
        "freeze",
        "minimiser",
    }


def test_the_rules_that_read_an_option_get_it_alone(params):
    assert params["plain"]["hessian"] == "auto" and params["extras"]["hessian"] == "numerical"
    assert params["extras"]["scan_points"]["n_points"] == 7
