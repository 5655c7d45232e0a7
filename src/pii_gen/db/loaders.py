"""One connection type per database path, each with its fastest proper bulk load.

* PostgreSQL: psycopg ``COPY ... FROM STDIN`` fed the CSV encoding of the batch.
* ODBC (SQL Server, and PostgreSQL through its ODBC driver): pyodbc
  ``fast_executemany`` with explicit ``setinputsizes``, in chunks.
* MySQL/MariaDB (through the MariaDB ODBC driver): batched multi-row INSERTs.
* DuckDB: inserts straight from the Arrow table.
* SQLite: ``executemany`` inside the batch's transaction.

Every loader runs inside one transaction per batch that the caller commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import OutputError
from ..schema import Table
from ..sinks.codecs import CsvCodec
from .ddl import Dialect, dialect, qualified
from .url import DatabaseURL, redact

ODBC_CHUNK = 20_000  # rows per fast_executemany call: bounded memory in the driver
MYSQL_ROWS_PER_INSERT = 2_000
MYSQL_MAX_PARAMS = 60_000  # under the server's 65,535 placeholders per statement


class Connection:
    """A database connection with the operations the database sink needs."""

    paramstyle = "?"

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        self.url = url
        self.schema = schema
        self.dialect: Dialect = dialect(url.dialect)

    # -- plumbing every driver shares ------------------------------------------
    def table(self, name: str) -> str:
        return qualified(self.dialect, name, self.schema)

    def sql(self, text: str) -> str:
        return text.replace("%s", self.paramstyle) if self.paramstyle != "%s" else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.raw.cursor()
        cur.execute(self.sql(text), tuple(params))
        rows = cur.fetchall() if cur.description else []
        cur.close()
        return [tuple(r) for r in rows]

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        try:
            self.raw.rollback()
        except Exception:  # noqa: BLE001 - a dead connection cannot roll back; the server already did
            pass

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # noqa: BLE001
            pass

    def table_exists(self, name: str) -> bool:
        try:
            self.execute(f"SELECT 1 FROM {self.table(name)} WHERE 1 = 0")
            return True
        except Exception:  # noqa: BLE001 - any error here means "not there (for us)"
            self.rollback()
            return False

    def columns(self, table: Table) -> str:
        """The table's quoted column list, in contract order."""
        return ", ".join(self.dialect.q(c) for c in table.column_names)

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        """Append ``data`` to ``table`` in the open transaction (``csv``: its CSV encoding, if already made)."""
        raise NotImplementedError

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        return False


class PostgresConnection(Connection):
    paramstyle = "%s"

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import psycopg

        self._psycopg = psycopg
        kwargs = {"host": url.host or "127.0.0.1", "port": url.port or 5432, "dbname": url.database, "user": url.user}
        if url.password:
            kwargs["password"] = url.password
        kwargs["application_name"] = "pii_gen"
        kwargs.update({k: v for k, v in url.query if k in ("sslmode", "connect_timeout", "application_name")})
        self.raw = psycopg.connect(**kwargs, autocommit=False)
        self._codec = CsvCodec()

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        if data.num_rows == 0:
            return
        with self.raw.cursor() as cur:
            with cur.copy(
                f"COPY {self.table(table.name)} ({self.columns(table)}) FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                copy.write(csv if csv is not None else self._codec.encode(data))

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        import psycopg

        if isinstance(
            exc, (psycopg.OperationalError, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
        ):
            return True
        return isinstance(exc, psycopg.InterfaceError)


def _rows(data: pa.Table, table: Table) -> list[tuple]:
    """The rows of ``data`` as tuples of Python values, in contract column order."""
    return list(zip(*(data.column(c).to_pylist() for c in table.column_names)))


def _odbc_type(column: Any) -> tuple[int, int, int]:
    import pyodbc

    t = column.type
    if pa.types.is_string(t):
        # Sizes count UTF-16 code units: room for characters outside the BMP; the server checks the real limit.
        return (pyodbc.SQL_WVARCHAR, 2 * (column.max_length or 255), 0)
    if pa.types.is_int64(t):
        return (pyodbc.SQL_BIGINT, 0, 0)
    if pa.types.is_integer(t):
        return (pyodbc.SQL_INTEGER, 0, 0)
    if pa.types.is_floating(t):
        return (pyodbc.SQL_DOUBLE, 0, 0)
    if pa.types.is_boolean(t):
        return (pyodbc.SQL_BIT, 0, 0)
    if pa.types.is_date(t):
        return (pyodbc.SQL_TYPE_DATE, 0, 0)
    if pa.types.is_timestamp(t):
        return (pyodbc.SQL_TYPE_TIMESTAMP, 26, 6)
    raise TypeError(f"no ODBC type for {t}")


class OdbcConnection(Connection):
    """SQL Server's path, identical for every ODBC target (tested against PostgreSQL and MariaDB)."""

    fast_executemany = True  # the fast path (parameter arrays, or multi-row INSERTs); False: plain, to measure

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import pyodbc

        self.raw = pyodbc.connect(url.odbc_connection_string(), autocommit=False)
        if self.dialect.name == "mysql":
            # MariaDB's driver garbles UTF-16 parameters past its first buffer (a stored run config of
            # ~500 characters came back unreadable); it takes UTF-8 as it is.
            self.raw.setencoding(encoding="utf-8")

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        import pyodbc

        if data.num_rows == 0:
            return
        cols = self.columns(table)
        marks = ", ".join("?" for _ in table.columns)
        sizes = [_odbc_type(c) for c in table.columns]
        cur = self.raw.cursor()
        if self.dialect.name == "mysql" and self.fast_executemany:
            self._multi_row_insert(cur, table, data, cols)
            return
        cur.fast_executemany = self.fast_executemany
        statement = f"INSERT INTO {self.table(table.name)} ({cols}) VALUES ({marks})"
        for start in range(0, data.num_rows, ODBC_CHUNK):
            cur.setinputsizes(sizes)
            cur.executemany(statement, _rows(data.slice(start, ODBC_CHUNK), table))
            # Some drivers (MariaDB's) report a failed row only as a message, not an exception.
            errors = [m for m in cur.messages if not str(m[0]).lstrip("[").startswith("01")]
            if errors:
                raise pyodbc.DatabaseError(*errors[0])
        cur.close()

    def _multi_row_insert(self, cur: Any, table: Table, data: pa.Table, cols: str) -> None:
        """MySQL/MariaDB: batched multi-row INSERTs; their ODBC driver sends parameter arrays row by row."""
        width = len(table.columns)
        per_statement = max(1, min(MYSQL_ROWS_PER_INSERT, MYSQL_MAX_PARAMS // width))
        row = "(" + ", ".join("?" for _ in range(width)) + ")"
        prefix = f"INSERT INTO {self.table(table.name)} ({cols}) VALUES "
        full = prefix + ", ".join([row] * per_statement)
        for start in range(0, data.num_rows, per_statement):
            part = data.slice(start, per_statement)
            flat = [v for r in _rows(part, table) for v in r]
            cur.execute(full if part.num_rows == per_statement else prefix + ", ".join([row] * part.num_rows), flat)
        cur.close()

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        """Disconnects, deadlocks, serialization failures and timeouts, told apart by SQLSTATE."""
        import pyodbc

        if not isinstance(exc, pyodbc.Error):
            return False
        first = str(exc.args[0]) if exc.args else ""
        text = " ".join(str(a) for a in exc.args).lower()
        state = first.strip("[]")[:5]
        return (
            state.startswith(("08", "40", "HYT"))
            or state == "57P01"
            or "savepoint failed" in text
            or "connection" in text
            and ("lost" in text or "gone away" in text or "not open" in text)
        )


class SqliteConnection(Connection):
    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import sqlite3

        self.raw = sqlite3.connect(url.file, isolation_level="DEFERRED")
        self.raw.execute("PRAGMA foreign_keys = ON")

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        if data.num_rows == 0:
            return
        marks = ", ".join("?" for _ in table.columns)
        for i, c in enumerate(table.columns):
            if pa.types.is_date(c.type):  # ISO dates, SQLite's convention
                data = data.set_column(i, c.name, pc.cast(data.column(c.name), pa.string()))
        self.raw.executemany(
            f"INSERT INTO {self.table(table.name)} ({self.columns(table)}) VALUES ({marks})", _rows(data, table)
        )

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        import sqlite3

        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class DuckdbConnection(Connection):
    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import duckdb

        self.raw = duckdb.connect(url.file)
        self.raw.execute("BEGIN TRANSACTION")

    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.raw.execute(self.sql(text), list(params)).fetchall()

    def commit(self) -> None:
        self.raw.execute("COMMIT")
        self.raw.execute("BEGIN TRANSACTION")

    def rollback(self) -> None:
        try:
            self.raw.execute("ROLLBACK")
            self.raw.execute("BEGIN TRANSACTION")
        except Exception:  # noqa: BLE001
            pass

    def close(self) -> None:
        try:
            self.raw.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - nothing open
            pass
        self.raw.close()

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        if data.num_rows == 0:
            return
        cols = self.columns(table)
        self.raw.register("pii_gen_batch", data)
        self.raw.execute(f"INSERT INTO {self.table(table.name)} ({cols}) SELECT {cols} FROM pii_gen_batch")
        self.raw.unregister("pii_gen_batch")


def connect(url: DatabaseURL, schema: str | None = None) -> Connection:
    """Open a connection for ``url``; failures become one line without the password."""
    kinds = {
        ("postgresql", "native"): PostgresConnection,
        ("sqlite", "native"): SqliteConnection,
        ("duckdb", "native"): DuckdbConnection,
    }
    cls = kinds.get((url.dialect, url.path), OdbcConnection)
    try:
        return cls(url, schema)
    except ImportError as err:
        extra = {"psycopg": "postgresql", "pyodbc": "odbc", "duckdb": "duckdb"}.get(err.name or "", "db")
        raise OutputError(
            f"cannot load {url.redacted()}: the driver '{err.name}' is missing; install it with "
            f'pip install "pii-gen[{extra}]"'
        ) from None
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        message = " ".join(redact(str(err), url.password).split())
        raise OutputError(f"cannot connect to {url.redacted()}: {message}") from None


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
