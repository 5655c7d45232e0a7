"""One connection type per database path, each with its fastest proper bulk load.

* PostgreSQL: psycopg ``COPY ... FROM STDIN`` fed the CSV encoding of the batch.
* MySQL/MariaDB (PyMySQL, pure Python): ``LOAD DATA LOCAL INFILE`` fed a tab-separated encoding of
  the batch made with Arrow kernels, where the server allows it; batched multi-row INSERTs otherwise.
* ODBC (SQL Server, and PostgreSQL or MariaDB through their ODBC drivers): pyodbc
  ``fast_executemany`` with explicit ``setinputsizes``, in chunks (MariaDB: multi-row INSERTs).
* DuckDB: inserts straight from the Arrow table.
* SQLite: ``executemany`` inside the batch's transaction.

Every loader runs inside one transaction per batch that the caller commits.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import OutputError
from ..core.contract import Table
from ..sinks.codecs import CsvCodec, string_bytes
from .ddl import Dialect, dialect, qualified
from .url import DEFAULT_ODBC_DRIVERS, DatabaseURL

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

    def stream_cursor(self) -> Any:
        """A cursor that fetches rows as they are read, not the whole result at once (bounded memory)."""
        return self.raw.cursor()

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


#: MySQL error codes of a dropped connection, deadlock or lock wait timeout: retried.
MYSQL_TRANSIENT = {1205, 1213, 2003, 2006, 2013, 2055}


class MysqlConnection(Connection):
    """MySQL/MariaDB through PyMySQL: ``LOAD DATA LOCAL INFILE`` where the server allows it, else INSERTs."""

    paramstyle = "%s"

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import pymysql

        self._pymysql = pymysql
        timeout = int(url.option("connect_timeout", "10"))
        self.raw = pymysql.connect(
            host=url.host or "127.0.0.1", port=url.port or 3306, user=url.user or None, password=url.password,
            database=url.database or None, charset="utf8mb4", autocommit=False, local_infile=True,
            connect_timeout=timeout,
        )  # fmt: skip
        # PyMySQL sends whatever file the server names: allow that only during our own LOAD DATA statement.
        self.raw._local_infile = False
        # ?local_infile=0 asks for INSERTs even where the server would take LOAD DATA LOCAL.
        wanted = url.option("local_infile", "1").lower() not in ("0", "false", "no", "off")
        self.local_infile = wanted and self._server_allows_local_infile()

    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.raw.cursor()
        cur.execute(self.sql(text), tuple(params) if params else None)  # None: a literal % stays as it is
        rows = cur.fetchall() if cur.description else []
        cur.close()
        return [tuple(r) for r in rows]

    def _server_allows_local_infile(self) -> bool:
        try:
            return bool(int(self.execute("SELECT @@local_infile")[0][0]))
        except Exception:  # noqa: BLE001 - a server without the variable does not allow it
            self.rollback()
            return False

    def stream_cursor(self) -> Any:
        return self.raw.cursor(self._pymysql.cursors.SSCursor)

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        if data.num_rows == 0:
            return
        if self.local_infile:
            self._load_data(table, data)
        else:
            self._insert(table, data)

    def _load_data(self, table: Table, data: pa.Table) -> None:
        """One LOAD DATA statement per table and batch, from a temporary file of the batch."""
        fd, path = tempfile.mkstemp(prefix="pii_gen_", suffix=".tsv")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(mysql_text(data, table))
            cur = self.raw.cursor()
            self.raw._local_infile = True
            try:
                cur.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE {self.table(table.name)} CHARACTER SET utf8mb4 "
                    f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                    f"({self.columns(table)})",
                    (path,),
                )
            finally:
                self.raw._local_infile = False
            # LOCAL makes the server skip rows it cannot take (a duplicate key) with a warning, not an error.
            if cur.rowcount != data.num_rows or cur.warning_count:
                warning = self.execute("SHOW WARNINGS LIMIT 1")
                cur.close()
                detail = f": {warning[0][2]}" if warning else ""
                raise OutputError(f"{table.name}: the server took {cur.rowcount} of {data.num_rows} rows{detail}")
            cur.close()
        finally:
            os.unlink(path)

    def _insert(self, table: Table, data: pa.Table) -> None:
        """Batched multi-row INSERTs (PyMySQL rewrites executemany into statements of up to 1 MB)."""
        marks = ", ".join("%s" for _ in table.columns)
        cur = self.raw.cursor()
        statement = f"INSERT INTO {self.table(table.name)} ({self.columns(table)}) VALUES ({marks})"
        for start in range(0, data.num_rows, MYSQL_ROWS_PER_INSERT):
            cur.executemany(statement, _rows(data.slice(start, MYSQL_ROWS_PER_INSERT), table))
        cur.close()

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        import pymysql

        if isinstance(exc, pymysql.err.InterfaceError):  # the connection is closed
            return True
        code = exc.args[0] if isinstance(exc, pymysql.err.MySQLError) and exc.args else None
        return isinstance(code, int) and code in MYSQL_TRANSIENT


def mysql_text(data: pa.Table, table: Table) -> bytes:
    """The rows as LOAD DATA's default text format, built with Arrow kernels: tab-separated, ``\\N`` for
    null, backslash escapes for backslash, tab, newline and carriage return; booleans as 1/0."""
    columns = []
    for spec in table.columns:
        col = data.column(spec.name)
        if pa.types.is_boolean(col.type):
            col = pc.cast(col, pa.int8())
        if pa.types.is_string(col.type):
            for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                col = pc.replace_substring(col, raw, escaped)
        else:
            col = pc.cast(col, pa.string())
        columns.append(pc.fill_null(col, "\\N"))
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, "\t"), "\n", "")
    return string_bytes(lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines)


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
        ("mysql", "native"): MysqlConnection,
        ("sqlite", "native"): SqliteConnection,
        ("duckdb", "native"): DuckdbConnection,
    }
    cls = kinds.get((url.dialect, url.path), OdbcConnection)
    try:
        return cls(url, schema)
    except ImportError as err:
        if "libodbc" in str(err):  # pyodbc is there, the OS's ODBC driver manager is not
            raise OutputError(
                f"cannot load {url.redacted()}: the ODBC driver manager (libodbc.so.2) is missing; install the OS "
                f"package unixodbc (Debian/Ubuntu: apt-get install unixodbc {_odbc_package(url)})"
            ) from None
        extra = {"psycopg": "postgresql", "pyodbc": "odbc", "duckdb": "duckdb", "pymysql": "mysql"}
        raise OutputError(
            f"cannot load {url.redacted()}: the driver '{err.name}' is missing; install it with "
            f'pip install "pii-gen[{extra.get(err.name or "", "db")}]"'
        ) from None
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        message = url.scrub(str(err))
        if cls is OdbcConnection and ("can't open lib" in message.lower() or "IM002" in message):
            driver = url.option("driver", DEFAULT_ODBC_DRIVERS.get(url.dialect, "")) if not url.odbc else "named"
            raise OutputError(
                f"cannot load {url.redacted()}: the ODBC driver '{driver}' is not installed; install it "
                f"({_odbc_package(url)}) or name an installed one with ?driver= (odbcinst -q -d lists them)"
            ) from None
        raise OutputError(f"cannot connect to {url.redacted()}: {message}") from None


def _odbc_package(url: DatabaseURL) -> str:
    """The OS package of the ODBC driver for ``url``'s database."""
    return {
        "postgresql": "odbc-postgresql",
        "mysql": "odbc-mariadb",
        "tsql": "Microsoft's msodbcsql18 package",
    }.get(url.dialect, "the database's ODBC driver")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
