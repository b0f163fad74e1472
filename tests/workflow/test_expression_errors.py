"""Bad expressions through the real rules: one short message naming the file, key and column.

Strings outside the expression grammar (escape attempts, unknown functions) fail when the
workflow reads the analysis config, before any job runs; values of the wrong kind (numbers
stored as text, a selection that is not true/false) fail in the job that reads them, naming the
input file. Each case then runs through with the corrected input.
"""

import pytest

from tests.bad_inputs import (
    Case,
    assert_job_message,
    assert_names,
    assert_no_leftovers,
    events,
)

READ_TIME_CASES = {
    "escape in selection": (
        "selection",
        "X1.__class__.__init__.__globals__['sys'].modules['os'].system('touch {M}')",
        "X1 > 160",
        ["files.base.selection", "X1.__class__"],
    ),
    "escape in weight": (
        "weight",
        "wt * (lambda: wt.to_csv('{M}'))()",
        "wt * 1.0",
        ["files.base.weight", "lambda"],
    ),
    "unknown function": (
        "calculate",
        {"X1": "sqr(X1 ** 2)"},
        {"X1": "sqrt(X1 ** 2)"},
        ["files.base.calculate.X1", "sqr", "did you mean sqrt"],
    ),
}


@pytest.mark.parametrize("name", READ_TIME_CASES)
def test_rejected_when_the_config_is_read(name, tmp_path):
    key, bad, good, names = READ_TIME_CASES[name]
    case = Case(tmp_path)
    case.set(key, bad.format(M=case.marker) if isinstance(bad, str) else bad)
    case.assert_config_rejected(*names)
    assert not case.marker.exists(), "the expression ran"
    case.set(key, good)
    case.assert_dry_run_passes()


@pytest.mark.slow
def test_numbers_stored_as_text_in_a_selection(tmp_path):
    frame = events()
    case = Case(tmp_path, frame.astype({"run": str}))
    case.set("selection", "run > 1")
    failure = case.load_data_fails()
    assert_names(failure, "Gaussian.parquet", "files.base.selection", "'run'", "run > 1", "str")
    assert_job_message(failure, "reads column 'run' of dtype str")
    assert_no_leftovers(case.results, case.loaded)
    case.write_frame(frame)
    case.assert_load_data_passes()


@pytest.mark.slow
def test_selection_that_is_not_boolean(tmp_path):
    case = Case(tmp_path)
    case.set("selection", "X1 * 2")
    failure = case.load_data_fails()
    assert_names(failure, "Gaussian.parquet", "files.base.selection", "'X1 * 2'", "not a boolean")
    assert_job_message(failure, "'X1 * 2' is not a boolean selection")
    assert_no_leftovers(case.results, case.loaded)
    case.set("selection", "X1 * 2 > 0")
    case.assert_load_data_passes()
