"""Data stage: benchmark simulation, LoadData and PreProcess."""

if BENCHMARK:

    rule make_benchmark:
        """Simulate a benchmark scenario and write the analysis config it implies."""
        output:
            config=PATHS.benchmark_config,
            inputs=generated_inputs(),
        log:
            log_path("make_benchmark"),
        conda:
            "../envs/data.yaml"
        resources:
            **resources(mem_mb=4000),
        params:
            benchmark=BENCHMARK,
        script:
            "../scripts/make_benchmark.py"


if EXAMPLE:

    rule make_example:
        """Generate the inputs of an example analysis (config/examples/)."""
        output:
            generated_inputs(),
        log:
            log_path("make_example"),
        conda:
            "../envs/data.yaml"
        resources:
            **resources(mem_mb=4000),
        params:
            example=EXAMPLE,
        script:
            "../scripts/make_example.py"


rule load_data:
    """Read, select and trim the inputs of one `files` entry."""
    input:
        load_data_inputs,
    output:
        PATHS.loaded,
    log:
        log_path("load_data", "file"),
    priority: PRIORITY_TRAINING
    conda:
        "../envs/data.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=loading_analysis,
    script:
        "../scripts/load_data.py"


rule preprocess_model:
    """Split, standardise and normalise one process in one category."""
    input:
        unpack(preprocess_inputs),
    output:
        train=PATHS.train,
        test=PATHS.test,
        parameters=PREPROCESS_PARAMETERS,
        validation=expand(PATHS.validation, val=VAL_ALL, allow_missing=True),
    log:
        log_path("preprocess_model", "model", "category"),
    priority: PRIORITY_TRAINING
    conda:
        "../envs/data.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=preprocessing_analysis,
        seed=config["seed"],
    script:
        "../scripts/preprocess.py"


rule preprocess_aux:
    """Training sets of a regression or classifier model of one nuisance."""
    input:
        unpack(preprocess_inputs),
    output:
        train=PATHS.aux_train,
        test=PATHS.aux_test,
        parameters=PATHS.aux_parameters,
    log:
        log_path("preprocess_aux", "model", "category", "kind", "parameter"),
    priority: PRIORITY_TRAINING
    conda:
        "../envs/data.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=preprocessing_analysis,
        seed=config["seed"],
    script:
        "../scripts/preprocess_aux.py"


if DATA_FILES:

    rule data_categories:
        """Observed data of one category: added columns, calculations and selections."""
        input:
            DATA_FILES,
        output:
            PATHS.data,
        log:
            log_path("data_categories", "category"),
        conda:
            "../envs/data.yaml"
        resources:
            **resources(mem_mb=4000),
        params:
            analysis=ANALYSIS_FOR_OBSERVED_DATA,
        script:
            "../scripts/data_categories.py"


rule resample_validation_for_data:
    """Pseudo-data of one category at one validation point, drawn from every process's
    validation events there; built only for the points `data_type: resampled` fit sets fit.
    """
    input:
        unpack(resample_inputs),
    output:
        PATHS.resampled_data,
    log:
        log_path("resample_validation_for_data", "category", "val"),
    conda:
        "../envs/data.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS_FRAME,
        seed=config["seed"],
        split=RESAMPLED_SPLIT,
        poisson=config["resampled_data"]["poisson"],
    script:
        "../scripts/resample_validation_for_data.py"


if SIM_TO_DATA:

    rule sim_to_data_factors:
        """INNFER's SimToDataFactors: the factor that normalises the chosen processes to the
        data over one group of categories."""
        input:
            unpack(sim_to_data_inputs),
        output:
            PATHS.sim_to_data_factors,
        log:
            log_path("sim_to_data_factors", "group"),
        wildcard_constraints:
            group="|".join(re.escape(g) for g in SIM_TO_DATA.names),
        conda:
            "../envs/data.yaml"
        resources:
            **resources(),
        params:
            categories=lambda wildcards: list(SIM_TO_DATA.names[wildcards.group]),
            processes=PROCESSES,
            normalised=list(SIM_TO_DATA.processes),
        script:
            "../scripts/sim_to_data_factors.py"


if SIM_TO_DATA and SIM_TO_DATA.apply:

    rule apply_sim_to_data_factors:
        """parameters.yaml with the nominal yields normalised to the data (`sim_to_data.apply`):
        the file every fit, Asimov sample and plot reads its yields from."""
        input:
            unpack(apply_sim_to_data_inputs),
        output:
            PATHS.parameters,
        log:
            log_path("apply_sim_to_data_factors", "model", "category"),
        conda:
            "../envs/data.yaml"
        resources:
            **resources(),
        params:
            group=lambda wildcards: SIM_TO_DATA.group_of(wildcards.category),
        script:
            "../scripts/apply_sim_to_data_factors.py"


rule input_plot_training:
    """Weighted distributions of one training column, raw and standardised."""
    input:
        unpack(training_set_inputs),
    output:
        [
            f
            for view in TRAINING_VIEWS
            for f in report_plots(
                plot_files(PATHS.input_training_plot(view)),
                caption="data/input_plot_training.rst",
                category=REPORT_STAGES["data"],
                subcategory="{model}",
                labels={
                    "plot": "training input",
                    "category": "{category}",
                    "dataset": "{dataset}",
                    "variable": "{column}",
                    "view": view.replace("_transformed", ", standardised"),
                },
            )
        ],
    log:
        log_path("input_plot_training", "model", "category", "dataset", "column"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        labels=ANALYSIS.plot_labels,
        views=TRAINING_VIEWS,
    script:
        "../scripts/input_plot_training.py"


rule input_plot_validation:
    """Each variable at every validation point (or every value of one parameter)."""
    input:
        unpack(validation_plot_inputs),
    output:
        [
            f
            for column in VARIABLES
            for f in report_plots(
                plot_files(fill(PATHS.input_validation_plot, column=column)),
                caption="data/input_plot_validation.rst",
                category=REPORT_STAGES["data"],
                subcategory="{model}",
                labels={
                    "plot": "validation input",
                    "category": "{category}",
                    "varying": "{varying}",
                    "variable": column,
                },
            )
        ],
    log:
        log_path("input_plot_validation", "model", "category", "varying"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
    script:
        "../scripts/input_plot_validation.py"


rule preprocess_nuisance_variations:
    """Validation events of one process with each nuisance (order `single`) or each pair of
    nuisances (`double`) at ±1, all else at the defaults."""
    input:
        unpack(preprocess_inputs),
    output:
        PATHS.nuisance_variations,
    log:
        log_path("preprocess_nuisance_variations", "model", "category", "order"),
    conda:
        "../envs/data.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=preprocessing_analysis,
        seed=config["seed"],
        variations=job_variations,
    script:
        "../scripts/preprocess_nuisance_variations.py"


rule input_plot_nuisance_variations:
    """Each variable at the default point and with one nuisance at +1 and at −1."""
    input:
        unpack(nuisance_variation_plot_inputs),
    output:
        [
            f
            for column in VARIABLES
            for f in report_plots(
                plot_files(fill(PATHS.input_nuisance_variations_plot, column=column)),
                caption="data/input_plot_nuisance_variations.rst",
                category=REPORT_STAGES["data"],
                subcategory="{model}",
                labels={
                    "plot": "nuisance variations",
                    "category": "{category}",
                    "nuisance": "{nuisance}",
                    "variable": column,
                },
            )
        ],
    log:
        log_path("input_plot_nuisance_variations", "model", "category", "nuisance"),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        variations=job_nuisance_variations,
    script:
        "../scripts/input_plot_nuisance_variations.py"


rule input_plot_comparing_train_with_variations:
    """Each variable of the density's training events against one nuisance at ±1."""
    input:
        unpack(train_vs_variations_inputs),
    output:
        [
            f
            for column in VARIABLES
            for f in report_plots(
                plot_files(fill(PATHS.input_train_vs_variations_plot, column=column)),
                caption="data/input_plot_comparing_train_with_variations.rst",
                category=REPORT_STAGES["data"],
                subcategory="{model}",
                labels={
                    "plot": "training vs nuisance variations",
                    "category": "{category}",
                    "nuisance": "{nuisance}",
                    "variable": column,
                },
            )
        ],
    log:
        log_path(
            "input_plot_comparing_train_with_variations",
            "model",
            "category",
            "nuisance",
        ),
    conda:
        "../envs/plot.yaml"
    resources:
        **resources(),
    params:
        analysis=ANALYSIS_FOR_PLOTS,
        variations=job_nuisance_variations,
    script:
        "../scripts/input_plot_nuisance_variations.py"
