"""Error types that carry a message meant for the analyst, not a traceback."""


class InnferError(Exception):
    """Base of every error whose message names the file, key or column at fault."""


class ConfigError(InnferError):
    """A config file is missing, malformed or inconsistent."""


class DataError(InnferError):
    """An input dataset lacks a column, is empty, or holds values that cannot be used."""


class ModelFileError(InnferError, ValueError):
    """A trained model's file cannot be read, or was written for another architecture.

    A ValueError too, because that is what loading a mismatched file has always raised; as an
    InnferError it reaches the user as one line naming the file instead of a traceback.
    """
