"""Every output path of the workflow, in one place.

Rules build their `input:`/`output:` from these patterns and tests find outputs with them, so a
path is changed here or nowhere. Patterns keep Snakemake wildcards (`{model}`, `{category}`,
`{val}`, `{fit}`, `{density}`, `{file}`, `{stem}`, `{kind}`, `{parameter}`, `{dataset}`,
`{column}`, `{varying}`, `{overlay}`); `Paths.format` fills them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The files of one search trial (a grid point or a Bayesian trial), by role.
TRIAL_FILES = {
    "architecture": "architecture.yaml",
    "weights": "weights.npz",
    "history": "history.yaml",
    "metrics": "metrics.yaml",
    "checkpoint": "checkpoint",
}


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

    # data
    @property
    def loaded(self) -> str:
        return self._p("load_data", "{file}.parquet")

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
    def parameters_before_sim_to_data(self) -> str:
        """PreProcess's own parameters.yaml when `sim_to_data.apply` rewrites `parameters`."""
        return self._p("preprocess", "{model}", "{category}", "parameters_before_sim_to_data.yaml")

    @property
    def validation(self) -> str:
        return self._p("preprocess", "{model}", "{category}", "val", "val_{val}.parquet")

    # nuisance variations (issue 18): the validation events of a process with each nuisance at
    # ±1 ({order} `single`) or each pair of nuisances at ±1 ({order} `double`), one file per
    # process, category and order with a `variation` column naming the variation
    @property
    def nuisance_variations(self) -> str:
        return self._p("preprocess", "{model}", "{category}", "nuisance_variations_{order}.parquet")

    # auxiliary training sets of one parameter: {kind} is `regression` or `classifier`
    @property
    def aux_train(self) -> str:
        return self._p(
            "preprocess", "{model}", "{category}", "{kind}", "{parameter}", "train.parquet"
        )

    @property
    def aux_test(self) -> str:
        return self._p(
            "preprocess", "{model}", "{category}", "{kind}", "{parameter}", "test.parquet"
        )

    @property
    def aux_parameters(self) -> str:
        return self._p(
            "preprocess", "{model}", "{category}", "{kind}", "{parameter}", "parameters.yaml"
        )

    # observed data per category, and pseudo-data resampled from the validation sets of a point
    @property
    def data(self) -> str:
        return self._p("data", "{category}", "data.parquet")

    @property
    def resampled_data(self) -> str:
        return self._p("data", "{category}", "resampled", "val_{val}.parquet")

    # simulation-to-data normalisation factors of one group of categories ({group})
    @property
    def sim_to_data_factors(self) -> str:
        return self._p("sim_to_data", "normalisation_factors_{group}.yaml")

    # density models: {density} is `learned` (a trained flow) or `truth` (the benchmark's pdf)
    @property
    def density_architecture(self) -> str:
        return self._p("models", "{model}", "{category}", "{density}", "architecture.yaml")

    @property
    def flow_weights(self) -> str:
        return self._p("models", "{model}", "{category}", "learned", "weights.npz")

    @property
    def training_history(self) -> str:
        return self._p("models", "{model}", "{category}", "learned", "history.yaml")

    @property
    def checkpoint_dir(self) -> str:
        """Training checkpoints: a side directory, not a rule output, so a killed job resumes."""
        return self._p("models", "{model}", "{category}", "learned", "checkpoint")

    # density ensembles: member k > 0 of `ensemble: K` is the density `ensemble_member(k)`, a
    # directory beside `learned` (member 0) holding the same files; {density} names the member
    def member_file(self, name: str) -> str:
        return self._p("models", "{model}", "{category}", "{density}", name)

    @property
    def member_weights(self) -> str:
        return self.member_file("weights.npz")

    @property
    def member_history(self) -> str:
        return self.member_file("history.yaml")

    @property
    def member_checkpoint_dir(self) -> str:
        """A member's training checkpoints: a side directory, like `checkpoint_dir`."""
        return self.member_file("checkpoint")

    # weight-ratio regressions (issue 15): one per (process, category, nuisance {parameter})
    def regression_file(self, name: str) -> str:
        return self._p("models", "{model}", "{category}", "regression", "{parameter}", name)

    @property
    def regression_model(self) -> str:
        """Weights of the trained FCNN (FCNN.save)."""
        return self.regression_file("weights.npz")

    @property
    def regression_architecture(self) -> str:
        return self.regression_file("architecture.yaml")

    @property
    def regression_history(self) -> str:
        return self.regression_file("history.yaml")

    @property
    def regression_checkpoint_dir(self) -> str:
        """Training state: a side directory, not a rule output, so a killed job resumes."""
        return self.regression_file("checkpoint")

    @property
    def regression_spline(self) -> str:
        """The normalisation spline S(ν) (ratios.normalisation), written by evaluate_regression."""
        return self.regression_file("normalisation.yaml")

    @property
    def regression_predictions(self) -> str:
        """Regressed and true wt_shift per train/test event ({split})."""
        return self._p(
            "evaluation",
            "{model}",
            "{category}",
            "regression",
            "{parameter}",
            "pred_{split}.parquet",
        )

    @property
    def regression_loss_plot(self) -> str:
        return self.plot("train_regression", "{model}", "{category}", "{parameter}", "loss")

    @property
    def regression_average_plot(self) -> str:
        """Average true and regressed weight against one input column ({column}, {split})."""
        return self.plot(
            "plot_regression",
            "{model}",
            "{category}",
            "{parameter}",
            "average_weight_{column}_{split}",
        )

    @property
    def regression_spline_plot(self) -> str:
        return self.plot("plot_regression", "{model}", "{category}", "{parameter}", "norm_spline")

    # weight-ratio classifiers (issue 15): one per (process, category, nuisance {parameter})
    def classifier_file(self, name: str) -> str:
        return self._p("models", "{model}", "{category}", "classifier", "{parameter}", name)

    @property
    def classifier_model(self) -> str:
        """Weights of the trained classifier FCNN (FCNN.save)."""
        return self.classifier_file("weights.npz")

    @property
    def classifier_architecture(self) -> str:
        return self.classifier_file("architecture.yaml")

    @property
    def classifier_history(self) -> str:
        return self.classifier_file("history.yaml")

    @property
    def classifier_checkpoint_dir(self) -> str:
        """Training state: a side directory, not a rule output, so a killed job resumes."""
        return self.classifier_file("checkpoint")

    @property
    def classifier_spline(self) -> str:
        """The normalisation spline S(ν), written by normalisation_spline_classifier."""
        return self.classifier_file("normalisation.yaml")

    @property
    def normalisation_asimov(self) -> str:
        """Density-only events over a θ grid that the ratio models' S(ν, θ) average over."""
        return self._p("asimov", "{model}", "{category}", "normalisation_spline.parquet")

    @property
    def normalisation_grid(self) -> str:
        """The θ grid of the normalisation Asimov (ratios.normalisation_asimov)."""
        return self._p("asimov", "{model}", "{category}", "normalisation_grid.yaml")

    def classifier_evaluation(self, name: str) -> str:
        return self._p("evaluation", "{model}", "{category}", "classifier", "{parameter}", name)

    @property
    def classifier_predictions(self) -> str:
        """ln r, p₁, truth and weight per train/test event ({split})."""
        return self.classifier_evaluation("pred_{split}.parquet")

    @property
    def classifier_metrics(self) -> str:
        """roc_auc_train / roc_auc_test: what pruning reads."""
        return self.classifier_evaluation("performance_metrics.yaml")

    @property
    def classifier_loss_plot(self) -> str:
        return self.plot("train_classifier", "{model}", "{category}", "{parameter}", "loss")

    @property
    def classifier_reweighting_plot(self) -> str:
        """Nominal reweighted by r against the shifted events, one column ({column}, {split})."""
        return self.plot(
            "plot_classifier", "{model}", "{category}", "{parameter}", "reweighted_{column}_{split}"
        )

    @property
    def classifier_spline_plot(self) -> str:
        return self.plot(
            "normalisation_spline_classifier", "{model}", "{category}", "{parameter}", "norm_spline"
        )

    # density evaluation: synthetic events from the learned density
    @property
    def synthetic(self) -> str:
        """One synthetic event per train/test event, at that event's parameters ({split})."""
        return self._p("evaluation", "{model}", "{category}", "synth_{split}.parquet")

    @property
    def asimov(self) -> str:
        """Events sampled from the learned density at one validation point."""
        return self._p("asimov", "{model}", "{category}", "val_{val}.parquet")

    @property
    def asimov_nuisance_variations(self) -> str:
        """Events sampled from the learned model at every nuisance variation of one order."""
        return self._p("asimov", "{model}", "{category}", "nuisance_variations_{order}.parquet")

    # density performance metrics and their p-values (issue 16), per density
    @property
    def density_metrics(self) -> str:
        """Every chosen performance metric of one density (INNFER's metrics.yaml)."""
        return self._p("metrics", "{model}", "{category}", "{density}", "metrics.yaml")

    @property
    def epoch_models(self) -> str:
        """Directory of the flow's weights after every epoch (`save_model_per_epoch`)."""
        return self._p("models", "{model}", "{category}", "learned", "epochs")

    @property
    def epoch_metrics(self) -> str:
        """The performance metrics of the flow after every epoch."""
        return self._p("metrics", "{model}", "{category}", "learned", "metrics_per_epoch.yaml")

    def pvalue_file(self, name: str) -> str:
        return self._p("pvalues", "{model}", "{category}", "{density}", name)

    @property
    def pvalue_sim_vs_synth(self) -> str:
        return self.pvalue_file("sim_vs_synth.yaml")

    @property
    def pvalue_reference(self) -> str:
        """The kept synthetic sample every toy is compared with."""
        return self.pvalue_file("reference.parquet")

    @property
    def pvalue_toys(self) -> str:
        """The metrics of one batch of toys ({index}: the batch)."""
        return self.pvalue_file("toys_{index}.yaml")

    @property
    def pvalue_toys_collected(self) -> str:
        return self.pvalue_file("toys.yaml")

    @property
    def pvalues(self) -> str:
        return self.pvalue_file("p_values.yaml")

    @property
    def density_metrics_plot(self) -> str:
        """Every density's metrics of one process and category, side by side."""
        return self.plot("density_metrics", "{model}", "{category}", "metrics")

    @property
    def pvalue_plot(self) -> str:
        return self.plot("pvalues", "{model}", "{category}", "{density}", "p_value_{metric}")

    # hyperparameter searches (issue 17): {search} is `hyperparameter_scan` (the grid, one
    # `trial_{trial}` directory per point, each a job) or `bayesian_tuning` (the optuna study,
    # `trial_<n>` directories written by its `worker_{worker}` jobs)
    def search_file(self, name: str) -> str:
        return self._p("{search}", "{model}", "{category}", name)

    def scan_trial_file(self, role: str) -> str:
        """A file of one grid point by role (`TRIAL_FILES`), named as in a Bayesian trial."""
        return self._p(
            "hyperparameter_scan", "{model}", "{category}", "trial_{trial}", TRIAL_FILES[role]
        )

    @property
    def search_table(self) -> str:
        """Every trial of a search: point, state, ranking metric and all metrics."""
        return self.search_file("trials.csv")

    @property
    def search_best_architecture(self) -> str:
        """The scan file at the best point: `density_architecture: best_of_scan|best_of_tuning`."""
        return self.search_file("best_architecture.yaml")

    @property
    def search_plot(self) -> str:
        """{stem}: `trials` (both searches), `history` and `importance` (the study's)."""
        return self.plot("{search}", "{model}", "{category}", "{stem}")

    @property
    def tuning_dir(self) -> str:
        """The study's directory: its journal and `trial_<n>/` are side files, never outputs,
        so a rerun of a worker keeps the finished trials."""
        return self._p("bayesian_tuning", "{model}", "{category}")

    @property
    def tuning_worker(self) -> str:
        """The trials one worker job ran."""
        return self._p("bayesian_tuning", "{model}", "{category}", "worker_{worker}.yaml")

    # fits: every file of one fit lives in its directory `fits/{fit}/{density}/val_{val}/`
    def fit_file(self, name: str) -> str:
        """A file in one fit's directory (`name` relative to it); every per-fit path uses it."""
        return self._p("fits", "{fit}", "{density}", "val_{val}", name)

    @property
    def best_fit(self) -> str:
        return self.fit_file("best_fit.yaml")

    @property
    def hessian(self) -> str:
        return self.fit_file("hessian.yaml")

    @property
    def covariance(self) -> str:
        return self.fit_file("covariance.yaml")

    @property
    def hessian_numerical(self) -> str:
        """The Hessian by differences of the gradient (`hessian: numerical`)."""
        return self.fit_file("hessian_numerical.yaml")

    @property
    def hessian_column(self) -> str:
        """One column of the Hessian (hessian_parallel); `{parameter}` names the column."""
        return self.fit_file("hessian_columns/{parameter}.yaml")

    @property
    def hessian_collected(self) -> str:
        """The Hessian assembled from its columns (`hessian: parallel`)."""
        return self.fit_file("hessian_collected.yaml")

    @property
    def dmatrix(self) -> str:
        return self.fit_file("dmatrix.yaml")

    @property
    def covariance_with_dmatrix(self) -> str:
        """The sandwich covariance H⁻¹DH⁻¹ (`covariance: dmatrix`)."""
        return self.fit_file("covariance_with_dmatrix.yaml")

    @property
    def approximate_uncertainty(self) -> str:
        return self.fit_file("approximate_uncertainty/{parameter}.yaml")

    @property
    def minos(self) -> str:
        """MINOS crossings of one parameter (uncertainty_from_minimisation)."""
        return self.fit_file("minos/{parameter}.yaml")

    @property
    def bootstrap_batch(self) -> str:
        """The replica fits of one batch of a bootstrap (bootstrap_fit)."""
        return self.fit_file("bootstrap/batch_{batch}.yaml")

    @property
    def bootstrap_result(self) -> str:
        """The bootstrap crossings of one parameter (bootstrap_collect)."""
        return self.fit_file("bootstrap/{parameter}.yaml")

    @property
    def bootstrap_plot(self) -> str:
        return self.plot(
            "bootstrap", "{fit}", "{density}", "val_{val}", "bootstrap_distribution_{parameter}"
        )

    def scan_points(self, source: str) -> str:
        """The grid of a 1-D scan in steps of the σ from `source` (hessian, approximate)."""
        return self.fit_file(f"scan/{{parameter}}/points_{source}.yaml")

    @property
    def scan_point(self) -> str:
        return self.fit_file("scan/{parameter}/point_{index}.yaml")

    @property
    def scan_result(self) -> str:
        return self.fit_file("scan/{parameter}/result.yaml")

    @property
    def scan_2d_points(self) -> str:
        return self.fit_file("scan_2d/points.yaml")

    @property
    def scan_2d_point(self) -> str:
        return self.fit_file("scan_2d/point_{index}.yaml")

    @property
    def scan_2d_result(self) -> str:
        return self.fit_file("scan_2d/result.yaml")

    @property
    def likelihood_debug(self) -> str:
        return self.fit_file("likelihood_debug.yaml")

    @property
    def scan_2d_plot(self) -> str:
        return self.plot("scan", "{fit}", "{density}", "val_{val}", "likelihood_scan_2d")

    @property
    def postfit_asimov(self) -> str:
        """Events sampled at the best fit, per process and category, for the postfit plot."""
        return self.fit_file("postfit/{model}/{category}.parquet")

    @property
    def prefit_asimov(self) -> str:
        """Events sampled at the analysis defaults (the pre-fit model), beside the post-fit ones."""
        return self.fit_file("postfit/{model}/{category}_prefit.parquet")

    @property
    def scan_plot(self) -> str:
        return self.plot("scan", "{fit}", "{density}", "val_{val}", "likelihood_scan_{parameter}")

    @property
    def scan_overlay(self) -> str:
        """The crossings a `scan_plots` overlay draws (re-zeroed if asked, with the breakdown)."""
        return self._p("scan_overlay", "{overlay}", "{density}", "val_{val}", "{parameter}.yaml")

    @property
    def scan_overlay_plot(self) -> str:
        return self.plot(
            "scan_overlay", "{overlay}", "{density}", "val_{val}", "likelihood_scan_{parameter}"
        )

    @property
    def postfit_plot(self) -> str:
        return self.plot(
            "postfit", "{fit}", "{density}", "val_{val}", "postfit_{category}_{column}"
        )

    @property
    def postfit_binned_plot(self) -> str:
        """Post-fit plot of a binned fit: fitted counts against bin yields ({column} binned)."""
        return self.plot(
            "postfit", "{fit}", "{density}", "val_{val}", "postfit_binned_{category}_{column}"
        )

    @property
    def fit_result(self) -> str:
        """One fit's intervals per parameter, from the source its fit set names."""
        return self.fit_file("result.yaml")

    @property
    def all_but_one_result(self) -> str:
        """The single-parameter fits of an all-but-one family, gathered per point."""
        return self._p("fits", "{base}", "all_but_one", "{density}", "val_{val}", "result.yaml")

    @property
    def summary(self) -> str:
        return self._p("summary", "{summary}", "summary.yaml")

    @property
    def summary_chi_squared(self) -> str:
        return self._p("summary", "{summary}", "chi_squared.yaml")

    @property
    def ensemble_summary(self) -> str:
        """Best fits of every ensemble member against σ_stat, per point, of one fit set."""
        return self._p("ensemble", "{fit}", "summary.yaml")

    @property
    def toy_fit(self) -> str:
        """One batch of toy fits of one fit set, density and point (`toy_fit`)."""
        return self.fit_file("toys/batch_{batch}.yaml")

    @property
    def toy_coverage(self) -> str:
        """Pulls and coverage per interval source of one fit set and density (`toy_collect`)."""
        return self._p("toys", "{fit}", "{density}", "coverage.yaml")

    @property
    def toy_coverage_table(self) -> str:
        """The coverage table, without extension: `.csv` and `.md` are written."""
        return self._p("toys", "{fit}", "{density}", "coverage")

    @property
    def toy_coverage_plot(self) -> str:
        """Coverage per interval source with Clopper–Pearson errors and the nominal lines."""
        return self.plot("toys", "{fit}", "{density}", "coverage")

    @property
    def toy_pulls_plot(self) -> str:
        """Pull histograms per source and parameter with a unit Gaussian."""
        return self.plot("toys", "{fit}", "{density}", "pulls")

    @property
    def results_table(self) -> str:
        """Results table of one fit set, without extension: `.csv` and `.md` are written."""
        return self._p("tables", "{fit}")

    # plots: each plot pattern has no extension; both .pdf and .png are written
    def plot(self, stage: str, *parts: str) -> str:
        return self._p("plots", stage, *parts)

    @property
    def loss_plot(self) -> str:
        return self.plot("train_density", "{model}", "{category}", "loss")

    @property
    def summary_plot(self) -> str:
        return self.plot("summary", "{summary}", "summary")

    @property
    def summary_per_val_plot(self) -> str:
        return self.plot("summary", "{summary}", "summary_per_val_{val}")

    @property
    def ensemble_plot(self) -> str:
        return self.plot("ensemble", "{fit}", "spread")

    @property
    def density_plot(self) -> str:
        return self.plot("densities", "val_{val}")

    def input_training_plot(self, view: str) -> str:
        """One training-input plot; `view` is train/test with an optional `_transformed`."""
        return self.plot(
            "input_training",
            "{model}",
            "{category}",
            "{dataset}",
            f"distributions_{{column}}_{view}",
        )

    @property
    def input_validation_plot(self) -> str:
        """Validation inputs of one variable; {varying} is `all` or the one parameter varied."""
        return self.plot(
            "input_validation", "{model}", "{category}", "{varying}", "X_distributions_{column}"
        )

    @property
    def input_nuisance_variations_plot(self) -> str:
        """The nominal validation events against those with one nuisance at ±1, one variable."""
        return self.plot(
            "input_nuisance_variations",
            "{model}",
            "{category}",
            "{nuisance}",
            "X_distributions_{column}",
        )

    @property
    def input_train_vs_variations_plot(self) -> str:
        """The density's training events against one nuisance's ±1 variations, one variable."""
        return self.plot(
            "input_train_vs_variations",
            "{model}",
            "{category}",
            "{nuisance}",
            "X_distributions_{column}",
        )

    @property
    def density_comparison_plot(self) -> str:
        """Synthetic against simulated training events ({split}: train or test)."""
        return self.plot("plot_density", "{model}", "{category}", "comparison_{column}_{split}")

    @property
    def density_slices_plot(self) -> str:
        """Synthetic against simulated events of one split in slices of the Y column
        {parameter} (INNFER's PlotDensity "<Y>_bin_<i>"), all slices in one figure."""
        return self.plot(
            "plot_density", "{model}", "{category}", "comparison_{column}_{split}_{parameter}_bins"
        )

    @property
    def density_profile_plot(self) -> str:
        """Mean and width of one X column against the Y column {parameter}, sim vs synthetic."""
        return self.plot(
            "plot_density", "{model}", "{category}", "profile_{column}_{split}_vs_{parameter}"
        )

    @property
    def generator_plot(self) -> str:
        """Validation events against the density's Asimov events at one point."""
        return self.plot("generator", "{model}", "{category}", "val_{val}", "generation_{column}")

    def generator_extra_plot(self, stem: str) -> str:
        """Optional generator views of one point: `<column>_transformed`, `unrolled_2d_<a>_<b>`."""
        return self.plot("generator", "{model}", "{category}", "val_{val}", f"generation_{stem}")

    @property
    def generator_nuisance_variation_plot(self) -> str:
        """Simulated events of one nuisance variation against the model's Asimov events."""
        return self.plot(
            "generator_nuisance_variations",
            "{model}",
            "{category}",
            "{variation}",
            "generation_{column}",
        )

    @property
    def generator_combined_plot(self) -> str:
        """All processes of a category stacked against the summed validation events."""
        return self.plot("generator", "combined", "{category}", "val_{val}", "generation_{column}")

    @property
    def generator_data_plot(self) -> str:
        """Observed data of a category against the stacked simulation ({prediction}:
        `simulation`) or the stacked synthetic events (`synthetic`) at the default point."""
        return self.plot("generator", "data", "{category}", "data_vs_{prediction}_{column}")

    @property
    def generator_summary_plot(self) -> str:
        return self.plot(
            "generator_summary", "{model}", "{category}", "generation_summary_{column}"
        )

    @property
    def flow_plot(self) -> str:
        """One variable through the coupling layers at one validation point (INNFER's Flow)."""
        return self.plot("flow", "{model}", "{category}", "val_{val}", "flow_{column}")

    @property
    def epoch_metric_plot(self) -> str:
        return self.plot("train_density", "{model}", "{category}", "epoch_{metric}")

    @property
    def epoch_metrics_merged_plot(self) -> str:
        """Every per-epoch metric of one flow, min-max normalised, on one plot."""
        return self.plot("train_density", "{model}", "{category}", "epoch_metrics_merged")

    # custom steps (issue 18): the declared output files of step `{step}`, `{output}` a relative
    # file name from its `outputs` (it may hold subdirectories)
    @property
    def custom_output(self) -> str:
        return self._p("custom", "{step}", "{output}")

    @property
    def log(self) -> str:
        return self._p("logs", "{rule}", "{name}.log")

    @staticmethod
    def format(pattern: str, **wildcards: object) -> str:
        return pattern.format(**wildcards)

    # impacts: refits with {parameter} held at its post-fit ±1σ ({shift}: up|down), their
    # collection, the covariance approximation, and the ranked plot of one POI ({parameter})
    @property
    def impact_fit(self) -> str:
        return self.fit_file("impacts/refits/{parameter}_{shift}.yaml")

    @property
    def impacts(self) -> str:
        """Refit impacts on every POI, collected from the `impact_fit` records."""
        return self.fit_file("impacts/impacts_refit.yaml")

    @property
    def approximate_impacts(self) -> str:
        return self.fit_file("impacts/impacts_approximate.yaml")

    @property
    def impacts_plot(self) -> str:
        return self.plot("impacts", "{fit}", "{density}", "val_{val}", "impacts_{parameter}")


PLOT_EXTENSIONS = ("pdf", "png")
TRAINING_VIEWS = ("train", "test", "train_transformed", "test_transformed")
DENSITY_DATASET = "density"
ALL_POINTS = "all"
INPUT_KEY_SEPARATOR = "__"


#: The density name of member 0 of an ensemble: the main trained flow (`models.LEARNED`).
MAIN_MEMBER = "learned"


def ensemble_member(index: int) -> str:
    """The density name (and model directory) of member `index` of a density ensemble.

    Member 0 is the main flow, `learned`, so a run without an ensemble has today's paths;
    member k > 0 is `learned_<k>`, a density of its own in model and fit paths.
    """
    return MAIN_MEMBER if index == 0 else f"{MAIN_MEMBER}_{index}"


def ensemble_member_index(density: str) -> int:
    """The member index of an ensemble density name, the inverse of `ensemble_member`.

    Raises:
        ValueError: a name that is not an ensemble member's.
    """
    if density == MAIN_MEMBER:
        return 0
    prefix, _, index = density.rpartition("_")
    if prefix != MAIN_MEMBER or not index.isdigit() or int(index) < 1 or index != str(int(index)):
        raise ValueError(f"{density!r} is not the name of a density ensemble member")
    return int(index)


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
