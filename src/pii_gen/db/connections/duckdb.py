"""DuckDB: inserts straight from the Arrow table."""

from __future__ import annotations

from typing import Any, Sequence

import pyarrow as pa

from ...core.contract import Table
from ..url import DatabaseURL
from .base import Connection


class DuckdbConnection(Connection):
    name = "duckdb"
    claims = (("duckdb", "native"),)
    extras = {"duckdb": "duckdb"}

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
