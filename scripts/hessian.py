import numpy as np

from innfer_lib.config import load_analysis
from innfer_lib.io import read_yaml, write_yaml
from innfer_lib.problem import build_problem, inputs_from_snakemake
from innfer_lib.runner import LOG, run


def main(smk):
    analysis = load_analysis(smk.params.analysis)
    best = read_yaml(smk.input.best_fit)
    problem = build_problem(
        analysis, int(smk.wildcards.val), inputs_from_snakemake(smk.input), smk.params.fit
    )
    theta = np.array(best["best_fit"])
    hessian = problem.likelihood.hessian(theta)
    LOG.info("hessian at %s:\n%s", theta, hessian)
    write_yaml(
        smk.output[0],
        {
            "columns": best["columns"],
            "matrix_columns": best["columns"],
            "hessian": hessian,
            "best_fit": best["best_fit"],
            "row": best["row"],
            "fit_valid": best["valid"],
        },
    )


run(snakemake, main)  # noqa: F821
