"""Config expressions (selections, weights, calculated columns): a small allow-listed grammar.

Config strings come from other people's files, so nothing in them may run code. An expression
is parsed with `ast` and checked node by node against an allow-list: column names, numbers,
arithmetic, comparisons, boolean logic and the math functions of `FUNCTIONS`. Anything else
(attribute access, subscripts, other calls, lambdas, comprehensions, strings, ...) is a
ConfigError naming the config key before a single column is read. The checked tree is then
evaluated here, with the same operators on the same pandas columns as pandas' own expression
parser used before, so every valid expression gives the values it always gave:

- `&` and `|` bind like `and` and `or` (below comparisons), as in pandas, so `x > 1 & y < 2`
  means `(x > 1) & (y < 2)`; `and`, `or`, `not` act element-wise, like `&`, `|`, `~`;
- `a < b < c` means `(a < b) & (b < c)`;
- a result without columns (`1.0`) is broadcast to one value per row.
"""

from __future__ import annotations

import ast
import difflib
import io
import math
import operator
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import reduce
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from innfer_lib.core.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd
# pandas is imported where a frame is evaluated (it is loaded by then): the analysis config
# parses expressions in every job, most of which read no table, and pandas costs 0.4 s.

#: The functions an expression may call, each on one argument.
FUNCTIONS: MappingProxyType[str, np.ufunc] = MappingProxyType(
    {
        "abs": np.abs,
        "exp": np.exp,
        "log": np.log,
        "log10": np.log10,
        "sqrt": np.sqrt,
        "sin": np.sin,
        "cos": np.cos,
        "tan": np.tan,
        "sinh": np.sinh,
        "cosh": np.cosh,
        "tanh": np.tanh,
        "arcsin": np.arcsin,
        "arccos": np.arccos,
        "arctan": np.arctan,
        "expm1": np.expm1,
        "log1p": np.log1p,
    }
)

_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_BOOLEAN: dict[type[ast.boolop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.And: ("and", operator.and_),
    ast.Or: ("or", operator.or_),
}

#: What a rejected construct is called in the message (the node type name otherwise).
_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.JoinedStr: "f-string",
    ast.NamedExpr: "assignment expression (:=)",
    ast.IfExp: "conditional expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
}

_GRAMMAR = (
    "an expression holds column names, numbers, + - * / // % **, comparisons, and/or/not "
    "(& | ~) and calls of the math functions"
)
#: Largest integer power worked out exactly: `9**9**9` would otherwise hang the job.
_MAX_POWER_BITS = 4096

_Run = Callable[["pd.DataFrame"], Any]


@dataclass(frozen=True)
class Expression:
    """A checked expression: the columns it reads, and how to evaluate it over a frame."""

    text: str
    source: str
    columns: tuple[str, ...]
    run: _Run

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Values over a frame holding every column of `columns` as numbers or booleans."""
        import pandas as pd

        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"{self.source}: {self.text!r} uses unknown column(s) {missing}; "
                f"available: {sorted(frame.columns)}"
            )
        for column in self.columns:
            _check_numeric(frame[column], column, self)
        try:
            result = self.run(frame)
            if np.isscalar(result):
                result = pd.Series(np.full(len(frame), result), index=frame.index)
        except _ExpressionValueError as err:
            raise DataError(f"{self.source}: {self.text!r}: {err}") from None
        except (ArithmeticError, TypeError, ValueError) as err:
            raise DataError(f"{self.source}: {self.text!r} cannot be evaluated: {err}") from None
        return result


class _ExpressionValueError(Exception):
    """A value of the wrong kind met an operator (e.g. a number where `and` needs booleans)."""


class _Rejected(Exception):
    """A construct outside the grammar; `parse` turns it into a ConfigError with the source.

    `grammar` says whether the message should recall what an expression may hold (an unknown
    function already lists the known ones).
    """

    def __init__(self, message: str, grammar: bool = True) -> None:
        super().__init__(message)
        self.grammar = grammar


def _check_numeric(values: pd.Series, column: str, expression: Expression) -> None:
    """A column of text (numbers stored as strings) is named, not left to a pandas traceback."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return
    example = f", e.g. {values.iloc[0]!r}" if len(values) else ""
    raise DataError(
        f"{expression.source}: {expression.text!r} reads column '{column}' of dtype "
        f"{values.dtype}{example}; expressions need numeric or boolean columns (store the "
        "column as numbers)"
    )


def _snippet(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _pandas_precedence(text: str) -> str:
    """`text` with `&`/`|` written as `and`/`or`: pandas gives them the boolean precedence."""
    starts = [0]
    for line in io.StringIO(text).readlines():
        starts.append(starts[-1] + len(line))
    pieces, end = [], 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.OP and token.string in ("&", "|"):
            begin = starts[token.start[0] - 1] + token.start[1]
            pieces += [text[end:begin], " and " if token.string == "&" else " or "]
            end = begin + 1
    return "".join(pieces) + text[end:]


def _is_boolean(value: Any) -> bool:
    import pandas as pd

    if isinstance(value, bool | np.bool_):
        return True
    return isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value.dtype)


def _boolean(value: Any, word: str, node: ast.AST) -> Any:
    if not _is_boolean(value):
        import pandas as pd

        kind = value.dtype if isinstance(value, pd.Series) else type(value).__name__
        raise _ExpressionValueError(
            f"`{word}` needs true/false values, but `{_snippet(node)}` gives {kind}"
        )
    return np.bool_(value) if isinstance(value, bool) else value


def _power(left: Any, right: Any) -> Any:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and abs(left) > 1
        and right * math.log2(abs(left)) > _MAX_POWER_BITS
    ):
        raise _ExpressionValueError(f"the integer power {left}**{right} is too large")
    return operator.pow(left, right)


def _constant(node: ast.Constant) -> _Run:
    if type(node.value) not in (int, float, bool):
        what = "string" if isinstance(node.value, str | bytes) else type(node.value).__name__
        raise _Rejected(f"{what} `{_snippet(node)}` is not allowed")
    value = node.value
    return lambda frame: value


def _name(node: ast.Name) -> _Run:
    if node.id.startswith("__"):
        raise _Rejected(f"the name `{node.id}` is not allowed")
    if node.id in FUNCTIONS:
        raise _Rejected(f"`{node.id}` is a function: call it, `{node.id}(x)`")
    name = node.id
    return lambda frame: frame[name]


def _call(node: ast.Call) -> _Run:
    if not isinstance(node.func, ast.Name):
        raise _Rejected(f"calling `{_snippet(node.func)}` is not allowed")
    name = node.func.id
    if name not in FUNCTIONS:
        close = difflib.get_close_matches(name, FUNCTIONS, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        known = ", ".join(FUNCTIONS)
        raise _Rejected(f"unknown function `{name}`{hint}; known: {known}", grammar=False)
    if node.keywords:
        raise _Rejected(f"keyword arguments are not allowed: `{_snippet(node)}`")
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise _Rejected(f"starred argument `{_snippet(arg)}` is not allowed")
    if len(node.args) != 1:
        raise _Rejected(f"`{name}` takes one argument, got {len(node.args)}: `{_snippet(node)}`")
    function, argument = FUNCTIONS[name], _compile(node.args[0])
    return lambda frame: function(argument(frame))


def _binary(node: ast.BinOp) -> _Run:
    op = _ARITHMETIC.get(type(node.op))
    if op is None:
        raise _Rejected(f"the operator of `{_snippet(node)}` is not allowed")
    if op is operator.pow:
        op = _power
    left, right = _compile(node.left), _compile(node.right)
    return lambda frame: op(left(frame), right(frame))


def _unary(node: ast.UnaryOp) -> _Run:
    operand = _compile(node.operand)
    if isinstance(node.op, ast.Not | ast.Invert):
        word = "not" if isinstance(node.op, ast.Not) else "~"
        inner = node.operand
        return lambda frame: operator.invert(_boolean(operand(frame), word, inner))
    op = _UNARY[type(node.op)]
    return lambda frame: op(operand(frame))


def _boolean_op(node: ast.BoolOp) -> _Run:
    word, op = _BOOLEAN[type(node.op)]
    parts = [(_compile(value), value) for value in node.values]

    def run(frame: pd.DataFrame) -> Any:
        # Every operand is evaluated, as element-wise `&`/`|` do (no short-circuit).
        return reduce(op, [_boolean(part(frame), word, value) for part, value in parts])

    return run


def _compare(node: ast.Compare) -> _Run:
    ops = []
    for cmp in node.ops:
        if type(cmp) not in _COMPARISONS:
            raise _Rejected(f"the comparison of `{_snippet(node)}` is not allowed")
        ops.append(_COMPARISONS[type(cmp)])
    operands = [_compile(node.left), *map(_compile, node.comparators)]

    def run(frame: pd.DataFrame) -> Any:
        values = [operand(frame) for operand in operands]
        results = [op(a, b) for op, a, b in zip(ops, values, values[1:], strict=False)]
        return reduce(operator.and_, results)

    return run


#: The node types of the grammar, each with the function that checks and compiles it.
_COMPILERS: dict[type[ast.AST], Callable[[Any], _Run]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.Call: _call,
    ast.BinOp: _binary,
    ast.UnaryOp: _unary,
    ast.BoolOp: _boolean_op,
    ast.Compare: _compare,
}


def _compile(node: ast.AST) -> _Run:
    """Check one node of the tree and return the function that evaluates it."""
    compiler = _COMPILERS.get(type(node))
    if compiler is None:
        what = _CONSTRUCTS.get(type(node), type(node).__name__)
        raise _Rejected(f"{what} `{_snippet(node)}` is not allowed")
    return compiler(node)


def _columns(tree: ast.AST) -> Iterator[str]:
    """Column names in first-seen order of a breadth-first walk (LoadData reads in this order)."""
    seen: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in seen:
            seen.add(node.id)
            yield node.id


def parse(expression: str, source: str = "expression") -> Expression:
    """Check an expression against the grammar; nothing of it runs here.

    Args:
        expression: the config string.
        source: where it was written (file and key path), named in every error.

    Raises:
        ConfigError: the string does not parse, or uses a construct outside the grammar.
    """
    if not isinstance(expression, str):
        raise ConfigError(f"{source}: expected an expression string, got {expression!r}")
    try:
        tree = ast.parse(_pandas_precedence(expression.strip()), mode="eval")
    except (SyntaxError, tokenize.TokenError, ValueError) as err:
        reason = err.msg if isinstance(err, SyntaxError) else str(err.args[0])
        raise ConfigError(f"{source}: cannot parse {expression!r}: {reason}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{source}: {expression!r} is nested too deeply") from None
    try:
        run = _compile(tree.body)
    except _Rejected as err:
        grammar = f"; {_GRAMMAR}" if err.grammar else ""
        raise ConfigError(f"{source}: {expression!r}: {err}{grammar}") from None
    except RecursionError:
        raise ConfigError(f"{source}: {expression!r} is nested too deeply") from None
    return Expression(expression, source, tuple(_columns(tree)), run)


def identifiers(expression: str, source: str = "expression") -> list[str]:
    """Column names an expression reads, in first-seen order (the expression is checked)."""
    return list(parse(expression, source).columns)


def evaluate(frame: pd.DataFrame, expression: str, source: str = "expression") -> pd.Series:
    """Evaluate an expression over a frame's columns, naming unknown columns clearly."""
    return parse(expression, source).evaluate(frame)


def mask(frame: pd.DataFrame, expression: str, source: str = "selection") -> np.ndarray:
    """The rows a selection keeps, as a boolean array; a non-boolean result is an error."""
    values = evaluate(frame, expression, source)
    if values.dtype != bool:
        raise ConfigError(
            f"{source}: {expression!r} is not a boolean selection (it gives {values.dtype} "
            "values; compare with a value, e.g. `x > 0`)"
        )
    return values.to_numpy(dtype=bool)


def select(frame: pd.DataFrame, expression: str | None, source: str = "selection") -> pd.DataFrame:
    """Rows passing a selection string (all rows when there is none)."""
    if not expression:
        return frame
    return frame.loc[mask(frame, expression, source)]
