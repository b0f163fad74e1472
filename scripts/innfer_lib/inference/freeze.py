"""INNFER's `--freeze` specs turned into explicit {parameter: value} sets (spec §7).

A freeze spec says which parameters a fit holds fixed. INNFER accepted four forms, and some of
its steps parsed only some of them; here one parser serves every step, so a spec means the same
thing to the fit, the Hessian and the summary:

* `"k=v,k2=v2"`: the named parameters at the given values (a bare `k` means its truth value);
* `"all-nuisances"`: every nuisance at its truth value ("stat only");
* `"all-non-density"`: everything the density models do not depend on, at truth;
* `"all-but-A-B"`: everything except A and B at truth (names may contain underscores);
* `"all-but-one"`: one set per loop column, each floating only that column.

Values default to the truth row of the validation point because that is what INNFER froze at:
a frozen fit then measures the remaining parameters as if the frozen ones were known exactly.
Every form gives a list of `FreezeSet`s so that callers need not special-case `all-but-one`;
the `tag` is INNFER's directory suffix (`""` or `_floating_only_<cols>`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from innfer_lib.core.config_files import ConfigKeyError
from innfer_lib.core.errors import ConfigError

if TYPE_CHECKING:
    from innfer_lib.core.analysis import Analysis

ALL_NUISANCES = "all-nuisances"
ALL_NON_DENSITY = "all-non-density"
ALL_BUT_ONE = "all-but-one"
ALL_BUT_PREFIX = "all-but-"
FLOATING_ONLY = "_floating_only_"


@dataclass
class FreezeSet:
    """One fit configuration of a freeze loop.

    Attributes:
        tag: INNFER's directory suffix: `""` when nothing is implied, else `_floating_only_...`.
        fixed: parameter -> value held fixed in the fit.
        floating: for the `all-but-*` forms, the parameters left free (else empty).
    """

    tag: str
    fixed: dict[str, float] = field(default_factory=dict)
    floating: list[str] = field(default_factory=list)


def _unknown(spec: object, names: Sequence[str], columns: Sequence[str]) -> ConfigError:
    return ConfigError(
        f"freeze spec {spec!r}: unknown parameter(s) {list(names)}; known: {list(columns)}"
    )


def _at_truth(spec: object, names: Sequence[str], truth: Mapping[str, float]) -> dict[str, float]:
    missing = [n for n in names if n not in truth]
    if missing:
        raise ConfigError(
            f"freeze spec {spec!r}: no truth value for {missing} to freeze at; give explicit "
            "values as 'name=value'"
        )
    return {n: float(truth[n]) for n in names}


def _parse_value(spec: object, name: str, text: object) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"freeze spec {spec!r}: value of '{name}' is {text!r}, not a number"
        ) from err
    if not math.isfinite(value):
        raise ConfigError(f"freeze spec {spec!r}: value of '{name}' must be finite, got {text!r}")
    return value


def _explicit(
    spec: str | Mapping[str, object],
    columns: Sequence[str],
    truth: Mapping[str, float],
) -> dict[str, float]:
    """The `k=v,...` form (or an already-parsed mapping, where None means truth)."""
    items: list[tuple[str, object]]
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    else:
        items = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            name, sep, raw = part.partition("=")
            items.append((name.strip(), raw.strip() if sep else None))
    names = [n for n, _ in items]
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise _unknown(spec, unknown, columns)
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"freeze spec {spec!r}: {duplicated} given more than once")
    fixed = {}
    for name, value in items:
        if value is None or value == "":
            fixed.update(_at_truth(spec, [name], truth))
        else:
            fixed[name] = _parse_value(spec, name, value)
    return fixed


def _split_names(spec: str, text: str, columns: Sequence[str]) -> list[str]:
    """Split `A-B-C` into known column names.

    Names may contain underscores, and in principle dashes; the split that uses only known
    names is taken, so `all-but-mu_sig-nu` gives ['mu_sig', 'nu'] and a column called `a-b`
    still works. With no such split, the message names the unknown pieces of the plain split.
    """
    pieces = text.split("-")
    known = set(columns)
    # best[i]: a segmentation of pieces[:i] into known names, or None.
    best: list[list[str] | None] = [None] * (len(pieces) + 1)
    best[0] = []
    for end in range(1, len(pieces) + 1):
        for start in range(end):
            prefix = best[start]
            name = "-".join(pieces[start:end])
            if prefix is not None and name in known:
                best[end] = [*prefix, name]
                break
    if best[-1] is None:
        raise _unknown(spec, [p for p in pieces if p not in known], columns)
    return best[-1]


def freeze_sets(
    spec: str | Mapping[str, object] | None,
    columns: Sequence[str],
    truth: Mapping[str, float],
    nuisances: Sequence[str] = (),
    density_parameters: Sequence[str] | None = None,
    loop_columns: Sequence[str] | None = None,
) -> list[FreezeSet]:
    """Every fit configuration a freeze spec asks for.

    Args:
        spec: the freeze spec (see the module docstring); None or "" freezes nothing. A
            mapping is taken as already-parsed `k=v` pairs (a None value means truth).
        columns: every parameter of the fit.
        truth: the truth row of the validation point; keyword forms freeze at these values.
        nuisances: the analysis's nuisances, for `all-nuisances`.
        density_parameters: parameters some density model depends on, for `all-non-density`.
        loop_columns: the columns `all-but-one` loops over (INNFER's column loop: POIs and
            rates, plus nuisances when looping over them); default every column.

    Returns:
        One `FreezeSet` per fit; exactly one except for `all-but-one`.

    Raises:
        ConfigError: an unknown form or parameter, a non-numeric value, or a missing truth.
    """
    columns = list(columns)
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return [FreezeSet("")]
    if isinstance(spec, Mapping):
        return [FreezeSet("", _explicit(spec, columns, truth))]
    if not isinstance(spec, str):
        raise ConfigError(f"freeze spec {spec!r}: expected a string or a mapping")
    text = spec.strip()
    if text == ALL_NUISANCES:
        return [FreezeSet("", _at_truth(spec, [c for c in columns if c in set(nuisances)], truth))]
    if text == ALL_NON_DENSITY:
        if density_parameters is None:
            raise ConfigError(
                f"freeze spec {spec!r}: the density parameters are needed to resolve it"
            )
        dens = set(density_parameters)
        return [FreezeSet("", _at_truth(spec, [c for c in columns if c not in dens], truth))]
    if text == ALL_BUT_ONE:
        loop = list(columns if loop_columns is None else loop_columns)
        unknown = [c for c in loop if c not in columns]
        if unknown:
            raise _unknown(spec, unknown, columns)
        if len(columns) < 2:
            # INNFER: nothing to freeze when there is only one parameter.
            return [FreezeSet("")]
        return [
            FreezeSet(
                FLOATING_ONLY + col,
                _at_truth(spec, [c for c in columns if c != col], truth),
                [col],
            )
            for col in loop
        ]
    if text.startswith(ALL_BUT_PREFIX):
        rest = text[len(ALL_BUT_PREFIX) :]
        if not rest:
            raise ConfigError(f"freeze spec {spec!r}: name the floating parameters, 'all-but-A-B'")
        floating = _split_names(spec, rest, columns)
        return [
            FreezeSet(
                FLOATING_ONLY + "_".join(floating),
                _at_truth(spec, [c for c in columns if c not in floating], truth),
                floating,
            )
        ]
    if text.startswith("all-") and "=" not in text:
        raise ConfigError(
            f"freeze spec {spec!r}: unknown form; expected 'k=v,...', '{ALL_NUISANCES}', "
            f"'{ALL_NON_DENSITY}', '{ALL_BUT_ONE}' or 'all-but-A-B'"
        )
    return [FreezeSet("", _explicit(text, columns, truth))]


def parse_freeze(
    spec: str | Mapping[str, object] | None,
    columns: Sequence[str],
    truth: Mapping[str, float],
    nuisances: Sequence[str] = (),
    density_parameters: Sequence[str] | None = None,
) -> dict[str, float]:
    """The {parameter: value} of a spec that describes a single fit.

    `all-but-one` describes several fits, so it is refused here: use `freeze_sets` and pick
    the entry of the job (its `tag` is the directory suffix).

    Raises:
        ConfigError: as `freeze_sets`, or for `all-but-one` with more than one entry.
    """
    sets = freeze_sets(spec, columns, truth, nuisances, density_parameters)
    if len(sets) != 1:
        raise ConfigError(
            f"freeze spec {spec!r} gives {len(sets)} fits ({[s.tag for s in sets]}); resolve "
            "it with freeze_sets and pick one"
        )
    return sets[0].fixed


def density_parameters(analysis: Analysis) -> list[str]:
    """Parameters some process's density model depends on (for `all-non-density`)."""
    return sorted({p for proc in analysis.processes for p in analysis.model_parameters(proc)})


def resolve_freeze(
    spec: str | Mapping[str, object] | None, analysis: Analysis, truth: Mapping[str, float]
) -> dict[str, float]:
    """`parse_freeze` with the analysis's parameters, nuisances and density parameters."""
    return parse_freeze(
        spec,
        analysis.fit_parameters,
        truth,
        nuisances=analysis.nuisances,
        density_parameters=density_parameters(analysis),
    )


def frozen_parameters(spec: str | Mapping[str, object] | None, analysis: Analysis) -> list[str]:
    """Names a single-fit spec freezes, in fit-parameter order, without needing a truth row.

    The workflow needs them when it builds the DAG (a frozen parameter gets no Hessian
    column job), before any validation point is chosen, so the values are irrelevant here.

    Raises:
        ConfigError: as `parse_freeze` (`all-but-one` must be expanded into `all-but-<p>` sets
            first, as `core.fit_sets.expand_fit_sets` does).
    """
    placeholder = {c: 0.0 for c in analysis.fit_parameters}
    fixed = resolve_freeze(spec, analysis, placeholder)
    return [c for c in analysis.fit_parameters if c in fixed]


def check_fit_set_freezes(fits: Mapping[str, Mapping[str, Any] | None], analysis: Analysis) -> None:
    """Parse the `freeze` of every fit set as the user wrote it, while the DAG is built.

    Without this an unknown parameter in a spec surfaced only when the fit job read it, after
    the training it waits for; here it fails before any job runs, naming `fits.<name>.freeze`.

    Raises:
        ConfigKeyError: at `fits.<name>.freeze`, with the reason `freeze_sets` gives.
    """
    placeholder = {c: 0.0 for c in analysis.fit_parameters}
    for name, options in fits.items():
        try:
            freeze_sets(
                (options or {}).get("freeze"),
                analysis.fit_parameters,
                placeholder,
                nuisances=analysis.nuisances,
                density_parameters=density_parameters(analysis),
            )
        except ConfigError as err:
            raise ConfigKeyError(("fits", name, "freeze"), str(err)) from None
