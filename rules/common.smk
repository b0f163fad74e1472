"""Config -> analysis model, path helpers, input and params functions, targets, resources.

Everything that decides the shape of the DAG is computed here, at parse time, from the
workflow config and the analysis config, so `snakemake -n` lists every job. The helpers are
ordered by stage: config, data, density, evaluation, inference, summary, impacts, report;
the last section computes each stage's target list once, for the stage rules and `rule all`.
"""

import functools
import re
import sys
import types
from pathlib import Path

REPO = Path(workflow.basedir).parent
sys.path.insert(0, str(REPO / "scripts"))

from innfer_lib.core.analysis import AUX_KINDS, load_analysis, rate_parameter
from innfer_lib.core.analysis_checks import check_weight_variations
from innfer_lib.data.loading import check_weight_shifts_modelled
from innfer_lib.core.analysis_slices import (
    CONSTRAINTS,
    OBSERVED_DATA,
    PLOT_LABELS,
    analysis_slice,
)
from innfer_lib.core.config_files import ConfigKeyError, Problem, read_config_file
from innfer_lib.core.constraints import constrained_parameters
from innfer_lib.core.errors import InnferError
from innfer_lib.core.fit_sets import (
    BINNED_LIKELIHOODS,
    RESAMPLED,
    RESAMPLED_SPLIT,
    SCAN_FROM_INPUT,
    all_but_one_families,
    expand_fit_sets,
    fit_set_vals,
    processes_frozen,
    scan_plot_sets,
    scan_values_count,
    summary_sets,
    reported_parameters,
    toy_job_minutes,
    toy_options,
)
from innfer_lib.core.point_batches import (
    POINT_WILDCARDS,
    point_input_key,
    point_wildcards,
    split_points,
)
from innfer_lib.core.paths import (
    ALL_POINTS,
    DENSITY_DATASET,
    TRAINING_VIEWS,
    Paths,
    ensemble_member,
    ensemble_member_index,
    input_key,
    plot_files,
)
from innfer_lib.density.ensemble import ENSEMBLE_KEY, ensemble_size
from innfer_lib.density.models import LEARNED, TRUE
from innfer_lib.density.performance import (
    MetricOptions,
    density_validation_indices,
    summary_metric_keys,
)
from innfer_lib.density.pvalues import pvalue_keys, toy_batches
from innfer_lib.inference.toys import n_batches as n_toy_batches
from innfer_lib.density.scan_space import (
    SEARCHES,
    TRIAL_OVERRIDES,
    MetricChoice,
    read_search,
)
from innfer_lib.core.workflow_config import (
    check_validation_indices,
    check_workflow_config,
    config_layers,
    fill_workflow_defaults,
    replace_user_blocks,
)
from innfer_lib.density.training_options import (
    check_density_options,
    resolve_training_options,
)
from innfer_lib.ratios.fcnn_options import (
    PLAIN_CLASSIFIER,
    check_classifier_type,
    check_fcnn_options,
)
from innfer_lib.ratios.pruning import CLASSIFIER_METRICS, check_thresholds
from innfer_lib.results.ensemble import member_input, result_input
from innfer_lib.ratios.loading import ratio_model_files
from innfer_lib.inference.fit_inputs import RATIO_INPUT_FIELDS
from innfer_lib.inference.freeze import check_fit_set_freezes, frozen_parameters
from innfer_lib.inference.impacts import REFIT, SHIFTS, impacted_pois, refit_parameters
from innfer_lib.data.sim_to_data import BLOCK as SIM_TO_DATA_BLOCK, sim_to_data_options

# ------------------------------------------------------------------------------------ config

# The layers Snakemake merged (config/config.yaml, --configfile files, --config values), kept
# apart so a user's `fits:`/`summaries:` replace the default blocks and errors name the file.
_WORKFLOW_FILES = (
    [] if workflow.config_settings.replace_workflow_config else workflow.configfiles
)
try:
    LAYERS = config_layers(
        _WORKFLOW_FILES,
        workflow.overwrite_configfiles,
        workflow.config_settings.config,
    )
except InnferError as err:
    raise WorkflowError(str(err)) from None
replace_user_blocks(config, LAYERS.user_config())


def config_error(path, message):
    """A workflow-config error at a key path, naming the file that set the key."""
    return WorkflowError(LAYERS.problem(Problem(tuple(path), message)))


try:
    check_workflow_config(config, LAYERS)
except InnferError as err:
    raise WorkflowError(str(err)) from None
fill_workflow_defaults(config)

# An analysis config given on the command line overrides the embedded benchmark.
BENCHMARK = None if config.get("analysis") else config.get("benchmark")
# An example analysis whose inputs a rule generates (config/examples/*/workflow.yaml).
EXAMPLE = config.get("example") if config.get("analysis") else None
if config.get("analysis") and not Path(config["analysis"]).is_file():
    raise config_error(("analysis",), f"no such file: {config['analysis']}")


def _load_analysis():
    if BENCHMARK:
        from innfer_lib.data.benchmarks import benchmark_analysis_config

        name = f"Benchmark_{BENCHMARK['name']}"
        paths = Paths.for_analysis(config["results_dir"], name)
        return load_analysis(benchmark_analysis_config(BENCHMARK, paths.benchmark_dir))
    return load_analysis(config["analysis"])


def _check_architecture():
    """The architecture file and the overrides, each checked on its own, then merged.

    Returns the merged mapping: its `ensemble` decides how many flows are trained.
    """
    where = LAYERS.source_of(("density_architecture_overrides",))
    overrides = config["density_architecture_overrides"]
    try:
        check_density_options(overrides)
    except ValueError as err:
        raise WorkflowError(f"{where}: density_architecture_overrides.{err}") from None
    path = config["density_architecture"]
    search = SEARCHES.get(path)
    if search:
        # The flow trains from the search's best point, known only once the search ran; the
        # keys that decide jobs (ensemble, save_model_per_epoch) cannot be searched, so the
        # search's first point (checked by _search_space) has every trial's values of them.
        path = config[search]["architecture"]
        architecture = SEARCH_SPACES[search][1]
    elif not Path(path).is_file():
        raise config_error(
            ("density_architecture",),
            f"no such file: {path} (or one of {sorted(SEARCHES)}: the best point of a search)",
        )
    else:
        try:
            architecture = read_config_file(path)
            check_density_options(architecture)
        except (ValueError, InnferError) as err:
            raise WorkflowError(f"{path}: {err}") from None
    merged = {**architecture, **overrides}
    try:
        check_density_options(merged)
    except ValueError as err:
        raise WorkflowError(
            f"{path} with density_architecture_overrides from {where}: {err}"
        ) from None
    return merged


def _search_space(search):
    """A search's scan file (`hyperparameter_scan` or `bayesian_tuning`), read and checked
    once: (grid points or Bayesian dimensions, the architecture of its first point)."""
    path = config[search]["architecture"]
    if not Path(path).is_file():
        raise config_error((search, "architecture"), f"no such file: {path}")
    try:
        return read_search(read_config_file(path), search, path)
    except (ValueError, InnferError) as err:
        raise config_error((search, "architecture"), str(err)) from None


def _check_fcnn_architecture(kind):
    """The regression or classifier architecture file and its overrides, like the density's
    (issue 15)."""
    key = f"{kind}_architecture"
    where = LAYERS.source_of((f"{key}_overrides",))
    overrides = config[f"{key}_overrides"]
    try:
        check_fcnn_options(overrides, kind)
    except ValueError as err:
        raise WorkflowError(f"{where}: {key}_overrides.{err}") from None
    path = config[key]
    if not Path(path).is_file():
        raise config_error((key,), f"no such file: {path}")
    try:
        architecture = read_config_file(path)
        check_fcnn_options(architecture, kind)
        check_fcnn_options({**architecture, **overrides}, kind)
    except (ValueError, InnferError) as err:
        raise WorkflowError(f"{path}: {err}") from None


def _check_prune_classifier_models():
    """`prune_classifier_models`: {metric: threshold} of evaluate_classifier's metrics."""
    thresholds = config["prune_classifier_models"]
    try:
        limits = check_thresholds(thresholds)
    except ValueError as err:
        raise config_error(("prune_classifier_models",), str(err)) from None
    for metric in limits:
        if metric not in CLASSIFIER_METRICS:
            raise config_error(
                ("prune_classifier_models", metric),
                f"not a classifier metric; expected one of {list(CLASSIFIER_METRICS)}",
            )
    return limits


try:
    ANALYSIS = _load_analysis()
except InnferError as err:
    raise WorkflowError(str(err)) from None

try:
    check_weight_variations(ANALYSIS)
    check_weight_shifts_modelled(ANALYSIS)
except InnferError as err:
    raise WorkflowError(str(err)) from None

PATHS = Paths.for_analysis(config["results_dir"], ANALYSIS.name)
CATEGORIES = list(ANALYSIS.categories)
PROCESSES = ANALYSIS.processes
FILES = list(ANALYSIS.raw["files"])
VARIABLES = ANALYSIS.variables
DATA_FILES = ANALYSIS.data_files
if not (BENCHMARK or EXAMPLE):
    # No rule makes these files, so a missing one is a config error, named by its key.
    for _key, _path in ANALYSIS.input_files().items():
        if not Path(_path).is_file():
            raise WorkflowError(f"{ANALYSIS.source}: {_key}: no such file: {_path}")
VAL_ALL = list(range(len(ANALYSIS.validation_points)))
VAL_FIT = config.get("validation_indices", VAL_ALL)
DENSITIES = config.get("densities") or ([LEARNED, TRUE] if BENCHMARK else [LEARNED])
if TRUE in DENSITIES and not BENCHMARK:
    raise config_error(
        ("densities",),
        "'truth' needs a benchmark (an analysis has no analytic density)",
    )
# The merged architecture decides jobs and outputs at parse time: `ensemble: K` flows per
# process and category, member 0 the main flow (`learned`) and members 1..K-1 the densities
# ENSEMBLE_MEMBERS (innfer_lib.density.ensemble), each fitted once per fit set and point for
# the ensemble summary (K = 1, the default, adds no job); `save_model_per_epoch` the
# per-epoch models and their metrics.
SEARCH_SPACES = {search: _search_space(search) for search in SEARCHES.values()}
ARCHITECTURE = _check_architecture() if LEARNED in DENSITIES else {}
ENSEMBLE = ensemble_size(ARCHITECTURE)
ENSEMBLE_MEMBERS = [ensemble_member(k) for k in range(1, ENSEMBLE)]
SAVE_EPOCHS = bool(
    ARCHITECTURE and resolve_training_options(ARCHITECTURE)["save_model_per_epoch"]
)
# Every value of the {density} wildcard: the fitted sources and the ensemble members.
DENSITY_NAMES = [LEARNED, TRUE, *ENSEMBLE_MEMBERS]
# The overrides a training job sees: `ensemble` counts jobs, and leaving it out of the params
# keeps the main flow's job (and its trained weights) unchanged when an ensemble is turned on.
TRAINING_OVERRIDES = {
    k: v
    for k, v in config["density_architecture_overrides"].items()
    if k != ENSEMBLE_KEY
}
_check_fcnn_architecture("regression")
_check_fcnn_architecture("classifier")
# Used by the fits and MakeAsimov (through innfer_lib.ratios.pruning.pruned) to drop a
# classifier whose metrics are all at or below these thresholds.
PRUNE_CLASSIFIER_MODELS = _check_prune_classifier_models()
try:
    check_validation_indices(VAL_FIT, len(VAL_ALL))
    check_fit_set_freezes(config["fits"], ANALYSIS)
    FITS = expand_fit_sets(config["fits"], ANALYSIS)
    ALL_BUT_ONE_FAMILIES = all_but_one_families(FITS)
    SUMMARIES = summary_sets(config.get("summaries"), FITS, DENSITIES)
    SCAN_PLOTS = scan_plot_sets(config.get("scan_plots"), FITS, DENSITIES)
    # `sim_to_data`: factors per group of categories (and with `apply`, normalised yields).
    SIM_TO_DATA = (
        sim_to_data_options(config[SIM_TO_DATA_BLOCK], CATEGORIES, PROCESSES)
        if SIM_TO_DATA_BLOCK in config
        else None
    )
except ConfigKeyError as err:
    raise WorkflowError(LAYERS.problem(err.problem)) from None
except InnferError as err:
    raise WorkflowError(str(err)) from None
if SIM_TO_DATA and not DATA_FILES:
    raise config_error(
        (SIM_TO_DATA_BLOCK,),
        f"normalises the simulation to the observed data, but {ANALYSIS.source} has no "
        "data_file",
    )

# Every (process, category) pair: what `expand` fills per-model patterns with.
PER_MODEL = dict(model=PROCESSES, category=CATEGORIES)
SPLITS = ("train", "test")


def fill(pattern, **wildcards):
    """Fill some wildcards of a path pattern and keep the others."""
    return expand(pattern, allow_missing=True, **wildcards)[0]


def here(pattern, wildcards, **more):
    """A pattern filled with a job's wildcards: input functions' paths are used verbatim."""
    return fill(pattern, **{**dict(wildcards.items()), **more})


def _density_warm_starts():
    """`density_warm_start`, checked: {(process, category): weights file} of existing files.

    A file named after this run's own flow output would make training its own input (a
    cycle, and a rerun that starts from whatever the last run left), so it is refused.
    """
    starts = {}
    for process, pattern in config["density_warm_start"].items():
        key = ("density_warm_start", process)
        if process not in PROCESSES:
            raise config_error(
                key, f"not a process of the analysis; expected one of {PROCESSES}"
            )
        if LEARNED not in DENSITIES:
            raise config_error(
                key, "no flow is trained: `densities` leaves out 'learned'"
            )
        for category in CATEGORIES:
            path = pattern.replace("{category}", category)
            if "{" in path or "}" in path:
                raise config_error(
                    key,
                    f"{pattern}: the only placeholder a path may hold is {{category}}",
                )
            if not Path(path).is_file():
                raise config_error(
                    key, f"no such weights file: {path} (category {category})"
                )
            own = fill(PATHS.flow_weights, model=process, category=category)
            if Path(path).resolve() == Path(own).resolve():
                raise config_error(
                    key,
                    f"{path} is this run's own trained flow; copy it elsewhere to start from it",
                )
            starts[(process, category)] = path
    return starts


DENSITY_WARM_STARTS = _density_warm_starts()


def per_model_inputs(
    kind, pattern, categories=CATEGORIES, key=(), processes=PROCESSES, **wildcards
):
    """Named inputs `input_key(kind, process, category, *key)` of every process in `categories`.

    Each is `pattern` filled with that process and category and `wildcards`; the scripts look
    the files up with the same `input_key`. Rules that read every process (fits, density and
    combined plots, pseudo-data) build their named inputs from these.
    """
    return {
        input_key(kind, process, category, *key): fill(
            pattern, model=process, category=category, **wildcards
        )
        for process in processes
        for category in categories
    }


def log_path(rule_name, *parts):
    """Log file of a job: one per rule and wildcard combination."""
    name = "_".join(f"{{{p}}}" for p in parts) if parts else "log"
    return fill(PATHS.log, rule=rule_name, name=name)


RESOURCE_KINDS = ("cpu", "gpu")

# Cores a density's training and evaluation jobs (training, sampling, Asimov, performance
# metrics, p-values) and a ratio model's (regressions, classifiers) reserve, and the size of
# their TensorFlow thread pools (start_job), so that two jobs on two cores do not run four
# busy threads. A job that reserved both cores of a laptop waited until both were free at once:
# the top-mass example's first regression, ready after 88 s, started after 1531 s. In the README run
# these jobs spend much of their time importing TensorFlow and tracing, on one core, and
# training took 53.9 s with one thread against 48.5 s with two: reserving both cores of a
# laptop idled one of them. A cluster slot gets the cores it asks for, so profiles/htcondor
# asks 2 for these rules (`set-threads`), as before.
DENSITY_JOB_THREADS = 1
# The jobs a run cannot shorten by packing: the training of each density (and the loading and
# preprocessing it waits for), then the fits that wait for it. Snakemake starts the job of the
# highest priority among those ready first, and gives no weight to what a job unblocks: without
# these, the top-mass example preprocessed its second process only after 80 s of plots, and
# loaded its ttbar file after 160 s.
PRIORITY_TRAINING = 2
PRIORITY_FITS = 1


def resources(kind="cpu", mem_mb=2000, runtime=30):
    """Resources for a rule, in Snakemake's standard names and in the HTCondor plugin's.

    `mem_mb` is in MB and `runtime` in minutes (Snakemake's units). snakemake-executor-plugin-
    htcondor 0.3.x maps none of Snakemake's standard resources to the submit description, so
    each value is also given under the name the plugin reads: `htcondor_request_mem_mb`
    (-> request_memory), `classad_MaxRuntime` in seconds (-> +MaxRuntime) and, for
    kind="gpu", `request_gpus` (-> request_gpus) next to Snakemake's `gpu`. Training asks for
    a GPU, and so do the fit-stage rules (FIT_RESOURCES) with `fit_gpu: true`. A profile's
    `set-resources` must set both names of a value it changes.
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


# Every rule whose script reads the analysis config gets the slice of it that the script reads
# (innfer_lib.core.analysis_slices), never the whole config: Snakemake reruns a job whose params
# changed, so a plot label reaches the plot jobs only and a file's selection only its jobs.
ANALYSIS_FRAME = analysis_slice(ANALYSIS)
ANALYSIS_FOR_PLOTS = analysis_slice(ANALYSIS, PLOT_LABELS)
ANALYSIS_FOR_FITS = analysis_slice(ANALYSIS, CONSTRAINTS)
ANALYSIS_FOR_FIT_PLOTS = analysis_slice(ANALYSIS, CONSTRAINTS, PLOT_LABELS)
ANALYSIS_FOR_OBSERVED_DATA = analysis_slice(ANALYSIS, OBSERVED_DATA)


def loading_analysis(wildcards):
    """The analysis slice LoadData of one `files` entry reads."""
    return analysis_slice(ANALYSIS, file=wildcards.file)


def preprocessing_analysis(wildcards):
    """The analysis slice PreProcess of one process reads."""
    return analysis_slice(ANALYSIS, process=wildcards.model)


# -------------------------------------------------------------------------------------- data


def generated_inputs():
    """Every input that make_benchmark or make_example writes (files and data)."""
    paths = [f for b in FILES for f in ANALYSIS.raw["files"][b]["inputs"]]
    return list(dict.fromkeys(paths + DATA_FILES))


# With `sim_to_data.apply`, PreProcess writes its parameters.yaml beside the one that
# apply_sim_to_data_factors writes with normalised yields. Training reads PreProcess's own (a
# flow learns shapes, and new data must not retrain it); everything else reads PATHS.parameters.
PREPROCESS_PARAMETERS = (
    PATHS.parameters_before_sim_to_data
    if SIM_TO_DATA and SIM_TO_DATA.apply
    else PATHS.parameters
)


def load_data_inputs(wildcards):
    """The raw inputs of one `files` entry."""
    return ANALYSIS.raw["files"][wildcards.file]["inputs"]


def preprocess_inputs(wildcards):
    """LoadData outputs a process reads, keyed by `files` name."""
    return {
        base: fill(PATHS.loaded, file=base)
        for base in ANALYSIS.files_of_process(wildcards.model)
    }


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
COLUMNS = sorted({c for s in TRAINING_DATASETS for c in s[3]})
VARYING = {
    (process, category): [ALL_POINTS] + ANALYSIS.varied_alone(process)
    for process in PROCESSES
    for category in CATEGORIES
}


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
    """The validation sets of every process in a category at one point, for pseudo-data."""
    category = [wildcards.category]
    return {
        **per_model_inputs("parameters", PATHS.parameters, category),
        **per_model_inputs("validation", PATHS.validation, category, val=wildcards.val),
    }


def sim_to_data_inputs(wildcards):
    """Observed data and PreProcess's parameters.yaml of every process in a group's categories."""
    categories = SIM_TO_DATA.names[wildcards.group]
    inputs = {
        input_key("data", "all", c): fill(PATHS.data, category=c) for c in categories
    }
    return inputs | per_model_inputs("parameters", PREPROCESS_PARAMETERS, categories)


def apply_sim_to_data_inputs(wildcards):
    """PreProcess's parameters.yaml and the factors of the category's group (none: factor 1)."""
    inputs = {"parameters": here(PATHS.parameters_before_sim_to_data, wildcards)}
    group = SIM_TO_DATA.group_of(wildcards.category)
    if group is not None:
        inputs["factors"] = fill(PATHS.sim_to_data_factors, group=group)
    return inputs


def data_targets():
    """The data stage: preprocessed sets, per-category data, sim-to-data factors, input plots."""
    targets = expand([PATHS.train, PATHS.test, PATHS.parameters], **PER_MODEL)
    targets += expand(PATHS.validation, val=VAL_ALL, **PER_MODEL)
    for process, category, dataset, columns in TRAINING_DATASETS:
        if dataset != DENSITY_DATASET:
            kind, parameter = dataset.split("/")
            targets += expand(
                [PATHS.aux_train, PATHS.aux_test, PATHS.aux_parameters],
                model=process,
                category=category,
                kind=kind,
                parameter=parameter,
            )
        targets += expand(
            [
                f
                for view in TRAINING_VIEWS
                for f in plot_files(PATHS.input_training_plot(view))
            ],
            model=process,
            category=category,
            dataset=dataset,
            column=columns,
        )
    if DATA_FILES:
        targets += expand(PATHS.data, category=CATEGORIES)
    # Pseudo-data are built for the `data_type: resampled` fit sets that read them, not here.
    if SIM_TO_DATA:
        targets += expand(PATHS.sim_to_data_factors, group=list(SIM_TO_DATA.names))
    for (process, category), varying in VARYING.items():
        targets += expand(
            plot_files(PATHS.input_validation_plot),
            model=process,
            category=category,
            varying=varying,
            column=VARIABLES,
        )
    return targets


# ----------------------------------------------------------------------------------- density


def is_trained(density):
    """Whether a density is a trained flow: the main one or an ensemble member."""
    return density == LEARNED or density in ENSEMBLE_MEMBERS


def learned_model_inputs():
    """parameters.yaml, architecture record and weights of a trained density."""
    return {
        "parameters": PATHS.parameters,
        "architecture": fill(PATHS.density_architecture, density=LEARNED),
        "weights": PATHS.flow_weights,
    }


# -- ratio models (regression, classifier) of weight-only nuisances (issue 15) --
def ratio_inputs(process, category, density=LEARNED):
    """Named inputs `<kind>_{model,architecture,spline,parameters}__<process>__<category>__<ν>`.

    Every regression and classifier model of the process in the category
    (`ratios.loading.ratio_model_files`), for a learned density only: the benchmark's truth
    already depends on its weight-only nuisances. A pruned classifier is still an input: its
    spline file says it is pruned. Ensemble members share the main flow's ratio models (one
    regression or classifier per nuisance), so their spread is the density flow's alone.
    """
    if not is_trained(density):
        return {}
    inputs = {}
    for param, files in ratio_model_files(ANALYSIS, PATHS, process, category).items():
        for name, field in RATIO_INPUT_FIELDS.items():
            key = input_key(f"{files.kind}_{name}", process, category, param)
            inputs[key] = getattr(files, field)
    return inputs


def job_ratio_inputs(wildcards):
    """The ratio models of one (model, category) job of a learned density."""
    return ratio_inputs(wildcards.model, wildcards.category)


def model_inputs(densities, vals, processes=PROCESSES):
    """Named inputs `<kind>__<process>__<category>[__<val|density>]` of fits and plots.

    Per process (of `processes`, default all) and category: parameters.yaml, the validation
    events of each point, and each density model (architecture record, plus weights for a
    trained flow or an ensemble member, the latter keyed by its density).
    """
    per_model = functools.partial(per_model_inputs, processes=processes)
    inputs = per_model("parameters", PATHS.parameters)
    for val in vals:
        inputs |= per_model("validation", PATHS.validation, key=[val], val=val)
    for density in densities:
        inputs |= per_model(
            "architecture", PATHS.density_architecture, key=[density], density=density
        )
    if LEARNED in densities:
        inputs |= per_model("weights", PATHS.flow_weights)
        for process in processes:
            for category in CATEGORIES:
                inputs |= ratio_inputs(process, category)
    for member in (d for d in densities if d in ENSEMBLE_MEMBERS):
        inputs |= per_model(
            "weights", PATHS.member_weights, key=[member], density=member
        )
        for process in processes:
            for category in CATEGORIES:
                inputs |= ratio_inputs(process, category, member)
    return inputs


def training_targets():
    """The density stage: every density model the fits use, with the training-loss plots.

    The flows only when the fits use the learned density: `densities: [truth]` trains
    nothing (a job that needs a flow anyway, such as the evaluation plots, pulls it in).
    """
    targets = []
    if LEARNED in DENSITIES:
        targets += expand(
            [PATHS.flow_weights, PATHS.training_history, *plot_files(PATHS.loss_plot)],
            **PER_MODEL,
        )
    targets += expand(PATHS.density_architecture, density=DENSITIES, **PER_MODEL)
    targets += expand(
        [PATHS.member_weights, PATHS.member_history, PATHS.density_architecture],
        density=ENSEMBLE_MEMBERS,
        **PER_MODEL,
    )
    # Regressions of weight-ratio nuisances: the model and its normalisation spline.
    return (
        targets
        + regression_targets(
            [
                PATHS.regression_model,
                PATHS.regression_history,
                PATHS.regression_spline,
                *plot_files(PATHS.regression_loss_plot),
            ]
        )
        + classifier_training_targets()
    )


# ------------------------------------------------------------------ weight-ratio regressions

# (process, category, nuisance) of every regression model: one train/evaluate/plot job each.
REGRESSIONS = [
    (process, category, parameter)
    for process in PROCESSES
    for category in CATEGORIES
    for parameter in ANALYSIS.aux_entries(process, "regression", category)
]


def regression_set(name):
    """The PreProcess output `name` (aux_train, aux_test, aux_parameters) of a regression."""
    return fill(getattr(PATHS, name), kind="regression")


def regression_targets(patterns, **wildcards):
    """`patterns` filled for every regression model."""
    return [
        f
        for process, category, parameter in REGRESSIONS
        for f in expand(
            patterns, model=process, category=category, parameter=parameter, **wildcards
        )
    ]


def per_column_plots(pattern, split, caption=None, label=None):
    """Plot files of one ratio model (wildcards kept): per variable and ν, for one split.

    Output patterns cannot depend on wildcards, so the ν column is the `{parameter}`
    wildcard itself, repeated in the pattern. With a caption the PNGs go to the report
    (evaluation stage), labelled `label` with the column and split.
    """
    files = []
    for column in VARIABLES + ["{parameter}"]:
        plots = plot_files(fill(pattern, column=column, split=split))
        if caption:
            labels = {
                "plot": label,
                "category": "{category}",
                "parameter": "{parameter}",
                "column": column,
                "split": split,
            }
            plots = report_plots(
                plots, caption, REPORT_STAGES["evaluation"], "{model}", labels
            )
        files += plots
    return files


def ratio_model_plots(pattern, caption, label):
    """A ratio model's own plot (loss, spline) in the report's density stage."""
    labels = {"plot": label, "category": "{category}", "parameter": "{parameter}"}
    return report_plots(
        plot_files(pattern), caption, REPORT_STAGES["density"], "{model}", labels
    )


def regression_average_plots(split="{split}", caption=None):
    """plot_regression's average-weight plot files of one regression."""
    return per_column_plots(
        PATHS.regression_average_plot, split, caption, "regression average weight"
    )


def regression_plots():
    """plot_regression's files of every regression model."""
    patterns = [
        *(f for split in SPLITS for f in regression_average_plots(split)),
        *plot_files(PATHS.regression_spline_plot),
    ]
    return regression_targets(patterns)


# ------------------------------------------------------------------ weight-ratio classifiers

# (process, category, nuisance) of every classifier model: one job of each rule per entry.
CLASSIFIERS = [
    (process, category, parameter)
    for process in PROCESSES
    for category in CATEGORIES
    for parameter in ANALYSIS.aux_entries(process, "classifier", category)
]


def _check_classifier_types():
    """`classifier_types` {nuisance: type}: the nuisances must have classifier models."""
    parameters = {parameter for _, _, parameter in CLASSIFIERS}
    for parameter, value in config["classifier_types"].items():
        if parameter not in parameters:
            raise config_error(
                ("classifier_types", parameter),
                f"no classifier model of '{parameter}' in the analysis; classifier models: "
                f"{sorted(parameters)}",
            )
        try:
            check_classifier_type(value, f"classifier_types.{parameter}")
        except ValueError as err:
            raise config_error(("classifier_types", parameter), str(err)) from None
    architecture = {
        **read_config_file(config["classifier_architecture"]),
        **config["classifier_architecture_overrides"],
    }
    return architecture.get("type", PLAIN_CLASSIFIER)


# The architecture file's `type` is every classifier's, unless `classifier_types` names another
# for its nuisance (INNFER's --change-classifier-type-from-parameter).
CLASSIFIER_DEFAULT_TYPE = _check_classifier_types()


def classifier_type(parameter):
    """How the classifier of `parameter` is used: plain or a two/three-point interpolation."""
    return config["classifier_types"].get(parameter, CLASSIFIER_DEFAULT_TYPE)


def classifier_set(name):
    """The PreProcess output `name` (aux_train, aux_test, aux_parameters) of a classifier."""
    return fill(getattr(PATHS, name), kind="classifier")


def classifier_targets(patterns, **wildcards):
    """`patterns` filled for every classifier model."""
    return [
        f
        for process, category, parameter in CLASSIFIERS
        for f in expand(
            patterns, model=process, category=category, parameter=parameter, **wildcards
        )
    ]


def classifier_training_targets():
    """The train stage of classifiers: model, history, loss plot, metrics (which pruning
    reads) and normalisation spline with its plot."""
    return classifier_targets(
        [
            PATHS.classifier_model,
            PATHS.classifier_history,
            PATHS.classifier_metrics,
            PATHS.classifier_spline,
            *plot_files(PATHS.classifier_loss_plot),
            *plot_files(PATHS.classifier_spline_plot),
        ]
    )


def classifier_reweighting_plots(split="{split}", caption=None):
    """plot_classifier's reweighting plot files of one classifier."""
    return per_column_plots(
        PATHS.classifier_reweighting_plot, split, caption, "classifier reweighting"
    )


def classifier_plots():
    """plot_classifier's files of every classifier model."""
    return classifier_targets(
        [f for split in SPLITS for f in classifier_reweighting_plots(split)]
    )


# -------------------------------------------------------------------------------- evaluation

# -------------------------------------------- density performance metrics, p-values (issue 16)

try:
    METRIC_OPTIONS = MetricOptions.from_config(config["density_performance_metrics"])
except InnferError as err:
    raise config_error(("density_performance_metrics",), str(err)) from None
# One number per dataset: what the per-epoch and p-value plots show, one plot per key.
METRIC_KEYS = summary_metric_keys(METRIC_OPTIONS, VARIABLES)
PVALUE_KEYS = pvalue_keys(config["pvalues"], METRIC_OPTIONS.multidim, VARIABLES)
TOY_BATCHES = toy_batches(config["pvalues"]["toys"], config["pvalues"]["toys_per_job"])

# ------------------------------------------------------ hyperparameter searches (issue 17)

# Every trial's metrics include the loss family, as INNFER's tuning always computed it, so the
# default ranking metric `loss_test` exists whatever density_performance_metrics chooses.
SEARCH_METRIC_CONFIG = {
    **config["density_performance_metrics"],
    "families": sorted(
        {"loss", *config["density_performance_metrics"]["families"]},
        key=["loss", "histogram", "multidim", "inference"].index,
    ),
}
SEARCH_METRIC_KEYS = summary_metric_keys(
    MetricOptions.from_config(SEARCH_METRIC_CONFIG), VARIABLES
)


def _search_metric(search):
    """A search's ranking metric, checked against the keys its trials compute."""
    try:
        return MetricChoice.parse(config[search]["metric"], SEARCH_METRIC_KEYS)
    except ValueError as err:
        raise config_error((search, "metric"), str(err)) from None


SCAN_POINTS = SEARCH_SPACES["hyperparameter_scan"][0]
TUNING_DIMENSIONS = SEARCH_SPACES["bayesian_tuning"][0]
SCAN_METRIC = _search_metric("hyperparameter_scan")
TUNING_METRIC = _search_metric("bayesian_tuning")
SCAN_TRIALS = list(range(len(SCAN_POINTS)))
TUNING_WORKERS = list(range(config["bayesian_tuning"]["workers"]))
# The ranking metric as jobs receive it (`MetricChoice(**spec)`).
SCAN_METRIC_SPEC = {"key": SCAN_METRIC.key, "direction": SCAN_METRIC.direction}
TUNING_METRIC_SPEC = {"key": TUNING_METRIC.key, "direction": TUNING_METRIC.direction}


def warm_start_input(wildcards):
    """The weights file a flow starts training from (`density_warm_start`), if any."""
    path = DENSITY_WARM_STARTS.get((wildcards.model, wildcards.category))
    return {"warm_start": path} if path else {}


def density_architecture_input(wildcards):
    """The architecture file a flow trains from: the configured file, or a search's best."""
    search = SEARCHES.get(config["density_architecture"])
    if search:
        return here(PATHS.search_best_architecture, wildcards, search=search)
    return config["density_architecture"]


def search_event_inputs(wildcards):
    """parameters.yaml and the events a search's trials train on and are scored with."""
    return {
        "parameters": here(PREPROCESS_PARAMETERS, wildcards),
        "validation": density_validation_files(wildcards),
        "train": here(PATHS.train, wildcards),
        "test": here(PATHS.test, wildcards),
    }


def scan_trial_metric_inputs(wildcards):
    """A grid point's flow and the events its metrics read."""
    return {
        **search_event_inputs(wildcards),
        "architecture": here(PATHS.scan_trial_file("architecture"), wildcards),
        "weights": here(PATHS.scan_trial_file("weights"), wildcards),
    }


def tuning_worker_inputs(wildcards):
    """The events every trial of a worker reads, and the search space."""
    return {
        **search_event_inputs(wildcards),
        "space": config["bayesian_tuning"]["architecture"],
    }


def search_reference_input(wildcards):
    """The true density's metrics on a benchmark: the search's plots draw its value."""
    if TRUE in DENSITIES:
        return {"reference": here(PATHS.density_metrics, wildcards, density=TRUE)}
    return {}


def search_plots(search):
    """The plot stems of a search's collect rule."""
    if search == "hyperparameter_scan":
        return ["trials"]
    return ["trials", "history", "importance"]


def search_targets(search):
    """A search's table, best architecture and plots, per process and category."""
    files = [PATHS.search_table, PATHS.search_best_architecture]
    files += plot_files(PATHS.search_plot)
    return expand(files, search=search, stem=search_plots(search), **PER_MODEL)


@functools.cache
def density_vals(process, category):
    """Validation points that move only the density's parameters (INNFER skips the others)."""
    return density_validation_indices(
        ANALYSIS.validation_points,
        ANALYSIS.defaults,
        ANALYSIS.model_parameters(process, category),
    )


def density_model_inputs(wildcards):
    """parameters.yaml and the density model of `{density}` (with weights when learned)."""
    density = wildcards.get("density", LEARNED)
    inputs = {
        "parameters": here(PATHS.parameters, wildcards),
        "architecture": here(PATHS.density_architecture, wildcards, density=density),
    }
    if density == LEARNED:
        inputs["weights"] = here(PATHS.flow_weights, wildcards)
    return inputs


def density_validation_files(wildcards):
    """The validation events of the points that move only the density's parameters."""
    return [
        here(PATHS.validation, wildcards, val=val)
        for val in density_vals(wildcards.model, wildcards.category)
    ]


def pvalue_inputs(wildcards):
    """The density and the validation events of its points (the simulated sample)."""
    return {
        **density_model_inputs(wildcards),
        "validation": density_validation_files(wildcards),
    }


def density_metric_inputs(wildcards):
    """`pvalue_inputs`, and training and test events for the loss family; the per-epoch job
    reads the epoch models instead of the final weights.
    """
    inputs = pvalue_inputs(wildcards)
    if "loss" in METRIC_OPTIONS.families:
        inputs["train"] = here(PATHS.train, wildcards)
        inputs["test"] = here(PATHS.test, wildcards)
    return inputs


def epoch_metric_inputs(wildcards):
    """As `density_metric_inputs` for the learned flow, with its per-epoch models."""
    inputs = density_metric_inputs(wildcards)
    inputs.pop("weights")
    inputs["epochs"] = here(PATHS.epoch_models, wildcards)
    return inputs


def density_points(wildcards):
    """{val: point} of the validation points a metrics job reads (its `params.points`)."""
    return {
        val: ANALYSIS.validation_points[val]
        for val in density_vals(wildcards.model, wildcards.category)
    }


def density_vals_of_job(wildcards):
    return density_vals(wildcards.model, wildcards.category)


def metrics_targets():
    """Each density's metrics and the overview plot of every process and category."""
    targets = expand(PATHS.density_metrics, density=DENSITIES, **PER_MODEL)
    targets += expand(plot_files(PATHS.density_metrics_plot), **PER_MODEL)
    return targets


def pvalue_targets():
    """The p-value of every chosen metric, with its plot, per density (target `pvalues`)."""
    return expand(
        [PATHS.pvalues, *plot_files(PATHS.pvalue_plot)],
        density=DENSITIES,
        metric=PVALUE_KEYS,
        **PER_MODEL,
    )


EPOCH_METRICS = ["train_loss", "test_loss", "learning_rate"]
# Plotted against epoch: the training history, and every performance metric per epoch.
EPOCH_PLOT_METRICS = EPOCH_METRICS + (METRIC_KEYS if SAVE_EPOCHS else [])
VARIABLE_PAIRS = [(a, b) for i, a in enumerate(VARIABLES) for b in VARIABLES[i + 1 :]]


def _generator_extra_views():
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
    return views


# The optional generator views the `generator` options switch on, keyed by file stem in the
# order the script writes them: (report caption, report "plot" label, report "variable" label).
# The one source of both the plot files and their report entries.
GENERATOR_EXTRA_VIEWS = _generator_extra_views()


# `generator: {data: true}`: the observed data of each category against the stacked
# simulation and the stacked synthetic events at the default point.
GENERATOR_DATA = bool(config["generator"]["data"])
GENERATOR_DATA_PREDICTIONS = ("simulation", "synthetic")
if GENERATOR_DATA and not DATA_FILES:
    raise config_error(
        ("generator", "data"),
        f"plots the observed data, but {ANALYSIS.source} has no data_file",
    )


def generator_data_inputs(wildcards):
    """A category's data, and every process's parameters, validation set and Asimov sample at
    the default point."""
    category = [wildcards.category]
    where = dict(key=[ANALYSIS.default_index], val=ANALYSIS.default_index)
    return {
        "data": here(PATHS.data, wildcards),
        **per_model_inputs("parameters", PATHS.parameters, category),
        **per_model_inputs("validation", PATHS.validation, category, **where),
        **per_model_inputs("asimov", PATHS.asimov, category, **where),
    }


def combined_generator_inputs(wildcards):
    """Validation sets, parameters and Asimov samples of every process in a category."""
    category = [wildcards.category]
    inputs = per_model_inputs("parameters", PATHS.parameters, category)
    for val in VAL_ALL:
        where = dict(key=[val], val=val)
        inputs |= per_model_inputs("validation", PATHS.validation, category, **where)
        inputs |= per_model_inputs("asimov", PATHS.asimov, category, **where)
    return inputs


def density_y_plots():
    """PlotDensity per Y column of every density: slices and profiles, one job per column."""
    return [
        f
        for model in PROCESSES
        for category in CATEGORIES
        for parameter in ANALYSIS.model_parameters(model, category)
        for f in expand(
            plot_files(PATHS.density_slices_plot)
            + plot_files(PATHS.density_profile_plot),
            model=model,
            category=category,
            parameter=parameter,
            column=VARIABLES,
            split=SPLITS,
        )
    ]


def evaluation_plots():
    """Plots that judge the learned densities: what the `evaluate` target builds."""
    targets = expand(
        plot_files(PATHS.density_comparison_plot),
        column=VARIABLES,
        split=SPLITS,
        **PER_MODEL,
    )
    targets += density_y_plots()
    targets += expand(
        plot_files(PATHS.generator_summary_plot),
        column=VARIABLES,
        **PER_MODEL,
    )
    targets += expand(
        plot_files(PATHS.generator_plot) + plot_files(PATHS.flow_plot),
        val=VAL_ALL,
        column=VARIABLES,
        **PER_MODEL,
    )
    targets += expand(
        plot_files(PATHS.generator_extra_plot("{stem}")),
        val=VAL_ALL,
        stem=list(GENERATOR_EXTRA_VIEWS),
        **PER_MODEL,
    )
    targets += expand(
        plot_files(PATHS.epoch_metric_plot)
        + plot_files(PATHS.epoch_metrics_merged_plot),
        metric=EPOCH_PLOT_METRICS,
        **PER_MODEL,
    )
    targets += metrics_targets()
    if GENERATOR_DATA:
        targets += expand(
            plot_files(PATHS.generator_data_plot),
            category=CATEGORIES,
            prediction=GENERATOR_DATA_PREDICTIONS,
            column=VARIABLES,
        )
    if len(PROCESSES) > 1:
        targets += expand(
            plot_files(PATHS.generator_combined_plot),
            category=CATEGORIES,
            val=VAL_ALL,
            column=VARIABLES,
        )
    return targets + regression_plots() + classifier_plots()


# --------------------------------------------------------------------------------- inference


def fit_vals(fit):
    """Validation points a fit set fits: a data fit has one (the defaults are its truth);
    sim, Asimov and pseudo-data (`resampled`) fits its own `validation_points`, else every
    point of `validation_indices`.
    """
    return fit_set_vals(FITS[fit], VAL_FIT, ANALYSIS.default_index)


@functools.cache
def free_parameters(fit):
    """Parameters a fit set leaves floating (frozen ones have no Hessian column).

    Cached: the targets and the input functions of every Hessian-column, impact and
    approximate-uncertainty job ask for the same few fit sets.
    """
    frozen = frozen_parameters(FITS[fit]["freeze"], ANALYSIS)
    frozen += processes_frozen(ANALYSIS, FITS[fit]["processes"])
    return tuple(p for p in ANALYSIS.fit_parameters if p not in frozen)


def fit_inputs(wildcards):
    """Inputs of one fit: one validation point, one density source, and its events (of the
    fit set's `processes` only, when it fits some alone)."""
    processes = FITS[wildcards.fit]["processes"] or PROCESSES
    inputs = model_inputs([wildcards.density], [wildcards.val], processes)
    data_type = FITS[wildcards.fit]["data_type"]
    if data_type == "data":
        for category in CATEGORIES:
            inputs[input_key("data", "all", category)] = fill(
                PATHS.data, category=category
            )
    if data_type == RESAMPLED:
        for category in CATEGORIES:
            inputs[input_key("data", "all", category)] = fill(
                PATHS.resampled_data, category=category, val=wildcards.val
            )
    if data_type == "asimov":
        inputs |= per_model_inputs(
            "asimov", PATHS.asimov, processes=processes, val=wildcards.val
        )
    return inputs


def fit_at_best_fit_inputs(wildcards):
    """The fit's inputs and its best fit: what every job working at the minimum reads."""
    return {**fit_inputs(wildcards), "best_fit": here(PATHS.best_fit, wildcards)}


@functools.cache
def bootstrap_batches(fit):
    """[start, stop) replica indices of each bootstrap_fit job of a fit set."""
    options = FITS[fit]["bootstrap"]
    return toy_batches(options["n"], options["per_job"])


def bootstrap_replicas(wildcards):
    """The replica indices the job's batch fits."""
    return bootstrap_batches(wildcards.fit)[int(wildcards.batch)]


def bootstrap_batch_inputs(wildcards):
    """Every batch of replica fits of one fit."""
    return [
        here(PATHS.bootstrap_batch, wildcards, batch=b)
        for b in range(len(bootstrap_batches(wildcards.fit)))
    ]


def parameters_inputs(wildcards):
    """parameters.yaml of every process and category (yields, trained ranges)."""
    return per_model_inputs("parameters", PATHS.parameters)


def hessian_input(wildcards):
    """The Hessian file the fit set's `hessian` option selects."""
    pattern = {
        "auto": PATHS.hessian,
        "autodiff": PATHS.hessian,
        "numerical": PATHS.hessian_numerical,
        "parallel": PATHS.hessian_collected,
    }[FITS[wildcards.fit]["hessian"]]
    return here(pattern, wildcards)


def summary_covariance_input(wildcards):
    """H⁻¹ or the sandwich covariance, as the fit set's `covariance` option says."""
    if FITS[wildcards.fit]["covariance"] == "dmatrix":
        return here(PATHS.covariance_with_dmatrix, wildcards)
    return here(PATHS.covariance, wildcards)


def hessian_column_inputs(wildcards):
    """One Hessian column per floating parameter."""
    return [
        here(PATHS.hessian_column, wildcards, parameter=p)
        for p in free_parameters(wildcards.fit)
    ]


def scan_points_input(wildcards):
    """The scan grid of one parameter, from the source the fit set's `scan_points` names."""
    source = FITS[wildcards.fit]["scan_points"]["from"]
    return here(PATHS.scan_points(source), wildcards)


def scan_inputs(wildcards):
    """What a 1-D scan point reads: the fit at its best fit and the scan grid."""
    return {**fit_at_best_fit_inputs(wildcards), "points": scan_points_input(wildcards)}


def scan_2d_inputs(wildcards):
    """What a 2-D scan point reads: the fit at its best fit and the 2-D grid."""
    return {
        **fit_at_best_fit_inputs(wildcards),
        "points": here(PATHS.scan_2d_points, wildcards),
    }


def scan_point_inputs(wildcards):
    """Every point of a 1-D scan (one per given value with `scan_points: {from: input}`)."""
    n_points = scan_values_count(FITS[wildcards.fit], wildcards.parameter)
    return [here(PATHS.scan_point, wildcards, index=i) for i in range(n_points)]


def scan_points_file_input(wildcards):
    """The analyst's scan-points file, if the fit set names one: an edit reruns the job."""
    path = FITS[wildcards.fit]["scan_points"].get("file")
    return {"values_file": path} if path else {}


def scan_input_values(wildcards):
    """The checked values of one parameter of a `from: input` scan, as the DAG counted them."""
    return FITS[wildcards.fit]["scan_points"]["values"][wildcards.parameter]


def scan_2d_point_inputs(wildcards):
    """Every point of a 2-D scan grid."""
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
    return inputs | ratio_inputs(wildcards.model, wildcards.category, wildcards.density)


def postfit_inputs(wildcards):
    """Fitted events, post-fit and pre-fit samples of every process and category, and the
    covariance the band is drawn from."""
    where = dict(wildcards.items())
    return {
        **fit_at_best_fit_inputs(wildcards),
        **per_model_inputs("postfit", PATHS.postfit_asimov, **where),
        **per_model_inputs("prefit", PATHS.prefit_asimov, **where),
        "covariance": summary_covariance_input(wildcards),
    }


# The binned fit's variable and edges per category (`inference.binned_fit.input`): the
# post-fit plots of a binned fit set, one per category.
BINNED_FIT_INPUT = {
    category: dict(spec)
    for category, spec in (ANALYSIS.binned_fit.get("input") or {}).items()
    if category in CATEGORIES
}
for _fit, _options in FITS.items():
    _unbinned = [c for c in CATEGORIES if c not in BINNED_FIT_INPUT]
    if _options["likelihood"] in BINNED_LIKELIHOODS and _unbinned:
        raise config_error(
            ("fits", _fit, "likelihood"),
            f"{_options['likelihood']} fits bin counts, but {ANALYSIS.source} has no "
            f"inference.binned_fit.input for the categories {_unbinned}",
        )


def scan_overlay_vals(name):
    """Points every fit set of a `scan_plots` overlay fits (a data fit has only the default)."""
    fits = SCAN_PLOTS[name]["fits"]
    common = [v for v in fit_vals(fits[0]) if all(v in fit_vals(f) for f in fits)]
    if not common:
        raise config_error(
            ("scan_plots", name, "fits"),
            f"its fit sets {fits} share no validation point (validation_indices: {VAL_FIT})",
        )
    return common


def scan_overlay_inputs(wildcards):
    """The collected scan of the parameter from each fit set of the overlay, keyed by fit set."""
    return {
        fit: fill(
            PATHS.scan_result,
            fit=fit,
            density=wildcards.density,
            val=wildcards.val,
            parameter=wildcards.parameter,
        )
        for fit in SCAN_PLOTS[wildcards.overlay]["fits"]
    }


def scan_overlay_options(wildcards):
    """The filled options of the job's overlay."""
    return SCAN_PLOTS[wildcards.overlay]


def scan_overlay_targets():
    """Every overlay's plots and crossings file, per density, point and parameter."""
    targets = []
    for name, options in SCAN_PLOTS.items():
        where = dict(
            overlay=name,
            density=options["densities"],
            val=scan_overlay_vals(name),
            parameter=options["parameters"],
        )
        targets += expand(PATHS.scan_overlay, **where)
        targets += expand(plot_files(PATHS.scan_overlay_plot), **where)
    return targets


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
    "processes",
    "minimiser",
)


# Problem options at the value that changes nothing are left out of the params, so adding an
# option to the schema does not rerun every fit of an existing results directory.
NEUTRAL_PROBLEM_OPTIONS = {"constraints": True, "processes": None}


def fit_params(wildcards):
    """The problem-defining options of the job's fit set."""
    fit = FITS[wildcards.fit]
    return {
        key: fit[key]
        for key in PROBLEM_KEYS
        if key in fit
        and not (
            key in NEUTRAL_PROBLEM_OPTIONS and fit[key] == NEUTRAL_PROBLEM_OPTIONS[key]
        )
    }


def fit_option(key):
    """A params function giving one fit-set option to the one rule that reads it."""

    def option(wildcards):
        return FITS[wildcards.fit][key]

    return option


# What every job that builds a fit's likelihood (fit_job) takes: the analysis it reads and the
# options that define the problem, and the same resources (rules/inference.smk, impacts.smk).
FIT_JOB_PARAMS = {"analysis": ANALYSIS_FOR_FITS, "fit": fit_params}


def fit_resources(points=1):
    """Resources of a fit-stage job of `points` validation points: the runtime a cluster
    allows it grows with them."""
    return resources(
        kind="gpu" if config["fit_gpu"] else "cpu", mem_mb=4000, runtime=30 * points
    )


FIT_RESOURCES = fit_resources()


def batched(groups):
    """(index, key, items) of each job of several items: every group's items split by
    `points_per_job` (core.point_batches.split_points), numbered in order. An item alone in
    its batch is left to the per-item rule. groups: (key, items) pairs."""
    per_job = config["points_per_job"]
    batches = [
        (key, chunk)
        for key, items in groups
        for chunk in split_points(items, per_job)
        if len(chunk) > 1
    ]
    return [(k, key, chunk) for k, (key, chunk) in enumerate(batches)]


def point_batches():
    """(index, fit set, points) of each batched fit-stage job. A point alone in its batch (at
    `points_per_job: 1`, or of a fit set of one point, as a data fit) is a job of the
    per-point rule (`initial_fit`, `hessian`, `dmatrix`)."""
    return batched((fit, fit_vals(fit)) for fit in FITS)


def batch_inputs(inputs, points, **fixed):
    """An input function of a batch: every point's inputs (per-point function `inputs`) under
    `point_input_key`, so the script can hand each point its own (core.point_batches).
    `fixed`: the wildcards the batch's rule fixes for all its points (its fit set, summary).
    """

    def function(wildcards):
        return {
            point_input_key(val, key): path
            for val in points
            for key, path in inputs(
                point_wildcards(wildcards, **fixed, val=str(val))
            ).items()
        }

    return function


def batch_outputs(pattern, points, **fixed):
    """Every point's output file, in the order of the points."""
    return [fill(pattern, **fixed, val=val) for val in points]


def batch_log(rule_name, stem, points):
    """One log per batch: `<rule>/<stem>_points_<first>_to_<last>.log`."""
    name = f"{stem}_points_{points[0]}_to_{points[-1]}"
    return fill(PATHS.log, rule=rule_name, name=name)


def batch_params(params, points, **fixed):
    """A per-point rule's params for a batch: its functions of the wildcards called with the
    batch's `fixed` wildcards (its fit set, summary), and each point's wildcards for the
    script."""

    def at_fixed(function):
        return lambda wildcards: function(point_wildcards(wildcards, **fixed))

    out = {k: at_fixed(v) if callable(v) else v for k, v in params.items()}
    out[POINT_WILDCARDS] = [{**fixed, "val": str(val)} for val in points]
    return out


def ensemble_fits():
    """Fit sets fitted with every ensemble member: all with an unbinned likelihood (a binned
    fit reads no density, so its members would agree by construction); none without an
    ensemble."""
    if not ENSEMBLE_MEMBERS:
        return []
    return [f for f, o in FITS.items() if o["likelihood"] not in BINNED_LIKELIHOODS]


ENSEMBLE_FITS = ensemble_fits()


def fit_targets():
    """The inference stage: every fit's result, and the scans, post-fit and debug files and
    impacts each fit set asks for; with an ensemble, each member's best fit."""
    targets = []
    for fit in ENSEMBLE_FITS:
        targets += expand(
            PATHS.best_fit, fit=fit, val=fit_vals(fit), density=ENSEMBLE_MEMBERS
        )
    for fit, options in FITS.items():
        where = dict(fit=fit, val=fit_vals(fit), density=DENSITIES)
        targets += expand(PATHS.fit_result, **where)
        targets += expand(
            plot_files(PATHS.scan_plot), parameter=options["scan"] or [], **where
        )
        if options["approximate_uncertainty"]:
            targets += expand(
                PATHS.approximate_uncertainty, parameter=free_parameters(fit), **where
            )
        if options["minos"]:
            targets += expand(PATHS.minos, parameter=free_parameters(fit), **where)
        if options["bootstrap"] is not None:
            targets += expand(
                plot_files(PATHS.bootstrap_plot),
                parameter=free_parameters(fit),
                **where,
            )
        if options["scan_2d"]["parameters"]:
            targets += expand(plot_files(PATHS.scan_2d_plot), **where)
        if options["likelihood_debug"]:
            targets += expand(PATHS.likelihood_debug, **where)
        if options["postfit"] and options["likelihood"] in BINNED_LIKELIHOODS:
            for category, binning in BINNED_FIT_INPUT.items():
                targets += expand(
                    plot_files(PATHS.postfit_binned_plot),
                    category=category,
                    column=binning["variable"],
                    **where,
                )
        elif options["postfit"]:
            targets += expand(
                plot_files(PATHS.postfit_plot),
                category=CATEGORIES,
                column=VARIABLES,
                **where,
            )
    return targets + scan_overlay_targets() + impacts_targets() + toy_targets()


# -------------------------------------------------------------------------------------- toys
# The generator of the toys: a benchmark's true density, the learned flow otherwise.
TOY_GENERATOR = TRUE if BENCHMARK else LEARNED


def toy_fit_minutes(wildcards):
    """A toy_fit job's runtime: its batch of toys at a generous per-toy cost (fit_sets)."""
    options = toy_options(FITS[wildcards.fit])
    reported = reported_parameters(
        ANALYSIS.fit_parameters,
        ANALYSIS.pois,
        [rate_parameter(p) for p in ANALYSIS.rate_processes],
        options.get("parameters"),
    )
    return toy_job_minutes(options, len(reported))


# A batch of toys runs longer than one fit: its runtime scales with `per_job` and the sources.
TOY_FIT_RESOURCES = {
    **FIT_RESOURCES,
    "runtime": toy_fit_minutes,
    "classad_MaxRuntime": lambda wildcards: 60 * toy_fit_minutes(wildcards),
}


def toy_fits():
    """Fit sets with `toys`."""
    return [fit for fit, options in FITS.items() if options["toys"] is not None]


def fit_toy_batches(fit):
    """Batch indices of one fit set's toy_fit jobs per density and point."""
    options = toy_options(FITS[fit])
    return list(range(n_toy_batches(options["n"], options["per_job"])))


def toy_targets():
    """The coverage table and plots of every fit set with toys, per density."""
    targets = []
    for fit in toy_fits():
        where = dict(fit=fit, density=DENSITIES)
        targets += expand(PATHS.toy_coverage, **where)
        targets += expand(table_files(PATHS.toy_coverage_table), **where)
        targets += expand(
            plot_files(PATHS.toy_coverage_plot) + plot_files(PATHS.toy_pulls_plot),
            **where,
        )
    return targets


def toy_fit_inputs(wildcards):
    """The fit's density inputs plus the generator density of every process."""
    inputs = model_inputs([wildcards.density], [wildcards.val])
    inputs |= per_model_inputs(
        "generator", PATHS.density_architecture, density=TOY_GENERATOR
    )
    if TOY_GENERATOR == LEARNED:
        inputs |= per_model_inputs("generator_weights", PATHS.flow_weights)
    return inputs


def toy_collect_inputs(wildcards):
    """Every toy batch of one fit set and density, over its validation points."""
    return expand(
        PATHS.toy_fit,
        fit=wildcards.fit,
        density=wildcards.density,
        val=fit_vals(wildcards.fit),
        batch=fit_toy_batches(wildcards.fit),
    )


# ----------------------------------------------------------------------------------- summary


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
        raise config_error(
            ("summaries", name, "fits"),
            f"its fit sets {entries} share no validation point (their validation_points, "
            f"else validation_indices: {VAL_FIT})",
        )
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


def summary_inputs(wildcards):
    """Result files of every series of a summary at every point it shows."""
    return summary_result_inputs(wildcards.summary, summary_vals(wildcards.summary))


def summary_per_val_inputs(wildcards):
    """Result files of every series of a summary at one point."""
    return summary_result_inputs(wildcards.summary, [int(wildcards.val)])


def summary_batches():
    """(index, summary, points) of each job that draws several per-point plots of a summary.

    Split by `points_per_job` like the fit-stage batches, for the same reason: a plot job of
    one point spends most of its 2.4 s starting. A point alone in its batch is a job of the
    per-point rule `summary_per_val`.
    """
    return batched((name, summary_vals(name)) for name in SUMMARIES)


def summary_per_val_batch_plots(name, points):
    """Every point's per-point plot of a summary batch; in the report each PNG names its
    point, as the per-point rule's do."""
    return [
        f
        for val in points
        for f in report_plots(
            plot_files(fill(PATHS.summary_per_val_plot, summary=name, val=val)),
            caption="summary/summary_per_val.rst",
            category=REPORT_STAGES["summary"],
            subcategory=name,
            labels={"plot": "all parameters at one point", "val": str(val)},
        )
    ]


def summary_options(wildcards):
    """The filled options of the job's summary."""
    return SUMMARIES[wildcards.summary]


def summary_points(wildcards):
    """The validation points a summary shows."""
    return summary_vals(wildcards.summary)


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
    pattern = {
        "approximate": PATHS.approximate_uncertainty,
        "minos": PATHS.minos,
        "bootstrap": PATHS.bootstrap_result,
    }[source]
    return [
        here(pattern, wildcards, parameter=p) for p in free_parameters(wildcards.fit)
    ]


def all_but_one_inputs(wildcards):
    """The results of the single-parameter fits of an all-but-one family, by parameter."""
    return {
        p: fill(PATHS.fit_result, fit=fit, density=wildcards.density, val=wildcards.val)
        for p, fit in ALL_BUT_ONE_FAMILIES[wildcards.base].items()
    }


def results_table_inputs(wildcards):
    """Every result of one fit set, keyed `result__<density>__<val>`."""
    return {
        input_key("result", d, str(v)): fill(
            PATHS.fit_result, fit=wildcards.fit, density=d, val=v
        )
        for d in DENSITIES
        for v in fit_vals(wildcards.fit)
    }


def ensemble_summary_inputs(wildcards):
    """Every member's best fit and the main learned fit's result (σ_stat) at every point of
    the fit set, named by `results.ensemble.member_input` and `result_input`."""
    inputs = {}
    for val in fit_vals(wildcards.fit):
        where = dict(fit=wildcards.fit, val=val)
        inputs[result_input(val)] = fill(PATHS.fit_result, density=LEARNED, **where)
        for k in range(ENSEMBLE):
            density = ensemble_member(k)
            inputs[member_input(val, k)] = fill(
                PATHS.best_fit, density=density, **where
            )
    return inputs


def ensemble_vals(wildcards):
    """The validation points of the job's fit set, in the order the summary shows them."""
    return fit_vals(wildcards.fit)


def density_comparison_inputs(wildcards):
    """Every density the fits use, with the validation events of the fitted points."""
    return model_inputs(DENSITIES, VAL_FIT)


def summary_targets():
    """The summary stage: summaries, χ², per-point plots, tables and the density plots, and
    with an ensemble, the ensemble summary of each fit set it fits."""
    targets = []
    for name in SUMMARIES:
        targets += [fill(PATHS.summary, summary=name)]
        targets += [fill(PATHS.summary_chi_squared, summary=name)]
        targets += plot_files(fill(PATHS.summary_plot, summary=name))
        targets += expand(
            plot_files(PATHS.summary_per_val_plot), summary=name, val=summary_vals(name)
        )
    for fit in FITS:
        targets += table_files(fill(PATHS.results_table, fit=fit))
    for fit in ENSEMBLE_FITS:
        targets += [fill(PATHS.ensemble_summary, fit=fit)]
        targets += plot_files(fill(PATHS.ensemble_plot, fit=fit))
    return targets + expand(plot_files(PATHS.density_plot), val=VAL_FIT)


# ----------------------------------------------------------------------------------- impacts


def impact_pois(fit):
    """POIs of a fit set that get an impacts plot."""
    return impacted_pois(free_parameters(fit), ANALYSIS.pois)


def impacts_targets():
    """The impacts plots of every fit set whose `impacts` option is set."""
    targets = []
    for fit, options in FITS.items():
        if options["impacts"]:
            targets += expand(
                plot_files(PATHS.impacts_plot),
                fit=fit,
                val=fit_vals(fit),
                density=DENSITIES,
                parameter=impact_pois(fit),
            )
    return targets


def impact_refits(fit):
    """(parameter, shift) of each impact refit of a point: every floating non-POI parameter of
    the fit set, up and down."""
    return [
        (p, s)
        for p in refit_parameters(free_parameters(fit), ANALYSIS.pois)
        for s in SHIFTS
    ]


def impact_refit_inputs(wildcards):
    """The refits of every floating non-POI parameter, up and down."""
    return [
        here(PATHS.impact_fit, wildcards, parameter=p, shift=s)
        for p, s in impact_refits(wildcards.fit)
    ]


def impact_fit_inputs(wildcards):
    """What an impact refit reads: the fit at its best fit and the fit set's covariance."""
    return {
        **fit_at_best_fit_inputs(wildcards),
        "covariance": summary_covariance_input(wildcards),
    }


def refit_batches(groups):
    """(index, fit set, val, wildcards, items) of each job that runs several fits of one point.

    Impact refits and scan points fit one point's likelihood again and again, holding other
    parameters each time, so one process builds and traces it once and each further item is
    only a fit. `groups(fit)` gives a fit set's groups as (wildcards, items): the wildcards the
    group fixes (a scanned parameter) and the items its jobs run one by one (refits, scan
    indices). Split by `points_per_job` like the fit-stage batches; an item alone in its batch
    is a job of the per-item rule.
    """
    jobs = batched(
        ((fit, val, wildcards), items)
        for fit in FITS
        for val in fit_vals(fit)
        for wildcards, items in groups(fit)
    )
    return [(k, *key, chunk) for k, key, chunk in jobs]


def impact_groups(fit):
    """The refits of a point of a fit set with `impacts: refit`, as one group."""
    return [({}, impact_refits(fit))] if FITS[fit]["impacts"] == REFIT else []


def scan_groups(fit):
    """The grid indices of each parameter a fit set scans in 1-D."""
    return [
        ({"parameter": p}, list(range(scan_values_count(FITS[fit], p))))
        for p in FITS[fit]["scan"] or []
    ]


def scan_2d_groups(fit):
    """The indices of a fit set's 2-D scan grid."""
    scan_2d = FITS[fit]["scan_2d"]
    return (
        [({}, list(range(scan_2d["n_points"] ** 2)))] if scan_2d["parameters"] else []
    )


def batch_item_log(rule_name, fit, val, wildcards, first, last):
    """`<rule>/<fit>_<density>_<val>[_<parameter>]_<first>_to_<last>.log`: one log per batch."""
    stem = "_".join([fit, "{density}", str(val), *wildcards.values()])
    return fill(PATHS.log, rule=rule_name, name=f"{stem}_{first}_to_{last}")


def item_batches(rule_name, groups, inputs, outputs, param):
    """The directives of each batch of items (`refit_batches` of `groups`), as a namespace:
    inputs, outputs, log, resources, params (the items under `param`, in output order).

    outputs(fit, val, where, item): the files of one item.
    """

    def label(item):
        return "_".join(item) if isinstance(item, tuple) else str(item)

    return [
        types.SimpleNamespace(
            inputs=batch_inputs(inputs, [val], fit=fit, **where),
            outputs=[f for item in items for f in outputs(fit, val, where, item)],
            log=batch_item_log(
                rule_name, fit, val, where, label(items[0]), label(items[-1])
            ),
            resources=fit_resources(len(items)),
            params=batch_params(
                {
                    **FIT_JOB_PARAMS,
                    "seed": config["seed"],
                    param: [list(i) if isinstance(i, tuple) else i for i in items],
                },
                [val],
                fit=fit,
                **where,
            ),
        )
        for _, fit, val, where, items in refit_batches(groups)
    ]


def grid_point_file(pattern):
    """outputs() of `item_batches` for scan grid points: `pattern` at the item's index."""
    return lambda fit, val, where, index: [
        fill(pattern, fit=fit, val=val, index=index, **where)
    ]


def impact_refit_file(fit, val, where, refit):
    """outputs() of `item_batches` for impact refits: the refit's file."""
    parameter, shift = refit
    return [fill(PATHS.impact_fit, fit=fit, val=val, parameter=parameter, shift=shift)]


def impacts_input(wildcards):
    """Refit or approximate impacts, as the fit set's `impacts` option says."""
    refit = FITS[wildcards.fit]["impacts"] == REFIT
    return here(PATHS.impacts if refit else PATHS.approximate_impacts, wildcards)


def fit_impact_pois(wildcards):
    """The POIs the job's fit set gets impacts on."""
    return impact_pois(wildcards.fit)


def fit_constrained_parameters(wildcards):
    """Parameters with a constraint in the job's fit set (the ones that get a pull)."""
    return constrained_parameters(
        ANALYSIS.nuisance_constraints,
        ANALYSIS.fit_parameters,
        FITS[wildcards.fit].get("constraints", True),
    )


# -------------------------------------------------------------- nuisance variations (issue 18)

from innfer_lib.data.nuisance_variations import (
    DOUBLE,
    SINGLE,
    process_nuisances,
    variation_specs,
    variations as order_variations,
)

# INNFER's NuisanceVariations: every nuisance of a process at ±1 (order `single`), and with
# `nuisance_variations: {double: true}` every pair of them (order `double`), as validation
# sets, as Asimov samples of the learned model, and their plots.
NUISANCE_ORDERS = (
    [SINGLE, DOUBLE] if config["nuisance_variations"]["double"] else [SINGLE]
)


def _nuisance_variations():
    """{(process, category): {order: [Variation]}}, without the empty orders and pairs."""
    found = {}
    for process in PROCESSES:
        for category in CATEGORIES:
            for order in NUISANCE_ORDERS:
                listed = order_variations(ANALYSIS, process, category, order)
                if listed:
                    found.setdefault((process, category), {})[order] = listed
    return found


try:
    NUISANCE_VARIATIONS = _nuisance_variations()
except InnferError as err:
    raise WorkflowError(str(err)) from None
# {(process, category): [nuisance]}: one pair of input plots per nuisance of a process.
VARIED_NUISANCES = {
    pair: process_nuisances(ANALYSIS, *pair) for pair in NUISANCE_VARIATIONS
}
# {(process, category): {tag: Variation}}: what a `{variation}` names for a process.
VARIATIONS_BY_TAG = {
    pair: {v.tag: v for listed in orders.values() for v in listed}
    for pair, orders in NUISANCE_VARIATIONS.items()
}
# Every value of the `{variation}` wildcard.
VARIATION_TAGS = sorted({tag for tags in VARIATIONS_BY_TAG.values() for tag in tags})


def job_variations(wildcards):
    """{tag: {nuisance: ±1}} of the job's process, category and order."""
    pair = (wildcards.model, wildcards.category)
    return variation_specs(NUISANCE_VARIATIONS[pair][wildcards.order])


def job_nuisance_variations(wildcards):
    """{tag: {nuisance: ±1}} of the job's nuisance: up, then down."""
    pair = (wildcards.model, wildcards.category)
    return variation_specs(
        [
            v
            for v in NUISANCE_VARIATIONS[pair][SINGLE]
            if v.values.keys() == {wildcards.nuisance}
        ]
    )


def job_variation(wildcards):
    """{nuisance: ±1} of the job's variation."""
    return VARIATIONS_BY_TAG[(wildcards.model, wildcards.category)][
        wildcards.variation
    ].values


def nuisance_variation_plot_inputs(wildcards):
    """parameters.yaml, the default point's validation events and the single variations."""
    return {
        "parameters": here(PATHS.parameters, wildcards),
        "nominal": here(PATHS.validation, wildcards, val=ANALYSIS.default_index),
        "variations": here(PATHS.nuisance_variations, wildcards, order=SINGLE),
    }


def train_vs_variations_inputs(wildcards):
    """`nuisance_variation_plot_inputs` and the density's training events."""
    return {
        **nuisance_variation_plot_inputs(wildcards),
        "train": here(PATHS.train, wildcards),
    }


def generator_variation_inputs(wildcards):
    """parameters.yaml, the simulated and the Asimov events of the variation's order."""
    pair = (wildcards.model, wildcards.category)
    order = VARIATIONS_BY_TAG[pair][wildcards.variation].order
    return {
        "parameters": here(PATHS.parameters, wildcards),
        "variations": here(PATHS.nuisance_variations, wildcards, order=order),
        "asimov": here(PATHS.asimov_nuisance_variations, wildcards, order=order),
    }


def nuisance_variation_data_targets():
    """The variation sets and their input plots (data stage)."""
    targets = []
    for (process, category), orders in NUISANCE_VARIATIONS.items():
        where = dict(model=process, category=category)
        targets += expand(PATHS.nuisance_variations, order=list(orders), **where)
        targets += expand(
            plot_files(PATHS.input_nuisance_variations_plot)
            + plot_files(PATHS.input_train_vs_variations_plot),
            nuisance=VARIED_NUISANCES[(process, category)],
            column=VARIABLES,
            **where,
        )
    return targets


def nuisance_variation_evaluation_targets():
    """The Asimov samples at every variation and the generator plot of each (evaluation)."""
    targets = []
    for (process, category), orders in NUISANCE_VARIATIONS.items():
        where = dict(model=process, category=category)
        targets += expand(PATHS.asimov_nuisance_variations, order=list(orders), **where)
        targets += expand(
            plot_files(PATHS.generator_nuisance_variation_plot),
            variation=list(VARIATIONS_BY_TAG[(process, category)]),
            column=VARIABLES,
            **where,
        )
    return targets


# ------------------------------------------------------------------------------------ report

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
    "tuning": "7 Hyperparameter searches",
}
REPORT_CAPTIONS = REPO / "resources" / "report"


def report_plots(files, caption, category, subcategory=None, labels=None):
    """`files` (from `plot_files`) with each PNG wrapped in `report(...)`, PDFs unchanged.

    caption: an .rst file under resources/report/ ("data/input_plot_training.rst"); it may
        use the job's wildcards as {{ snakemake.wildcards.<name> }}.
    category: the stage, a value of REPORT_STAGES.
    subcategory: a string that may hold the job's wildcards ("{model}").
    labels: the columns of the report's table, {name: value} (or a function of the job's
        wildcards returning one), the first being "plot" (the kind of plot); values may hold
        the job's wildcards. They must tell apart every plot of one category and subcategory.

    Captions say what the plot shows and, under "What to look for", what a good result looks
    like; tests/workflow/test_report.py checks these conventions for every rule file.
    """
    if not (REPORT_CAPTIONS / caption).is_file():
        raise WorkflowError(f"report caption resources/report/{caption} does not exist")
    if category not in REPORT_STAGES.values():
        raise WorkflowError(
            f"report category {category!r} is not a stage of REPORT_STAGES"
        )
    # Relative to rules/, the directory of every .smk file with plots, as Snakemake joins a
    # caption path with the directory of the file that defines the job.
    caption_path = f"../resources/report/{caption}"

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


def scan_2d_report_labels(wildcards):
    """Report labels of a 2-D scan plot: the pair comes from the fit set, not a wildcard."""
    return {
        "plot": "2-D likelihood scan",
        "density": wildcards.density,
        "val": wildcards.val,
        "parameter": " and ".join(FITS[wildcards.fit]["scan_2d"]["parameters"] or []),
    }


# ------------------------------------------------------------------------------------ targets

# Each stage's files, computed once: the stage target rules (`snakemake preprocess`, ...) and
# the default target `rule all` (workflow/Snakefile) take these lists.
NUISANCE_VARIATION_TARGETS = (
    nuisance_variation_data_targets() + nuisance_variation_evaluation_targets()
)
DATA_TARGETS = data_targets() + nuisance_variation_data_targets()
TRAINING_TARGETS = training_targets()
EVALUATION_PLOTS = evaluation_plots() + nuisance_variation_evaluation_targets()
FIT_TARGETS = fit_targets()
PVALUE_TARGETS = pvalue_targets()
SUMMARY_TARGETS = summary_targets()
# The evaluation plots are in the default target unless `evaluation: false`.
EVALUATION_TARGETS = EVALUATION_PLOTS if config["evaluation"] else []
