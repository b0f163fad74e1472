from innfer_lib.core.runner import LOG, run, start_job

start_job(snakemake)  # noqa: F821  first: what the imports below print goes to the job log

from pathlib import Path

from innfer_lib.core.io import atomic_path, read_yaml
from innfer_lib.core.paths import INPUT_KEY_SEPARATOR
from innfer_lib.results.tables import table_csv, table_markdown, table_rows


def main(smk):
    results = {}
    for key, path in smk.input.items():
        _, density, val = key.rsplit(INPUT_KEY_SEPARATOR, 2)
        results[(density, int(val))] = read_yaml(path)
    rows = table_rows(smk.wildcards.fit, results)
    for path, text in zip(smk.output, (table_csv(rows), table_markdown(rows)), strict=True):
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text)
    LOG.info("%d rows", len(rows))


run(snakemake, main)  # noqa: F821
