"""Config expressions: the allow-listed grammar, its values, and escape attempts that must not run.

Expressions (selections, weights, calculated columns) come from config files other people
write. The escape catalogue below holds strings that run code, write files or change objects
when handed to Python's `eval` or pandas' expression parser; each must be a ConfigError naming
the key before a single column is read, and its side effect (a marker file, a changed column, a
new class attribute) must not appear. The valid expressions are compared with what pandas'
parser gave (values and dtypes), since configs written for it keep working unchanged.
"""

import ast
import time

import numpy as np
import pandas as pd
import pytest

from innfer_lib.core.analysis import load_analysis
from innfer_lib.core.analysis_expressions import analysis_expressions, check_analysis_expressions
from innfer_lib.core.errors import ConfigError, DataError
from innfer_lib.core.expressions import FUNCTIONS, evaluate, identifiers, mask, parse, select
from innfer_lib.data.benchmarks import get_benchmark

SOURCE = "files.base.selection (in.parquet)"

#: Escape attempts; `{M}` is a marker file that exists afterwards if any of them ran.
ESCAPES = [
    # attribute chains to os, builtins and file writers (the first ran a shell command before)
    "X1.__class__.__init__.__globals__['sys'].modules['os'].system('touch {M}')",
    "X1.__class__.__init__.__globals__['__builtins__']['__import__']('os').system('touch {M}')",
    "X1.__class__.__init__.__globals__['__builtins__']['open']('{M}', 'w')",
    "X1.__class__.__init__.__globals__['__builtins__']['setattr'](X1.__class__, 'pwned', 1)",
    "X1.__class__.__mro__[-1].__subclasses__()",
    "(1).__class__.__bases__[0].__subclasses__()",
    "X1.to_csv('{M}')",
    "X1.to_pickle('{M}') or X1 > 0",
    "sin(X1).to_csv('{M}')",
    "exp.__call__(X1)",
    # lambdas, comprehensions, generators, f-strings, walrus, starred, conditionals
    "(lambda: X1.to_csv('{M}'))()",
    "[X1.to_csv('{M}') for _ in (1,)]",
    "{{X1.to_csv('{M}') for _ in (1,)}}",
    "{{k: X1.to_csv('{M}') for k in (1,)}}",
    "sum(X1.to_csv('{M}') for _ in (1,))",
    "f'{{X1.to_csv(\"{M}\")}}'",
    "(y := X1.to_csv('{M}'))",
    "exp(*[X1.to_csv('{M}')])",
    "X1 if X1.to_csv('{M}') else X1",
    # names of builtins, dunders, and a full-width `exec` (Python folds it to `exec`)
    "__import__('os').system('touch {M}')",
    "__builtins__",
    "open('{M}', 'w')",
    "eval(\"open('{M}', 'w')\")",
    "exec(\"open('{M}', 'w')\")",
    "getattr(X1, 'to_csv')('{M}')",
    "\uff45\uff58\uff45\uff43(\"open('{M}', 'w')\")",
    # subscripts, and calls of allowed functions with extra arguments (numpy's `out`)
    "X1[X1.to_csv('{M}')]",
    "X1[0] > 0",
    "exp(X1, X1)",
    "log(X1, out=X1)",
    # strings, pandas' local variables and backtick names
    "X1 == 'a'",
    "@frame.to_csv('{M}')",
    "`X1`.to_csv('{M}')",
]


class ColumnReads:
    """Records every column a DataFrame hands out while installed."""

    def __init__(self, monkeypatch):
        self.keys = []
        original = pd.DataFrame.__getitem__

        def getitem(frame, key):
            self.keys.append(key)
            return original(frame, key)

        monkeypatch.setattr(pd.DataFrame, "__getitem__", getitem)


@pytest.fixture
def frame():
    return pd.DataFrame({"X1": [1.0, 2.0, 3.0]})


def test_catalogue_size():
    assert len(ESCAPES) >= 20


@pytest.mark.parametrize("template", ESCAPES)
def test_escape_is_rejected_before_evaluation(template, frame, tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    text = template.format(M=marker)
    reads = ColumnReads(monkeypatch)
    try:
        with pytest.raises(ConfigError) as err:
            evaluate(frame, text, SOURCE)
    finally:
        monkeypatch.undo()
    assert SOURCE in str(err.value) and "Traceback" not in str(err.value)
    assert reads.keys == [], "a column was read before the expression was rejected"
    assert not marker.exists()
    assert frame["X1"].tolist() == [1.0, 2.0, 3.0]
    assert "pwned" not in vars(pd.Series)


@pytest.mark.parametrize("template", ESCAPES)
def test_escape_is_rejected_by_every_entry_point(template, tmp_path):
    text = template.format(M=tmp_path / "marker")
    for check in (parse, identifiers):
        with pytest.raises(ConfigError, match="weight"):
            check(text, "files.base.weight")
    raw = {"files": {"base": {"weight": text}}, "categories": {"c": text}}
    with pytest.raises(ConfigError, match=r"analysis\.yaml: categories\.c"):
        check_analysis_expressions(raw, "analysis.yaml")
    assert not (tmp_path / "marker").exists()


def test_rejection_names_the_construct():
    cases = {
        "X1.__class__": "attribute access `X1.__class__`",
        "X1[0]": "subscript `X1[0]`",
        "sqr(X1)": "unknown function `sqr` (did you mean sqrt?)",
        "exp(X1, X1)": "`exp` takes one argument, got 2",
        "log(X1, base=2)": "keyword arguments are not allowed",
        "exp(*X1)": "starred argument `*X1`",
        "lambda: 1": "lambda",
        "[x for x in X1]": "comprehension",
        "f'{X1}'": "f-string",
        "(y := X1)": "assignment expression",
        "X1 == 'a'": "string `'a'`",
        "__x + 1": "the name `__x`",
        "exp + 1": "`exp` is a function",
        "X1 is X1": "comparison",
        "X1 in (1, 2)": "comparison",
        "X1 ^ X1": "operator",
        "X1 << 2": "operator",
        "X1 @ X1": "operator",
        "1j": "complex",
        "None": "NoneType",
        "X1 if X1 > 0 else 0": "conditional expression",
        "(X1, 1)": "tuple",
    }
    for text, construct in cases.items():
        with pytest.raises(ConfigError) as err:
            parse(text, "files.b.weight")
        message = str(err.value)
        assert message.startswith(f"files.b.weight: {text!r}: ") and construct in message, message


def test_unparsable_and_degenerate_strings():
    for text in [
        "(X1 > 1",
        "X1 >",
        "",
        "   ",
        "X1 > 1 2",
        "a\0b",
        "1" * 5000,
        "(" * 500 + ")" * 500,
    ]:
        with pytest.raises(ConfigError, match="files.b.selection"):
            parse(text, "files.b.selection")
    with pytest.raises(ConfigError, match="expected an expression string"):
        parse(3, "files.b.weight")


def test_huge_integer_power_fails_fast(frame):
    start = time.perf_counter()
    with pytest.raises(DataError, match="too large"):
        evaluate(frame, "9**9**9", "files.b.weight")
    assert time.perf_counter() - start < 1
    assert evaluate(frame, "2**10", "w").tolist() == [1024] * 3


# ---------------------------------------------------------------------------------------------
# Valid expressions: the values pandas' parser gave
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def columns():
    rng = np.random.default_rng(1)
    n = 500
    out = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n).astype(np.float32),
            "i": rng.integers(-5, 5, n),
            "j": rng.integers(0, 3, n).astype(np.int32),
            "u": rng.integers(0, 9, n).astype(np.uint8),
            "m": rng.random(n) > 0.5,
            "p": rng.uniform(0.1, 3, n),
            "q": rng.uniform(0.1, 3, n).astype(np.float32),
        }
    )
    out.loc[3, "a"] = np.nan
    return out


VALID = [
    # columns and constants (constants broadcast to one value per row)
    "a", "b", "i", "m", "1", "1.5", "True", "2*3", "2**10", "-3", "1/3", "exp(1)", "1 < 2 < 3",
    # arithmetic on every dtype, float32 with Python constants, integer division and modulo
    "a ** 2", "b ** 2", "p ** 0.5", "i ** 2", "i // 2", "i % 3", "i / 2", "j // 2", "j % 2",
    "i // 0", "i % 0", "a / 0", "u - 10", "q / b", "b + a", "j + b", "b * 0.1", "b + 16777217",
    "+a", "-b", "-(i)", "1 + True", "b * (1 + 0.01 * j)", "q * (1 + 0.01 * a)", "(b * 2.0) < 0.1",
    # every function
    "abs(i)", "abs(b)", "exp(b)", "log(p)", "log10(q)", "sqrt(q)", "sin(a) * cos(b)", "tan(b)",
    "sinh(q)", "cosh(q)", "tanh(q) + arctan(b)", "arcsin(b / 10)", "arccos(b / 10)", "expm1(b)",
    "log1p(q)",
    # comparisons, chains, NaN checks, booleans with pandas' precedence of & and |
    "a > 1", "b > 0.1", "b == 0.1", "i == 1.0", "a == a", "a != a", "m == True", "m != False",
    "-1 < a < 1", "0 < b <= 0.5 < p", "b < 0.1 & a > 0", "b > 0.1 | i == 2", "(a > 0) & (b < 0.3)",
    "a > 0 and b < 0.3", "a > 0 or m", "not m", "~m", "~(a > 0)", "m & (i >= 2)", "m | ~m",
    "u > 5 & j < 2", "i > 0 & i < 3 | m", "m & m & m | m", "a > 1 & not b > 0", "2 > 1 & 3 > 2",
    "  a > 1",
]  # fmt: skip


@pytest.mark.parametrize("text", VALID)
def test_values_match_pandas(text, columns):
    with np.errstate(all="ignore"):
        # pandas' parser rejects a leading space; it strips the string itself.
        expected = columns.eval(text.strip(), engine="python")
        got = evaluate(columns, text, "key")
    if np.isscalar(expected):
        expected = pd.Series(np.full(len(columns), expected), index=columns.index)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def test_identifiers_in_read_order():
    assert identifiers("wt * sf") == ["wt", "sf"]
    assert identifiers("exp(a) + log(b) * a") == ["a", "b"]
    assert identifiers("m_jet_nom * (1 + 0.01 * jes)") == ["m_jet_nom", "jes"]
    # The order LoadData read columns in before: a breadth-first walk of the tree.
    for text in ["a * (b + c) + d", "x / (y - exp(z))", "-1 < a < b", "abs(u) > v"]:
        before = [
            n.id
            for n in ast.walk(ast.parse(text, mode="eval"))
            if isinstance(n, ast.Name) and n.id not in FUNCTIONS
        ]
        assert identifiers(text) == list(dict.fromkeys(before))


# ---------------------------------------------------------------------------------------------
# Values of the wrong kind: one message naming the column, the expression and the key
# ---------------------------------------------------------------------------------------------


def test_numbers_stored_as_text_are_named():
    frame = pd.DataFrame({"X1": ["171.2", "172.5"], "Y1": [1.0, 2.0]})
    for values in (frame, frame.astype({"X1": object})):
        with pytest.raises(DataError) as err:
            evaluate(values, "Y1 > 0 & X1 > 172", SOURCE)
        message = str(err.value)
        assert SOURCE in message and "'Y1 > 0 & X1 > 172'" in message
        assert "column 'X1' of dtype" in message and "'171.2'" in message
        assert "\n" not in message


def test_boolean_operators_need_booleans(columns):
    for text, word in [("a and m", "and"), ("m | i", "or"), ("not a", "not"), ("~i", "~")]:
        with pytest.raises(DataError, match=f"`{word}` needs true/false values"):
            evaluate(columns, text, "categories.c")


def test_unknown_columns_are_named(columns):
    with pytest.raises(
        DataError, match=r"categories\.c: 'zz > 1' uses unknown column\(s\) \['zz'\]"
    ):
        evaluate(columns, "zz > 1", "categories.c")


def test_selection_must_be_boolean(columns):
    assert len(select(columns, "a > 0", "s")) == int((columns["a"] > 0).sum())
    assert select(columns, None) is columns
    assert mask(columns, "True", "s").all()
    for text in ["a * 2", "1", "i"]:
        with pytest.raises(ConfigError) as err:
            select(columns, text, "files.b.selection")
        assert f"files.b.selection: {text!r} is not a boolean selection" in str(err.value)


def test_arithmetic_errors_are_named():
    frame = pd.DataFrame({"X1": [1.0]})
    with pytest.raises(DataError, match=r"files\.b\.weight: '1 / 0' cannot be evaluated"):
        evaluate(frame, "1 / 0", "files.b.weight")


# ---------------------------------------------------------------------------------------------
# Every expression of an analysis config is checked when the config is read
# ---------------------------------------------------------------------------------------------


def test_every_expression_key_is_found():
    spec = {
        "selection": "s",
        "post_add_column_selection": "pa",
        "per_file_selection": [None, "pf"],
        "weight": "w",
        "pre_calculate": {"x": "pre", "f": {"type": "function"}},
        "calculate": {"y": "calc"},
        "weight_shifts": {"z": "ws"},
        "post_calculate_selection": "pc",
        "add_summed_columns": [{"name": "S", "column": "sc", "selection": "ss"}],
    }
    raw = {
        "categories": {"one": "cat", "inclusive": "inclusive"},
        "data_selection": "ds",
        "data_calculate": {"d": "dc"},
        "preprocess": {"normalise_training_in": {"proc": ["nt"]}},
        "files": {"base": spec},
    }
    assert dict(analysis_expressions(raw)) == {
        "categories.one": "cat",
        "categories.inclusive": "inclusive",
        "data_selection": "ds",
        "data_calculate.d": "dc",
        "preprocess.normalise_training_in.proc[0]": "nt",
        "files.base.selection": "s",
        "files.base.post_add_column_selection": "pa",
        "files.base.weight": "w",
        "files.base.post_calculate_selection": "pc",
        "files.base.per_file_selection[1]": "pf",
        "files.base.pre_calculate.x": "pre",
        "files.base.calculate.y": "calc",
        "files.base.weight_shifts.z": "ws",
        "files.base.add_summed_columns[0].column": "sc",
        "files.base.add_summed_columns[0].selection": "ss",
    }


def test_analysis_file_with_an_escape_is_rejected_when_read(tmp_path):
    import yaml

    raw = get_benchmark("Dim1Gaussian").analysis_config("inputs")
    raw["files"]["base"]["weight"] = f"wt.to_csv('{tmp_path / 'marker'}')"
    path = tmp_path / "analysis.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        load_analysis(path)
    assert f"{path}: files.base.weight: " in str(err.value) and "`wt.to_csv`" in str(err.value)
    assert not (tmp_path / "marker").exists()
    raw["files"]["base"]["weight"] = "wt"
    path.write_text(yaml.safe_dump(raw))
    load_analysis(path)
