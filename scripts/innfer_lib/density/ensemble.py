"""Density ensembles: K flows of one architecture that differ only in their seeds.

A single flow's best fits carry an error the statistical σ does not show: another
initialisation or batch order gives another flow, and another best fit. Training the same
architecture K times with different seeds and fitting with each member measures that spread
(`results.ensemble`), so a user sees when the flow, not the data, limits a result.

`ensemble: K` is an architecture key like the others, checked here without TensorFlow while
the workflow builds its DAG. It is a workflow option, not a property of one flow: every member
is trained from the same mapping with `ensemble` removed and its own seed, and member 0 keeps
the seed (and so the weights) a run without an ensemble has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from innfer_lib.core.seeds import stable_seed
from innfer_lib.density.architecture import DEFAULT_ARCHITECTURE, check_int

#: The architecture key of the number of flows trained per process and category.
ENSEMBLE_KEY = "ensemble"
#: One flow: today's training, fits and summaries, with no extra job.
DEFAULT_ENSEMBLE = 1


def check_ensemble(value: Any) -> int:
    """The ensemble size as an int, refusing what is not a whole number >= 1.

    Raises:
        ValueError: the message starts with the key (`ensemble must be an integer >= 1, got
            0`), so the caller only has to prefix the file.
    """
    # A number only: `check_int` (as for epochs) would take the string "3", but a count of
    # jobs written as a string is more likely a slip than a choice.
    if not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{ENSEMBLE_KEY} must be an integer >= {DEFAULT_ENSEMBLE}, got {value!r}")
    check_int(value, ENSEMBLE_KEY, DEFAULT_ENSEMBLE)
    return int(value)


def ensemble_size(architecture: Mapping[str, Any]) -> int:
    """The number of flows an architecture mapping asks for (1 without the key)."""
    return check_ensemble(architecture.get(ENSEMBLE_KEY, DEFAULT_ENSEMBLE))


def member_seed(seed: int, member: int) -> int:
    """The seed of ensemble member `member`, derived from the flow's seed.

    Member 0 keeps `seed`, so turning an ensemble on never changes the main flow. The others
    get a seed from (seed, member) through a seed sequence: distinct for every member and
    the same on every machine. Not `seed + member`: member 1 of workflow seed 42 would then
    be the main flow of workflow seed 43, and two runs meant to be independent would share it.

    Raises:
        ValueError: a negative member index.
    """
    if member < 0:
        raise ValueError(f"ensemble member must be >= 0, got {member}")
    if member == 0:
        return int(seed)
    sequence = np.random.SeedSequence(stable_seed("ensemble", int(seed), int(member)))
    # 31 bits: a valid seed for NumPy, TensorFlow and `check_int(seed, 0)` alike.
    return int(sequence.generate_state(1)[0] >> 1)


def member_architecture(architecture: Mapping[str, Any], member: int) -> dict[str, Any]:
    """The mapping member `member` is trained from: no `ensemble` key, the member's seed.

    The `seed` key drives both the flow's initial weights and the training's batch order
    (`density.flow`, `density.training`), so one derived seed makes the member another draw
    of the same training. Member 0's mapping keeps its seed, or its lack of one, untouched.
    """
    arch = {k: v for k, v in architecture.items() if k != ENSEMBLE_KEY}
    if member:
        arch["seed"] = member_seed(int(arch.get("seed", DEFAULT_ARCHITECTURE["seed"])), member)
    return arch
