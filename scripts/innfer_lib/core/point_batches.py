"""Several validation points in one fit-stage job (`points_per_job`, INNFER's --points-per-job).

A fit-stage job of a small likelihood spends most of its time starting: about 7 s of the 12 s
of each of the default run's 36 fit and Hessian jobs went to importing TensorFlow and loading
the models. One process that handles several points pays that once, while every point keeps
its own declared output file.

The workflow side (rules/common.smk) declares one job per batch of points: every point's
outputs, and every point's inputs under `point_input_key(val, key)`. Its params carry the
wildcards each point's job would have had (`POINT_WILDCARDS`). The script side wraps its
per-point `main` with `for_each_point`, which hands `main` one point's view of the job at a
time, so the per-point code is the same whether a job has one point or many.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from innfer_lib.core.paths import INPUT_KEY_SEPARATOR
from innfer_lib.core.runner import LOG

T = TypeVar("T")

#: The params key of a batched job: one wildcard mapping per point, in output order.
POINT_WILDCARDS = "point_wildcards"
_POINT_PREFIX = "point"


def split_points(points: Sequence[T], per_job: int) -> list[list[T]]:
    """The points in as few jobs as `per_job` allows, with sizes that differ by at most one.

    Balanced rather than filled in order: 11 points at 5 per job are 4 + 4 + 3, not
    5 + 5 + 1, so the jobs, which run side by side, end together. The points may be anything
    a job handles one by one: validation points, or a point's impact refits.
    """
    if per_job < 1:
        raise ValueError(f"points_per_job must be at least 1, not {per_job}")
    points = list(points)
    if not points:
        return []
    jobs = math.ceil(len(points) / per_job)
    size, extra = divmod(len(points), jobs)
    out, start = [], 0
    for k in range(jobs):
        stop = start + size + (1 if k < extra else 0)
        out.append(points[start:stop])
        start = stop
    return out


def point_input_key(val: int | str, key: str) -> str:
    """The name of one point's input in a batched job: `point<val>__<key>`."""
    return f"{_POINT_PREFIX}{val}{INPUT_KEY_SEPARATOR}{key}"


class Named(dict):
    """A dict that also reads as attributes, as Snakemake's named lists do (a missing name is
    an AttributeError), so per-point code takes it for the job's wildcards or inputs."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def point_wildcards(wildcards: Any, **values: Any) -> Named:
    """A job's wildcards with one point's values (its fit set, its val) added."""
    return Named({**dict(wildcards.items()), **values})


class PointJob:
    """One point's view of a batched job: its wildcards, inputs and outputs; the rest shared."""

    def __init__(self, smk: Any, wildcards: Mapping[str, Any], outputs: list[str]) -> None:
        self._smk = smk
        self.wildcards = point_wildcards(smk.wildcards, **wildcards)
        prefix = point_input_key(self.wildcards.val, "")
        self.input = Named(
            {k[len(prefix) :]: v for k, v in smk.input.items() if str(k).startswith(prefix)}
        )
        self.output = outputs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._smk, name)


def points_of(smk: Any) -> list[Mapping[str, Any]] | None:
    """The per-point wildcards of a batched job, or None for a job of one point."""
    try:
        return list(getattr(smk.params, POINT_WILDCARDS))
    except AttributeError:
        return None


def point_jobs(smk: Any) -> Iterator[Any]:
    """The job itself if it has one point, else each point's view of it in output order."""
    points = points_of(smk)
    if points is None:
        yield smk
        return
    if not points or len(smk.output) % len(points):
        raise ValueError(
            f"rule {smk.rule}: {len(smk.output)} outputs for {len(points)} points; a batched "
            "job declares the same outputs for every point"
        )
    outputs, per_point = list(smk.output), len(smk.output) // len(points)
    for k, wildcards in enumerate(points):
        yield PointJob(smk, wildcards, outputs[k * per_point : (k + 1) * per_point])


def for_each_point(main: Callable[[Any], None]) -> Callable[[Any], None]:
    """`main` of one point, run for every point of the job (`run(snakemake, ...)` takes it)."""

    def each(smk: Any) -> None:
        points = points_of(smk)
        for k, job in enumerate(point_jobs(smk)):
            if points is not None:
                LOG.info("point %d of %d: %s", k + 1, len(points), dict(points[k]))
            start = time.perf_counter()
            main(job)
            if points is not None:
                LOG.info("point %s done in %.1f s", job.wildcards.val, time.perf_counter() - start)

    return each
