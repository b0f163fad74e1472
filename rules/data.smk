"""Data stage: benchmark simulation, LoadData and PreProcess."""

if BENCHMARK:

    rule make_benchmark:
        """Simulate a benchmark scenario and write the analysis config it implies."""
        output:
            config=PATHS.benchmark_config,
            inputs=list(
                dict.fromkeys(
                    [f for b in FILES for f in ANALYSIS.raw["files"][b]["inputs"]]
                    + [ANALYSIS.raw["data_file"]]
                )
            ),
        log:
            log_path("make_benchmark"),
        conda:
            "../envs/data.yaml"
        resources:
            **resources(mem_mb=4000),
        params:
            benchmark=BENCHMARK,
            analysis=ANALYSIS.raw,
        script:
            "../scripts/make_benchmark.py"


rule load_data:
    """Read, select and trim the inputs of one `files` entry."""
    input:
        load_data_inputs,
    output:
        PATHS.loaded,
    log:
        log_path("load_data", "file"),
    conda:
        "../envs/data.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS.raw,
    script:
        "../scripts/load_data.py"


rule preprocess:
    """Split, standardise and normalise one process in one category."""
    input:
        unpack(preprocess_inputs),
    output:
        train=PATHS.train,
        test=PATHS.test,
        parameters=PATHS.parameters,
        validation=expand(PATHS.validation, val=VAL_ALL, allow_missing=True),
    log:
        log_path("preprocess", "model", "category"),
    conda:
        "../envs/data.yaml"
    resources:
        **resources(mem_mb=4000),
    params:
        analysis=ANALYSIS.raw,
        seed=config["seed"],
    script:
        "../scripts/preprocess.py"
