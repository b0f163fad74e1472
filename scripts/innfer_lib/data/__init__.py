"""The data side of INNFER: loading, datasets, shifts, yields, PreProcess, benchmarks, examples."""
