"""Config files and their schemas: reading, validation, and the defaults the schemas hold.

Both configs (the workflow config and the INNFER analysis config) are read and checked here, so
a config error always names the file, the key path and what was expected; the workflow
config's defaults live in its schema only, and are filled from there.
"""

from __future__ import annotations

import ast
import copy
import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from innfer_lib.core.errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "workflow" / "schemas"
ANALYSIS_SCHEMA = SCHEMA_DIR / "analysis_config.schema.yaml"
WORKFLOW_SCHEMA = SCHEMA_DIR / "workflow_config.schema.yaml"


#: Schema annotation on an object: {key: what the key meant in INNFER}, for keys this workflow
#: does not implement. They are rejected like any unknown key, but the message says what the
#: key did in INNFER, so a user porting a config learns that it is not supported (not misspelt).
UNSUPPORTED = "x-innfer-unsupported"
#: Problems one config error shows; the rest are counted, so a broken file is not a flood.
MAX_PROBLEMS = 3


def format_path(path: Sequence[Any]) -> str:
    """A key path as the user reads it in YAML: `files.base.selection`, `loop[0].Y1`."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.removeprefix(".") or "<top level>"


def _closest(name: Any, known: Iterable[Any]) -> str | None:
    """The known name a typo most likely meant, if any is close enough."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    """What to say about a key that is not one of `known`: the closest known key, or all."""
    names = sorted(str(k) for k in known)
    close = _closest(key, names)
    if close:
        return f"unknown key; did you mean '{close}'?"
    return f"unknown key (known: {', '.join(names)})" if names else "unknown key"


def unknown_name_message(name: str, kind: str, known: Iterable[str]) -> str:
    """What to say about a name (a process, a category, a parameter) that is not defined."""
    names = [str(k) for k in known]
    close = _closest(name, names)
    hint = f"; did you mean '{close}'?" if close else f" (known: {', '.join(names)})"
    return f"'{name}' is not a {kind}{hint}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a config: the key path the user wrote and what is wrong there."""

    path: tuple[str | int, ...]
    message: str

    def line(self, source: str) -> str:
        return f"{source}: {format_path(self.path)}: {self.message}"


class ConfigKeyError(ConfigError):
    """A ConfigError at a key path whose file the raiser does not know.

    Checks that see a merged config (the workflow config is config/config.yaml overlaid by the
    user's files) raise this; the caller knows which file set the key and names it.
    """

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        self.problem = Problem(tuple(path), message)
        super().__init__(f"{format_path(path)}: {message}")


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


#: JSON-schema type names as a YAML user knows them.
YAML_TYPES = {"object": "a mapping", "array": "a list", "string": "a string"}


def _type_names(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(YAML_TYPES.get(t, t) for t in names)


def _problems(error: Any) -> list[Problem]:
    """Readable problems of one jsonschema error (never the schema, never the whole config)."""
    path = tuple(error.absolute_path)
    kind, schema, instance = error.validator, error.schema, error.instance
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        known = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        unsupported = schema.get(UNSUPPORTED, {})
        out = []
        for key in instance:
            if key in known or any(re.search(p, str(key)) for p in patterns):
                continue
            if key in unsupported:
                message = f"INNFER's {unsupported[key]} is not supported; remove the key"
            else:
                message = unknown_key_message(key, known)
            out.append(Problem((*path, key), message))
        return out
    if kind == "required":
        # A required key the user misspelt is reported once, as the unknown key it became.
        known = list(schema.get("properties", {}))
        misspelt = {_closest(k, known) for k in instance if k not in known}
        missing = [k for k in error.validator_value if k not in instance and k not in misspelt]
        return [Problem(path, f"missing the required key '{k}'") for k in missing]
    if kind == "dependentRequired":
        return [
            Problem((*path, key), f"needs the key '{need}' too")
            for key, needs in error.validator_value.items()
            if key in instance
            for need in needs
            if need not in instance
        ]
    if kind == "const" and UNSUPPORTED not in schema:
        return [
            Problem(path, f"expected {json.dumps(error.validator_value)}, got {_short(instance)}")
        ]
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]
        close = _closest(instance, choices) if isinstance(instance, str) else None
        hint = f"; did you mean '{close}'?" if close else ""
        return [Problem(path, f"{_short(instance)} is not one of {choices}{hint}")]
    if kind == "const" and UNSUPPORTED in schema:
        return [
            Problem(
                path,
                f"INNFER's {schema[UNSUPPORTED]} is not supported; remove the key or set it to "
                f"{json.dumps(error.validator_value)}",
            )
        ]
    if kind == "type":
        expected = _type_names(error.validator_value)
        return [Problem(path, f"expected {expected}, got {_short(instance)}")]
    if kind == "minItems":
        n = error.validator_value
        return [Problem(path, f"expected at least {n} item(s), got {_short(instance)}")]
    if kind == "minProperties":
        n = error.validator_value
        entries = "an entry" if n == 1 else f"{n} entries"
        return [Problem(path, f"expected at least {entries}, got {_short(instance)}")]
    if kind in ("oneOf", "anyOf") and error.context:
        # The alternatives whose type does not fit say nothing useful; report the others.
        branches: dict[Any, list[Any]] = {}
        for e in error.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        wrong_type = {
            b: errs
            for b, errs in branches.items()
            if any(e.validator == "type" and not e.relative_path for e in errs)
        }
        fitting = [e for b, errs in branches.items() if b not in wrong_type for e in errs]
        if not fitting:
            expected = " or ".join(
                _type_names(e.validator_value)
                for errs in wrong_type.values()
                for e in errs
                if e.validator == "type"
            )
            return [Problem(path, f"expected {expected}, got {_short(instance)}")]
        return _problems(jsonschema.exceptions.best_match(fitting))
    message = error.message
    return [Problem(path, message if len(message) <= 200 else message[:197] + "...")]


def schema_problems(data: Mapping[str, Any], schema_path: Path) -> list[Problem]:
    """Every problem of `data` against a JSON schema, ordered by key path."""
    schema = yaml.safe_load(schema_path.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = [p for e in validator.iter_errors(data) for p in _problems(e)]
    return sorted(problems, key=lambda p: [str(k) for k in p.path])


def problems_message(lines: Sequence[str]) -> str:
    """One line per problem, at most MAX_PROBLEMS of them, and how many more there are."""
    shown = list(lines[:MAX_PROBLEMS])
    if len(lines) > MAX_PROBLEMS:
        shown.append(f"... and {len(lines) - MAX_PROBLEMS} more problem(s)")
    return "\n".join(shown)


def validate_schema(data: Mapping[str, Any], schema_path: Path, source: str) -> None:
    """Check `data` against a JSON schema and raise one readable error.

    jsonschema's own messages do not say which file was wrong and dump the schema; analysts
    mostly edit several configs at once, so each line names the file, the key path and what
    was expected (the closest known key for a typo).
    """
    problems = schema_problems(data, schema_path)
    if problems:
        raise ConfigError(problems_message([p.line(source) for p in problems]))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML config, or a `.py` file that assigns a literal dict to `config`.

    The `.py` form is parsed with `ast.literal_eval`, never executed: config files travel
    between users and must not run code.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    text = path.read_text()
    if path.suffix == ".py":
        tree = ast.parse(text, filename=str(path))
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "config"
            ):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError as err:
                    raise ConfigError(
                        f"{path}: `config` is not a literal dict ({err}); a run config that "
                        f"computes it is converted once with `innfer-convert-config {path} "
                        f"-o {path.with_suffix('.yaml')}`"
                    ) from err
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}: `config` must be a dict")
                return value
        raise ConfigError(
            f"{path}: no top-level assignment `config = {{...}}` found; a run config that builds "
            f"it is converted once with `innfer-convert-config {path} -o "
            f"{path.with_suffix('.yaml')}`"
        )
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level, got {type(value).__name__}"
        )
    return value


def set_schema_defaults(data: dict[str, Any], schema_path: Path) -> None:
    """Fill every `default` of the schema into `data`, at every level the data reaches.

    Each object that is present gets the defaults of its missing keys (a copy of each), as
    Snakemake's `validate(..., set_default=True)` did: a fit set's options, a benchmark's
    event counts. Call it on valid data; problems are not reported here.
    """
    schema = yaml.safe_load(schema_path.read_text())
    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def properties_with_defaults(validator: Any, properties: Any, instance: Any, sub: Any) -> Any:
        if isinstance(instance, dict):
            for key, spec in properties.items():
                if isinstance(spec, dict) and "default" in spec:
                    instance.setdefault(key, copy.deepcopy(spec["default"]))
        yield from check_properties(validator, properties, instance, sub)

    filler = jsonschema.validators.extend(base, {"properties": properties_with_defaults})
    for _ in filler(schema).iter_errors(data):
        pass


def workflow_defaults() -> dict[str, Any]:
    """Defaults of the workflow config, read from its schema (one source of truth)."""
    schema = yaml.safe_load(WORKFLOW_SCHEMA.read_text())
    return {k: v["default"] for k, v in schema["properties"].items() if "default" in v}


def workflow_entry_properties(block: str) -> dict[str, Any]:
    """Schema `properties` of one entry of a named-set block of the workflow config.

    `fits` and `summaries` map names to option blocks; their entries are filled from this.
    """
    schema = yaml.safe_load(WORKFLOW_SCHEMA.read_text())
    return dict(schema["properties"][block]["additionalProperties"]["properties"])


def fill_defaults(properties: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Schema defaults under the given values, recursing into option blocks."""
    filled: dict[str, Any] = {}
    blocks = set()
    for key, spec in properties.items():
        kind = spec.get("type")
        if kind == "object" and "properties" in spec:
            filled[key] = fill_defaults(spec["properties"], given.get(key) or {})
            blocks.add(key)
        elif isinstance(kind, list) and "object" in kind and "properties" in spec:
            # An optional block (null: off): filled only when given, so {} means its defaults.
            value = given.get(key, spec.get("default"))
            filled[key] = None if value is None else fill_defaults(spec["properties"], value)
            blocks.add(key)
        elif "default" in spec:
            filled[key] = spec["default"]
    for key, value in given.items():
        # A free-form mapping (e.g. {parameter: range}) is a value, even with a {} default.
        if key not in blocks:
            filled[key] = value
    return filled
