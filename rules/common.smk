"""Config -> analysis model, path helpers, wildcard constraints and resources.

Everything that decides the shape of the DAG is computed here, at parse time, from the
workflow config and the analysis config, so `snakemake -n` lists every job.
"""

import sys
from pathlib import Path

REPO = Path(workflow.basedir).parent
sys.path.insert(0, str(REPO / "scripts"))

from innfer_lib.core.analysis import AUX_KINDS, load_analysis
from innfer_lib.core.config_files import workflow_defaults
from innfer_lib.core.fit_sets import all_but_one_families, expand_fit_sets, summary_sets
from innfer_lib.density.models import LEARNED, TRUE
from innfer_lib.core.errors import InnferError
from innfer_lib.core.paths import (
    ALL_POINTS,
    DENSITY_DATASET,
    TRAINING_VIEWS,
    Paths,
    input_key,
    plot_files,
)

for _key, _value in workflow_defaults().items():
    config.setdefault(_key, _value)
    if isinstance(_value, dict) and _key != "fits":
        # Nested option blocks: a partial block keeps the defaults of the keys it omits.
        config[_key] = {**_value, **config[_key]}

# An analysis config given on the command line overrides the embedded benchmark.
BENCHMARK = None if config.get("analysis") else config.get("benchmark")
# An example analysis whose inputs a rule generates (config/examples/*/workflow.yaml).
EXAMPLE = config.get("example") if config.get("analysis") else None


def _load_analysis():
    if BENCHMARK:
        from innfer_lib.data.benchmarks import get_benchmark

        name = f"Benchmark_{BENCHMARK['name']}"
        paths = Paths.for_analysis(config["results_dir"], name)
        raw = get_benchmark(BENCHMARK["name"]).analysis_config(paths.benchmark_dir)
        return load_analysis(raw)
    return load_analysis(config["analysis"])


try:
    ANALYSIS = _load_analysis()
except InnferError as err:
    raise WorkflowError(str(err)) from None

PATHS = Paths.for_analysis(config["results_dir"], ANALYSIS.name)
CATEGORIES = list(ANALYSIS.categories)
PROCESSES = ANALYSIS.processes
FILES = list(ANALYSIS.raw["files"])
VAL_ALL = list(range(len(ANALYSIS.validation_points)))
VAL_FIT = config.get("validation_indices", VAL_ALL)
for _v in VAL_FIT:
    if _v not in VAL_ALL:
        raise WorkflowError(
            f"config validation_indices: {_v} is not a validation index (0..{len(VAL_ALL) - 1})"
        )
DENSITIES = config.get("densities") or ([LEARNED, TRUE] if BENCHMARK else [LEARNED])
if TRUE in DENSITIES and not BENCHMARK:
    raise WorkflowError(
        "config densities: 'truth' needs a benchmark (an analysis has no analytic density)"
    )
try:
    FITS = expand_fit_sets(config["fits"], ANALYSIS)
    ALL_BUT_ONE_FAMILIES = all_but_one_families(FITS)
    SUMMARIES = summary_sets(config.get("summaries"), FITS, DENSITIES)
except InnferError as err:
    raise WorkflowError(str(err)) from None
VARIABLES = ANALYSIS.variables
DATA_FILES = ANALYSIS.data_files


def _training_datasets():
    """(process, category, dataset, columns) of every training set the input plots show."""
    sets = []
    for process in PROCESSES:
        for category in CATEGORIES:
            params = ANALYSIS.model_parameters(process, category)
            sets.append((process, category, DENSITY_DATASET, VARIABLES + params))
            for kind in AUX_KINDS:
                for param in ANALYSIS.aux_entries(process, kind, category):
                    target = "wt_shift" if kind == "regression" else "classifier_truth"
                    sets.append(
                        (
                            process,
                            category,
                            f"{kind}/{param}",
                            VARIABLES + [param, target],
                        )
                    )
    return sets


TRAINING_DATASETS = _training_datasets()
AUX_SETS = [s for s in TRAINING_DATASETS if s[2] != DENSITY_DATASET]
COLUMNS = sorted({c for s in TRAINING_DATASETS for c in s[3]})
VARYING = {
    (process, category): [ALL_POINTS] + ANALYSIS.varied_alone(process)
    for process in PROCESSES
    for category in CATEGORIES
}


EPOCH_METRICS = ["train_loss", "test_loss", "learning_rate"]
VARIABLE_PAIRS = [(a, b) for i, a in enumerate(VARIABLES) for b in VARIABLES[i + 1 :]]


def generator_extra_stems():
    """File stems of the optional generator views, in the order the script writes them."""
    stems = []
    if config["generator"]["transformed"]:
        stems += [f"{column}_transformed" for column in VARIABLES]
    if config["generator"]["unrolled_2d"]:
        stems += [f"unrolled_2d_{a}_{b}" for a, b in VARIABLE_PAIRS]
    return stems


def learned_model_inputs():
    """parameters.yaml, architecture record and weights of a trained density."""
    return {
        "parameters": PATHS.parameters,
        "architecture": fill(PATHS.density_architecture, density=LEARNED),
        "weights": PATHS.flow_weights,
    }


def combined_generator_inputs(wildcards):
    """Validation sets, parameters and Asimov samples of every process in a category."""
    inputs = {}
    for process in PROCESSES:
        where = dict(model=process, category=wildcards.category)
        inputs[input_key("parameters", process, wildcards.category)] = fill(
            PATHS.parameters, **where
        )
        for val in VAL_ALL:
            inputs[input_key("validation", process, wildcards.category, val)] = fill(
                PATHS.validation, val=val, **where
            )
            inputs[input_key("asimov", process, wildcards.category, val)] = fill(
                PATHS.asimov, val=val, **where
            )
    return inputs


def evaluation_targets():
    """Plots that judge the learned densities (skipped with `evaluation: false`)."""
    if not config["evaluation"]:
        return []
    targets = []
    for process in PROCESSES:
        for category in CATEGORIES:
            where = dict(model=process, category=category)
            for column in VARIABLES:
                for split in ("train", "test"):
                    targets += plot_files(
                        fill(
                            PATHS.density_comparison_plot,
                            column=column,
                            split=split,
                            **where,
                        )
                    )
                targets += plot_files(
                    fill(PATHS.generator_summary_plot, column=column, **where)
                )
                targets += plot_files(fill(PATHS.flow_plot, column=column, **where))
                for val in VAL_ALL:
                    targets += plot_files(
                        fill(PATHS.generator_plot, val=val, column=column, **where)
                    )
            for val in VAL_ALL:
                for stem in generator_extra_stems():
                    targets += plot_files(
                        fill(PATHS.generator_extra_plot(stem), val=val, **where)
                    )
            for metric in EPOCH_METRICS:
                targets += plot_files(
                    fill(PATHS.epoch_metric_plot, metric=metric, **where)
                )
    if len(PROCESSES) > 1:
        for category in CATEGORIES:
            for val in VAL_ALL:
                for column in VARIABLES:
                    targets += plot_files(
                        fill(
                            PATHS.generator_combined_plot,
                            category=category,
                            val=val,
                            column=column,
                        )
                    )
    return targets


def generated_inputs():
    """Every input that make_benchmark or make_example writes (files and data)."""
    paths = [f for b in FILES for f in ANALYSIS.raw["files"][b]["inputs"]]
    return list(dict.fromkeys(paths + DATA_FILES))


def fill(pattern, **wildcards):
    """Fill some wildcards of a path pattern and keep the others."""
    return expand(pattern, allow_missing=True, **wildcards)[0]


def log_path(rule_name, *parts):
    """Log file of a job: one per rule and wildcard combination."""
    name = "_".join(f"{{{p}}}" for p in parts) if parts else "log"
    return fill(PATHS.log, rule=rule_name, name=name)


RESOURCE_KINDS = ("cpu", "gpu")


def resources(kind="cpu", mem_mb=2000, runtime=30):
    """Resources for a rule, in Snakemake's standard names and in the HTCondor plugin's.

    `mem_mb` is in MB and `runtime` in minutes (Snakemake's units). snakemake-executor-plugin-
    htcondor 0.3.x maps none of Snakemake's standard resources to the submit description, so
    each value is also given under the name the plugin reads: `htcondor_request_mem_mb`
    (-> request_memory), `classad_MaxRuntime` in seconds (-> +MaxRuntime) and, for
    kind="gpu", `request_gpus` (-> request_gpus) next to Snakemake's `gpu`. Only training
    asks for a GPU. A profile's `set-resources` must set both names of a value it changes.
    """
    if kind not in RESOURCE_KINDS:
        raise ValueError(
            f"resources(kind={kind!r}): kind must be one of {RESOURCE_KINDS}"
        )
    res = {
        "mem_mb": mem_mb,
        "runtime": runtime,
        "htcondor_request_mem_mb": mem_mb,
        "classad_MaxRuntime": runtime * 60,
    }
    if kind == "gpu":
        res["gpu"] = 1
        res["request_gpus"] = 1
    return res


def summary_targets():
    """The default targets; the summary of every fit set and the density plots."""
    targets = fit_targets()
    for val in VAL_FIT:
        targets += plot_files(fill(PATHS.density_plot, val=val))
    for process in PROCESSES:
        for category in CATEGORIES:
            targets += plot_files(
                fill(PATHS.loss_plot, model=process, category=category)
            )
    return targets + data_targets() + evaluation_targets()


def data_targets():
    """Data-side products: per-category data, pseudo-data and the input plots."""
    targets = []
    for category in CATEGORIES:
        if DATA_FILES:
            targets.append(fill(PATHS.data, category=category))
        targets.append(fill(PATHS.resampled_data, category=category))
    for process, category, dataset, columns in TRAINING_DATASETS:
        for column in columns:
            for view in TRAINING_VIEWS:
                targets += plot_files(
                    fill(
                        PATHS.input_training_plot(view),
                        model=process,
                        category=category,
                        dataset=dataset,
                        column=column,
                    )
                )
    for (process, category), varying in VARYING.items():
        for v in varying:
            for column in VARIABLES:
                targets += plot_files(
                    fill(
                        PATHS.input_validation_plot,
                        model=process,
                        category=category,
                        varying=v,
                        column=column,
                    )
                )
    return targets


def training_set_inputs(wildcards):
    """Train/test files and parameters of the training set an input plot shows."""
    where = dict(model=wildcards.model, category=wildcards.category)
    if wildcards.dataset == DENSITY_DATASET:
        return {
            "train": fill(PATHS.train, **where),
            "test": fill(PATHS.test, **where),
            "parameters": fill(PATHS.parameters, **where),
        }
    kind, parameter = wildcards.dataset.split("/")
    where.update(kind=kind, parameter=parameter)
    return {
        "train": fill(PATHS.aux_train, **where),
        "test": fill(PATHS.aux_test, **where),
        "parameters": fill(PATHS.aux_parameters, **where),
    }


def validation_plot_inputs(wildcards):
    """parameters.yaml and every validation set of one process in one category."""
    where = dict(model=wildcards.model, category=wildcards.category)
    return {
        "parameters": fill(PATHS.parameters, **where),
        "validation": [fill(PATHS.validation, val=v, **where) for v in VAL_ALL],
    }


def resample_inputs(wildcards):
    """Default-point validation sets of every process in a category, for pseudo-data."""
    inputs = {}
    for process in PROCESSES:
        where = dict(model=process, category=wildcards.category)
        inputs[input_key("parameters", process, wildcards.category)] = fill(
            PATHS.parameters, **where
        )
        inputs[input_key("validation", process, wildcards.category)] = fill(
            PATHS.validation, val=ANALYSIS.default_index, **where
        )
    return inputs


def load_data_inputs(wildcards):
    """The raw inputs of one `files` entry."""
    return ANALYSIS.raw["files"][wildcards.file]["inputs"]


def preprocess_inputs(wildcards):
    """LoadData outputs a process reads, keyed by `files` name."""
    return {
        base: fill(PATHS.loaded, file=base)
        for base in ANALYSIS.files_of_process(wildcards.model)
    }


def model_inputs(densities, vals):
    """Named inputs `<kind>__<process>__<category>[__<val|density>]` of fits and plots.

    Per process and category: parameters.yaml, the validation events of each point, and
    each density model (architecture record, plus weights for a trained flow).
    """
    inputs = {}
    for process in PROCESSES:
        for category in CATEGORIES:
            where = dict(model=process, category=category)
            inputs[input_key("parameters", process, category)] = fill(
                PATHS.parameters, **where
            )
            for val in vals:
                inputs[input_key("validation", process, category, val)] = fill(
                    PATHS.validation, val=val, **where
                )
            for density in densities:
                inputs[input_key("architecture", process, category, density)] = fill(
                    PATHS.density_architecture, density=density, **where
                )
                if density == LEARNED:
                    inputs[input_key("weights", process, category)] = fill(
                        PATHS.flow_weights, **where
                    )
    return inputs


class FitPoint(dict):
    """Wildcards of one fit, to reuse an input function from a rule that gathers many fits."""

    def __getattr__(self, name):
        return self[name]


def here(pattern, wildcards, **more):
    """A pattern filled with a job's wildcards: input functions' paths are used verbatim."""
    return fill(pattern, **{**dict(wildcards.items()), **more})


def fit_vals(fit):
    """Validation points a fit set fits: a data fit has one (the defaults are its truth)."""
    if FITS[fit]["data_type"] == "data":
        return [ANALYSIS.default_index]
    return VAL_FIT


def fit_inputs(wildcards):
    """Inputs of one fit: one validation point, one density source, and its events."""
    inputs = model_inputs([wildcards.density], [wildcards.val])
    data_type = FITS[wildcards.fit]["data_type"]
    for category in CATEGORIES:
        if data_type == "data":
            inputs[input_key("data", "all", category)] = fill(
                PATHS.data, category=category
            )
        for process in PROCESSES:
            if data_type == "asimov":
                inputs[input_key("asimov", process, category)] = fill(
                    PATHS.asimov, model=process, category=category, val=wildcards.val
                )
    return inputs


def parameters_inputs(wildcards):
    """parameters.yaml of every process and category (yields, trained ranges)."""
    return {
        input_key("parameters", p, c): fill(PATHS.parameters, model=p, category=c)
        for p in PROCESSES
        for c in CATEGORIES
    }


def hessian_input(wildcards):
    """The Hessian file the fit set's `hessian` option selects."""
    pattern = {
        "auto": PATHS.hessian,
        "autodiff": PATHS.hessian,
        "numerical": PATHS.fit_file("hessian_numerical.yaml"),
        "parallel": PATHS.fit_file("hessian_collected.yaml"),
    }[FITS[wildcards.fit]["hessian"]]
    return here(pattern, wildcards)


def summary_covariance_input(wildcards):
    """H⁻¹ or the sandwich covariance, as the fit set's `covariance` option says."""
    if FITS[wildcards.fit]["covariance"] == "dmatrix":
        return here(PATHS.fit_file("covariance_with_dmatrix.yaml"), wildcards)
    return here(PATHS.covariance, wildcards)


def free_parameters(fit):
    """Parameters a fit set leaves floating (frozen ones have no Hessian column)."""
    from innfer_lib.inference.freeze import frozen_parameters

    frozen = frozen_parameters(FITS[fit]["freeze"], ANALYSIS)
    return [p for p in ANALYSIS.fit_parameters if p not in frozen]


def hessian_column_inputs(wildcards):
    return [
        here(PATHS.hessian_column, wildcards, parameter=p)
        for p in free_parameters(wildcards.fit)
    ]


def scan_points_input(wildcards):
    source = FITS[wildcards.fit]["scan_points"]["from"]
    return here(PATHS.fit_file(f"scan/{{parameter}}/points_{source}.yaml"), wildcards)


def scan_point_inputs(wildcards):
    n_points = FITS[wildcards.fit]["scan_points"]["n_points"]
    return [here(PATHS.scan_point, wildcards, index=i) for i in range(n_points)]


def scan_2d_point_inputs(wildcards):
    n_points = FITS[wildcards.fit]["scan_2d"]["n_points"]
    return [here(PATHS.scan_2d_point, wildcards, index=i) for i in range(n_points**2)]


def postfit_model_inputs(wildcards):
    """The density (of the fit's source) of one process, for sampling at the best fit."""
    where = dict(model=wildcards.model, category=wildcards.category)
    inputs = {
        "parameters": fill(PATHS.parameters, **where),
        "architecture": fill(PATHS.density_architecture, **where),
    }
    if wildcards.density == LEARNED:
        inputs["weights"] = fill(PATHS.flow_weights, **where)
    return inputs


def postfit_inputs(wildcards):
    """Fitted events and post-fit samples of every process and category."""
    inputs = fit_inputs(wildcards)
    inputs["best_fit"] = here(PATHS.best_fit, wildcards)
    for p in PROCESSES:
        for c in CATEGORIES:
            inputs[input_key("postfit", p, c)] = here(
                PATHS.postfit_asimov, wildcards, model=p, category=c
            )
    return inputs


def fit_targets():
    """Summaries and tables, plus the scans, post-fit and debug files each fit set asks for."""
    targets = []
    for name in SUMMARIES:
        targets += [fill(PATHS.summary, summary=name)]
        targets += [fill(PATHS.summary_chi_squared, summary=name)]
        targets += plot_files(fill(PATHS.summary_plot, summary=name))
        for val in summary_vals(name):
            targets += plot_files(
                fill(PATHS.summary_per_val_plot, summary=name, val=val)
            )
    for fit, options in FITS.items():
        targets += table_files(fill(PATHS.results_table, fit=fit))
        for val in fit_vals(fit):
            for density in DENSITIES:
                where = dict(fit=fit, val=val, density=density)
                for p in options["scan"] or []:
                    targets += plot_files(fill(PATHS.scan_plot, parameter=p, **where))
                if options["approximate_uncertainty"]:
                    targets += [
                        fill(PATHS.approximate_uncertainty, parameter=p, **where)
                        for p in free_parameters(fit)
                    ]
                if options["scan_2d"]["parameters"]:
                    targets += plot_files(fill(PATHS.scan_2d_plot, **where))
                if options["likelihood_debug"]:
                    targets.append(
                        fill(PATHS.fit_file("likelihood_debug.yaml"), **where)
                    )
                if options["postfit"]:
                    targets += [
                        f
                        for c in CATEGORIES
                        for column in VARIABLES
                        for f in plot_files(
                            fill(PATHS.postfit_plot, category=c, column=column, **where)
                        )
                    ]
    return targets


def table_files(stem):
    """A results table is written as CSV and as markdown."""
    return [f"{stem}.csv", f"{stem}.md"]


def entry_vals(entry):
    """Validation points of a summary entry: a fit set, or an all-but-one family."""
    if entry in ALL_BUT_ONE_FAMILIES:
        return fit_vals(next(iter(ALL_BUT_ONE_FAMILIES[entry].values())))
    return fit_vals(entry)


def summary_vals(name):
    """Points every entry of a summary has (a data fit has only the default point)."""
    entries = SUMMARIES[name]["fits"]
    common = [
        v for v in entry_vals(entries[0]) if all(v in entry_vals(e) for e in entries)
    ]
    if not common:
        raise WorkflowError(f"summaries.{name}: its fit sets share no validation point")
    return common


def entry_result(entry, density, val):
    """The result file of one summary series at one point."""
    if entry in ALL_BUT_ONE_FAMILIES:
        return fill(PATHS.all_but_one_result, base=entry, density=density, val=val)
    return fill(PATHS.fit_result, fit=entry, density=density, val=val)


def summary_result_inputs(name, vals):
    """Result files of a summary's series, keyed `<entry>__<density>__<val>`."""
    options = SUMMARIES[name]
    return {
        input_key(entry, density, str(val)): entry_result(entry, density, val)
        for entry in options["fits"]
        for density in options["densities"]
        for val in vals
    }


def interval_inputs(wildcards):
    """The uncertainty files a fit's result reads, as its fit set's `summary_from` says."""
    options = FITS[wildcards.fit]
    source = options["summary_from"]
    if source == "covariance":
        return [summary_covariance_input(wildcards)]
    if source == "scan":
        if not options["scan"]:
            raise WorkflowError(
                f"fits.{wildcards.fit}: summary_from 'scan' needs `scan` (a list or 'pois')"
            )
        return [
            here(PATHS.scan_result, wildcards, parameter=p) for p in options["scan"]
        ]
    return [
        here(PATHS.approximate_uncertainty, wildcards, parameter=p)
        for p in free_parameters(wildcards.fit)
    ]


# The fit-set options that define the likelihood and its minimisation: the only ones a fit job
# gets as params, so that adding a scan or switching the covariance source reruns only the jobs
# that these options feed (Snakemake reruns a job whose params changed).
PROBLEM_KEYS = (
    "data_type",
    "split",
    "likelihood",
    "scale_to_eff_events",
    "freeze",
    "constraints",
    "minimiser",
)


def fit_params(wildcards):
    fit = FITS[wildcards.fit]
    return {key: fit[key] for key in PROBLEM_KEYS if key in fit}


def fit_option(key):
    """A params function giving one fit-set option to the one rule that reads it."""
    return lambda wildcards: FITS[wildcards.fit][key]


# `snakemake --report report.html`: every plot is registered by its PNG, which the report shows
# inline; the PDF beside it is the print copy and stays out (the report's tables key entries
# by their labels, so a second entry per plot would collide with the first).
REPORT_STAGES = {
    "data": "1 Data",
    "density": "2 Density models",
    "evaluation": "3 Density evaluation",
    "inference": "4 Fits and scans",
    "summary": "5 Summaries",
    "impacts": "6 Impacts",
}
REPORT_CAPTIONS = REPO / "workflow" / "report"


def report_plots(files, caption, category, subcategory=None, labels=None):
    """`files` (from `plot_files`) with each PNG wrapped in `report(...)`, PDFs unchanged.

    caption: an .rst file under workflow/report/ ("data/input_plot_training.rst"); it may use
        the job's wildcards as {{ snakemake.wildcards.<name> }}.
    category: the stage, a value of REPORT_STAGES.
    subcategory: a string that may hold the job's wildcards ("{model}").
    labels: the columns of the report's table, {name: value} (or a function of the job's
        wildcards returning one), the first being "plot" (the kind of plot); values may hold
        the job's wildcards. They must tell apart every plot of one category and subcategory.

    Captions say what the plot shows and, under "What to look for", what a good result looks
    like; tests/workflow/test_report.py checks these conventions for every rule file.
    """
    if not (REPORT_CAPTIONS / caption).is_file():
        raise WorkflowError(f"report caption workflow/report/{caption} does not exist")
    if category not in REPORT_STAGES.values():
        raise WorkflowError(
            f"report category {category!r} is not a stage of REPORT_STAGES"
        )
    # Relative to rules/, the directory of every .smk file with plots, as Snakemake joins a
    # caption path with the directory of the file that defines the job.
    caption_path = f"../workflow/report/{caption}"

    def flagged(f):
        if not f.endswith(".png"):
            return f
        return report(
            f,
            caption=caption_path,
            category=category,
            subcategory=subcategory,
            labels=labels,
        )

    return [flagged(f) for f in files]


def generator_extra_views():
    """Caption and report labels of each optional generator view, keyed by its file stem.

    In the order of `generator_extra_stems`: (caption, plot, variable).
    """
    views = {}
    if config["generator"]["transformed"]:
        for column in VARIABLES:
            views[f"{column}_transformed"] = (
                "evaluation/generator_transformed.rst",
                "generator, standardised",
                column,
            )
    if config["generator"]["unrolled_2d"]:
        for a, b in VARIABLE_PAIRS:
            views[f"unrolled_2d_{a}_{b}"] = (
                "evaluation/generator_unrolled_2d.rst",
                "generator, unrolled 2-D",
                f"{a} in slices of {b}",
            )
    assert list(views) == generator_extra_stems()
    return views
