"""DDL for every supported database, rendered from the one output contract (the plan's tables;
the person pack's in ``packs/person/contract.py`` by default).

Besides the contract's tables there are three bookkeeping tables: ``pii_gen_runs``
(one row per load, with the config that makes it reproducible),
``pii_gen_load_log`` (one row per table and batch, written in the same
transaction as the batch's rows, so the log says exactly what is loaded) and
``pii_gen_marker`` (the tables pii_gen created there, and the cleanup tokens it
issued: see :mod:`pii_gen.db.guard` and :mod:`pii_gen.db.cleanup`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..errors import ConfigError
from ..core.contract import Column, Table, columns_of
from ..packs.person.contract import NOISE_LOG, TABLES

DIALECTS = ("postgresql", "tsql", "mysql", "sqlite", "duckdb")

RUNS = Table(
    "pii_gen_runs",
    (
        Column("run_id", pa.string(), max_length=36),
        Column("seed", pa.int64()),
        Column("person_count", pa.int64()),
        Column("batch_size", pa.int32()),
        Column("config", pa.string(), max_length=4000, description="the generation config as JSON"),
        Column("started_at", pa.timestamp("us")),
        Column("finished_at", pa.timestamp("us"), nullable=True),
    ),
    "run_id",
)

LOAD_LOG = Table(
    "pii_gen_load_log",
    (
        Column("run_id", pa.string(), max_length=36),
        Column("table_name", pa.string(), max_length=40),
        Column("batch_number", pa.int32()),
        Column("row_count", pa.int64()),
        Column("checksum", pa.string(), max_length=8, description="CRC-32 of the batch's CSV encoding"),
        Column("loaded_at", pa.timestamp("us")),
    ),
    "run_id, table_name, batch_number",
    (("run_id", "pii_gen_runs", "run_id"),),
)

MARKER = Table(
    "pii_gen_marker",
    (
        Column("kind", pa.string(), max_length=16, description="table: one pii_gen created; token: a cleanup token"),
        Column("name", pa.string(), max_length=128, description="the table's name, or the token"),
        Column("position", pa.int32(), description="tables: the order they were created in"),
        Column("expires_at", pa.int64(), nullable=True, description="tokens: when they expire (Unix seconds)"),
        Column("detail", pa.string(), max_length=64, nullable=True, description="tokens: digest of what they drop"),
        Column("created_at", pa.timestamp("us")),
    ),
    "kind, name",
)

BOOKKEEPING = (RUNS, LOAD_LOG, MARKER)


@dataclass(frozen=True)
class Dialect:
    name: str
    quote: tuple[str, str]
    types: dict[str, str]  # arrow type id (or a declared int, bigint) -> SQL type; strings use ``string`` with {n}
    schemas: bool = True  # supports a schema (namespace) qualifier

    def q(self, identifier: str) -> str:
        return f"{self.quote[0]}{identifier}{self.quote[1]}"

    def sql_type(self, column: Column) -> str:
        if column.declared in ("int", "bigint"):  # a dialect may spell a declared one its own way (SQLite)
            return self.types.get(column.declared, self.types["int32" if column.declared == "int" else "int64"])
        if column.declared.startswith("decimal"):
            return "DECIMAL" + column.declared[len("decimal"):].replace(" ", "")
        t = column.type
        if pa.types.is_string(t):
            return self.types["string"].format(n=column.max_length or 255)
        for key, test in (
            ("int64", pa.types.is_int64),
            ("int32", pa.types.is_int32),
            ("int16", pa.types.is_int16),
            ("float64", pa.types.is_float64),
            ("float32", pa.types.is_float32),
            ("bool", pa.types.is_boolean),
            ("date", pa.types.is_date),
            ("timestamp", pa.types.is_timestamp),
        ):
            if test(t):
                return self.types[key]
        raise TypeError(f"no SQL type for {t}")


_COMMON = {"int64": "BIGINT", "int32": "INTEGER", "int16": "SMALLINT", "date": "DATE"}

DIALECT_SPECS: dict[str, Dialect] = {
    "postgresql": Dialect(
        "postgresql",
        ('"', '"'),
        {
            **_COMMON,
            "float64": "DOUBLE PRECISION",
            "float32": "REAL",
            "bool": "BOOLEAN",
            "timestamp": "TIMESTAMP",
            "string": "VARCHAR({n})",
        },  # fmt: skip
    ),
    "tsql": Dialect(
        "tsql",
        ("[", "]"),
        {
            **_COMMON,
            "int32": "INT",
            "float64": "FLOAT",
            "float32": "REAL",
            "bool": "BIT",
            "timestamp": "DATETIME2(6)",
            "string": "NVARCHAR({n})",
        },  # fmt: skip
    ),
    "mysql": Dialect(
        "mysql",
        ("`", "`"),
        {
            **_COMMON,
            "int32": "INT",
            "float64": "DOUBLE",
            "float32": "FLOAT",
            "bool": "BOOLEAN",
            "timestamp": "DATETIME(6)",
            "string": "VARCHAR({n})",
        },  # fmt: skip
    ),
    "sqlite": Dialect(
        "sqlite",
        ('"', '"'),
        {
            "int64": "INTEGER",
            "int32": "INTEGER",
            "int16": "INTEGER",
            "bigint": "BIGINT",  # a schema file's bigint, read back as one (INTEGER is the same to SQLite)
            "float64": "REAL",
            "float32": "REAL",
            "bool": "BOOLEAN",
            "date": "DATE",
            "timestamp": "TIMESTAMP",
            "string": "VARCHAR({n})",
        },  # fmt: skip
        schemas=False,
    ),
    "duckdb": Dialect(
        "duckdb",
        ('"', '"'),
        {
            **_COMMON,
            "float64": "DOUBLE",
            "float32": "REAL",
            "bool": "BOOLEAN",
            "timestamp": "TIMESTAMP",
            "string": "VARCHAR({n})",
        },  # fmt: skip
    ),
}


def dialect(name: str) -> Dialect:
    try:
        return DIALECT_SPECS[name]
    except KeyError:
        raise ConfigError(f"unknown SQL dialect '{name}' (expected one of: {', '.join(DIALECTS)})") from None


def all_tables(tables: dict[str, Table] | None = None) -> list[Table]:
    """Bookkeeping tables first, then the contract (``tables``, default the clean one) in foreign-key
    order."""
    return [*BOOKKEEPING, *(tables or TABLES).values()]


def droppable(tables: dict[str, Table] | None = None) -> list[Table]:
    """Every table pii_gen may have created, in the order to drop them (children first)."""
    found = all_tables(tables)
    if NOISE_LOG.name not in {t.name for t in found}:
        found.append(NOISE_LOG)
    return list(reversed(found))


def qualified(d: Dialect, table: str, schema: str | None) -> str:
    return f"{d.q(schema)}.{d.q(table)}" if schema else d.q(table)


#: The dialects that add a foreign key to an existing table (``ALTER TABLE ... ADD CONSTRAINT``): a cycle's
#: closing foreign key is added there once both tables exist.  SQLite cannot, and takes it inline (it accepts a
#: reference to a table created later); DuckDB cannot either, and checks a foreign key when the row is inserted,
#: so a row naming a table loaded later would be refused: it is left out there (it resolves by construction).
ALTERABLE = ("postgresql", "tsql", "mysql")

ForeignKey = tuple[str, str, str]  # (column, table, column); a composite one's columns comma-separated


def forward_keys(tables: list[Table]) -> dict[str, tuple[ForeignKey, ...]]:
    """Per table, its foreign keys to a table later in ``tables`` (creation order): those closing a cycle of
    references (a schema file's positional refs), which no order of CREATE TABLEs can hold inline."""
    position = {t.name: i for i, t in enumerate(tables)}
    return {t.name: tuple(fk for fk in t.foreign_keys if position.get(fk[1], -1) > position[t.name]) for t in tables}


def fk_name(table: str, column: str) -> str:
    return f"fk_{table}_{'_'.join(columns_of(column))}"


def _listed(d: Dialect, columns: str) -> str:
    return ", ".join(d.q(c) for c in columns_of(columns))


def _references(d: Dialect, table: str, fk: ForeignKey, schema: str | None) -> str:
    column, parent, parent_col = fk
    return (f"CONSTRAINT {d.q(fk_name(table, column))} FOREIGN KEY ({_listed(d, column)}) "
            f"REFERENCES {qualified(d, parent, schema)} ({_listed(d, parent_col)})")


def add_foreign_key(d: Dialect, table: str, fk: ForeignKey, schema: str | None = None) -> str:
    """ALTER TABLE adding foreign key ``fk`` to ``table`` (a dialect of :data:`ALTERABLE`)."""
    return f"ALTER TABLE {qualified(d, table, schema)} ADD {_references(d, table, fk, schema)}"


def drop_foreign_key(d: Dialect, table: str, fk: ForeignKey, schema: str | None = None) -> str:
    """ALTER TABLE dropping foreign key ``fk`` of ``table`` (a dialect of :data:`ALTERABLE`)."""
    what = "FOREIGN KEY" if d.name == "mysql" else "CONSTRAINT"
    return f"ALTER TABLE {qualified(d, table, schema)} DROP {what} {d.q(fk_name(table, fk[0]))}"


def create_table(d: Dialect, table: Table, schema: str | None = None, omit: tuple[ForeignKey, ...] = ()) -> list[str]:
    """CREATE TABLE (with keys, but the foreign keys ``omit``) and an index on each foreign key column (the
    population's: on ``person_id``)."""
    lines = [f"    {d.q(c.name)} {d.sql_type(c)}{'' if c.nullable else ' NOT NULL'}" for c in table.columns]
    if table.primary_key:  # a schema file's table may have no key
        lines.append(f"    CONSTRAINT {d.q('pk_' + table.name)} PRIMARY KEY ({_listed(d, table.primary_key)})")
    for fk in table.foreign_keys:
        if fk in omit or (d.name == "duckdb" and fk[1] == table.name):
            # DuckDB checks a foreign key against the rows already in the table before the insert, so a row
            # naming an earlier row of the same insert (a manager) would be refused: left out there.
            continue
        lines.append(f"    {_references(d, table.name, fk, schema)}")
    suffix = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" if d.name == "mysql" else ""
    statements = [f"CREATE TABLE {qualified(d, table.name, schema)} (\n" + ",\n".join(lines) + f"\n){suffix}"]
    on = qualified(d, table.name, schema)
    # MySQL/MariaDB index every foreign key already; a second index would only slow loading.
    if d.name != "mysql":
        for column in indexed_columns(table):
            name = f"ix_{table.name}_{'_'.join(columns_of(column))}"
            statements.append(f"CREATE INDEX {d.q(name)} ON {on} ({_listed(d, column)})")
    return statements


def _population(table: Table) -> bool:
    """Whether ``table`` is one of the population's, clean or noisy (noise adds columns, never drops one), and
    not a schema file's table that happens to share its name."""
    clean = TABLES.get(table.name)
    return (clean is not None and clean.primary_key == table.primary_key
            and {c.name for c in clean.columns} <= {c.name for c in table.columns})


def indexed_columns(table: Table) -> list[str]:
    """The columns that get an index of their own: the population's ``person_id`` links, and every foreign
    key's columns (comma-separated when composite) of any other table unless they lead the primary key (whose
    index serves them already)."""
    if _population(table):
        has = table.primary_key != "person_id" and any(c.name == "person_id" for c in table.columns)
        return ["person_id"] if has else []
    key = columns_of(table.primary_key) if table.primary_key else []
    out: list[str] = []
    for column, _, _ in table.foreign_keys:
        if key[: len(columns_of(column))] != columns_of(column) and column not in out:
            out.append(column)
    return out


def create_schema(d: Dialect, schema: str) -> str:
    if d.name == "tsql":
        return f"IF SCHEMA_ID(N'{schema}') IS NULL EXEC(N'CREATE SCHEMA {d.q(schema)}')"
    if d.name == "mysql":
        return f"CREATE DATABASE IF NOT EXISTS {d.q(schema)} DEFAULT CHARACTER SET utf8mb4"
    return f"CREATE SCHEMA IF NOT EXISTS {d.q(schema)}"


def drop_table(d: Dialect, table: Table, schema: str | None = None) -> str:
    return f"DROP TABLE IF EXISTS {qualified(d, table.name, schema)}"


def statements(
    name: str, schema: str | None = None, drop_existing: bool = False, tables: dict[str, Table] | None = None
) -> list[str]:
    """Every statement that creates the whole schema (``tables``, default the clean contract), in order."""
    d = dialect(name)
    if schema and not d.schemas:
        raise ConfigError(f"{name} has no schemas; leave out --db-schema (got '{schema}')")
    out: list[str] = []
    if schema:
        out.append(create_schema(d, schema))
    ordered = all_tables(tables)
    forward = forward_keys(ordered)
    cyclic = any(forward.values())
    if drop_existing:
        before, after = _unlinked(d, forward, schema) if cyclic else ([], [])
        out.extend(before + [drop_table(d, t, schema) for t in droppable(tables)] + after)
    for table in ordered:
        out.extend(create_table(d, table, schema, () if d.name == "sqlite" else forward[table.name]))
    if d.name in ALTERABLE:  # a cycle's closing foreign keys, once every table exists
        out.extend(add_foreign_key(d, name, fk, schema) for name, fks in forward.items() for fk in fks)
    return out


def _unlinked(d: Dialect, forward: dict[str, tuple[ForeignKey, ...]],
              schema: str | None) -> tuple[list[str], list[str]]:
    """What makes the drops possible where tables reference each other in a cycle (each table is another's
    parent, so no order of drops works): the statements before the drops and after them."""
    if d.name == "postgresql":
        return [f"ALTER TABLE IF EXISTS {qualified(d, name, schema)} DROP CONSTRAINT IF EXISTS {d.q(fk_name(name, c))}"
                for name, fks in forward.items() for c, _, _ in fks], []
    if d.name == "tsql":
        return [f"IF OBJECT_ID(N'{qualified(d, fk_name(name, fk[0]), schema)}', N'F') IS NOT NULL "
                f"{drop_foreign_key(d, name, fk, schema)}" for name, fks in forward.items() for fk in fks], []
    if d.name == "mysql":
        return ["SET FOREIGN_KEY_CHECKS = 0"], ["SET FOREIGN_KEY_CHECKS = 1"]
    if d.name == "sqlite":
        return ["PRAGMA foreign_keys = OFF"], ["PRAGMA foreign_keys = ON"]
    return [], []  # DuckDB has no foreign key closing a cycle


#: What the population's DDL is generated from (its header says so).
POPULATION_SOURCE = "src/pii_gen/packs/person/contract.py"


def script(
    name: str, schema: str | None = None, drop_existing: bool = False, tables: dict[str, Table] | None = None,
    source: str = POPULATION_SOURCE,
) -> str:
    """The DDL as one script, statements separated the way the dialect's tools expect; ``source`` is what
    the header says the tables come from."""
    sep = "\nGO\n" if name == "tsql" else ";\n"
    body = (sep if name == "tsql" else ";\n\n").join(statements(name, schema, drop_existing, tables))
    header = f"-- pii_gen schema for {name}; generated from {source}, do not edit by hand.\n"
    return header + body + (sep if name == "tsql" else ";\n")
