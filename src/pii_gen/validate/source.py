"""Open a generated dataset, an output folder (:mod:`.folder`) or a database (:mod:`.database`), as a :class:`Source`.

The opened dataset and its typed relations live in :mod:`.dataset`, the manifest in :mod:`.manifest`; the names
the checks import are re-exported here.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .database import open_database
from .dataset import NOISE_LOG, Source, duck_type, literal, quote
from .folder import open_folder

__all__ = ["NOISE_LOG", "Source", "duck_type", "literal", "open_database", "open_folder", "open_source", "quote"]


def open_source(folder: Path | None = None, db: str | None = None, schema: str | None = None) -> Source:
    """Open an output folder or a database URL (exactly one of them)."""
    if (folder is None) == (db is None):
        raise ConfigError("validate needs an output folder or --db URL (exactly one)")
    return open_database(db, schema) if db is not None else open_folder(folder)
