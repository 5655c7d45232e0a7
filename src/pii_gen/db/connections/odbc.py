"""ODBC (SQL Server, and PostgreSQL or MariaDB through their ODBC drivers): pyodbc ``fast_executemany``
with explicit ``setinputsizes``, in chunks (MariaDB: multi-row INSERTs)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ...core.contract import Table
from ..url import DEFAULT_ODBC_DRIVERS, DatabaseURL
from .base import Connection, rows
from .mysql import MYSQL_ROWS_PER_INSERT

ODBC_CHUNK = 20_000  # rows per fast_executemany call: bounded memory in the driver
MYSQL_MAX_PARAMS = 60_000  # under the server's 65,535 placeholders per statement


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
    """SQL Server's path, identical for every ODBC target (tested against PostgreSQL and MariaDB), and the
    fallback for any URL no other connection claims."""

    name = "odbc"
    claims = (("postgresql", "odbc"), ("mysql", "odbc"), ("tsql", "odbc"))
    fallback = True
    extras = {"pyodbc": "odbc"}

    fast_executemany = True  # the fast path (parameter arrays, or multi-row INSERTs); False: plain, to measure

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import pyodbc

        self.raw = pyodbc.connect(url.odbc_connection_string(), autocommit=False)
        if self.dialect.name == "mysql":
            # MariaDB's driver garbles UTF-16 parameters past its first buffer (a stored run config of
            # ~500 characters came back unreadable); it takes UTF-8 as it is.
            self.raw.setencoding(encoding="utf-8")

    @classmethod
    def failure(cls, url: DatabaseURL, err: Exception, message: str) -> str | None:
        """The OS's driver manager or the named ODBC driver missing, with the package to install."""
        if isinstance(err, ImportError):
            if "libodbc" not in str(err):  # pyodbc itself is missing: the generic advice
                return None
            return (
                f"cannot load {url.redacted()}: the ODBC driver manager (libodbc.so.2) is missing; install the OS "
                f"package unixodbc (Debian/Ubuntu: apt-get install unixodbc {odbc_package(url)})"
            )
        if "can't open lib" in message.lower() or "IM002" in message:
            driver = url.option("driver", DEFAULT_ODBC_DRIVERS.get(url.dialect, "")) if not url.odbc else "named"
            return (
                f"cannot load {url.redacted()}: the ODBC driver '{driver}' is not installed; install it "
                f"({odbc_package(url)}) or name an installed one with ?driver= (odbcinst -q -d lists them)"
            )
        return None

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
            cur.executemany(statement, rows(data.slice(start, ODBC_CHUNK), table))
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
            flat = [v for r in rows(part, table) for v in r]
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


def odbc_package(url: DatabaseURL) -> str:
    """The OS package of the ODBC driver for ``url``'s database."""
    return {
        "postgresql": "odbc-postgresql",
        "mysql": "odbc-mariadb",
        "tsql": "Microsoft's msodbcsql18 package",
    }.get(url.dialect, "the database's ODBC driver")
