"""The ERP pack loaded into SQLite, DuckDB, PostgreSQL and MariaDB (native and through ODBC) with `generate --pack erp
--db`: the foreign keys the database's own catalog declares are the pack's, none has an orphan row in SQL, and every
table holds the rows (count; the key's range and distinct values) of a Parquet run with the same seed and options.

The run is two weeks of `warehouse-outage` around its outage (8-14 July), so its effects are in the rows.  SQL Server
has no server here: its DDL is parsed in test_schema_ddl.py.  The PostgreSQL and MariaDB helpers (a fresh schema or
database per test, dropped at the end) are the identity-graph pack's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from test_pack_identity_outputs import MariaDB, Postgres, file_rows, run

from pii_gen import api
from pii_gen.dsl import packs

COMMON = (
    "--pack", "erp", "--scenario", "warehouse-outage", "--from", "2024-07-06", "--to", "2024-07-20",
    "--multiplier", "1", "--seed", "5", "--workers", "1", "-q",
)  # fmt: skip
#: The foreign keys the pack's DDL declares: (table, column, referenced table, referenced column).
DECLARED = {
    (table, column, target, key)
    for table, spec in api.schema_tables(packs.load("erp")).items()
    for column, target, key in spec.foreign_keys
}


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
    out = tmp_path_factory.mktemp("erp") / "parquet"
    done = run("generate", *COMMON, "--format", "parquet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


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
        done = run("generate", *COMMON, "--db", f"{kind}:///{path}")
        assert done.returncode == 0, done.stderr
        db: SQLite | Postgres = SQLite(path) if kind == "sqlite" else DuckDB(path)
    else:
        from servers import server_url

        helper, var = SERVERS[kind]
        url = server_url(var)  # loaded through this URL's driver; read back natively, in a schema of its own
        db = helper(server_url(helper.var))
        done = run("generate", *COMMON, "--db", url, "--db-schema", db.schema)
    try:
        assert done.returncode == 0, done.stderr
        keys = {name: spec.primary_key for name, spec in api.schema_tables(packs.load("erp")).items()}
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
        declared = {fk for fk in db.foreign_keys() if not fk[0].startswith("pii_gen_")}
        assert declared == DECLARED and len(declared) >= 20, declared ^ DECLARED
        for child, column, parent, key in sorted(declared):
            orphans = db.rows(
                f"SELECT COUNT(*) FROM {db.table(child)} c LEFT JOIN {db.table(parent)} p "
                f"ON p.{key} = c.{column} WHERE c.{column} IS NOT NULL AND p.{key} IS NULL"
            )[0][0]
            assert orphans == 0, (child, column, parent)
        referencing = db.rows(f"SELECT COUNT(*) FROM {db.table('inventory_movements')}")[0][0]
        assert referencing > 1000  # the outage's window holds the rows the keys are checked on
    finally:
        db.close()
