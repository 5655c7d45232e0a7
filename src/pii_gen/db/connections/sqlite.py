"""SQLite: ``executemany`` inside the batch's transaction."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ...core.contract import Table
from ..url import DatabaseURL
from .base import Connection, rows


class SqliteConnection(Connection):
    name = "sqlite"
    claims = (("sqlite", "native"),)

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        super().__init__(url, schema)
        import sqlite3

        self.raw = sqlite3.connect(url.file, isolation_level="DEFERRED")
        self.raw.execute("PRAGMA foreign_keys = ON")

    def table_names(self) -> list[str]:
        rows = self.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
        )
        return sorted(str(r[0]) for r in rows)

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        if data.num_rows == 0:
            return
        marks = ", ".join("?" for _ in table.columns)
        for i, c in enumerate(table.columns):
            if pa.types.is_date(c.type):  # ISO dates, SQLite's convention
                data = data.set_column(i, c.name, pc.cast(data.column(c.name), pa.string()))
        self.raw.executemany(
            f"INSERT INTO {self.table(table.name)} ({self.columns(table)}) VALUES ({marks})", rows(data, table)
        )

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        import sqlite3

        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
