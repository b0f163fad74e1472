"""Every output path of the workflow, in one place.

Rules build their `input:`/`output:` from these patterns and tests find outputs with them, so a
path is changed here or nowhere. Patterns keep Snakemake wildcards (`{model}`, `{category}`,
`{val}`, `{fit}`, `{density}`, `{file}`, `{stem}`); `Paths.format` fills them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """Path patterns under `<results_dir>/<analysis name>/`."""

    root: str

    @classmethod
    def for_analysis(cls, results_dir: str | Path, name: str) -> Paths:
        return cls(str(Path(results_dir) / name))

    def _p(self, *parts: str) -> str:
        return str(Path(self.root, *parts))

    # benchmark inputs
    @property
    def benchmark_config(self) -> str:
        return self._p("benchmark", "analysis.yaml")

    @property
    def benchmark_dir(self) -> str:
        return self._p("benchmark", "inputs")

    @property
    def benchmark_input(self) -> str:
        return self._p("benchmark", "inputs", "{stem}.parquet")

    # data
    @property
    def loaded(self) -> str:
        return self._p("load_data", "{file}.parquet")

    @property
    def preprocess_dir(self) -> str:
        return self._p("preprocess", "{model}", "{category}")

    @property
    def train(self) -> str:
        return self._p("preprocess", "{model}", "{category}", "train.parquet")

    @property
    def test(self) -> str:
        return self._p("preprocess", "{model}", "{category}", "test.parquet")

    @property
    def parameters(self) -> str:
        return self._p("preprocess", "{model}", "{category}", "parameters.yaml")

    @property
    def validation(self) -> str:
        return self._p("preprocess", "{model}", "{category}", "val", "val_{val}.parquet")

    # density models: {density} is `learned` (a trained flow) or `truth` (the benchmark's pdf)
    @property
    def density_dir(self) -> str:
        return self._p("models", "{model}", "{category}", "{density}")

    @property
    def density_architecture(self) -> str:
        return self._p("models", "{model}", "{category}", "{density}", "architecture.yaml")

    @property
    def flow_weights(self) -> str:
        return self._p("models", "{model}", "{category}", "learned", "weights.npz")

    @property
    def training_history(self) -> str:
        return self._p("models", "{model}", "{category}", "learned", "history.yaml")

    # fits
    @property
    def fit_dir(self) -> str:
        return self._p("fits", "{fit}", "{density}", "val_{val}")

    @property
    def best_fit(self) -> str:
        return self._p("fits", "{fit}", "{density}", "val_{val}", "best_fit.yaml")

    @property
    def hessian(self) -> str:
        return self._p("fits", "{fit}", "{density}", "val_{val}", "hessian.yaml")

    @property
    def covariance(self) -> str:
        return self._p("fits", "{fit}", "{density}", "val_{val}", "covariance.yaml")

    @property
    def summary(self) -> str:
        return self._p("summary", "{fit}", "summary.yaml")

    # plots: each plot pattern has no extension; both .pdf and .png are written
    def plot(self, stage: str, *parts: str) -> str:
        return self._p("plots", stage, *parts)

    @property
    def loss_plot(self) -> str:
        return self.plot("train_density", "{model}", "{category}", "loss")

    @property
    def summary_plot(self) -> str:
        return self.plot("summary", "{fit}", "summary")

    @property
    def density_plot(self) -> str:
        return self.plot("densities", "val_{val}")

    @property
    def log(self) -> str:
        return self._p("logs", "{rule}", "{name}.log")

    @staticmethod
    def format(pattern: str, **wildcards: object) -> str:
        return pattern.format(**wildcards)


PLOT_EXTENSIONS = ("pdf", "png")
INPUT_KEY_SEPARATOR = "__"


def input_key(kind: str, process: str, category: str, *extra: object) -> str:
    """Name of a rule input that belongs to one (process, category).

    Rules that read every process (fits, density plots) get named inputs such as
    `validation__Gaussian__inclusive__3`; rules build them and scripts look them up with this
    one function, so the convention cannot drift between the two sides.
    """
    return INPUT_KEY_SEPARATOR.join([kind, process, category, *map(str, extra)])


def plot_files(pattern: str) -> list[str]:
    """The PDF and PNG files of one plot pattern."""
    return [f"{pattern}.{ext}" for ext in PLOT_EXTENSIONS]
