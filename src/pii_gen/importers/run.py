"""An import from end to end: a source read into source tables, built into a schema file, written as
commented YAML and checked by the schema loader (so what an import writes always loads)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..redact import redact, redact_url
from .build import build_schema
from .pii import Detection, snake
from .source import SourceTable
from .write import dump_schema


@dataclass
class ImportResult:
    """What an import made: the schema file (dict and text), its detections, the source tables, and the
    source as it may be printed (credentials masked)."""

    schema: dict[str, Any]
    text: str
    detections: list[Detection]
    tables: list[SourceTable]
    source: str
    model: Any = None  # the loaded pii_gen.dsl.Schema


def finish(tables: list[SourceTable], name: str | None, source: str, *, noun: str = "tables",
           secrets: tuple[str, ...] = ()) -> ImportResult:
    """Build, write and check the schema file of ``tables``; every secret is removed from the text."""
    from .. import dsl

    if not tables:
        raise ConfigError(f"{source}: nothing to import (no tables)")
    schema, detections = build_schema(tables, name, noun=noun)
    header = [f"Written by pii_gen import from {source}.",
              "Review it: each column says what it became and why; no row of the source is in this file."]
    text = redact(dump_schema(schema, detections, tuple(header)), *secrets)
    model = dsl.loads(text, source="imported schema")
    return ImportResult(schema, text, detections, tables, source, model)


def import_template(path: str | Path, name: str | None = None) -> ImportResult:
    """A metadata template (``--template FILE.json``) as a schema file."""
    from .template import read_template

    template, tables = read_template(path)
    return finish(tables, name or template.name or snake(Path(path).stem), f"template {Path(path).name}",
                  noun="entities")


def _table_name(text: str) -> str:
    return snake(text) or "records"


def import_json(path: str | Path, name: str | None = None) -> ImportResult:
    """JSON samples in a file (an array of objects, or {"data": [...]}) as a schema file."""
    from .samples import read_json, tables_from_records

    records = read_json(path)
    root = _table_name(Path(path).stem)
    tables = tables_from_records(records, root, f"{Path(path).name}")
    return finish(tables, name or root, f"{len(records)} records of {Path(path).name}")


def import_url(url: str, headers: dict[str, str] | None = None, max_pages: int | None = None,
               name: str | None = None) -> ImportResult:
    """JSON samples of a REST API (GET, following pages; see :mod:`.rest`) as a schema file."""
    from .rest import MAX_PAGES, fetch_records, header_secrets
    from .samples import tables_from_records

    secrets = header_secrets(headers or {})
    records, pages = fetch_records(url, headers, max_pages or MAX_PAGES)
    shown = redact(redact_url(url), *secrets)
    segments = [s for s in urlsplit(url).path.split("/") if s and not re.fullmatch(r"v\d+|api", s)]
    root = _table_name(segments[-1] if segments else urlsplit(url).hostname or "records")
    tables = tables_from_records(records, root, f"GET {urlsplit(url).path or '/'}")
    return finish(tables, name or root, f"{len(records)} records in {pages} pages of GET {shown}", secrets=secrets)


#: The module that reads a database's tables (written separately; the CLI says so while it is missing).
DATABASE_MODULE = "pii_gen.importers.database"


def import_db(url: str, db_schema: str | None = None, tables: list[str] | None = None, sample: int | None = None,
              name: str | None = None) -> ImportResult:
    """A database's tables (``--db URL``) as a schema file, read by :mod:`pii_gen.importers.database`."""
    try:
        database: Any = importlib.import_module(DATABASE_MODULE)
    except ModuleNotFoundError as err:
        if err.name != DATABASE_MODULE:
            raise
        raise ConfigError("--db import is not available in this version yet (no database reader)") from None
    found = database.reflect(url, db_schema=db_schema, tables=tables, sample=sample)
    shown = redact_url(url)
    return finish(found, name or snake(urlsplit(url).path.rsplit("/", 1)[-1]) or None, f"database {shown}",
                  secrets=tuple(s for s in [urlsplit(url).password] if s))
