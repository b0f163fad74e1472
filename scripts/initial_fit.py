from innfer_lib.config import load_analysis
from innfer_lib.fit import minimise
from innfer_lib.io import write_yaml
from innfer_lib.problem import build_problem, inputs_from_snakemake
from innfer_lib.runner import LOG, run


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    val = int(smk.wildcards.val)
    problem = build_problem(analysis, val, inputs_from_snakemake(smk.input), smk.params.fit)
    LOG.info(
        "fit %s, density %s, point %d: %s",
        smk.wildcards.fit,
        smk.wildcards.density,
        val,
        problem.info,
    )
    result = minimise(
        problem.likelihood.value_and_gradient,
        problem.columns,
        start=analysis.defaults,
        limits=problem.limits,
        seed=int(smk.params.seed) + val,
    )
    result["row"] = [problem.truth[c] for c in problem.columns]
    result["data"] = problem.info
    LOG.info("result: %s", result)
    write_yaml(smk.output[0], result)


run(snakemake, main)  # noqa: F821
