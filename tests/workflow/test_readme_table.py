"""The README's "What runs" table: every hop it names (rule, rules file, script, function) exists.

A newcomer goes INNFER step -> rule -> script -> library function through that table, so a
rename anywhere must show up here: each rule must be defined in the named `.smk` file and run
the named script, the script must exist, every library function must import and be named by
the module and class that define it, and every rule of rules/*.smk must have its row.
"""

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEADER = "| rule | INNFER step | rules | script | library function |"
RULE = re.compile(
    r"^\s*rule (\w+):|^\s*use rule (\w+) as (\w+) with:"
    # a rule made in a loop (rules/custom.smk): `rule:`, its docstring, `name: f"a_{b.c}"`,
    # listed in the table as a_<b>
    r'|^\s*rule:\s*\n(?:\s*"""[^\n]*"""\s*\n)?\s*name:\s*\n\s*f"(\w*)\{(\w+)[\w.]*\}(\w*)"',
    re.M,
)
SCRIPT = re.compile(r'^\s*script:\s*\n\s*"\.\./scripts/([\w.]+)"', re.M)


def table_rows() -> list[dict[str, object]]:
    lines = (REPO / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(HEADER))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rule, _step, rules, script, functions = (c.strip() for c in cells[:5])
        rows.append(
            {
                "rule": rule.strip("`"),
                "rules": rules.strip("`"),
                "script": script.strip("`"),
                "functions": [f.strip().strip("`") for f in functions.split(",")],
            }
        )
    return rows


def rule_scripts(path: Path) -> dict[str, str]:
    """{rule: script} of a rules file; a `use rule` rule runs its parent's script."""
    text = path.read_text()
    matches = list(RULE.finditer(text))
    scripts, parents = {}, {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        name = m.group(1) or (m.group(4) is not None and f"{m.group(4)}<{m.group(5)}>{m.group(6)}")
        if name:
            script = SCRIPT.search(text, m.end(), end)
            scripts[name] = script.group(1) if script else None
        else:
            parents[m.group(3)] = m.group(2)
    for child, parent in parents.items():
        scripts[child] = scripts[parent]
    return scripts


def split_dotted(dotted: str) -> tuple[str, list[str]]:
    """(module, attribute names) of a dotted path: the longest importable module, then the rest."""
    parts = dotted.replace(":", ".").split(".")
    for cut in range(len(parts), 0, -1):
        try:
            importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        return ".".join(parts[:cut]), parts[cut:]
    raise ModuleNotFoundError(dotted)


def resolve(dotted: str):
    """The object a dotted path names: the longest importable module, then attributes."""
    module, names = split_dotted(dotted)
    obj = importlib.import_module(module)
    for name in names:
        obj = getattr(obj, name)
    return obj


ROWS = table_rows()


def test_every_rule_has_one_row():
    defined = {
        rule: path.name
        for path in sorted((REPO / "rules").glob("*.smk"))
        for rule in rule_scripts(path)
    }
    listed = [row["rule"] for row in ROWS]
    assert len(listed) == len(set(listed)), "a rule has two rows"
    assert sorted(listed) == sorted(defined)


@pytest.mark.parametrize("row", ROWS, ids=[row["rule"] for row in ROWS])
def test_rule_file_and_script(row):
    path = REPO / "rules" / row["rules"]
    assert path.is_file(), row
    scripts = rule_scripts(path)
    assert row["rule"] in scripts, f"rule {row['rule']} is not defined in rules/{row['rules']}"
    assert scripts[row["rule"]] == row["script"], (row["rule"], scripts[row["rule"]])
    assert (REPO / "scripts" / row["script"]).is_file(), row


@pytest.mark.parametrize("row", ROWS, ids=[row["rule"] for row in ROWS])
def test_library_functions_import(row):
    for name in row["functions"]:
        assert name.startswith("innfer_lib."), name
        assert callable(resolve(name)), name


@pytest.mark.parametrize("row", ROWS, ids=[row["rule"] for row in ROWS])
def test_library_functions_are_named_where_they_are_defined(row):
    """A row names the module and class that define the function, not one that inherits or
    re-exports it, so the reader lands on its code (a method named on a subclass that only
    inherits it, e.g. Likelihood.dmatrix for TermSum.dmatrix, sends them to the wrong class)."""
    for name in row["functions"]:
        module, names = split_dotted(name)
        obj = resolve(name)
        assert (obj.__module__, obj.__qualname__) == (module, ".".join(names)), name


@pytest.mark.parametrize("row", ROWS, ids=[row["rule"] for row in ROWS])
def test_script_calls_the_named_function(row):
    """The function a row names is the one its script uses (its name appears in the script)."""
    text = (REPO / "scripts" / row["script"]).read_text()
    for dotted in row["functions"]:
        name = dotted.split(".")[-1]
        assert re.search(rf"\b{name}\b", text), f"scripts/{row['script']} never names {name}"
