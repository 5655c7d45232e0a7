"""The one interface every output destination implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Protocol

import pyarrow as pa

Batch = dict[str, pa.Table]


class Codec(Protocol):
    """Turns a table into bytes that can be appended to a file; pure, so workers can run it."""

    extension: str

    def header(self, schema: pa.Schema) -> bytes: ...

    def encode(self, table: pa.Table) -> bytes: ...


class Sink(ABC):
    """A destination for batches of tables, schema fixed at ``open``.

    Use as a context manager: leaving the block normally commits the output,
    leaving it through an exception discards whatever was written.
    """

    def __init__(self) -> None:
        self.schemas: dict[str, pa.Schema] | None = None
        self.rows: dict[str, int] = {}

    @abstractmethod
    def open(self, schemas: dict[str, pa.Schema]) -> None:
        """Fix the tables and their schemas; create whatever the destination needs."""

    @abstractmethod
    def write(self, batch: Batch) -> None:
        """Append one batch of tables."""

    @abstractmethod
    def close(self) -> None:
        """Make everything written durable and visible."""

    @abstractmethod
    def abort(self) -> None:
        """Discard everything written since ``open``."""

    def _count(self, batch: Batch) -> None:
        for name, table in batch.items():
            self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def __enter__(self) -> "Sink":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
