"""A schema run's tables opened for validation: an output folder (one file per table and manifest.json) or the
database ``generate --schema F --db URL`` loaded, each table a DuckDB relation typed by the schema's contract.

The contract (each column's Arrow type) is the plan's, so CSV, JSON Lines and database text read back with the
types the run wrote; Parquet is read in place, the others once into the temporary DuckDB database.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa

from ..core.contract import Table
from ..errors import ConfigError, PiiGenError
from .database import open_database
from .dataset import Source, _new_connection
from .folder import open_file
from .manifest import read_manifest


def duck(arrow: pa.DataType) -> str:
    """The DuckDB type of a schema contract column."""
    if pa.types.is_integer(arrow):
        return "BIGINT"
    if pa.types.is_floating(arrow):
        return "DOUBLE"
    if pa.types.is_boolean(arrow):
        return "BOOLEAN"
    if pa.types.is_date(arrow):
        return "DATE"
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMP"
    return "VARCHAR"


def wanted(tables: dict[str, Table]) -> dict[str, dict[str, str]]:
    """Table -> column -> DuckDB type of every contract table."""
    return {name: {c.name: duck(c.type) for c in t.columns} for name, t in tables.items()}


def open_schema_source(folder: Path | None, db: str | None, db_schema: str | None,
                       tables: dict[str, Table]) -> Source:
    """Open a schema run's folder or database (exactly one); every contract table that is missing is refused."""
    if (folder is None) == (db is None):
        raise ConfigError("validate needs an output folder or --db URL (exactly one)")
    want = wanted(tables)
    src = open_database(db, db_schema, want) if db is not None else _open_folder(Path(folder), want)  # type: ignore[arg-type]
    missing = [name for name in tables if name not in src.columns]
    if missing:
        src.close()
        raise ConfigError(f"{src.description} has no table {missing[0]}: not generated from this schema file")
    return src


def _open_folder(folder: Path, want: dict[str, dict[str, str]]) -> Source:
    manifest = read_manifest(folder)
    files = {name: info.get("file") for name, info in (manifest.get("tables") or {}).items()}
    if "schema_sha256" not in manifest:
        raise ConfigError(f"'{folder}' is a population run, not a schema run (validate it without --schema)")
    fmt = str(manifest.get("format", "csv"))
    tmp = Path(tempfile.mkdtemp(prefix="pii_gen_validate_"))
    src = Source(con=None, description=f"{folder} ({fmt})", manifest=manifest, tmp=tmp)
    try:
        src.con = _new_connection(tmp)
        for name, types in want.items():
            path = folder / str(files.get(name) or f"{name}.{fmt}")
            if not path.exists():
                continue
            open_file(src, name, path, fmt, types)
    except PiiGenError:
        src.close()
        raise
    except Exception as err:  # noqa: BLE001 - DuckDB's parse errors name the file and line
        src.close()
        raise ConfigError(f"cannot read {folder}: {' '.join(str(err).split())[:300]}") from None
    return src
