"""Realistic example analyses whose input files the workflow generates itself.

The benchmarks in `benchmarks.py` check the inference chain against an exact truth, but they
are single-variable toys with no systematics. An analyst adapting the workflow needs something
closer to a real measurement: several processes, parquet *and* ROOT inputs, generator weights
(some negative), a feature-shift nuisance (`calculate`), a per-event weight nuisance
(`weight_shifts`), categories and log-normal rate uncertainties. The examples here provide
that, with inputs small enough to regenerate on demand so no data files need to be shipped.

Every example is registered in `EXAMPLES` and paired with an analysis config under
`config/examples/<name>/`. `simulate_example` writes its input files; the simulation is seeded
with one independent stream per file (`default_rng([seed, k])`), so regenerating one file, or
all of them, always gives byte-for-byte the same events.

Heavy libraries (pandas, uproot) are imported inside the writers: Snakemake imports this module
while parsing the workflow, where their import time would be paid for every rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

__all__ = [
    "EXAMPLES",
    "Example",
    "ExampleFile",
    "example_outputs",
    "expected_ttbar_yield",
    "isr_ratios",
    "simulate_example",
]

Columns = dict[str, np.ndarray]
#: Draws the columns of one file from its own generator, given the `events` setting.
Producer = Callable[[np.random.Generator, int], Columns]


@dataclass(frozen=True)
class ExampleFile:
    """One input file of an example: its stem, storage format and how to simulate it.

    The stem is what the analysis config, the workflow rule and `simulate_example` use to refer
    to the file, so that renaming a path never silently breaks the pairing.
    """

    stem: str
    fmt: Literal["parquet", "root"]
    produce: Producer

    @property
    def file_name(self) -> str:
        """File name the analysis config expects (`<stem>.parquet` or `<stem>.root`)."""
        return f"{self.stem}.{self.fmt}"


@dataclass(frozen=True)
class Example:
    """A registered example: the files it needs and the config that analyses them.

    Attributes:
        name: Registry key, as used by the workflow config's `example.name`.
        analysis_config: Repository-relative path of the matching INNFER analysis config.
        files: The input files, in the stable order that also fixes their random streams.
        true_parameters: Parameter values the pseudo-data were generated at, for closure checks.
        description: One line for listings and error messages.
    """

    name: str
    analysis_config: str
    files: tuple[ExampleFile, ...]
    true_parameters: Mapping[str, float]
    description: str

    def file(self, stem: str) -> ExampleFile:
        """Return the file with this stem, failing with the valid stems otherwise."""
        for f in self.files:
            if f.stem == stem:
                return f
        raise ValueError(f"example {self.name!r} has no file {stem!r}; valid: {self.stems()}")

    def stems(self) -> list[str]:
        """Stems of the input files in their stable order."""
        return [f.stem for f in self.files]


# --------------------------------------------------------------------------------------------
# Boosted top-mass toy
# --------------------------------------------------------------------------------------------
#: Generated top masses of the ttbar sample (GeV), as in a real analysis' mass-variation samples.
TOP_MASSES: tuple[float, ...] = (169.5, 171.5, 172.5, 173.5, 175.5)
#: Default (nominal) top mass; the cross-section is normalised here.
DEFAULT_MTOP: float = 172.5
#: True top mass of the pseudo-data.
DATA_MTOP: float = 172.2
#: Expected ttbar yield at the default mass, after the pt_nom > 400 GeV selection.
TTBAR_YIELD: float = 2000.0
#: Relative change of the ttbar cross-section per GeV of top mass (lighter tops: more events).
TTBAR_YIELD_SLOPE: float = 0.01
#: Expected W+jets yield, after the pt_nom > 400 GeV selection.
WJETS_YIELD: float = 3000.0
#: The analysis' jet pt threshold (applied to the JES-shifted pt), and the reference pt of the
#: jet-mass resolution.
PT_MIN: float = 400.0
#: Lower edge of the simulated pt_nom spectrum of ttbar and W+jets. Below PT_MIN / 1.03, so a
#: JES shift anywhere in [-3, 3] sigma (1 % of pt per sigma) moves events across the threshold
#: in both directions; were the simulation to start at PT_MIN, an upward shift could not bring
#: any event in and the shifted pt would have an edge at PT_MIN (1 + 0.01 jes) that pins jes.
PT_GEN_MIN: float = 370.0
#: Fraction of ttbar events with a negative generator weight (NLO-like).
NEGATIVE_WEIGHT_FRACTION: float = 0.02


@overload
def expected_ttbar_yield(mtop: float) -> float: ...


@overload
def expected_ttbar_yield(mtop: np.ndarray) -> np.ndarray: ...


def expected_ttbar_yield(mtop: float | np.ndarray) -> float | np.ndarray:
    """Expected ttbar yield at a generated top mass: 2000 (1 + 0.01 (172.5 - mtop)).

    The mild mass dependence of the cross-section is what makes the event count carry some
    information on the top mass; INNFER itself keeps the nominal yield fixed and lets the rate
    parameter absorb it, so this is visible as mu_ttbar != 1 when fitting data off 172.5 GeV.
    """
    return TTBAR_YIELD * (1.0 + TTBAR_YIELD_SLOPE * (DEFAULT_MTOP - mtop))


#: Size of the ISR weight variation (`isr_ratios`) of ttbar and of W+jets.
TTBAR_ISR_SIZE: float = 0.10
WJETS_ISR_SIZE: float = 0.05
#: The ISR size of each simulated file, by stem (what an exact ISR reweighting needs).
ISR_SIZES: dict[str, float] = {"ttbar": TTBAR_ISR_SIZE, "wjets": WJETS_ISR_SIZE}


def isr_ratios(pt: Any, size: float, tanh: Callable[[Any], Any] = np.tanh) -> tuple[Any, Any]:
    """Per-event ISR up/down weight ratios: more (up) or less (down) hard radiation at high pt.

    A tanh of pt makes the variation a shape effect (soft jets lose, hard jets gain) with a
    bounded size, so the ratios stay well inside the [0.5, 2] clip of `two_weight_variation`.
    `size` scales both sides; the down variation is 80 % of the up one, as radiation
    uncertainties are typically asymmetric. Public, and written for any array backend (`tanh`
    is NumPy's or TensorFlow's), so that an exact ISR reweighting in a fit uses the generator's
    own formula (tests/perf/top_mass_isr_reference.py).
    """
    t = tanh((pt - 500.0) / 200.0)
    return 1.0 + size * t, 1.0 - 0.8 * size * t


def _nb(rng: np.random.Generator, n: int, p_two: float) -> np.ndarray:
    """Number of b-tagged jets, 1 or 2, stored as float64 like every column INNFER loads."""
    return 1.0 + (rng.random(n) < p_two)


def _ttbar_kinematics(rng: np.random.Generator, mtop: np.ndarray, pt_min: float) -> Columns:
    """Reconstructed jet mass, jet pt and b-tag multiplicity of ttbar events at per-event mtop.

    The jet pt is `pt_min` plus an exponential: memoryless, so events generated from a lower
    edge and selected at pt > PT_MIN are distributed exactly as events generated from PT_MIN.
    The jet mass has a Gaussian core just below the generated mass (out-of-cone losses) whose
    width shrinks as the jet gets harder (collimated decays are better contained), plus a 15 %
    tail of partially merged jets reconstructed at ~80 % of the mass. The tail width of 12 %
    keeps it more than six standard deviations away from zero mass.
    """
    n: int = mtop.shape[0]
    pt = pt_min + rng.exponential(150.0, n)
    m_jet = 0.98 * mtop + 0.06 * mtop * (PT_MIN / pt) ** 0.3 * rng.standard_normal(n)
    tail = rng.random(n) < 0.15
    m_jet[tail] = mtop[tail] * (0.80 + 0.12 * rng.standard_normal(int(tail.sum())))
    return {"m_jet_nom": m_jet, "pt_nom": pt, "nb": _nb(rng, n, 0.45)}


def _wjets_kinematics(rng: np.random.Generator, n: int, pt_min: float) -> Columns:
    """W+jets kinematics: a falling jet-mass spectrum with no top peak and a softer pt (from
    `pt_min`, memoryless as ttbar's)."""
    m_jet = 100.0 + rng.exponential(60.0, n)
    pt = pt_min + rng.exponential(110.0, n)
    return {"m_jet_nom": m_jet, "pt_nom": pt, "nb": _nb(rng, n, 0.15)}


def _exact_count(n: int, fraction: float) -> int:
    """round(fraction n), half up; exact counts keep yields and fractions free of luck."""
    return math.floor(fraction * n + 0.5)


def _selected_sums(
    values: np.ndarray, pt: np.ndarray, groups: np.ndarray, names: Sequence[str]
) -> np.ndarray:
    """Σ values over the events above the analysis threshold (pt_nom > PT_MIN), per group.

    The expected yields are defined after the threshold, so the weights are scaled by these
    sums; a group with no positive sum cannot be scaled and fails with a clear message.

    Args:
        values: per-event values (signs or raw weights).
        pt: per-event pt_nom.
        groups: per-event index into `names`.
        names: the samples, for the message (e.g. "ttbar at mtop = 169.5").

    Raises:
        ValueError: a group whose sum is not positive (too few simulated events).
    """
    sums = np.bincount(groups, weights=values * (pt > PT_MIN), minlength=len(names))
    empty = [name for name, total in zip(names, sums, strict=True) if not total > 0]
    if empty:
        raise ValueError(
            f"example top_mass: too few simulated events; the weights of {', '.join(empty)} "
            f"above pt_nom = {PT_MIN:g} GeV do not sum to a positive value, so they cannot be "
            "scaled to the expected yield: increase `events`"
        )
    return sums


def _produce_ttbar(rng: np.random.Generator, events: int) -> Columns:
    """The ttbar signal: `events` events per generated mass, rows in random order.

    Exactly 2 % of the events of each mass point carry a negative weight, and all weights of a
    mass point have one magnitude, scaled so that the weights of the events above the analysis
    threshold (pt_nom > PT_MIN; the pt spectrum starts at PT_GEN_MIN, so about 18 % are below
    it) sum to `expected_ttbar_yield(mtop)` to rounding. The mass points are interleaved so any
    leading chunk of the file is representative; only the (mass, sign) labels are permuted,
    before the kinematics are drawn, because gathering every column afterwards would cost more
    than the whole simulation.

    Raises:
        ValueError: so few events that a mass point has no net positive weight above PT_MIN.
    """
    masses = np.asarray(TOP_MASSES)
    k = _exact_count(events, NEGATIVE_WEIGHT_FRACTION)
    block_signs = np.ones(events, dtype=np.int8)
    block_signs[:k] = -1
    # One uniform permutation of the sorted labels leaves exactly k negatives per mass point,
    # at positions uniformly random among that point's events.
    order = rng.permutation(masses.shape[0] * events)
    mass_index = np.repeat(np.arange(masses.shape[0], dtype=np.int8), events)[order]
    sign = np.tile(block_signs, masses.shape[0])[order]
    mtop = masses[mass_index]
    columns = _ttbar_kinematics(rng, mtop, PT_GEN_MIN)
    names = [f"ttbar at mtop = {m:g}" for m in masses]
    net = _selected_sums(sign.astype(np.float64), columns["pt_nom"], mass_index, names)
    scale = expected_ttbar_yield(masses) / net
    gen_wt = sign * scale[mass_index]
    up, down = isr_ratios(columns["pt_nom"], TTBAR_ISR_SIZE)
    return {"mtop": mtop, **columns, "gen_wt": gen_wt, "wt_isr_up": up, "wt_isr_down": down}


def _produce_wjets(rng: np.random.Generator, events: int) -> Columns:
    """The W+jets background: 2 x `events` events from PT_GEN_MIN, the ones above the analysis
    threshold (pt_nom > PT_MIN) summing exactly to the expected yield.

    The generator weights are positive with a modest log-normal spread (as from merging
    slices of different luminosity), independent of the kinematics so that the weighted and
    unweighted distributions agree and the data can be drawn unweighted.

    Raises:
        ValueError: so few events that none is above PT_MIN.
    """
    n = 2 * events
    columns = _wjets_kinematics(rng, n, PT_GEN_MIN)
    raw = rng.lognormal(0.0, 0.2, n)
    selected = _selected_sums(raw, columns["pt_nom"], np.zeros(n, dtype=np.int8), ["wjets"])
    gen_wt = raw * (WJETS_YIELD / selected[0])
    up, down = isr_ratios(columns["pt_nom"], WJETS_ISR_SIZE)
    return {**columns, "gen_wt": gen_wt, "wt_isr_up": up, "wt_isr_down": down}


def _produce_data(rng: np.random.Generator, events: int) -> Columns:
    """Pseudo-data: Poisson-fluctuated ttbar at mtop = 172.2 GeV plus W+jets, shuffled.

    Only the nominal observables are stored: real data carry no generator mass, no weights and
    no systematic variations, so the JES shift of the data is 0 by construction. The count does
    not depend on `events`, which only sets the simulation statistics.

    Unlike the simulation, the data are generated from PT_MIN, not PT_GEN_MIN: with jes = 0
    the analysis keeps only pt_nom > PT_MIN, and an exponential pt is memoryless, so this is
    the same distribution as the simulation above the threshold (and the expected yields are
    defined there). It also keeps the data file what it was before the simulation was widened.
    """
    del events  # the data size is set by the physics yields, not the simulation size
    n_tt = int(rng.poisson(expected_ttbar_yield(DATA_MTOP)))
    n_w = int(rng.poisson(WJETS_YIELD))
    tt = _ttbar_kinematics(rng, np.full(n_tt, DATA_MTOP), PT_MIN)
    w = _wjets_kinematics(rng, n_w, PT_MIN)
    order = rng.permutation(n_tt + n_w)
    return {name: np.concatenate([tt[name], w[name]])[order] for name in tt}


TOP_MASS = Example(
    name="top_mass",
    analysis_config="config/examples/top_mass/analysis.yaml",
    files=(
        ExampleFile("ttbar", "parquet", _produce_ttbar),
        ExampleFile("wjets", "root", _produce_wjets),
        ExampleFile("data", "parquet", _produce_data),
    ),
    # mu_ttbar: INNFER's nominal yield is taken at the default mass (2000), the data follow
    # the cross-section at 172.2 GeV (2006), so the rate parameter should come out at 1.003.
    true_parameters={
        "mtop": DATA_MTOP,
        "jes": 0.0,
        "isr": 0.0,
        "lumi": 0.0,
        "wjets_norm": 0.0,
        "mu_ttbar": float(expected_ttbar_yield(DATA_MTOP) / TTBAR_YIELD),
    },
    description="boosted top-mass toy: ttbar (parquet) + W+jets (ROOT), JES, ISR, lnN yields",
)

#: All registered examples, keyed by name.
EXAMPLES: dict[str, Example] = {e.name: e for e in (TOP_MASS,)}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def _get(name: str) -> Example:
    try:
        return EXAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown example {name!r}; valid: {', '.join(EXAMPLES)}") from None


def example_outputs(name: str) -> list[str]:
    """Stems of the example's input files, in the stable order of their random streams.

    Workflow rules use this to declare their outputs; the stem plus `Example.file(stem)
    .file_name` gives the path the analysis config reads.
    """
    return _get(name).stems()


def _write_parquet(path: Path, columns: Columns) -> None:
    import pandas as pd

    pd.DataFrame(columns).to_parquet(path, index=False)


def _write_root(path: Path, columns: Columns) -> None:
    import uproot

    # mktree + extend rather than `file["Events"] = columns`, which sorts the branches by name:
    # this keeps the branch order equal to the parquet column order.
    with uproot.recreate(path) as file:
        tree = file.mktree("Events", {name: values.dtype for name, values in columns.items()})
        tree.extend(columns)


_WRITERS: dict[str, Callable[[Path, Columns], None]] = {
    "parquet": _write_parquet,
    "root": _write_root,
}


def _check_positive_int(value: int, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def simulate_example(name: str, outputs: Mapping[str, str], events: int, seed: int) -> None:
    """Simulate and write every input file of an example.

    Each file is drawn from its own stream `default_rng([seed, k])`, k being the file's position
    in `example_outputs(name)`, so a file does not change when another one is added or skipped,
    and reruns are identical. Each file is written to a temporary name in its directory and
    renamed into place, so a killed job never leaves a truncated file that looks finished.

    Args:
        name: Example name, a key of `EXAMPLES`.
        outputs: Output path for every stem of `example_outputs(name)`, no more and no less, so
            a misspelt stem fails instead of silently not being produced. The file extension
            must match the stored format (`.parquet` or `.root`), as the analysis config
            selects the reader by extension.
        events: Simulation size (for top_mass: ttbar events per generated mass, and twice that
            of W+jets); the pseudo-data size is set by the physics yields instead.
        seed: Non-negative base seed.

    Raises:
        ValueError: Unknown example, wrong set of stems, mismatched extension, or a
            non-positive `events` / negative `seed`.
    """
    from innfer_lib.core.io import atomic_path

    example = _get(name)
    events = _check_positive_int(events, "events", 1)
    seed = _check_positive_int(seed, "seed", 0)
    stems = example.stems()
    missing = [s for s in stems if s not in outputs]
    unknown = [s for s in outputs if s not in stems]
    if missing or unknown:
        raise ValueError(
            f"example {name!r} writes exactly {stems}; missing {missing}, unknown {unknown}"
        )
    for spec in example.files:
        path = Path(outputs[spec.stem])
        if path.suffix != f".{spec.fmt}":
            raise ValueError(f"{spec.stem} is stored as {spec.fmt}; got output path {path}")
    for k, spec in enumerate(example.files):
        rng = np.random.default_rng([seed, k])
        produced = spec.produce(rng, events)
        columns = {c: np.ascontiguousarray(v, dtype=np.float64) for c, v in produced.items()}
        with atomic_path(outputs[spec.stem]) as tmp:
            _WRITERS[spec.fmt](tmp, columns)
