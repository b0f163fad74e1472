"""A custom step's options: a mapping, or INNFER's `--custom-options` string "a=b;c=d".

INNFER split the string on `;` and `=`. Here each value is then read as YAML, so `n=3` is the
integer 3, `q=[0.16, 0.5, 0.84]` a list and `mass=sim_mass` the string: the same values the
mapping form `{n: 3, q: [0.16, 0.5, 0.84], mass: sim_mass}` gives when the config file is read.
YAML's safe loader builds plain values only; nothing is evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

#: Separators of INNFER's option string: between entries, and between a key and its value.
ENTRY_SEPARATOR = ";"
KEY_SEPARATOR = "="


def _value(text: str) -> Any:
    """One option value as YAML reads it; text YAML cannot read stays the string it is."""
    if not text:
        return ""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_option_string(text: str) -> dict[str, Any]:
    """INNFER's "key=value;key=value" as a mapping.

    Whitespace around keys and values and empty entries (a trailing `;`) are ignored; a value
    may contain `=` (only the first one separates the key).

    Raises:
        ValueError: an entry without `=` or with an empty key, or a key given twice; the
            message quotes the entry.
    """
    options: dict[str, Any] = {}
    for entry in text.split(ENTRY_SEPARATOR):
        entry = entry.strip()
        if not entry:
            continue
        key, separator, value = entry.partition(KEY_SEPARATOR)
        key = key.strip()
        if not separator or not key:
            raise ValueError(f"{entry!r} is not key{KEY_SEPARATOR}value")
        if key in options:
            raise ValueError(f"{key!r} is given twice")
        options[key] = _value(value.strip())
    return options


def step_options(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The options of a step from either form (None: no options).

    Raises:
        ValueError: a malformed option string (see `parse_option_string`).
    """
    if value is None:
        return {}
    if isinstance(value, str):
        return parse_option_string(value)
    return dict(value)
