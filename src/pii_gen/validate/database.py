"""The tables ``pii_gen generate --db`` loaded, opened for validation (attached in place or copied in batches)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..db.url import DatabaseURL
from ..db.url import parse as parse_url
from ..errors import ConfigError, PiiGenError
from ..packs.person.contract import TABLES
from ..record import read_runs
from .dataset import FETCH_ROWS, NOISE_LOG, Source, _csv_reader, _load_text, _new_connection, _view_over, literal, quote
from .manifest import db_manifest


def open_database(url_text: str, schema: str | None = None, tables: dict[str, dict[str, str]] | None = None) -> Source:
    """Open the tables ``pii_gen generate --db`` loaded; the manifest comes from its bookkeeping tables.

    ``tables`` (name -> column -> DuckDB type) are the tables to read instead of the population's (a schema
    file's)."""
    url = parse_url(url_text)
    tmp = Path(tempfile.mkdtemp(prefix="pii_gen_validate_"))
    src = Source(con=None, description=url.redacted() + (f" schema {schema}" if schema else ""), manifest={}, tmp=tmp)
    try:
        src.con = _new_connection(tmp)
        if url.dialect == "duckdb":
            _attach_duckdb(src, url, schema, tables)
        else:
            _pull(src, url, schema, tables)
    except PiiGenError:
        src.close()
        raise
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        src.close()
        raise ConfigError(f"cannot read {url.redacted()}: {url.scrub(str(err))[:300]}") from None
    return src


def _attach_duckdb(src: Source, url: DatabaseURL, schema: str | None,
                   tables: dict[str, dict[str, str]] | None = None) -> None:
    if not Path(url.file).exists():
        raise ConfigError(f"DuckDB file '{url.file}' does not exist")
    src.con.execute(f"ATTACH {literal(url.file)} AS src (READ_ONLY)")
    ns = f"src.{quote(schema or 'main')}"
    where = f"database_name = 'src' AND schema_name = {literal(schema or 'main')}"
    present = {r[0] for r in src.all(f"SELECT table_name FROM duckdb_tables() WHERE {where}")}
    if "pii_gen_runs" not in present:
        raise ConfigError(f"{url.redacted()} has no pii_gen_runs table: not loaded by pii_gen generate --db")
    src.manifest = db_manifest(read_runs(src.all, lambda table: f"{ns}.{quote(table)}"))
    for name in tables or [*TABLES, NOISE_LOG]:
        if name in present:
            _view_over(src.con, src, name, f"{ns}.{quote(name)}", None if tables is None else tables[name])


def _pull(src: Source, url: DatabaseURL, schema: str | None, tables: dict[str, dict[str, str]] | None = None) -> None:
    """Copy the tables of a server database into the temporary DuckDB database, in bounded batches."""
    from ..db.loaders import connect

    conn = connect(url, schema)
    try:
        try:
            runs = read_runs(conn.execute, conn.table)
        except Exception:  # noqa: BLE001 - any error here means the bookkeeping tables are not there
            conn.rollback()
            raise ConfigError(
                f"{url.redacted()} has no pii_gen_runs table: not loaded by pii_gen generate --db"
            ) from None
        src.manifest = db_manifest(runs)
        for name in tables or [*TABLES, NOISE_LOG]:
            if not conn.table_exists(name):
                continue
            want = None if tables is None else tables[name]
            header = _db_columns(conn, name)
            if url.dialect == "postgresql" and url.path == "native":
                path = src.tmp / f"{name}.csv"
                _postgres_copy(conn, name, header, path)
                _load_text(src, name, _csv_reader(path, header), header, want)
                path.unlink()
            else:
                path = src.tmp / f"{name}.parquet"
                _fetch_to_parquet(conn, name, header, path)
                _load_text(src, name, f"read_parquet({literal(str(path))})", header, want)
                path.unlink()
    finally:
        conn.close()


def _db_columns(conn: Any, name: str) -> list[str]:
    cur = conn.raw.cursor()
    cur.execute(f"SELECT * FROM {conn.table(name)} WHERE 1 = 0")
    cols = [d[0] for d in cur.description]
    cur.fetchall()
    cur.close()
    return cols


def _postgres_copy(conn: Any, name: str, header: list[str], path: Path) -> None:
    """Stream a PostgreSQL table to a CSV file with COPY TO STDOUT, the server's fastest export."""
    cols = ", ".join(conn.dialect.q(c) for c in header)
    with path.open("wb") as out, conn.raw.cursor() as cur:
        with cur.copy(f"COPY (SELECT {cols} FROM {conn.table(name)}) TO STDOUT WITH (FORMAT csv, HEADER true)") as cp:
            for chunk in cp:
                out.write(chunk)
    conn.rollback()


def _fetch_to_parquet(conn: Any, name: str, header: list[str], path: Path) -> None:
    """Fetch a table through a DB-API driver a batch at a time into a Parquet file of text columns."""
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c, pa.string()) for c in header])
    cur = conn.stream_cursor()  # rows as they are read (PyMySQL's default cursor would hold the whole table)
    cur.execute(f"SELECT {', '.join(conn.dialect.q(c) for c in header)} FROM {conn.table(name)}")
    with pq.ParquetWriter(str(path), schema) as writer:
        while True:
            rows = cur.fetchmany(FETCH_ROWS)
            if not rows:
                break
            cols = list(zip(*rows))
            writer.write_table(
                pa.table(
                    [pa.array([None if v is None else _text(v) for v in col], pa.string()) for col in cols],
                    schema=schema,
                )
            )
    cur.close()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
