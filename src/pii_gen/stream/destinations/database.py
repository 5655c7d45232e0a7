"""A database: each batch's rows of every table in one transaction, committed every ``batch`` people or
``interval`` seconds, through the database sink of ``generate --db`` (the same load path per database,
run record, load log, retries and checks), so a streamed database validates like a loaded one.

Commits end on household boundaries: a household's row goes in with all its members (and the noise
log with the rows it describes), so whatever is committed is a consistent population.  A table set
that already holds people is continued after their highest id, so a second stream adds new people.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np
import pyarrow as pa

from ...config import GenerateConfig
from ...db.guard import NONE, Overrides
from ...db.url import SCHEMES, DatabaseURL
from ...db.url import parse as parse_db_url
from ...errors import OutputError
from ...sinks.base import Batch, Capabilities
from ...sinks.database import DatabaseSink
from ...start import decide_start
from ...variability import tables_for
from ..documents import Chunk
from .base import Batching, DeliveryError, Destination

if TYPE_CHECKING:
    from ...config import GenerateConfig
    from ..options import StreamOptions


def batch_of(chunks: list[Chunk], tables: Iterable[str]) -> Batch:
    """The rows of ``chunks`` as one table each, in ``tables`` order.

    Empty slices are left out of the concatenation: pyarrow 26 concatenates a zero-row slice taken
    at an offset into a table whose later rows are bytes from elsewhere in memory (seen as NULs in a
    COPY of ``relationships``)."""
    parts = [c.tables() for c in chunks]
    return {name: pa.concat_tables([p[name] for p in parts if p[name].num_rows] or [parts[0][name]]) for name in tables}


class DatabaseDestination(Batching):
    """A database URL (every scheme ``generate --db`` takes), or a bare ODBC connection string."""

    name = "database"
    schemes = tuple(SCHEMES)
    capabilities = Capabilities(streaming=True, transactional=True)

    @classmethod
    def create(cls, to: str, options: StreamOptions, config: GenerateConfig, header: bytes) -> Destination:
        overrides = Overrides(options.allow_production, options.allow_unmarked)
        return cls(parse_db_url(to), config, options.db_schema, options.batch, options.flush_interval, overrides)

    def __init__(self, url: DatabaseURL, config: GenerateConfig, schema: str | None, batch: int,
                 interval: float, overrides: Overrides = NONE) -> None:  # fmt: skip
        super().__init__(url.redacted(), batch, interval, url.secrets)
        self.overrides = overrides
        self.url = url
        self.config = config
        self.schema = schema
        self.sink: DatabaseSink | None = None  # made on open, once the start is decided
        self._tail: Chunk | None = None  # the start of a household whose other members are still to come

    def open(self) -> None:
        start = decide_start(self.config, self.url, self.schema, stream=True)  # continues the ids of people there
        # The stream's plan is built once this start is known; its contract is the same as the config's.
        self.sink = DatabaseSink(self.url, start, tables_for(start.config), self.schema, self.overrides)
        self.sink.prepare()  # connects through the safety guard, creates what is missing, records the run
        self.sink.open({name: t.arrow_schema for name, t in self.sink.tables.items()})
        self.first_person_id = start.config.first_person_id

    @property
    def pending(self) -> int:
        return super().pending + (len(self._tail) if self._tail is not None else 0)

    def write(self, chunk: Chunk) -> None:
        if self._tail is not None:  # a block ends on a household boundary, so the tail's block goes on here
            assert self._tail.block is chunk.block and self._tail.stop == chunk.start
            chunk, self._tail = Chunk(chunk.block, self._tail.start, chunk.stop), None
        starts = chunk.block.households
        cut = int(starts[np.searchsorted(starts, chunk.stop, side="right") - 1])  # last boundary <= stop
        if cut > chunk.start:
            super().write(Chunk(chunk.block, chunk.start, cut))
        if cut < chunk.stop:
            self._tail = Chunk(chunk.block, max(cut, chunk.start), chunk.stop)

    def _complete_tail(self) -> None:
        """Hand over the held household with all its members (the stream may end inside one)."""
        if self._tail is None:
            return
        tail, self._tail = self._tail, None
        starts = tail.block.households
        end = int(starts[np.searchsorted(starts, tail.stop, side="left")])  # first boundary >= stop
        super().write(Chunk(tail.block, tail.start, end))

    def deliver(self, chunks: list[Chunk], number: int) -> None:
        assert self.sink is not None, "delivered before open"
        batch = batch_of(chunks, self.sink.tables)
        try:
            self.sink.write(batch)
        except OutputError as err:
            raise DeliveryError(str(err)) from None

    def close(self) -> None:
        if self.sink is None:  # never opened
            return
        try:
            self._complete_tail()
            self.flush()
        except BaseException:
            self.sink.abort()
            raise
        self.sink.close()  # checks the row counts against the load log and marks the run finished

    def abort(self) -> None:
        self._tail = None
        if self.sink is not None:
            self.sink.abort()
