"""A database: each batch's rows of every data table in one transaction, committed every ``batch`` people
or ``interval`` seconds, through the project's fastest load path per database (PostgreSQL COPY, ...).

The tables come from the run's contract (noisy tables with noise); the noise log is not streamed.
A table set that already holds people is continued after their highest id, so a second stream
adds new people instead of colliding with the first.
"""

from __future__ import annotations

import time

import pyarrow as pa

from ...config import GenerateConfig
from ...db.loaders import Connection, connect
from ...db.url import DatabaseURL, redact
from ...errors import OutputError, PiiGenError
from ...person import BLOCK_SIZE
from ...schema import TABLES
from ...sinks.database import ensure_schema
from ...variability import tables_for
from ...variability.duplicates import DUPLICATE_ID_BASE
from ..documents import Chunk
from .base import Batching, DeliveryError

RETRIES = 5
BACKOFF_SECONDS = 0.2


class DatabaseDestination(Batching):
    def __init__(self, url: DatabaseURL, config: GenerateConfig, schema: str | None, batch: int,
                 interval: float) -> None:  # fmt: skip
        super().__init__(url.redacted(), batch, interval)
        self.url = url
        self.schema = schema
        self.tables = {name: spec for name, spec in tables_for(config).items() if name in TABLES}
        self.all_tables = tables_for(config)
        self.conn: Connection | None = None

    def _error(self, err: BaseException) -> str:
        return " ".join(redact(str(err), self.url.password).split())[:500]

    def open(self) -> None:
        self.conn = connect(self.url, self.schema)
        try:
            ensure_schema(self.conn, False, self.all_tables)
            top = self.conn.execute(
                f"SELECT MAX(person_id) FROM {self.conn.table('persons')} WHERE person_id < {DUPLICATE_ID_BASE}"
            )[0][0]
            self.conn.commit()
        except PiiGenError:
            self.release()
            raise
        except Exception as err:  # noqa: BLE001 - driver errors, without the password
            self.release()
            raise OutputError(f"cannot prepare {self.label}: {self._error(err)}") from None
        if top:
            self.first_person_id = -(-int(top) // BLOCK_SIZE) * BLOCK_SIZE + 1  # the next whole block

    def deliver(self, chunks: list[Chunk], number: int) -> None:
        parts = [c.tables() for c in chunks]
        batch = {name: pa.concat_tables([p[name] for p in parts]) for name in self.tables if name in parts[0]}
        first_id = batch["persons"].column("person_id")[0].as_py()
        for attempt in range(RETRIES + 1):
            try:
                if self.conn is None:
                    self.conn = connect(self.url, self.schema)
                self._load(batch)
                return
            except Exception as err:  # noqa: BLE001
                transient = isinstance(err, OutputError) or (self.conn is not None and self.conn.is_transient(err))
                if attempt == RETRIES or not transient:
                    raise DeliveryError(f"loading into {self.label} failed: {self._error(err)}") from None
                time.sleep(BACKOFF_SECONDS * 2**attempt)
                self.release()
                try:
                    self.conn = connect(self.url, self.schema)
                    if self._holds(first_id):  # the commit went through before the connection dropped
                        return
                except Exception:  # noqa: BLE001 - still down: the next attempt reconnects
                    self.release()

    def _load(self, batch: dict[str, pa.Table]) -> None:
        conn = self.conn
        assert conn is not None
        for name, spec in self.tables.items():  # persons first: the foreign keys need it
            if name in batch:
                conn.load(spec, batch[name])
        conn.commit()

    def _holds(self, person_id: int) -> bool:
        assert self.conn is not None
        rows = self.conn.execute(f"SELECT COUNT(*) FROM {self.conn.table('persons')} WHERE person_id = %s",
                                 (person_id,))  # fmt: skip
        self.conn.commit()
        return bool(rows[0][0])

    def release(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None
