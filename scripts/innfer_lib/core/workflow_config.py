"""The workflow config as Snakemake assembles it: layers of files, checked, each key traced.

Snakemake deep-merges the user's `--configfile` files and `--config` values over
config/config.yaml. That is right for option blocks (a partial `asimov:` keeps the other
defaults) and wrong for the named sets: a user's `fits:` would keep the default `closure` fit
set next to their own. And a merged dict no longer says which file a key came from. Here the
layers are kept apart, so the named-set blocks the user wrote replace the default ones and
every error names the file that set the key, with the key path.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from innfer_lib.core.config_files import (
    WORKFLOW_SCHEMA,
    ConfigKeyError,
    Problem,
    problems_message,
    read_config_file,
    schema_problems,
    set_schema_defaults,
    workflow_defaults,
)
from innfer_lib.core.errors import ConfigError

#: Blocks of named sets: the user's block replaces the default one instead of merging into it.
REPLACED_BLOCKS = ("fits", "summaries")
#: Name of the layer of `--config key=value` arguments (and of a config passed through the API).
COMMAND_LINE = "--config"


def _depth(data: Any, path: Sequence[str | int]) -> int:
    """How many leading keys of `path` a layer holds."""
    depth = 0
    for key in path:
        if isinstance(data, Mapping) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            break
        depth += 1
    return depth


@dataclass(frozen=True)
class ConfigLayers:
    """The config's layers in merge order as (file name, its mapping); the last one wins.

    `defaults` are the workflow's own config files (config/config.yaml), `user` the
    `--configfile` files and then the `--config` values.
    """

    defaults: tuple[tuple[str, Mapping[str, Any]], ...]
    user: tuple[tuple[str, Mapping[str, Any]], ...]

    @property
    def layers(self) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        return self.defaults + self.user

    def user_config(self) -> dict[str, Any]:
        """What the user's layers set, merged as Snakemake merges them."""
        merged: dict[str, Any] = {}
        for _, data in self.user:
            _deep_update(merged, data)
        return merged

    def source_of(self, path: Sequence[str | int]) -> str:
        """The file whose key the merged config holds at `path` (or deepest towards it).

        When no layer holds even the first key (the value is a schema default), every file is
        named: the fix then belongs in whichever the user prefers.
        """
        best, best_depth = "", 0
        for name, data in reversed(self.layers):
            depth = _depth(data, path)
            if depth > best_depth:
                best, best_depth = name, depth
        return best or ", ".join(name for name, _ in self.layers) or "the workflow config"

    def problem(self, problem: Problem) -> str:
        """One problem as `<file>: <key path>: <what is wrong>`."""
        return problem.line(self.source_of(problem.path))


def shown_path(path: str | Path) -> str:
    """A config file as the user would type it: relative to the working directory if inside."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def config_layers(
    workflow_files: Iterable[str | Path],
    user_files: Iterable[str | Path],
    command_line: Mapping[str, Any] | None,
) -> ConfigLayers:
    """Read the layers Snakemake merged: its `configfile:` files, `--configfile`, `--config`.

    Args:
        workflow_files: the Snakefile's `configfile:` files (config/config.yaml); a file the
            user also passed with `--configfile` counts as the user's.
        user_files: the `--configfile` files, in order.
        command_line: the `--config` values (or the config an API caller passed).
    """
    user_paths = [Path(f).absolute() for f in user_files]
    defaults = tuple(
        (shown_path(f), read_config_file(f))
        for f in workflow_files
        if Path(f).absolute() not in user_paths
    )
    user = [(shown_path(f), read_config_file(f)) for f in user_paths]
    if command_line:
        user.append((COMMAND_LINE, dict(command_line)))
    return ConfigLayers(defaults, tuple(user))


def _deep_update(target: dict[str, Any], data: Mapping[str, Any]) -> None:
    """Snakemake's merge: mappings key by key, anything else replaced."""
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def replace_user_blocks(config: MutableMapping[str, Any], user: Mapping[str, Any]) -> None:
    """Put the user's named-set blocks in place of the merged ones (see the module docstring)."""
    for key in REPLACED_BLOCKS:
        if key in user:
            config[key] = copy.deepcopy(user[key])


def check_workflow_config(config: Mapping[str, Any], layers: ConfigLayers) -> None:
    """Check the merged workflow config against its schema, naming file and key per problem.

    Raises:
        ConfigError: one line per problem (at most a few), e.g.
            `my.yaml: fits.closure.likelihod: unknown key; did you mean 'likelihood'?`.
    """
    problems = schema_problems(config, WORKFLOW_SCHEMA)
    if problems:
        raise ConfigError(problems_message([layers.problem(p) for p in problems]))


def fill_workflow_defaults(config: dict[str, Any]) -> None:
    """Fill the schema's defaults at every level; a partial option block keeps the defaults
    of the keys it omits (a block's own default names them when its keys have none)."""
    set_schema_defaults(config, WORKFLOW_SCHEMA)
    for key, value in workflow_defaults().items():
        if isinstance(value, dict) and key not in REPLACED_BLOCKS:
            config[key] = {**value, **config[key]}


def check_validation_indices(indices: Sequence[int], n_points: int) -> None:
    """Each index given in `validation_indices` is one of the analysis's validation points.

    Raises:
        ConfigKeyError: at `validation_indices`.
    """
    for index in indices:
        if not 0 <= index < n_points:
            raise ConfigKeyError(
                ("validation_indices",),
                f"{index} is not a validation point; the analysis's validation.loop has "
                f"{n_points} (indices 0..{n_points - 1})",
            )
