"""Custom steps (issue 18): INNFER's `--step Custom`, one rule `custom_<step>` per entry of the
workflow config's `custom:` block. Target `custom`; part of `all`."""

from innfer_lib.custom.steps import custom_steps, workflow_sources

# Checked and resolved while the DAG is built; the modules themselves are imported by the jobs.
try:
    CUSTOM_STEPS = custom_steps(
        config["custom"],
        workflow_sources(
            PATHS, FILES, PROCESSES, CATEGORIES, VAL_ALL, observed_data=bool(DATA_FILES)
        ),
        PATHS.custom_output,
    )
except ConfigKeyError as err:
    raise WorkflowError(LAYERS.problem(err.problem)) from None

CUSTOM_TARGETS = [f for step in CUSTOM_STEPS.values() for f in step.outputs.values()]


# One rule per step, `custom_<step>`: each step declares its own outputs, and a rule's outputs
# cannot depend on a wildcard. Everything a rule takes is bound from `step` now, while the loop
# runs (no lambdas, which would see the loop's last step).
for step in CUSTOM_STEPS.values():

    rule:
        """Run the step's function of the analyst's module on its declared inputs."""
        name:
            f"custom_{step.name}"
        input:
            **step.rule_inputs(),
        output:
            list(step.outputs.values()),
        log:
            log_path(f"custom_{step.name}"),
        conda:
            "../envs/data.yaml"
        resources:
            **resources(mem_mb=step.mem_mb, runtime=step.runtime),
        params:
            step=step.name,
            module=step.module_name,
            function=step.function,
            options=step.options,
            inputs=step.input_layout(),
            outputs=list(step.outputs),
        script:
            "../scripts/custom_step.py"
