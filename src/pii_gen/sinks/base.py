"""The one interface every output destination implements, and what an output declares it can do.

A backend never asks what class an output is: it reads :attr:`Sink.capabilities`.  An output that
takes parallel part writes (workers writing into its files themselves) declares ``parallel_parts`` and
implements :meth:`Sink.part_writer` and :meth:`Sink.record`; the declaration is checked when the class
is defined, so a broken output fails at import, not halfway through a run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pyarrow as pa

from ..errors import RegistryError

if TYPE_CHECKING:  # direct.py imports this module for Codec
    from .direct import PartWriter, Receipt

Batch = dict[str, pa.Table]


@dataclass(frozen=True)
class Capabilities:
    """What an output can do, declared by its class.

    * ``parallel_parts``: workers may write encoded batches straight into it (:meth:`Sink.part_writer`),
      the backend handing their receipts back in order (:meth:`Sink.record`);
    * ``transactional``: each written batch is committed as a whole, so a cancelled run keeps whole batches
      (a database) instead of being discarded (a folder of files);
    * ``streaming``: it takes an open-ended run, batch by batch as people are due (``pii_gen stream``);
    * ``blocks_per_task``: a run into it hands out tasks of exactly this many blocks, whatever its batch size
      (an output whose units follow tasks, Parquet's row groups, stays the same for every batch size).
    """

    parallel_parts: bool = False
    transactional: bool = False
    streaming: bool = False
    blocks_per_task: int | None = None


class Codec(Protocol):
    """Turns a table into bytes that can be appended to a file; pure, so workers can run it.

    ``encode_part`` is what a part writer calls: the bytes of table ``name`` and what the output needs to know
    of them besides (a Parquet part's footer; None for text formats), handed back in the receipt's ``parts``."""

    extension: str

    def header(self, schema: pa.Schema) -> bytes: ...

    def encode(self, table: pa.Table) -> bytes: ...

    def encode_part(self, name: str, table: pa.Table) -> tuple[Any, Any]: ...


class Sink(ABC):
    """A destination for batches of tables, schema fixed at ``open``.

    Use as a context manager: leaving the block normally commits the output,
    leaving it through an exception discards whatever was written.
    """

    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.capabilities.parallel_parts:
            missing = [m for m in ("part_writer", "record") if getattr(cls, m) is getattr(Sink, m)]
            if missing:
                raise RegistryError(
                    f"output {cls.__module__}.{cls.__qualname__} declares parallel_parts but does not "
                    f"implement {' and '.join(missing)}()"
                )

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
        """Discard what is not committed: everything since ``open``, or for a ``transactional`` output the
        batch in progress (its whole batches stay); a ``streaming`` one keeps what it delivered."""

    def part_writer(self, ctx: Any | None = None) -> PartWriter:
        """A writer workers use to write into this output themselves (with ``ctx``, a multiprocessing
        context, across processes); only for outputs declaring ``parallel_parts``."""
        raise NotImplementedError(f"{type(self).__name__} takes no parallel part writes")

    def record(self, receipt: Receipt) -> None:
        """Account for what a part writer wrote, receipts in task order; only with ``parallel_parts``."""
        raise NotImplementedError(f"{type(self).__name__} takes no parallel part writes")

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
