"""One exception root for everything pii_gen raises on purpose.

The CLI turns any :class:`PiiGenError` into a single line on stderr and exit
status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PiiGenError(Exception):
    """Base class of every error pii_gen reports to a user."""

    exit_code: int = 2


class ConfigError(PiiGenError):
    """A flag, config field or config file is wrong."""


class OutputError(PiiGenError):
    """The output destination cannot be written."""


class DataError(PiiGenError):
    """The shipped reference data is missing or damaged."""


class RegistryError(PiiGenError):
    """A registered class (sub-generator, noise type) clashes with another or declares what cannot work."""


class SchemaError(ConfigError):
    """A schema file is wrong; the message is one line, ``file:line: path: what``."""
