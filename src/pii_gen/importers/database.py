"""Import from a database: tables, columns, types, keys and foreign keys read from the catalog, and with a
sample size, aggregates computed by the database itself.

Each dialect's catalog queries and SQL spellings live in one small :class:`Catalog` subclass, registered
for the :class:`~pii_gen.db.url.DatabaseURL` dialect it reads; connections, URL parsing and one-line,
password-free errors are the database sink's own (:func:`pii_gen.db.loaders.connect`).

``sample=N`` reads aggregates only, in SQL over N rows of each table, never a row into Python. The rows are
drawn from the whole table with a fixed seed in PostgreSQL (``TABLESAMPLE BERNOULLI ... REPEATABLE``) and
DuckDB (``USING SAMPLE reservoir``), and are the first N the database returns elsewhere (``LIMIT N``,
``TOP (N)``). Per column: the null and distinct counts; for a column of at most :data:`MAX_CATEGORIES`
distinct values, the values seen at least :data:`~pii_gen.importers.source.MIN_CATEGORY_COUNT` times
(``HAVING``, so a rare value never leaves the database); numbers as a fitted ``gen: distribution``
(:func:`fit_distribution`); dates and timestamps as the whole months they fall in and their weekday (and
hour) shares; texts as their longest length and up to :data:`MAX_EXAMPLES` distinct values, kept in memory
for value-shape PII detection only. Per foreign key: children per parent, counted over N parent rows
(parents without a child included), as a fitted ``fanout:`` (:func:`~.infer.fit_fanout`, as for JSON samples).
Without ``sample`` only the catalog and each table's row count are read.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..core.registry import Registry
from ..db.ddl import BOOKKEEPING, qualified
from ..db.loaders import Connection, connect
from ..db.url import parse
from ..errors import ConfigError, OutputError, PiiGenError
from .infer import MAX_CATEGORIES, _instant, _month_bounds, fit_fanout, shares
from .source import MIN_CATEGORY_COUNT, ColumnStats, ForeignKey, SourceColumn, SourceTable

#: Distinct values of a text column kept (in memory only) for recognising value shapes.
MAX_EXAMPLES = 20

#: DSL type of each base type name the five databases use (lower case, arguments and ``unsigned`` removed).
TYPE_NAMES: dict[str, str] = {
    **dict.fromkeys(("integer", "int", "int4", "int2", "int1", "smallint", "tinyint", "mediumint", "serial",
                     "smallserial", "usmallint", "utinyint"), "int"),
    **dict.fromkeys(("bigint", "int8", "bigserial", "hugeint", "ubigint", "uinteger", "long"), "bigint"),
    **dict.fromkeys(("real", "float", "float4", "float8", "double", "double precision"), "float"),
    **dict.fromkeys(("numeric", "decimal", "dec", "number", "money", "smallmoney"), "decimal"),
    **dict.fromkeys(("boolean", "bool", "bit", "logical"), "bool"),
    "date": "date",
    **dict.fromkeys(("timestamp", "datetime", "datetime2", "smalldatetime", "datetimeoffset", "timestamptz",
                     "timestamp without time zone", "timestamp with time zone"), "timestamp"),
    **dict.fromkeys(("varchar", "character varying", "char", "character", "nchar", "nvarchar", "bpchar",
                     "varchar2", "nvarchar2", "string"), "string(n)"),
}  # fmt: skip
#: Fixed-size types that read as strings of this length.
FIXED_STRINGS = {"uuid": 36, "uniqueidentifier": 36}


def split_type(declared: str) -> tuple[str, list[int]]:
    """``'DECIMAL(12, 2)'`` -> ``('decimal', [12, 2])``; ``'int(11) unsigned'`` -> ``('int', [11])``."""
    text = declared.lower()
    args = re.search(r"\(([^)]*)\)", text)
    numbers = [int(a) for a in re.findall(r"-?\d+", args.group(1))] if args else []
    words = [w for w in re.sub(r"\([^)]*\)", " ", text).split() if w not in ("unsigned", "signed", "zerofill")]
    return " ".join(words), numbers


def dsl_type(declared: str, length: int | None = None, precision: int | None = None, scale: int | None = None,
             names: dict[str, str] = TYPE_NAMES) -> str:
    """The DSL type of a database type (``character varying`` with length 40 -> ``string(40)``); a type
    with no DSL counterpart (``bytea``, ``time``, ``json``) reads as ``string``."""  # fmt: skip
    base, args = split_type(declared)
    kind = names.get(base)
    if kind == "decimal":
        p, s = precision if precision is not None else (args[0] if args else None), scale
        if s is None:
            s = args[1] if len(args) > 1 else (0 if args else None)
        if base in ("money", "smallmoney"):
            p, s = (19 if base == "money" else 10), 4
        return f"decimal({p},{s})" if p else "float"
    if kind == "string(n)":
        n = length if length is not None else (args[0] if args else None)
        return f"string({n})" if n and n > 0 else "string"
    if base in FIXED_STRINGS:
        return f"string({FIXED_STRINGS[base]})"
    return kind or "string"


@dataclass
class RawColumn:
    """A column as the catalog describes it."""

    name: str
    declared: str
    length: int | None
    precision: int | None
    scale: int | None
    nullable: bool
    identity: bool


@dataclass
class Constraint:
    """A primary key (``p``), unique constraint (``u``) or foreign key (``f``), its columns in order."""

    kind: str
    columns: list[str]
    ref_table: str | None = None
    ref_columns: list[str] | None = None


class Catalogs(Registry[type["Catalog"]]):
    """The catalog readers, by the URL dialect they read."""


CATALOGS = Catalogs("database catalog")


class Catalog:
    """How one dialect's catalog is read and its aggregates are spelled.

    The defaults are the information schema's and standard SQL; a dialect overrides what it spells
    differently. Queries take ``%s`` placeholders (the connection turns them into its own) and hold no
    other percent sign where the driver reads them (PyMySQL, psycopg; SQLite's and SQL Server's do not).
    """

    name: ClassVar[str]
    #: The SQL type sums and moments are computed in.
    double: ClassVar[str] = "DOUBLE PRECISION"
    ln: ClassVar[str] = "LN"
    length: ClassVar[str] = "CHAR_LENGTH"
    #: The information schema column giving a column's type, and an expression true for an identity column.
    type_sql: ClassVar[str] = "data_type"
    identity_sql: ClassVar[str] = "0"
    #: Rows (kind p/u/f, constraint name, column, position, referenced table, referenced column) of one table.
    constraint_sql: ClassVar[str] = ""
    type_names: ClassVar[dict[str, str]] = TYPE_NAMES
    #: A date's or timestamp's weekday (0 for Monday to 6 for Sunday) and a timestamp's hour, of column ``{c}``.
    weekday_sql: ClassVar[str] = "CAST(EXTRACT(ISODOW FROM {c}) AS INTEGER) - 1"
    hour_sql: ClassVar[str] = "CAST(EXTRACT(HOUR FROM {c}) AS INTEGER)"

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.q = conn.dialect.q

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        CATALOGS.add(cls)

    # -- the catalog ---------------------------------------------------------
    def default_schema(self) -> str | None:
        return self.conn.execute("SELECT current_schema()")[0][0]

    def tables(self, schema: str | None) -> list[str]:
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            (schema,),
        )
        return sorted(r[0] for r in rows)

    def columns(self, schema: str | None, table: str) -> list[RawColumn]:
        rows = self.conn.execute(
            f"SELECT column_name, {self.type_sql}, character_maximum_length, numeric_precision, numeric_scale, "
            f"is_nullable, {self.identity_sql} FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        )
        return [RawColumn(r[0], str(r[1]), _int(r[2]), _int(r[3]), _int(r[4]), str(r[5]).upper() == "YES", bool(r[6]))
                for r in rows]  # fmt: skip

    def constraints(self, schema: str | None, table: str) -> list[Constraint]:
        """Grouped from :attr:`constraint_sql`'s one row per constrained column."""
        found: dict[tuple[str, str], Constraint] = {}
        rows = self.conn.execute(self.constraint_sql, self.constraint_params(schema, table))
        for kind, name, column, _, ref_table, ref_column in sorted(rows, key=lambda r: (r[0], r[1], r[3])):
            c = found.setdefault((kind, name), Constraint(kind, [], ref_table, [] if kind == "f" else None))
            c.columns.append(column)
            if kind == "f":
                c.ref_columns.append(ref_column)  # type: ignore[union-attr]
        return list(found.values())

    def constraint_params(self, schema: str | None, table: str) -> tuple[Any, ...]:
        """The parameters of :attr:`constraint_sql`."""
        return (schema, table)

    def dsl_type(self, column: RawColumn) -> str:
        scaled = split_type(column.declared)[0] in ("numeric", "decimal", "dec", "number")
        return dsl_type(column.declared, column.length, column.precision if scaled else None,
                        column.scale if scaled else None, self.type_names)  # fmt: skip

    # -- SQL spellings ---------------------------------------------------------
    def select(self, what: str, rest: str, limit: int | None = None) -> str:
        """``SELECT what rest``, at most ``limit`` rows."""
        return f"SELECT {what} {rest}" + (f" LIMIT {int(limit)}" if limit is not None else "")

    def sampled(self, table: str, n: int, rows: int) -> str:
        """A subquery of at most ``n`` of the ``rows`` rows of ``table``, which every aggregate of the table
        reads: here the first ``n`` the database returns (in practice the same each time, though SQL does not
        promise it; an override that draws rows must draw the same ones each time, with a fixed seed)."""
        return f"({self.select('*', 'FROM ' + table, n)})"

    def weekday(self, column: str) -> str:
        """The weekday of a date or timestamp, 0 for Monday to 6 for Sunday."""
        return self.weekday_sql.format(c=column)

    def hour(self, column: str) -> str:
        return self.hour_sql.format(c=column)


class PostgresCatalog(Catalog):
    name = "postgresql"
    identity_sql = "CASE WHEN is_identity = 'YES' OR position('nextval(' in COALESCE(column_default, '')) = 1 " \
                   "THEN 1 ELSE 0 END"  # fmt: skip
    # pg_constraint, not the information schema: constraint names are unique per table only there; and the
    # unique indexes no constraint stands for (CREATE UNIQUE INDEX), but not partial or expression ones.
    constraint_sql = """
        SELECT con.contype, con.conname, a.attname, k.i, fc.relname, fa.attname
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
        LEFT JOIN pg_class fc ON fc.oid = con.confrelid
        LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[k.i]
        WHERE n.nspname = %s AND c.relname = %s AND con.contype IN ('p', 'u', 'f')
        UNION ALL
        SELECT 'u', ic.relname, a.attname, k.i, NULL, NULL
        FROM pg_index x
        JOIN pg_class ic ON ic.oid = x.indexrelid
        JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, i)
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
        WHERE n.nspname = %s AND c.relname = %s AND x.indisunique AND NOT x.indisprimary
              AND x.indpred IS NULL AND x.indexprs IS NULL
              AND NOT EXISTS (SELECT 1 FROM pg_constraint u WHERE u.conindid = x.indexrelid)"""

    def constraint_params(self, schema: str | None, table: str) -> tuple[Any, ...]:
        return (schema, table, schema, table)

    def sampled(self, table: str, n: int, rows: int) -> str:
        """Rows drawn from the whole table (a fixed seed: the same rows each time), not its first pages."""
        if rows <= n:
            return super().sampled(table, n, rows)
        # About n rows on average; the LIMIT only caps a rare excess (a larger share cut to n would keep the
        # table's first pages and drop its last).
        share = 100.0 * n / rows
        return f"(SELECT * FROM {table} TABLESAMPLE BERNOULLI ({share:.6f}) REPEATABLE (0) LIMIT {int(n)})"


class MysqlCatalog(Catalog):
    """MySQL and MariaDB: a schema is a database; ``tinyint(1)`` is a boolean, ``int unsigned`` a bigint."""

    name = "mysql"
    weekday_sql = "WEEKDAY({c})"
    hour_sql = "HOUR({c})"
    double = "DOUBLE"
    type_sql = "column_type"
    identity_sql = "CASE WHEN LOCATE('auto_increment', extra) > 0 THEN 1 ELSE 0 END"
    constraint_sql = """
        SELECT CASE tc.constraint_type WHEN 'PRIMARY KEY' THEN 'p' WHEN 'UNIQUE' THEN 'u' ELSE 'f' END,
               tc.constraint_name, k.column_name, k.ordinal_position, k.referenced_table_name,
               k.referenced_column_name
        FROM information_schema.table_constraints tc
        JOIN information_schema.key_column_usage k ON k.constraint_schema = tc.constraint_schema
             AND k.table_name = tc.table_name AND k.constraint_name = tc.constraint_name
        WHERE tc.table_schema = %s AND tc.table_name = %s
              AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')"""

    def default_schema(self) -> str | None:
        return self.conn.execute("SELECT DATABASE()")[0][0]

    def dsl_type(self, column: RawColumn) -> str:
        base, args = split_type(column.declared)
        if base in ("tinyint", "bit") and args == [1]:
            return "bool"
        if base in ("int", "integer", "mediumint") and "unsigned" in column.declared.lower():
            return "bigint"
        return super().dsl_type(column)


class DuckdbCatalog(Catalog):
    """DuckDB keeps no ``varchar`` length (every string reads as ``string``)."""

    name = "duckdb"
    weekday_sql = "isodow({c}) - 1"
    hour_sql = "hour({c})"
    double = "DOUBLE"
    length = "length"
    identity_sql = "CASE WHEN starts_with(COALESCE(column_default, ''), 'nextval(') THEN 1 ELSE 0 END"

    def constraints(self, schema: str | None, table: str) -> list[Constraint]:
        kinds = {"PRIMARY KEY": "p", "UNIQUE": "u", "FOREIGN KEY": "f"}
        rows = self.conn.execute(
            "SELECT constraint_type, constraint_column_names, referenced_table, referenced_column_names "
            "FROM duckdb_constraints() WHERE schema_name = %s AND table_name = %s "
            "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') ORDER BY constraint_index",
            (schema, table),
        )
        return [Constraint(kinds[k], list(cols), ref, list(refs) if k == "FOREIGN KEY" else None)
                for k, cols, ref, refs in rows]  # fmt: skip

    def sampled(self, table: str, n: int, rows: int) -> str:
        """A reservoir sample over the whole table (a fixed seed: the same rows each time)."""
        if rows <= n:
            return super().sampled(table, n, rows)
        return f"(SELECT * FROM {table} USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE (0))"


class SqliteCatalog(Catalog):
    """SQLite: the ``pragma_*`` table functions; an ``INTEGER PRIMARY KEY`` (the rowid) is an identity; a type
    name outside the common ones reads by SQLite's affinity rules."""

    name = "sqlite"
    weekday_sql = "(CAST(strftime('%w', {c}) AS INTEGER) + 6) % 7"
    hour_sql = "CAST(strftime('%H', {c}) AS INTEGER)"
    double = "REAL"
    length = "length"

    def default_schema(self) -> str | None:
        return None

    def tables(self, schema: str | None) -> list[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return sorted(r[0] for r in rows)

    def columns(self, schema: str | None, table: str) -> list[RawColumn]:
        rows = self.conn.execute('SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid', (table,))
        keys = [r for r in rows if r[3]]
        return [RawColumn(r[0], r[1] or "", None, None, None, not r[2] and not r[3],
                          len(keys) == 1 and r[3] == 1 and (r[1] or "").upper() == "INTEGER")
                for r in rows]  # fmt: skip

    def constraints(self, schema: str | None, table: str) -> list[Constraint]:
        info = self.conn.execute("SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (table,))
        found = [Constraint("p", [r[0] for r in info])] if info else []
        indexes = self.conn.execute(
            "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin IN ('u', 'c') AND partial = 0 "
            "ORDER BY seq DESC", (table,),
        )  # fmt: skip
        for (index,) in indexes:
            cols = self.conn.execute("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (index,))
            if all(c[0] is not None for c in cols):  # not an index on an expression
                found.append(Constraint("u", [c[0] for c in cols]))
        fks: dict[int, Constraint] = {}
        for _, parent, src, dst in self.conn.execute(
            'SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id DESC, seq', (table,)
        ):
            fk = fks.setdefault(_, Constraint("f", [], parent, []))
            fk.columns.append(src)
            fk.ref_columns.append(dst)  # type: ignore[union-attr]
        for fk in fks.values():
            if None in fk.ref_columns:  # REFERENCES parent without columns: the parent's primary key
                fk.ref_columns = [r[0] for r in self.conn.execute(
                    "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (fk.ref_table,))]  # fmt: skip
        return found + list(fks.values())

    def dsl_type(self, column: RawColumn) -> str:
        base, _ = split_type(column.declared)
        if base in self.type_names or base in FIXED_STRINGS:
            return super().dsl_type(column)
        upper = base.upper()
        if "INT" in upper:
            return "int"
        if any(t in upper for t in ("REAL", "FLOA", "DOUB")):
            return "float"
        return "string"


class SqlServerCatalog(Catalog):
    """SQL Server (ODBC): ``sys`` views for keys, ``TOP (n)`` for a limit, ``bit`` as a boolean."""

    name = "tsql"
    weekday_sql = "(DATEPART(weekday, {c}) + @@DATEFIRST + 5) % 7"
    hour_sql = "DATEPART(hour, {c})"
    double = "FLOAT"
    ln = "LOG"
    length = "LEN"
    identity_sql = ("COLUMNPROPERTY(OBJECT_ID(QUOTENAME(table_schema) + '.' + QUOTENAME(table_name)), "
                    "column_name, 'IsIdentity')")  # fmt: skip
    constraint_sql = """
        SELECT CASE kc.type WHEN 'PK' THEN 'p' ELSE 'u' END, kc.name, col.name, ic.key_ordinal, NULL, NULL
        FROM sys.key_constraints kc
        JOIN sys.index_columns ic ON ic.object_id = kc.parent_object_id AND ic.index_id = kc.unique_index_id
        JOIN sys.columns col ON col.object_id = ic.object_id AND col.column_id = ic.column_id
        WHERE kc.parent_object_id = OBJECT_ID(QUOTENAME(%s) + '.' + QUOTENAME(%s))
        UNION ALL
        SELECT 'f', fk.name, pc.name, fkc.constraint_column_id, OBJECT_NAME(fk.referenced_object_id), rc.name
        FROM sys.foreign_keys fk
        JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id
        JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id
        JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id
        WHERE fk.parent_object_id = OBJECT_ID(QUOTENAME(%s) + '.' + QUOTENAME(%s))"""

    def default_schema(self) -> str | None:
        return self.conn.execute("SELECT SCHEMA_NAME()")[0][0]

    def constraint_params(self, schema: str | None, table: str) -> tuple[Any, ...]:
        return (schema, table, schema, table)

    def select(self, what: str, rest: str, limit: int | None = None) -> str:
        return f"SELECT {'' if limit is None else f'TOP ({int(limit)}) '}{what} {rest}"


def catalog_for(conn: Connection) -> Catalog:
    """The catalog reader of ``conn``'s dialect."""
    return CATALOGS[conn.dialect.name](conn)


def reflect(url: str, db_schema: str | None = None, tables: list[str] | None = None,
            sample: int | None = None) -> list[SourceTable]:
    """The tables of database ``url`` (in ``db_schema``, else the connection's default schema), all of them
    but pii_gen's own bookkeeping or those named in ``tables``; with ``sample``, their aggregates over at most
    that many rows each (see the module's docstring).  A foreign key to a table not read is left out (its
    columns stay, as plain columns)."""  # fmt: skip
    if sample is not None and sample < 1:
        raise ConfigError(f"--sample must be at least 1 (rows to compute aggregates over), got {sample}")
    parsed = parse(url)
    if parsed.file:
        if db_schema:
            raise ConfigError(f"{parsed.dialect} has no schemas; leave out --db-schema (got '{db_schema}')")
        if not Path(parsed.file).is_file():  # connecting would create an empty database
            raise ConfigError(f"cannot import from {parsed.redacted()}: no such file")
    conn = connect(parsed, db_schema)
    try:
        return _Reader(catalog_for(conn), db_schema, parsed.redacted()).read(tables, sample)
    except PiiGenError:
        raise
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        if type(err).__module__ in ("builtins", __name__) or type(err).__module__.startswith("pii_gen"):
            raise  # a bug, not the database's answer
        raise OutputError(f"cannot import from {parsed.redacted()}: {parsed.scrub(str(err))}") from None
    finally:
        conn.close()


#: pii_gen's own bookkeeping tables, never imported unless named.
BOOKKEEPING_NAMES = frozenset(t.name for t in BOOKKEEPING)


class _Reader:
    """One import: the catalog of one schema, then (with a sample size) the aggregates of its tables."""

    def __init__(self, catalog: Catalog, schema: str | None, where: str) -> None:
        self.cat = catalog
        self.q = catalog.q
        self.schema = schema if schema else catalog.default_schema()
        self.where = f"schema '{self.schema}' of {where}" if self.schema else where

    def name(self, table: str) -> str:
        return qualified(self.cat.conn.dialect, table, self.schema)

    def one(self, what: str, rest: str, limit: int | None = None) -> tuple:
        return self.cat.conn.execute(self.cat.select(what, rest, limit))[0]

    def rows(self, what: str, rest: str, limit: int | None = None) -> list[tuple]:
        return self.cat.conn.execute(self.cat.select(what, rest, limit))

    def read(self, wanted: list[str] | None, sample: int | None) -> list[SourceTable]:
        existing = self.cat.tables(self.schema)
        if wanted:
            missing = [t for t in wanted if t not in existing]
            if missing:
                raise ConfigError(
                    f"--tables: no table {', '.join(missing)} in {self.where}; it has: {', '.join(existing) or 'none'}"
                )
            names = list(dict.fromkeys(wanted))
        else:
            names = [t for t in existing if t not in BOOKKEEPING_NAMES]
            if not names:
                raise ConfigError(f"{self.where} has no tables to import")
        found = [self.table(name) for name in names]
        for table in found:
            table.foreign_keys = [fk for fk in table.foreign_keys if fk.table in names]
            table.rows = int(self.one("COUNT(*)", f"FROM {self.name(table.name)}")[0])
        if sample:
            rows = {t.name: t.rows or 0 for t in found}
            for table in found:
                self.sample(table, sample, rows)
        return found

    def table(self, name: str) -> SourceTable:
        raw = self.cat.columns(self.schema, name)
        columns = [SourceColumn(r.name, self.cat.dsl_type(r), nullable=r.nullable, source_type=_source_type(r),
                                identity=r.identity) for r in raw]  # fmt: skip
        table = SourceTable(name, columns, origin=f"{self.schema}.{name}" if self.schema else name)
        constraints = self.cat.constraints(self.schema, name)
        for c in constraints:
            if c.kind == "p":
                table.key = c.columns
        for c in constraints:
            if c.kind == "u" and c.columns != table.key:
                if len(c.columns) == 1:
                    table.column(c.columns[0]).unique = True
                elif c.columns not in table.uniques:
                    table.uniques.append(c.columns)
            elif c.kind == "f":
                table.foreign_keys.append(ForeignKey(c.columns, c.ref_table or "", c.ref_columns or []))
        # In the order of their first column, whatever order the catalog lists constraints in.
        position = {c.name: i for i, c in enumerate(table.columns)}
        table.uniques.sort(key=lambda cols: [position[c] for c in cols])
        table.foreign_keys.sort(key=lambda fk: [position[c] for c in fk.columns])
        for column in table.columns:
            if column.name in table.key:
                column.nullable = False
        return table

    # -- aggregates ----------------------------------------------------------------
    def sample(self, table: SourceTable, n: int, rows: dict[str, int]) -> None:
        """Fill ``stats`` (and a text column's ``examples``) and each foreign key's ``fanout`` from the first
        ``n`` rows; every figure is an aggregate the database computes."""
        q, cat = self.q, self.cat
        s = f"FROM {cat.sampled(self.name(table.name), n, table.rows or 0)} AS s"
        kinds = {c.name: kind_of(c.type) for c in table.columns}
        items = ["COUNT(*)"]
        for c in table.columns:
            col, x = q(c.name), f"CAST({q(c.name)} AS {cat.double})"
            items += [f"COUNT({col})", f"COUNT(DISTINCT {col})"]
            if kinds[c.name] == "number":
                items += [f"MIN({col})", f"MAX({col})", f"AVG({x})", f"SUM(CASE WHEN {col} > 0 THEN 1 ELSE 0 END)",
                          f"AVG(CASE WHEN {col} > 0 THEN {cat.ln}({x}) END)"]  # fmt: skip
            elif kinds[c.name] in ("date", "timestamp"):
                items += [f"MIN({col})", f"MAX({col})"]
            elif kinds[c.name] == "text":
                items.append(f"MAX({cat.length}({col}))")
        values = list(self.one(", ".join(items), s))
        total = int(values.pop(0))
        firsts: dict[str, list] = {}
        for c in table.columns:
            width = {"number": 7, "date": 4, "timestamp": 4, "text": 3}.get(kinds[c.name], 2)
            firsts[c.name], values = values[:width], values[width:]
        moments = self.moments(table, s, firsts)
        for c in table.columns:
            kind, got = kinds[c.name], firsts[c.name]
            stats = ColumnStats(count=total, nulls=total - int(got[0]), distinct=int(got[1]))
            c.stats = stats
            if not got[0]:
                continue
            col = q(c.name)
            if kind in ("number", "text", "bool") and c.name not in table.key and not c.identity \
                    and stats.distinct <= MAX_CATEGORIES:  # fmt: skip
                groups = self.rows(f"{col}, COUNT(*)", f"{s} WHERE {col} IS NOT NULL GROUP BY {col} "
                                   f"HAVING COUNT(*) >= {int(MIN_CATEGORY_COUNT)}")  # fmt: skip
                stats.categories = {_value(v, c.type): int(k) for v, k in
                                    sorted(groups, key=lambda g: (-g[1], str(g[0])))}  # fmt: skip
            if kind == "number":
                stats.distribution = fit_distribution(c.type, int(got[0]), *got[2:5], int(got[5]), got[6],
                                                      *moments.get(c.name, (None,) * 4))  # fmt: skip
            elif kind in ("date", "timestamp"):
                stats.start, stats.end = _month_bounds(_instant(_iso(got[2], kind)), _instant(_iso(got[3], kind)))
                stats.weekday = shares(self.buckets(cat.weekday(col), s, col), 7)
                if kind == "timestamp":
                    stats.hour = shares(self.buckets(cat.hour(col), s, col), 24)
            elif kind == "text":
                stats.max_length = int(got[2])
                c.examples = [r[0] for r in self.rows(col, f"{s} WHERE {col} IS NOT NULL GROUP BY {col}",
                                                      MAX_EXAMPLES)]  # fmt: skip
        for fk in table.foreign_keys:
            per_parent = self.children_per_parent(table, fk, n, rows[fk.table])
            if per_parent:  # the histogram as the counts it sums up (at most n numbers)
                fk.fanout = fit_fanout([k for k, parents in sorted(per_parent.items()) for _ in range(parents)])

    def moments(self, table: SourceTable, s: str, firsts: dict[str, list]) -> dict[str, tuple]:
        """Per number column: the sums of squared and cubed deviations from the mean, of the values and (when
        all are positive) of their logarithms; a second pass, so no large sums cancel."""
        items: list[str] = []
        order: list[tuple[str, int]] = []
        for c in table.columns:
            got = firsts[c.name]
            if kind_of(c.type) != "number" or not got[0] or got[4] is None:
                continue
            x = f"CAST({self.q(c.name)} AS {self.cat.double})"
            pairs = [(x, float(got[4]))]
            if int(got[5]) == int(got[0]) and got[6] is not None:
                pairs.append((f"{self.cat.ln}({x})", float(got[6])))
            for expr, mean in pairs:
                d = f"({expr} - ({mean!r}))"
                items += [f"SUM({d} * {d})", f"SUM({d} * {d} * {d})"]
            order.append((c.name, len(pairs)))
        if not items:
            return {}
        values = [None if v is None else float(v) for v in self.one(", ".join(items), s)]
        out = {}
        for name, n in order:
            got, values = values[: 2 * n], values[2 * n :]
            out[name] = tuple(got) + (None, None) * (2 - n)
        return out

    def buckets(self, expr: str, s: str, col: str) -> Counter[int]:
        """How many non-null values fall in each bucket of ``expr`` (a weekday, an hour)."""
        rows = self.rows(f"{expr}, COUNT(*)", f"{s} WHERE {col} IS NOT NULL GROUP BY {expr}")
        return Counter({int(bucket): int(k) for bucket, k in rows})

    def children_per_parent(self, table: SourceTable, fk: ForeignKey, n: int, parent_rows: int) -> dict[int, int]:
        """How many of (at most) ``n`` parent rows have k children, for each k (0 included)."""
        q = self.q
        refs = ", ".join(f"p.{q(c)}" for c in fk.ref_columns)
        parents = (f"SELECT {', '.join(q(c) for c in fk.ref_columns)} "
                   f"FROM {self.cat.sampled(self.name(fk.table), n, parent_rows)} AS p0 WHERE "
                   + " AND ".join(f"{q(c)} IS NOT NULL" for c in fk.ref_columns))  # fmt: skip
        on = " AND ".join(f"c.{q(a)} = p.{q(b)}" for a, b in zip(fk.columns, fk.ref_columns))
        per_parent = (f"SELECT COUNT(c.{q(fk.columns[0])}) AS children FROM ({parents}) AS p "
                      f"LEFT JOIN {self.name(table.name)} AS c ON {on} GROUP BY {refs}")  # fmt: skip
        rows = self.rows("g.children, COUNT(*)", f"FROM ({per_parent}) AS g GROUP BY g.children")
        return {int(k): int(f) for k, f in rows}


def kind_of(dsl: str) -> str:
    """What aggregates a DSL type gets: number, date, timestamp, bool or text."""
    if dsl in ("int", "bigint", "float") or dsl.startswith("decimal"):
        return "number"
    if dsl in ("date", "timestamp", "bool"):
        return dsl
    return "text"


def _num(x: float) -> float:
    return float(f"{x:.6g}")


def fit_distribution(dsl: str, count: int, lo: Any, hi: Any, mean: Any, positives: int = 0, log_mean: Any = None,
                     m2: float | None = None, m3: float | None = None, l2: float | None = None,
                     l3: float | None = None) -> dict[str, Any]:
    """A ``gen: distribution`` spec for a number column from its moments, by simple rules in this order:

    * every value the same: ``uniform`` from it to itself;
    * whole numbers >= 0 whose variance is 0.8 to 1.25 times the mean: ``poisson`` (counts);
    * a standard deviation within 10 % of a uniform's over the range seen, and |skewness| < 0.3: ``uniform``
      over mean -/+ sqrt(3) sd (the moments' range, not the extremes seen);
    * all positive, skewness > 0.5 and the logarithms less skewed than the values: ``lognormal``;
    * otherwise ``normal``, clamped at 0 when no value is negative.

    ``lo``/``hi`` (the extremes) only choose the rule: no value of one row is written. ``m2``/``m3`` are the
    sums of squared/cubed deviations from the mean (``l2``/``l3`` of the logarithms, ``log_mean`` their
    mean). A whole-number column gets ``integer: true``, a ``decimal(p,s)`` one ``decimals: s``."""
    lo, hi, mean = float(lo), float(hi), float(mean)
    whole = dsl in ("int", "bigint")
    tail: dict[str, Any] = {"integer": True} if whole else {}
    scale = re.fullmatch(r"decimal\(\d+,(\d+)\)", dsl)
    if scale:
        tail = {"decimals": int(scale.group(1))}
    if hi == lo or count < 2 or not m2:
        return {"dist": "uniform", "min": _num(mean), "max": _num(mean), **tail}
    var = m2 / (count - 1)
    sd = math.sqrt(var)
    skew = (m3 or 0.0) / count / (m2 / count) ** 1.5
    if whole and lo >= 0 and mean > 0 and 0.8 <= var / mean <= 1.25:
        return {"dist": "poisson", "mean": _num(mean)}
    if abs(sd * math.sqrt(12) / (hi - lo) - 1) <= 0.1 and abs(skew) < 0.3:
        low, high = mean - math.sqrt(3) * sd, mean + math.sqrt(3) * sd
        if whole:
            return {"dist": "uniform", "min": math.floor(low), "max": math.ceil(high), **tail}
        return {"dist": "uniform", "min": _num(low), "max": _num(high), **tail}
    if positives == count and log_mean is not None and l2 and skew > 0.5:
        log_skew = (l3 or 0.0) / count / (l2 / count) ** 1.5
        if abs(log_skew) < abs(skew):
            sigma = math.sqrt(l2 / (count - 1))
            return {"dist": "lognormal", "mu": _num(float(log_mean)), "sigma": _num(sigma), **tail}
    return {"dist": "normal", "mean": _num(mean), "sd": _num(sd), **({"min": 0} if lo >= 0 else {}), **tail}


def _source_type(r: RawColumn) -> str:
    declared = r.declared.lower()
    if "(" in declared:
        return declared
    if r.length and r.length > 0 and TYPE_NAMES.get(declared) == "string(n)":
        return f"{declared}({r.length})"
    if r.precision and TYPE_NAMES.get(declared) == "decimal":
        return f"{declared}({r.precision},{r.scale or 0})"
    return declared


def _value(v: Any, dsl: str) -> Any:
    """A category as a plain value: booleans stored as 0/1 as booleans, decimals as floats."""
    if dsl == "bool":
        return bool(v)
    if hasattr(v, "as_integer_ratio") and not isinstance(v, (int, float)):
        return float(v)
    return v


def _iso(v: Any, kind: str) -> str | None:
    if v is None:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ", timespec="seconds") if kind == "timestamp" and hasattr(v, "hour") \
            else v.isoformat()[:10]  # fmt: skip
    text = str(v)
    return text[:10] if kind == "date" else text[:19]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
