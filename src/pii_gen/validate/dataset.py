"""A generated dataset opened for validation, and how each table becomes a DuckDB relation typed by the contract.

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

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import ConfigError
from ..packs.person.contract import TABLES

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
        described = self.manifest.get("noise")
        # a schema run's manifest lists its noise steps (a list), not a population noise plan: no noise log
        noise = {**(self.config.get("noise") or {}), **(described if isinstance(described, dict) else {})}
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


def _materialize(con: Any, name: str, reader: str, header: list[str], want: dict[str, str] | None = None) -> None:
    """Create table ``name`` from a relation of text columns, cast to the contract (or to ``want``: column ->
    DuckDB type), with an ``__bad`` bitmask."""
    want = _contract(name) if want is None else want
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


def _type_errors_from_bits(name: str, header: list[str], want: dict[str, str] | None = None) -> str:
    want = _contract(name) if want is None else want
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


def _view_over(con: Any, src: Source, name: str, relation: str, want: dict[str, str] | None = None) -> None:
    """Create view ``name`` over a typed relation, casting columns stored with a type of another family (than
    the contract's, or ``want``'s)."""
    want = _contract(name) if want is None else want
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


def _load_text(src: Source, name: str, reader: str, header: list[str], want: dict[str, str] | None = None) -> None:
    _materialize(src.con, name, reader, header, want)
    src.columns[name] = {c: "VARCHAR" for c in header}
    sql = _type_errors_from_bits(name, header, want)
    if sql:
        src.type_errors_sql[name] = sql
