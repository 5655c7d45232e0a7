"""DDL of the example schema files (``examples/*.yaml``) in all five dialects, executed for real on SQLite,
DuckDB, PostgreSQL and MariaDB (and parsed with sqlglot for SQL Server, which has no server here): every
table of the file exists with its primary key, its foreign keys (ref columns and parent links) and an index
led by each foreign key column (spec section 8), read back from the database's own catalog."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from servers import server_url

from pii_gen import api

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))
IDS = [p.stem for p in EXAMPLES]
#: The bookkeeping tables every DDL script creates beside the file's own.
BOOKKEEPING = {"pii_gen_runs", "pii_gen_load_log", "pii_gen_marker"}

#: table -> (primary key columns in order, {(column, referenced table, referenced column)}, {indexed leading columns})
Catalog = dict[str, tuple[list[str], set[tuple[str, str, str]], set[str]]]


def expected(path: Path) -> dict[str, tuple[list[str], set[tuple[str, str, str]]]]:
    """What the schema file says: each table's key and foreign keys (refs and parent links)."""
    out = {}
    for name, table in api.schema_tables(path).items():
        keys = [k.strip() for k in table.primary_key.split(",")] if table.primary_key else []
        out[name] = (keys, set(table.foreign_keys))
    return out


def check(path: Path, found: Catalog, self_references: bool = True) -> None:
    """The catalog holds the file's tables with their keys, and every foreign key column leads an index;
    without ``self_references`` (DuckDB) a table's foreign keys to itself are left out of the DDL."""
    want = expected(path)
    if not self_references:
        want = {name: (keys, {fk for fk in fks if fk[1] != name}) for name, (keys, fks) in want.items()}
    assert set(found) - BOOKKEEPING == set(want), path.stem
    assert BOOKKEEPING <= set(found)
    fk_columns = 0
    for name, (keys, fks) in want.items():
        got_keys, got_fks, indexed = found[name]
        assert got_keys == keys, f"{path.stem}.{name}: primary key"
        assert got_fks == fks, f"{path.stem}.{name}: foreign keys"
        for column, _, _ in fks:
            fk_columns += 1
            assert column in indexed or (keys and keys[0] == column), f"{path.stem}.{name}.{column}: no index"
    assert fk_columns >= 3, "an example without foreign keys tests nothing here"


# ---- SQLite and DuckDB: in process --------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_sqlite_runs_the_ddl_and_its_catalog_has_the_keys(path: Path) -> None:
    con = sqlite3.connect(":memory:")
    con.executescript(api.schema_ddl(path, "sqlite"))
    found: Catalog = {}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
        keys = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        fks = {(row[3], row[2], row[4]) for row in con.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()}
        indexed = set()
        for index in con.execute(f'PRAGMA index_list("{name}")').fetchall():
            cols = con.execute(f'PRAGMA index_info("{index[1]}")').fetchall()
            indexed.add(min(cols)[2])
        found[name] = (keys, fks, indexed)
    check(path, found)
    # the foreign keys are enforced, not just declared
    con.execute("PRAGMA foreign_keys = ON")
    name, (_, fks) = next((t, v) for t, v in expected(path).items() if v[1])
    column = next(iter(fks))[0]
    with pytest.raises(sqlite3.IntegrityError):
        con.execute(f'INSERT INTO "{name}" ("{column}") VALUES (-987654)')


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_duckdb_runs_the_ddl_and_its_catalog_has_the_keys(path: Path) -> None:
    con = duckdb.connect()
    con.execute(api.schema_ddl(path, "duckdb"))
    found: Catalog = {
        name: ([], set(), set()) for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    }
    for name, kind, columns, target, target_cols in con.execute(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
        "referenced_column_names FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', "
        "'FOREIGN KEY')"
    ).fetchall():
        if kind == "PRIMARY KEY":
            found[name][0].extend(columns)
        else:
            found[name][1].update((c, target, t) for c, t in zip(columns, target_cols))
    for name, expressions in con.execute("SELECT table_name, expressions FROM duckdb_indexes()").fetchall():
        found[name][2].add(str(expressions).strip("[]'\" ").split(",")[0].strip("'\" "))
    check(path, found, self_references=False)  # DuckDB would refuse a row naming a row of the same insert


# ---- PostgreSQL and MariaDB: real servers -------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_postgresql_runs_the_ddl_in_its_own_schema(path: Path) -> None:
    import psycopg

    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    namespace = f"ddl_{path.stem}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as con:
        try:
            con.execute(api.schema_ddl(path, "postgresql", db_schema=namespace))
            found: Catalog = {
                name: ([], set(), set())
                for (name,) in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (namespace,)
                )
            }
            rows = con.execute(
                """
                SELECT tc.table_name, tc.constraint_type, kcu.column_name, kcu.ordinal_position,
                       ccu.table_name, ccu.column_name
                FROM information_schema.table_constraints tc
                JOIN information_schema.key_column_usage kcu
                  ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
                LEFT JOIN information_schema.constraint_column_usage ccu
                  ON tc.constraint_type = 'FOREIGN KEY' AND ccu.constraint_schema = tc.constraint_schema
                 AND ccu.constraint_name = tc.constraint_name
                WHERE tc.table_schema = %s AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')
                ORDER BY tc.table_name, tc.constraint_name, kcu.ordinal_position""",
                (namespace,),
            ).fetchall()
            for name, kind, column, _, target, target_col in rows:
                if kind == "PRIMARY KEY":
                    found[name][0].append(column)
                else:
                    found[name][1].add((column, target, target_col))
            for name, column in con.execute(
                """
                    SELECT t.relname, a.attname FROM pg_index i
                    JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
                    WHERE n.nspname = %s""",
                (namespace,),
            ).fetchall():
                found[name][2].add(column)
        finally:
            con.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE')
    check(path, found)


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_mariadb_runs_the_ddl_in_its_own_database(path: Path) -> None:
    import pymysql
    from pymysql.constants import CLIENT

    parts = urlsplit(server_url("PII_GEN_TEST_MARIADB_URL"))
    database = f"{parts.path.lstrip('/') or 'test'}_ddl_{path.stem}_{uuid.uuid4().hex[:6]}"
    con = pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        client_flag=CLIENT.MULTI_STATEMENTS,
        autocommit=True,
    )
    try:
        with con.cursor() as cur:
            cur.execute(api.schema_ddl(path, "mysql", db_schema=database))
            while cur.nextset():
                pass
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database,))
            found: Catalog = {name: ([], set(), set()) for (name,) in cur.fetchall()}
            cur.execute(
                """
                SELECT table_name, constraint_name, column_name, referenced_table_name, referenced_column_name
                FROM information_schema.key_column_usage WHERE table_schema = %s
                ORDER BY table_name, constraint_name, ordinal_position""",
                (database,),
            )
            for name, constraint, column, target, target_col in cur.fetchall():
                if constraint == "PRIMARY":
                    found[name][0].append(column)
                elif target is not None:
                    found[name][1].add((column, target, target_col))
            cur.execute(
                "SELECT table_name, column_name FROM information_schema.statistics "
                "WHERE table_schema = %s AND seq_in_index = 1",
                (database,),
            )
            for name, column in cur.fetchall():
                found[name][2].add(column)
    finally:
        with con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        con.close()
    check(path, found)


# ---- SQL Server: parsed ---------------------------------------------------------------------------------------


def tsql_catalog(script: str, db_schema: str) -> Catalog:
    """The tables of a T-SQL DDL script as sqlglot parses it, each batch strictly: keys, foreign keys (all in
    ``db_schema``) and the leading column of each index."""
    batches = [b.strip() for b in script.split("\nGO\n") if b.strip() and not b.strip().startswith("--")]
    batches = [b.split("\n", 1)[1] if b.startswith("--") else b for b in batches]
    found: Catalog = {}
    for text in batches:
        tree = sqlglot.parse_one(text, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":
            table = tree.this.this
            assert table.db == db_schema, text[:80]
            keys, fks = [], set()
            for node in tree.this.expressions:
                if isinstance(node, exp.Constraint):
                    body = node.expressions[0]
                    if isinstance(body, exp.PrimaryKey):
                        keys = [c.name for c in body.expressions]
                    elif isinstance(body, exp.ForeignKey):
                        ref = body.args["reference"].this
                        assert ref.this.db == db_schema, text[:80]
                        fks |= {(c.name, ref.this.name, t.name) for c, t in zip(body.expressions, ref.expressions)}
            found[table.name] = (keys, fks, set())
        elif isinstance(tree, exp.Create) and tree.kind == "INDEX":
            index = tree.this
            found[index.args["table"].name][2].add(index.args["params"].args["columns"][0].this.name)
        else:
            assert text.startswith(f"IF SCHEMA_ID(N'{db_schema}') IS NULL"), text[:80]
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=IDS)
def test_tsql_ddl_parses_and_declares_the_keys(path: Path) -> None:
    check(path, tsql_catalog(api.schema_ddl(path, "tsql", db_schema="shopdata"), "shopdata"))
