"""Both config schemas close every object, so a new section cannot bring back silent typos.

An object schema without `additionalProperties` accepts any key: a misspelt `selection` would
be ignored and every event loaded. Each object must say which keys it takes: a fixed set
(`additionalProperties: false`), a map of user-chosen names whose values are checked
(`additionalProperties: <schema>`), `patternProperties`, or an `x-innfer-open` reason saying
where else its keys are checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from innfer_lib.core.config_files import (
    ANALYSIS_SCHEMA,
    WORKFLOW_SCHEMA,
    schema_problems,
)

OPEN = "x-innfer-open"


def _object_schemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON pointer, subschema) of every subschema that describes an object."""
    if isinstance(node, dict):
        types = node.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if "object" in types or "properties" in node:
            yield path or "/", node
        for key, value in node.items():
            yield from _object_schemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _object_schemas(value, f"{path}/{i}")


@pytest.mark.parametrize("schema_path", [ANALYSIS_SCHEMA, WORKFLOW_SCHEMA], ids=lambda p: p.name)
def test_every_object_rejects_unknown_keys(schema_path: Path) -> None:
    schema = yaml.safe_load(schema_path.read_text())
    objects = list(_object_schemas(schema))
    assert len(objects) > 10
    open_objects = [
        path
        for path, node in objects
        if node.get("additionalProperties", True) is True
        and "patternProperties" not in node
        and not node.get(OPEN)
    ]
    assert not open_objects, f"{schema_path.name}: objects that accept any key: {open_objects}"


def test_schema_typo_names_key_path_and_closest_key() -> None:
    config = {"benchmark": {"name": "Dim1Gaussian"}, "fits": {"mine": {"likelihod": "poisson"}}}
    [problem] = schema_problems(config, WORKFLOW_SCHEMA)
    assert problem.path == ("fits", "mine", "likelihod")
    assert problem.message == "unknown key; did you mean 'likelihood'?"


def test_unsupported_innfer_key_is_named_as_such() -> None:
    raw = {"models": {"m": {"density_models": [{"parameters": [], "file": "f", "split": 2}]}}}
    problems = schema_problems(raw, ANALYSIS_SCHEMA)
    [unsupported] = [p for p in problems if p.path[-1:] == ("split",)]
    assert "INNFER" in unsupported.message and "not supported" in unsupported.message
