"""The ERP pack loaded into SQLite, DuckDB, PostgreSQL and MariaDB (native and through ODBC) with `generate --pack erp
--db`: the foreign keys the database's own catalog declares are the pack's, none has an orphan row in SQL, and every
table holds the rows (count; the key's range and distinct values) of a Parquet run with the same seed and options.

The run is two weeks of `warehouse-outage` around its outage (8-14 July), so its effects are in the rows.  SQL Server
has no server here: its DDL for the pack is parsed as T-SQL (sqlglot) instead.  The PostgreSQL and MariaDB helpers
(a fresh schema or database per test, dropped at the end) are the identity-graph pack's."""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from test_pack_erp import connect, generate
from test_pack_identity_outputs import MariaDB, Postgres, file_rows, run
from test_schema_ddl import BOOKKEEPING, tsql_catalog

from pii_gen import api
from pii_gen.core.contract import Table
from pii_gen.dsl import packs

WINDOW = ("--scenario", "warehouse-outage", "--from", "2024-07-06", "--to", "2024-07-20", "--multiplier", "1",
          "--workers", "1")  # fmt: skip
#: What the file run's values add up to, asked of each database in the same SQL (booleans summed, timestamps).
VALUES = {
    "orders": "SUM(CASE WHEN cancelled THEN 1 ELSE 0 END), SUM(CASE WHEN late THEN 1 ELSE 0 END), SUM(late_hours), "
    "MIN(ordered_at), MAX(delivered_at), COUNT(shipped_at)",
    "payments": "SUM(amount), SUM(days_late), MAX(paid_on), MIN(invoiced_on)",
    "days": "SUM(backlog_days), SUM(p_cancel)",
    "inventory_movements": "SUM(quantity), MAX(moved_at)",
}


@functools.cache
def pack_tables() -> dict[str, Table]:
    """The pack's output tables (their plan counts a full year's rows, a few seconds: once per module)."""
    return api.schema_tables(packs.load("erp"))


def declared() -> set[tuple[str, str, str, str]]:
    """The foreign keys the pack's DDL declares: (table, column, referenced table, referenced column)."""
    return {(name, *fk) for name, spec in pack_tables().items() for fk in spec.foreign_keys}


class SQLite:
    """A SQLite file pii_gen wrote, read through its own catalog (`PRAGMA foreign_key_list`)."""

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def table(self, name: str) -> str:
        return f'"{name}"'

    def foreign_keys(self) -> set[tuple[str, str, str, str]]:
        tables = [name for (name,) in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {(t, fk[3], fk[2], fk[4]) for t in tables for fk in self.rows(f'PRAGMA foreign_key_list("{t}")')}

    def close(self) -> None:
        self.con.close()


class DuckDB(SQLite):
    """A DuckDB file pii_gen wrote, read through `duckdb_constraints()`."""

    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path))  # type: ignore[assignment]

    def foreign_keys(self) -> set[tuple[str, str, str, str]]:
        found = self.rows(
            "SELECT table_name, constraint_column_names, referenced_table, referenced_column_names "
            "FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY'"
        )
        return {(t, c, target, k) for t, columns, target, keys in found for c, k in zip(columns, keys)}


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("erp") / "parquet", *WINDOW)


def plain(row: tuple) -> list:
    """A row of values comparable across drivers: numbers as floats, dates and timestamps as datetimes."""
    out: list = []
    for value in row:
        if isinstance(value, str):  # SQLite's timestamps are ISO text
            value = dt.datetime.fromisoformat(value)
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        out.append(value if isinstance(value, dt.datetime) else pytest.approx(float(value), rel=1e-9))
    return out


#: The run `generate` makes into files, into a database (the same seed).
LOAD = ("generate", "--pack", "erp", "--seed", "5", "-q", *WINDOW)
SERVERS = {
    "postgresql": (Postgres, "PII_GEN_TEST_POSTGRES_URL"),
    "postgresql-odbc": (Postgres, "PII_GEN_TEST_POSTGRES_ODBC_URL"),
    "mariadb": (MariaDB, "PII_GEN_TEST_MARIADB_URL"),
    "mariadb-odbc": (MariaDB, "PII_GEN_TEST_MARIADB_ODBC_URL"),
}


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", *SERVERS])
def test_every_declared_foreign_key_holds_and_the_rows_are_the_file_runs(
    parquet: Path, tmp_path: Path, kind: str
) -> None:
    if kind in ("sqlite", "duckdb"):
        path = tmp_path / f"erp.{kind}"
        done = run(*LOAD, "--db", f"{kind}:///{path}")
        assert done.returncode == 0, done.stderr
        db: SQLite | Postgres = SQLite(path) if kind == "sqlite" else DuckDB(path)
    else:
        from servers import server_url

        helper, var = SERVERS[kind]
        url = server_url(var)  # loaded through this URL's driver; read back natively, in a schema of its own
        db = helper(server_url(helper.var))
        done = run(*LOAD, "--db", url, "--db-schema", db.schema)
    try:
        assert done.returncode == 0, done.stderr
        keys = {name: spec.primary_key for name, spec in pack_tables().items()}
        expected = file_rows(parquet)
        assert len(expected) == 18
        for table, rows in expected.items():
            key = keys.get(table)
            want: tuple = (rows,)
            if key and pq.read_schema(parquet / f"{table}.parquet").field(key).type != "string":
                values = pq.read_table(parquet / f"{table}.parquet", columns=[key]).column(key).to_pylist()
                want = (rows, min(values), max(values), len(set(values)))
            spans = f", MIN({key}), MAX({key}), COUNT(DISTINCT {key})" if len(want) > 1 else ""
            got = db.rows(f"SELECT COUNT(*){spans} FROM {db.table(table)}")[0]
            assert tuple(int(v) for v in got) == want, table
        found = {fk for fk in db.foreign_keys() if not fk[0].startswith("pii_gen_")}
        assert found == declared() and len(found) >= 20, found ^ declared()
        for child, column, parent, key in sorted(found):
            orphans = db.rows(
                f"SELECT COUNT(*) FROM {db.table(child)} c LEFT JOIN {db.table(parent)} p "
                f"ON p.{key} = c.{column} WHERE c.{column} IS NOT NULL AND p.{key} IS NULL"
            )[0][0]
            assert orphans == 0, (child, column, parent)
        files = connect(parquet)
        for table, sql in VALUES.items():
            want = plain(files.execute(f"SELECT {sql} FROM {table}").fetchone())  # type: ignore[arg-type]
            assert plain(db.rows(f"SELECT {sql} FROM {db.table(table)}")[0]) == want, table
        backlog = db.rows(f"SELECT COUNT(*) FROM {db.table('days')} WHERE backlog_days > 0")[0][0]
        assert backlog == 15 - 1  # the outage and its catch-up week: every day of the window but its first
    finally:
        db.close()


def test_sql_server_ddl_parses_and_declares_the_packs_keys() -> None:
    """No SQL Server to load into: its DDL for the pack parses as T-SQL, batch by batch, with every table's key
    and foreign key, each foreign key column leading an index."""
    found = tsql_catalog(api.schema_ddl(packs.load("erp"), "tsql", db_schema="erp"), "erp")
    tables = pack_tables()
    assert set(found) - BOOKKEEPING == set(tables)
    assert {(t, *fk) for t, (_, fks, _) in found.items() if t in tables for fk in fks} == declared()
    for name, (keys, fks, indexed) in found.items():
        if name in tables:
            assert keys == [tables[name].primary_key], name
            assert {column for column, _, _ in fks} <= indexed | set(keys[:1]), name
