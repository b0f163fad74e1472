"""innfer's library: what the workflow's scripts call, one subpackage per stage of INNFER's chain.

- `core`: what every stage shares: errors, atomic I/O, the script runner, config files, the
  `Analysis` model and its per-job slices, fit sets, output paths, expressions, seeds.
- `data`: LoadData, data events and pseudo-data, shifts, yields, PreProcess, the benchmarks
  and the example analyses.
- `density`: the conditional normalizing flow p(x | θ), its training, the `Density` contract
  and sampling.
- `inference`: the likelihood as summed terms, fit problems, minimisation, Hessians,
  covariances, scans and impacts.
- `results`: fit results as intervals, closure summaries with χ², results tables.
- `plots`: every plot, with the shared style, histogram and figure helpers.

The scripts under scripts/ are thin glue: they read `snakemake.*`, call into these
subpackages and write the rule's outputs.
"""

from innfer_lib.core.tensorflow_env import prepare_tensorflow_environment

prepare_tensorflow_environment()
