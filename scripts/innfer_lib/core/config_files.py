"""Config files and their schemas: reading, validation, and the defaults the schemas hold.

Both configs (the workflow config and the INNFER analysis config) are read and checked here, so
a config error always names the file, the key path and what was expected; the workflow
config's defaults live in its schema only, and are filled from there.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from innfer_lib.core.errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "workflow" / "schemas"
ANALYSIS_SCHEMA = SCHEMA_DIR / "analysis_config.schema.yaml"
WORKFLOW_SCHEMA = SCHEMA_DIR / "workflow_config.schema.yaml"


def _format_path(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_schema(data: Mapping[str, Any], schema_path: Path, source: str) -> None:
    """Check `data` against a JSON schema and raise one readable error.

    jsonschema's own messages do not say which file was wrong; analysts mostly edit several
    configs at once, so the message names the file, the key path and what was expected.
    """
    import jsonschema

    schema = yaml.safe_load(schema_path.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{source}: at '{_format_path(e.absolute_path)}': {e.message}" for e in errors]
        raise ConfigError("invalid config\n  " + "\n  ".join(lines[:10]))


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
                    raise ConfigError(f"{path}: `config` must be a literal dict ({err})") from err
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}: `config` must be a dict")
                return value
        raise ConfigError(f"{path}: no top-level assignment `config = {{...}}` found")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level, got {type(value).__name__}"
        )
    return value


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
    for key, spec in properties.items():
        if spec.get("type") == "object" and "properties" in spec:
            filled[key] = fill_defaults(spec["properties"], given.get(key) or {})
        elif "default" in spec:
            filled[key] = spec["default"]
    for key, value in given.items():
        if not isinstance(filled.get(key), dict):
            filled[key] = value
    return filled
