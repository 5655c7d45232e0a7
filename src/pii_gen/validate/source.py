"""Open a generated dataset (an output folder or a database) as DuckDB tables named after the contract.

Every contract table present becomes a relation of the same name whose contract columns carry the
contract's types, whatever the storage:

* Parquet files and DuckDB databases are read in place through views; a column stored with another
  type is cast with TRY_CAST, and the values that fail are counted for the structural check.
* CSV and JSON Lines files are read once, every column as text, into a temporary DuckDB database
  with TRY_CAST to the contract types; an ``__bad`` bitmask records which values failed to convert.
* PostgreSQL tables are streamed with ``COPY ... TO STDOUT (FORMAT csv)`` into temporary CSV files
  and read like CSV; SQLite and ODBC databases are fetched in batches into temporary Parquet files.

Nothing is held in Python objects row by row (except the SQLite/ODBC drivers' own rows, a batch at a
time), so memory stays bounded by DuckDB's limit; the temporary database lives in a temporary folder
that :meth:`Source.close` removes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import ValidationError

from ..config import GenerateConfig
from ..db.url import DatabaseURL
from ..db.url import parse as parse_url
from ..errors import ConfigError, PiiGenError
from ..schema import TABLES
from ..variability import make_plan

NOISE_LOG = "noise_log"
NOISE_LOG_COLUMNS = {
    "table_name": "VARCHAR",
    "record_id": "BIGINT",
    "column_name": "VARCHAR",
    "noise_type": "VARCHAR",
    "variant": "VARCHAR",
    "original_value": "VARCHAR",
}
FILE_EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
FETCH_ROWS = 50_000  # rows per driver batch on the SQLite/ODBC path

_DUCK_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.int16(): "SMALLINT",
    pa.float64(): "DOUBLE",
    pa.float32(): "FLOAT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.string(): "VARCHAR",
}
_FAMILIES = {
    "BIGINT": "int",
    "INTEGER": "int",
    "SMALLINT": "int",
    "TINYINT": "int",
    "HUGEINT": "int",
    "UBIGINT": "int",
    "UINTEGER": "int",
    "USMALLINT": "int",
    "UTINYINT": "int",
    "DOUBLE": "float",
    "FLOAT": "float",
    "REAL": "float",
    "BOOLEAN": "bool",
    "DATE": "date",
    "VARCHAR": "text",
}


def duck_type(arrow_type: pa.DataType) -> str:
    """The DuckDB type of a contract column."""
    return _DUCK_TYPES[arrow_type]


def same_family(actual: str, expected: str) -> bool:
    """True when a stored type holds the contract's values without conversion (any integer width, any float)."""
    base = actual.split("(")[0].upper()
    if base.startswith("DECIMAL"):
        base = "DOUBLE"
    return _FAMILIES.get(base, base) == _FAMILIES.get(expected, expected)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Source:
    """A dataset opened for validation: a DuckDB connection holding one relation per table, and its manifest."""

    con: Any  # duckdb.DuckDBPyConnection
    description: str
    manifest: dict[str, Any]
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> stored type
    type_errors_sql: dict[str, str] = field(default_factory=dict)  # table -> query: one count per column
    tmp: Path | None = None

    # -- what the manifest says ------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.get("config") or {}

    @property
    def pii_mode(self) -> str:
        return str(self.manifest.get("pii_mode") or self.config.get("pii_mode") or "strict")

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(str(self.config.get("as_of", "2026-01-01")))

    @property
    def age_range(self) -> tuple[int, int]:
        d = self.config.get("demographics") or {}
        return int(d.get("min_age", 18)), int(d.get("max_age", 90))

    @property
    def noise(self) -> dict[str, Any] | None:
        """The run's noise settings, or None when no noise was applied."""
        noise = {**(self.config.get("noise") or {}), **(self.manifest.get("noise") or {})}
        if noise.get("profile", "none") in (None, "none"):
            return None
        return noise

    def has(self, table: str, *columns: str) -> bool:
        """True when ``table`` is present with all of ``columns``."""
        cols = self.columns.get(table)
        return cols is not None and all(c in cols for c in columns)

    def clean(self, table: str) -> str:
        """Relation of ``table``'s rows that noise left alone (all rows when no noise was applied)."""
        return quote(f"clean_{table}") if self.noise is not None and NOISE_LOG in self.columns else quote(table)

    def prepare(self) -> None:
        """Create ``clean_<table>`` views without the rows the noise log lists, and without duplicate people."""
        if self.noise is None or NOISE_LOG not in self.columns:
            return
        for name, table in TABLES.items():
            if name not in self.columns or table.primary_key not in self.columns[name]:
                continue
            where = (
                f"{quote(table.primary_key)} NOT IN (SELECT record_id FROM {NOISE_LOG} "
                f"WHERE table_name = {literal(name)} AND record_id IS NOT NULL)"
            )
            if "source_person_id" in self.columns[name]:
                where += " AND source_person_id IS NULL"
            self.con.execute(f"CREATE VIEW {quote('clean_' + name)} AS SELECT * FROM {quote(name)} WHERE {where}")

    # -- queries -------------------------------------------------------------------
    def one(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchone()

    def all(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise ConfigError('pii_gen validate needs DuckDB: pip install "pii-gen[validate]"') from None
    return duckdb


def _new_connection(tmp: Path) -> Any:
    """A DuckDB database in a temporary folder, with memory bounded and spilling to that folder."""
    duckdb = _duckdb()
    import psutil

    con = duckdb.connect(str(tmp / "validate.duckdb"))
    limit_mb = int(min(8 * 1024, psutil.virtual_memory().total / 2**20 / 2))
    con.execute(f"SET memory_limit = '{limit_mb}MB'")
    con.execute(f"SET temp_directory = {literal(str(tmp / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")
    return con


def _contract(name: str) -> dict[str, str]:
    """Column -> DuckDB type of a contract table (or of the noise log)."""
    if name == NOISE_LOG:
        return dict(NOISE_LOG_COLUMNS)
    return {c.name: duck_type(c.type) for c in TABLES[name].columns}


def _materialize(con: Any, name: str, reader: str, header: list[str]) -> None:
    """Create table ``name`` from a relation of text columns, cast to the contract, with an ``__bad`` bitmask."""
    want = _contract(name)
    select, bits = [], []
    checked = [c for c in header if c in want and want[c] != "VARCHAR"]
    for c in header:
        t = want.get(c, "VARCHAR")
        select.append(f"TRY_CAST({quote(c)} AS {t}) AS {quote(c)}" if t != "VARCHAR" else quote(c))
    for i, c in enumerate(checked):
        t = want[c]
        bits.append(
            f"(CASE WHEN {quote(c)} IS NOT NULL AND TRY_CAST({quote(c)} AS {t}) IS NULL THEN {1 << i} ELSE 0 END)"
        )
    select.append(("(" + " + ".join(bits) + ")" if bits else "0") + "::BIGINT AS __bad")
    con.execute(f"CREATE TABLE {quote(name)} AS SELECT {', '.join(select)} FROM {reader}")


def _type_errors_from_bits(name: str, header: list[str]) -> str:
    want = _contract(name)
    checked = [c for c in header if c in want and want[c] != "VARCHAR"]
    if not checked:
        return ""
    parts = [f"SUM(((__bad >> {i}) & 1))::BIGINT AS {quote(c)}" for i, c in enumerate(checked)]
    return f"SELECT {', '.join(parts)} FROM {quote(name)}"


def _csv_reader(path: Path, header: list[str]) -> str:
    cols = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in header) + "}"
    return (
        f"read_csv({literal(str(path))}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', nullstr = '', allow_quoted_nulls = false, columns = {cols})"
    )


def _view_over(con: Any, src: Source, name: str, relation: str) -> None:
    """Create view ``name`` over a typed relation, casting columns stored with a type of another family."""
    want = _contract(name)
    stored = {r[0]: str(r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    select, errors = [], []
    for c, t in stored.items():
        target = want.get(c)
        if target is None or t == target:
            select.append(quote(c))
        elif same_family(t, target):
            select.append(f"CAST({quote(c)} AS {target}) AS {quote(c)}")
        else:
            select.append(f"TRY_CAST({quote(c)} AS {target}) AS {quote(c)}")
            errors.append(
                f"COUNT(*) FILTER (WHERE {quote(c)} IS NOT NULL AND TRY_CAST({quote(c)} AS {target}) IS NULL) "
                f"AS {quote(c)}"
            )
    con.execute(f"CREATE VIEW {quote(name)} AS SELECT {', '.join(select)} FROM {relation}")
    src.columns[name] = stored
    if errors:
        src.type_errors_sql[name] = f"SELECT {', '.join(errors)} FROM {relation}"


# -- output folders ------------------------------------------------------------------


def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise ConfigError(f"'{folder}' does not exist")
    if not folder.is_dir():
        raise ConfigError(f"'{folder}' is not a folder (expected pii_gen generate's output folder)")
    path = folder / "manifest.json"
    if not path.exists():
        raise ConfigError(f"'{folder}' has no manifest.json: not a pii_gen output folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"'{path}' cannot be read as JSON: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("generator") != "pii_gen":
        raise ConfigError(f"'{path}' is not a pii_gen manifest")
    return manifest


def _file_format(folder: Path, manifest: dict[str, Any]) -> str:
    fmt = manifest.get("format")
    if fmt in FILE_EXTENSIONS:
        return str(fmt)
    for fmt in FILE_EXTENSIONS:
        if (folder / f"persons.{fmt}").exists():
            return fmt
    raise ConfigError(f"'{folder}' holds no persons.csv, persons.jsonl or persons.parquet")


def _header(path: Path, fmt: str) -> list[str]:
    """Column names of a CSV or JSON Lines file, from its first line."""
    with path.open(encoding="utf-8", newline="") as f:
        first = f.readline()
    if not first.strip():
        return []
    if fmt == "csv":
        return next(csv.reader([first]))
    try:
        return list(json.loads(first))
    except ValueError:
        raise ConfigError(f"'{path}' is not JSON Lines: its first line does not parse") from None


def open_folder(folder: Path) -> Source:
    """Open an output folder of CSV, JSON Lines or Parquet files written by ``pii_gen generate``."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    fmt = _file_format(folder, manifest)
    tmp = Path(tempfile.mkdtemp(prefix="pii_gen_validate_"))
    src = Source(con=None, description=f"{folder} ({fmt})", manifest=manifest, tmp=tmp)
    try:
        src.con = _new_connection(tmp)
        for name in [*TABLES, NOISE_LOG]:
            path = folder / f"{name}.{FILE_EXTENSIONS[fmt]}"
            if not path.exists():
                continue
            if fmt == "parquet":
                _view_over(src.con, src, name, f"read_parquet({literal(str(path))})")
                continue
            header = _header(path, fmt)
            if fmt == "csv":
                reader = _csv_reader(path, header)
            else:
                cols = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in header) + "}"
                reader = f"read_json({literal(str(path))}, format = 'newline_delimited', columns = {cols})"
            _load_text(src, name, reader, header)
    except PiiGenError:
        src.close()
        raise
    except Exception as err:  # noqa: BLE001 - DuckDB's parse errors name the file and line
        src.close()
        raise ConfigError(f"cannot read {folder}: {' '.join(str(err).split())[:300]}") from None
    return src


def _load_text(src: Source, name: str, reader: str, header: list[str]) -> None:
    _materialize(src.con, name, reader, header)
    src.columns[name] = {c: "VARCHAR" for c in header}
    sql = _type_errors_from_bits(name, header)
    if sql:
        src.type_errors_sql[name] = sql


# -- databases -------------------------------------------------------------------------


def open_database(url_text: str, schema: str | None = None) -> Source:
    """Open the tables ``pii_gen generate --db`` loaded; the manifest comes from its bookkeeping tables."""
    url = parse_url(url_text)
    tmp = Path(tempfile.mkdtemp(prefix="pii_gen_validate_"))
    src = Source(con=None, description=url.redacted() + (f" schema {schema}" if schema else ""), manifest={}, tmp=tmp)
    try:
        src.con = _new_connection(tmp)
        if url.dialect == "duckdb":
            _attach_duckdb(src, url, schema)
        else:
            _pull(src, url, schema)
    except PiiGenError:
        src.close()
        raise
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        src.close()
        raise ConfigError(f"cannot read {url.redacted()}: {url.scrub(str(err))[:300]}") from None
    return src


def _attach_duckdb(src: Source, url: DatabaseURL, schema: str | None) -> None:
    if not Path(url.file).exists():
        raise ConfigError(f"DuckDB file '{url.file}' does not exist")
    src.con.execute(f"ATTACH {literal(url.file)} AS src (READ_ONLY)")
    ns = f"src.{quote(schema or 'main')}"
    where = f"database_name = 'src' AND schema_name = {literal(schema or 'main')}"
    present = {r[0] for r in src.all(f"SELECT table_name FROM duckdb_tables() WHERE {where}")}
    if "pii_gen_runs" not in present:
        raise ConfigError(f"{url.redacted()} has no pii_gen_runs table: not loaded by pii_gen generate --db")
    runs = src.all(f"SELECT config FROM {ns}.pii_gen_runs ORDER BY started_at")
    log = src.all(f"SELECT table_name, SUM(row_count) FROM {ns}.pii_gen_load_log GROUP BY table_name")
    src.manifest = _db_manifest([r[0] for r in runs], {t: int(n) for t, n in log})
    for name in [*TABLES, NOISE_LOG]:
        if name in present:
            _view_over(src.con, src, name, f"{ns}.{quote(name)}")


def _db_manifest(configs: list[str], rows: dict[str, int]) -> dict[str, Any]:
    """A manifest like a folder's, from the runs' stored configs and the load log's row counts."""
    if not configs:
        raise ConfigError("the database's pii_gen_runs table is empty: nothing was loaded")
    try:
        config = json.loads(configs[0]) if isinstance(configs[0], str) else dict(configs[0])
    except ValueError as err:
        raise ConfigError(f"the database's pii_gen_runs.config is not valid JSON ({err}): the run is unknown") from None
    manifest = {
        "generator": "pii_gen",
        "pii_mode": config.get("pii_mode", "strict"),
        "count": rows.get("persons", 0),
        "config": config,
        "runs": len(configs),
        "tables": {t: {"rows": n} for t, n in rows.items()},
    }
    # The effective noise rates, as a folder's manifest records them (the profile's rates under the overrides).
    try:
        plan = make_plan(GenerateConfig.model_validate(config).noise)
    except ValidationError:
        plan = None  # a config this version cannot read: the noise checks fall back to its own rates
    if plan is not None and plan.active:
        manifest["noise"] = plan.describe()
    return manifest


def _pull(src: Source, url: DatabaseURL, schema: str | None) -> None:
    """Copy the tables of a server database into the temporary DuckDB database, in bounded batches."""
    from ..db.loaders import connect

    conn = connect(url, schema)
    try:
        try:
            runs = conn.execute(f"SELECT config FROM {conn.table('pii_gen_runs')} ORDER BY started_at")
            log = conn.execute(
                f"SELECT table_name, SUM(row_count) FROM {conn.table('pii_gen_load_log')} GROUP BY table_name"
            )
        except Exception:  # noqa: BLE001 - any error here means the bookkeeping tables are not there
            conn.rollback()
            raise ConfigError(
                f"{url.redacted()} has no pii_gen_runs table: not loaded by pii_gen generate --db"
            ) from None
        src.manifest = _db_manifest([r[0] for r in runs], {t: int(n) for t, n in log})
        for name in [*TABLES, NOISE_LOG]:
            if not conn.table_exists(name):
                continue
            header = _db_columns(conn, name)
            if url.dialect == "postgresql" and url.path == "native":
                path = src.tmp / f"{name}.csv"
                _postgres_copy(conn, name, header, path)
                _load_text(src, name, _csv_reader(path, header), header)
                path.unlink()
            else:
                path = src.tmp / f"{name}.parquet"
                _fetch_to_parquet(conn, name, header, path)
                _load_text(src, name, f"read_parquet({literal(str(path))})", header)
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


def open_source(folder: Path | None = None, db: str | None = None, schema: str | None = None) -> Source:
    """Open an output folder or a database URL (exactly one of them)."""
    if (folder is None) == (db is None):
        raise ConfigError("validate needs an output folder or --db URL (exactly one)")
    return open_database(db, schema) if db is not None else open_folder(folder)
