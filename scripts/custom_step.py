from innfer_lib.core.runner import run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from innfer_lib.custom.job import module_inputs, run_custom_step
from innfer_lib.custom.steps import MODULE_INPUT


def main(smk):
    params = smk.params
    run_custom_step(
        step=params.step,
        # a module file is an input (an edit reruns the step), a module name a param
        module=params.module or smk.input[MODULE_INPUT],
        function=params.function,
        inputs=module_inputs(params.inputs, dict(smk.input.items())),
        outputs=dict(zip(params.outputs, smk.output, strict=True)),
        options=params.options,
    )


run(snakemake, main)  # noqa: F821
