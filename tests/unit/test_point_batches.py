"""Several validation points per fit-stage job: the split, and each point's view of the job."""

from types import SimpleNamespace

import pytest

from innfer_lib.core.point_batches import (
    POINT_WILDCARDS,
    Named,
    for_each_point,
    point_input_key,
    point_jobs,
    split_points,
)


@pytest.mark.parametrize(
    ("n", "per_job", "sizes"),
    [
        (9, 10, [9]),
        (9, 1, [1] * 9),
        (9, 5, [5, 4]),
        (11, 5, [4, 4, 3]),
        (11, 10, [6, 5]),
        (10, 10, [10]),
        (0, 3, []),
    ],
)
def test_points_are_split_into_as_few_jobs_as_allowed_of_equal_size(n, per_job, sizes):
    points = list(range(100, 100 + n))
    batches = split_points(points, per_job)
    assert [len(b) for b in batches] == sizes
    assert [p for b in batches for p in b] == points  # every point once, in order


def test_points_per_job_below_one_is_refused():
    with pytest.raises(ValueError, match="points_per_job must be at least 1, not 0"):
        split_points([1, 2], 0)


def _batched_job(points, outputs_per_point=1):
    inputs = {}
    for val in points:
        inputs[point_input_key(val, "parameters__sig__cat")] = f"par_{val}.yaml"
        inputs[point_input_key(val, "validation__sig__cat")] = f"val_{val}.parquet"
    inputs["unrelated"] = "shared.yaml"
    outputs = [f"out_{val}_{k}.yaml" for val in points for k in range(outputs_per_point)]
    params = Named(
        {"seed": 42, POINT_WILDCARDS: [{"fit": "closure", "val": str(v)} for v in points]}
    )
    return SimpleNamespace(
        input=Named(inputs),
        output=outputs,
        params=params,
        wildcards=Named({"density": "learned"}),
        rule="initial_fit_batch0",
        log=["batch.log"],
    )


def test_each_point_sees_its_own_wildcards_inputs_and_outputs():
    smk = _batched_job([3, 6, 12], outputs_per_point=2)
    jobs = list(point_jobs(smk))
    assert [dict(j.wildcards) for j in jobs] == [
        {"density": "learned", "fit": "closure", "val": v} for v in ("3", "6", "12")
    ]
    # point 1 must not pick up point 12's inputs (a prefix of "point12__")
    assert dict(jobs[0].input) == {
        "parameters__sig__cat": "par_3.yaml",
        "validation__sig__cat": "val_3.parquet",
    }
    assert jobs[2].input.validation__sig__cat == "val_12.parquet"
    assert jobs[1].output == ["out_6_0.yaml", "out_6_1.yaml"]
    # The rest of the job is shared.
    assert jobs[1].params.seed == 42 and jobs[1].log == ["batch.log"]
    assert jobs[1].rule == "initial_fit_batch0"


def test_a_job_of_one_point_is_run_as_it_is():
    smk = SimpleNamespace(params=Named({"seed": 1}), output=["a.yaml"])
    assert list(point_jobs(smk)) == [smk]


def test_outputs_that_do_not_divide_among_the_points_are_an_error():
    smk = _batched_job([3, 6])
    smk.output = smk.output + ["extra.yaml"]
    with pytest.raises(ValueError, match="3 outputs for 2 points"):
        list(point_jobs(smk))


def test_for_each_point_runs_main_once_per_point_in_order():
    seen = []
    for_each_point(lambda job: seen.append((job.wildcards.val, job.output[0])))(
        _batched_job([0, 1, 2])
    )
    assert seen == [("0", "out_0_0.yaml"), ("1", "out_1_0.yaml"), ("2", "out_2_0.yaml")]
