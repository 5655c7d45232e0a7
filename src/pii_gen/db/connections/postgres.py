"""PostgreSQL through psycopg: ``COPY ... FROM STDIN`` fed the CSV encoding of the batch."""

from __future__ import annotations

import pyarrow as pa

from ...core.contract import Table
from ...sinks.codecs import CsvCodec
from ..url import DatabaseURL
from .base import Connection


class PostgresConnection(Connection):
    name = "postgresql"
    claims = (("postgresql", "native"),)
    extras = {"psycopg": "postgresql"}
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
