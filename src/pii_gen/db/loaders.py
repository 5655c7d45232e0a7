"""Opening a database connection for a URL, with one-line errors that never show the password.

Each connection type (and its fastest proper bulk load) is one module of :mod:`pii_gen.db.connections`,
registered for the (dialect, path) pairs it opens:

* PostgreSQL: psycopg ``COPY ... FROM STDIN`` fed the CSV encoding of the batch.
* MySQL/MariaDB (PyMySQL, pure Python): ``LOAD DATA LOCAL INFILE`` fed a tab-separated encoding of
  the batch made with Arrow kernels, where the server allows it; batched multi-row INSERTs otherwise.
* ODBC (SQL Server, and PostgreSQL or MariaDB through their ODBC drivers): pyodbc
  ``fast_executemany`` with explicit ``setinputsizes``, in chunks (MariaDB: multi-row INSERTs).
* DuckDB: inserts straight from the Arrow table.
* SQLite: ``executemany`` inside the batch's transaction.
"""

from __future__ import annotations

import datetime as dt

from ..errors import OutputError
from .connections.base import Connection, connection_class
from .url import DatabaseURL

__all__ = ["Connection", "connect", "now"]


def connect(url: DatabaseURL, schema: str | None = None) -> Connection:
    """Open a connection for ``url``; failures become one line without the password."""
    cls = connection_class(url)
    try:
        return cls(url, schema)
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        reason = cls.failure(url, err, url.scrub(str(err)))
        if reason is not None:
            raise OutputError(reason) from None
        if isinstance(err, ImportError):
            raise OutputError(
                f"cannot load {url.redacted()}: the driver '{err.name}' is missing; install it with "
                f'pip install "pii-gen[{cls.extras.get(err.name or "", "db")}]"'
            ) from None
        raise OutputError(f"cannot connect to {url.redacted()}: {url.scrub(str(err))}") from None


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
