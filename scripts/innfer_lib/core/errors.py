"""Error types that carry a message meant for the analyst, not a traceback."""


class InnferError(Exception):
    """Base of every error whose message names the file, key or column at fault."""


class ConfigError(InnferError):
    """A config file is missing, malformed or inconsistent."""


class DataError(InnferError):
    """An input dataset lacks a column, is empty, or holds values that cannot be used."""
