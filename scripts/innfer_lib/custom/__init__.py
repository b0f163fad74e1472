"""Custom steps: an analyst's Python function as one more node of the DAG (INNFER's Custom step).

INNFER ran `--step Custom --custom-module <module> --custom-options "a=b;c=d"` by hand after
PreProcess. Here each entry of the workflow config's `custom:` block is a rule whose inputs and
outputs are declared: ``options`` reads INNFER's option string, ``steps`` checks the block and
resolves each declared input to workflow files while the DAG is built (without running any user
code), and ``job`` imports the module in the job, runs its function on staged outputs and moves
them into place only when every declared output was written.
"""
