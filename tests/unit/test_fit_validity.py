"""Failures that look like successes: invalid fits are flagged everywhere a result is shown.

A fit stuck at a parameter limit with a Hessian that is not positive definite used to be
tabled as `180 +0 −0 … yes`. One definition (`inference.validity`) now decides, and its
reasons reach the best-fit and covariance files, the fit's result, the results table, the
summary (with the χ² leaving such fits out and counting them), the job's terminal line and
the run's closing line. Observed data outside the trained range gets a warning naming the
column, the category and the fractions.
"""

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.io import write_yaml
from innfer_lib.core.runner import warn_terminal
from innfer_lib.inference.covariance import covariance_result
from innfer_lib.inference.data_range import (
    WARN_FRACTION,
    data_range_warnings,
    outside_training,
    trained_ranges,
)
from innfer_lib.inference.minimiser import minimise
from innfer_lib.inference.validity import (
    HESSIAN_NOT_POSITIVE_DEFINITE,
    MINIMISER_FAILED,
    best_fit_reasons,
    describe,
    interval_reasons,
    parameters_at_limit,
    verdict,
)
from innfer_lib.results.fit_report import (
    INVALID_FITS_EXIT,
    close_run,
    closing_line,
    invalid_fit_warning,
    report_fits,
)
from innfer_lib.results.intervals import fit_result, intervals_from_records, merge_all_but_one
from innfer_lib.results.summary import collect
from innfer_lib.results.tables import table_csv, table_markdown, table_rows

LIMITS = {"mtop": (166.0, 180.0), "mu": (0.0, None)}


def test_parameters_at_limit_within_a_relative_tolerance_of_a_bound():
    columns = ["mtop", "mu"]
    assert parameters_at_limit(columns, [180.0, 1.0], LIMITS) == ["mtop"]
    # MIGRAD's transform stops just short of the bound: 1e-4 of the 14 GeV range counts.
    assert parameters_at_limit(columns, [180.0 - 1e-3, 1.0], LIMITS) == ["mtop"]
    assert parameters_at_limit(columns, [179.9, 1.0], LIMITS) == []
    # A one-sided limit: within 1e-4 of max(1, |bound|).
    assert parameters_at_limit(columns, [172.5, 5e-5], LIMITS) == ["mu"]
    assert parameters_at_limit(columns, [166.0, 0.0], LIMITS) == ["mtop", "mu"]
    # Frozen parameters and parameters without limits are never at one.
    assert parameters_at_limit(columns, [180.0, 0.0], LIMITS, fixed=["mtop"]) == ["mu"]
    assert parameters_at_limit(["nu"], [3.0], LIMITS) == []


def _quadratic(centre):
    def value_and_gradient(theta):
        d = np.asarray(theta, np.float64) - centre
        return 0.5 * float(d @ d) * 100.0, 100.0 * d

    return value_and_gradient


def test_a_fit_pushed_against_its_limit_records_the_parameter():
    """The minimum lies beyond mtop's limit: MIGRAD reports a valid minimum at the bound."""
    result = minimise(
        _quadratic(np.array([185.0, 1.0])),
        ["mtop", "mu"],
        start={"mtop": 172.5, "mu": 1.0},
        limits=LIMITS,
    )
    assert result["best_fit"][0] == pytest.approx(180.0, abs=1e-3)
    assert result["parameters_at_limit"] == ["mtop"]
    assert best_fit_reasons(result)[-1] == "at_limit: mtop"
    inside = minimise(
        _quadratic(np.array([175.0, 1.0])), ["mtop", "mu"], {"mtop": 172.5, "mu": 1.0}, LIMITS
    )
    assert inside["valid"] and inside["parameters_at_limit"] == []
    assert verdict(best_fit_reasons(inside)) == {"fit_valid": True, "invalid_reasons": []}


def test_reasons_of_the_minimiser_and_the_intervals():
    assert best_fit_reasons({"valid": False, "parameters_at_limit": []}) == [MINIMISER_FAILED]
    covariance = {"positive_definite": False}
    approximate = {"varied_column": "mu", "valid": False}
    assert interval_reasons([covariance, approximate]) == [
        HESSIAN_NOT_POSITIVE_DEFINITE,
        "interval_failed: mu",
    ]
    # Parameter names keep their underscores, reason codes lose them.
    assert describe(["at_limit: mu_Gaussian", HESSIAN_NOT_POSITIVE_DEFINITE]) == (
        "at limit: mu_Gaussian; hessian not positive definite"
    )


def _stuck_fit():
    """The issue's case: mtop at 180 (its upper limit) with a negative Hessian."""
    best = {
        "columns": ["mtop"],
        "best_fit": [180.0],
        "row": [172.5],
        "valid": True,
        "fixed": {},
        "parameters_at_limit": ["mtop"],
    }
    best |= verdict(best_fit_reasons(best))
    hessian = {
        "columns": ["mtop"],
        "matrix_columns": ["mtop"],
        "hessian": [[-4.0]],
        "best_fit": [180.0],
        "row": [172.5],
        "fit_valid": True,
    }
    covariance = covariance_result(hessian)
    return best, covariance


def test_a_fit_at_a_bound_with_a_negative_hessian_is_invalid_in_every_file():
    best, covariance = _stuck_fit()
    assert best["fit_valid"] is False and best["invalid_reasons"] == ["at_limit: mtop"]
    assert covariance["invalid_reasons"] == [HESSIAN_NOT_POSITIVE_DEFINITE]
    assert covariance["uncertainty"]["mtop"] == 0.0  # what made it "180 +0 −0"
    result = fit_result(
        best,
        intervals_from_records("covariance", [covariance]),
        {"mtop": 172.5},
        "covariance",
        valid_from=[covariance],
    )
    assert result["fit_valid"] is False and not result["intervals_valid"]
    assert result["invalid_reasons"] == ["at_limit: mtop", HESSIAN_NOT_POSITIVE_DEFINITE]


def _result(valid_fit, shift=0.1, sigma=0.1, truth=172.5):
    values = [truth + shift]
    best = {"columns": ["mtop"], "best_fit": values, "valid": True, "fixed": {}}
    best["parameters_at_limit"] = [] if valid_fit else ["mtop"]
    covariance = {
        "crossings": {"mtop": {k: values[0] + k * sigma for k in (-2, -1, 0, 1, 2)}},
        "positive_definite": valid_fit,
    }
    return fit_result(
        best,
        intervals_from_records("covariance", [covariance]),
        {"mtop": truth},
        "covariance",
        valid_from=[covariance],
    )


def test_the_results_table_shows_an_invalid_row_with_its_reasons():
    best, covariance = _stuck_fit()
    stuck = fit_result(
        best,
        intervals_from_records("covariance", [covariance]),
        {"mtop": 172.5},
        "covariance",
        valid_from=[covariance],
    )
    rows = table_rows("closure", {("learned", 4): stuck, ("learned", 3): _result(True)})
    csv_lines = table_csv(rows).splitlines()
    assert csv_lines[0].endswith(",fit_valid,invalid_reasons")
    assert csv_lines[1].endswith(",True,")  # val 3: valid, no reasons
    assert csv_lines[2].endswith(",False,at_limit: mtop; hessian_not_positive_definite")
    md = table_markdown(rows).splitlines()
    assert md[2].endswith("| +1.00 | yes |")
    assert md[3].startswith("| learned | 4 | mtop | 172.5 | 180 +0 −0 |")
    assert md[3].endswith("| NO: at limit: mtop; hessian not positive definite |")
    assert "yes" not in md[3]


def test_summaries_list_invalid_fits_mark_them_and_leave_them_out_of_the_chi2(tmp_path):
    from innfer_lib.plots.summary import summary_plot

    vals = [0, 1, 2]
    truths = [{"mtop": t} for t in (171.0, 172.5, 174.0)]
    results = {
        ("closure", "learned", v): _result(v != 1, shift=0.1 * (v + 1), truth=t["mtop"])
        for v, t in zip(vals, truths, strict=True)
    }
    s = collect("closure", "Toy", [("closure", "learned")], vals, results, ["mtop"], truths)
    assert s["invalid_fits"] == [
        {
            "fit": "closure",
            "density": "learned",
            "val": 1,
            "reasons": ["at_limit: mtop", HESSIAN_NOT_POSITIVE_DEFINITE],
        }
    ]
    entry = s["points"][1]["results"]["closure"]["learned"]["mtop"]
    assert entry["fit_valid"] is False and entry["invalid_reasons"][0] == "at_limit: mtop"
    chi2 = s["chi2"]["closure"]["learned"]["mtop"]
    # pulls 1 and 3 of the valid points; the invalid one (pull 2) is counted, not summed.
    assert chi2["chi2"] == pytest.approx(10.0) and chi2["ndf"] == 2
    assert chi2["invalid"] == 1 and chi2["missing"] == 0 and set(chi2["per_val"]) == {0, 2}
    ax = summary_plot(s, [str(tmp_path / "s.png")])[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("χ²/ndf = 10.0/2, 1 invalid fit(s) left out" in t for t in legend)
    assert "invalid fit" in legend
    crosses = [c for c in ax.collections if c.get_label() == "invalid fit"]
    assert len(crosses) == 1 and len(crosses[0].get_offsets()) == 1


def test_all_but_one_keeps_the_reasons_of_every_fit():
    merged = merge_all_but_one({"mtop": _result(False)})
    assert merged["fit_valid"] is False
    assert merged["invalid_reasons"] == ["at_limit: mtop", HESSIAN_NOT_POSITIVE_DEFINITE]
    assert merge_all_but_one({"mtop": _result(True)})["fit_valid"] is True


def test_the_closing_line_names_the_invalid_fits_and_sets_the_exit_status(tmp_path, capsys):
    files = []
    for val, valid in ((10, True), (2, False), (3, True)):
        path = tmp_path / f"result_{val}.yaml"
        write_yaml(path, _result(valid))
        files.append(("closure", "learned", val, str(path)))
    assert report_fits(files) == INVALID_FITS_EXIT
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "innfer: 1 of 3 fits invalid: closure/learned/val_2 "
        "(at limit: mtop; hessian not positive definite)"
    ]
    assert report_fits([f for f in files if f[2] != 2]) == 0
    assert capsys.readouterr().err.strip() == "innfer: all 2 fits valid"
    assert report_fits([]) == 0 and capsys.readouterr().err == ""
    many = {f"closure/learned/val_{v}": _result(False) for v in range(8)}
    assert closing_line(many).endswith("and 3 more")


def _job(rule, output, **wildcards):
    return SimpleNamespace(
        rule=SimpleNamespace(name=rule), wildcards=SimpleNamespace(**wildcards), output=[output]
    )


def test_the_onsuccess_hook_reads_the_fit_results_of_the_run_s_jobs(tmp_path, capsys):
    invalid, valid = tmp_path / "invalid.yaml", tmp_path / "valid.yaml"
    write_yaml(invalid, _result(False))
    write_yaml(valid, _result(True))
    jobs = [
        _job("fit_result", str(valid), fit="closure", density="truth", val="4"),
        _job("covariance", str(invalid), fit="closure", density="truth", val="4"),
        _job("results_table", str(tmp_path / "t.csv"), fit="closure"),
    ]
    close_run(jobs)  # only fit_result jobs count, and this one is valid: no exit
    assert capsys.readouterr().err == "innfer: all 1 fits valid\n"
    jobs.append(_job("fit_result", str(invalid), fit="data", density="learned", val="3"))
    with pytest.raises(SystemExit) as exit_info:
        close_run(jobs)
    assert exit_info.value.code == INVALID_FITS_EXIT
    assert capsys.readouterr().err.startswith("innfer: 1 of 2 fits invalid: data/learned/val_3 (")
    close_run(jobs[1:2])  # a run without fit results (e.g. `snakemake train`) says nothing
    assert capsys.readouterr().err == ""


def test_a_job_warning_is_one_line_on_the_real_stderr_and_in_the_log(tmp_path):
    """As a rule script runs: fd 1 and 2 go to the job log, the warning also to the terminal."""
    log = tmp_path / "job.log"
    line = invalid_fit_warning("closure/learned/val_4", ["at_limit: mtop"])
    program = f"""
from types import SimpleNamespace
from innfer_lib.core.runner import run, warn_terminal

def main(smk):
    print("progress that belongs in the log")
    warn_terminal({line!r})

run(SimpleNamespace(log=[{str(log)!r}], rule="fit_result"), main)
"""
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"innfer warning in rule fit_result: {line}\n"
    assert "closure/learned/val_4 is invalid (at limit: mtop)" in proc.stderr
    assert proc.stdout == ""
    text = log.read_text()
    assert f"WARNING {line}" in text and "progress that belongs in the log" in text
    # Outside a rule's run it is only logged: no terminal line from tests or notebooks.
    warn_terminal(line)


def _parameters(low, high, process="signal", category="inclusive"):
    return {(process, category): {"density": {"initial_minmax": {"X1": {"min": low, "max": high}}}}}


def test_data_outside_the_trained_range_names_column_category_and_fractions():
    parameters = {**_parameters(160.0, 170.0), **_parameters(165.0, 185.0, "background")}
    assert trained_ranges(parameters.values()) == {"X1": (160.0, 185.0)}
    rng = np.random.default_rng(1)
    far = pd.DataFrame({"X1": np.concatenate([rng.normal(195.0, 2.0, 90), np.full(10, 170.0)])})
    lines = data_range_warnings("observed data", {"inclusive": far}, parameters, ["X1"])
    assert len(lines) == 1
    line = lines[0]
    assert "category 'inclusive'" in line and "column 'X1'" in line
    assert "90 of 100 events (90.0 %, 90.0 % of the weight)" in line
    assert "[160, 185]" in line and line.startswith("observed data")
    # Weighted pseudo-data: the weighted fraction is reported apart from the count.
    weighted = far.assign(wt=np.where(far["X1"] > 185.0, 0.1, 1.0))
    found = outside_training(weighted, "inclusive", ["X1"], {"X1": (160.0, 185.0)})[0]
    assert found.count_fraction == pytest.approx(0.9)
    assert found.weight_fraction == pytest.approx(9.0 / 19.0)
    # A tail event or two is normal: logged by the job, not a terminal warning.
    tail = pd.DataFrame({"X1": np.concatenate([np.full(999, 170.0), [186.0]])})
    assert data_range_warnings("pseudo-data", {"inclusive": tail}, parameters, ["X1"]) == []
    assert outside_training(tail, "inclusive", ["X1"], {"X1": (160.0, 185.0)})[0].outside == 1
    assert 1 / 1000 < WARN_FRACTION
    assert not outside_training(tail, "inclusive", ["X2"], {"X1": (160.0, 185.0)})
    assert math.isclose(found.low, 160.0)


def test_the_per_point_summary_crosses_an_invalid_fit(tmp_path):
    from innfer_lib.plots.summary_per_val import summary_per_val_plot

    truths = [{"mtop": 172.5}]
    results = {("closure", d, 0): _result(d == "truth") for d in ("learned", "truth")}
    series = [("closure", "learned"), ("closure", "truth")]
    s = collect("closure", "Toy", series, [0], results, ["mtop"], truths)
    ax = summary_per_val_plot(s, 0, [str(tmp_path / "p.png")], ["mtop"])["unconstrained"][0]
    crosses = [c for c in ax.collections if c.get_label() == "invalid fit"]
    assert len(crosses) == 1
    assert "invalid fit" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_reporting_modules_do_not_import_tensorflow():
    code = (
        "import sys, innfer_lib.inference.validity, innfer_lib.inference.data_range, "
        "innfer_lib.results.fit_report, innfer_lib.results.tables, innfer_lib.results.summary; "
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
