"""Loading into a database: one transaction per batch, logged, retried, resumable.

Each batch's rows for every table go in one transaction together with one
``pii_gen_load_log`` row per table (run id, table, batch number, rows,
checksum).  So the log always says exactly what is in the tables:

* a transient error (dropped connection, deadlock, timeout) reconnects and
  retries the batch with backoff; if the error hit during COMMIT, the log
  decides whether the batch is in (then it is not loaded twice);
* ``--resume RUN_ID`` continues after the last logged batch, with no gap and no
  duplicate, because the same config and seed regenerate the same batches;
* after the load, the row counts of every table are checked against the log.

How the run starts (new, resumed, appended) is decided before, by :func:`pii_gen.start.decide_start`;
the sink only writes what that decided.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Callable, Mapping

import pyarrow as pa

from ..db import ddl, guard
from ..db.loaders import Connection, connect, now
from ..db.url import SCHEMES, DatabaseURL
from ..errors import OutputError, PiiGenError
from ..record import RUN_COLUMNS, RunRecord
from ..retry import GaveUp, RetryPolicy, Sleep
from ..core.contract import Table
from .base import Batch, Capabilities, Sink
from .codecs import CsvCodec
from .outputs import OUTPUTS

if TYPE_CHECKING:  # the backends import the sinks: the token is only read here
    from ..backends.base import CancelToken
    from ..start import RunStart

RETRIES = 6
BACKOFF_SECONDS = 0.2  # 0.2, 0.4, ... 6.4 s between the attempts at a batch (and at reconnecting)


def _unreachable(err: BaseException) -> bool:
    """Reconnecting tries again while the database cannot be reached (connect's one error)."""
    return isinstance(err, OutputError)


RECONNECT = RetryPolicy(RETRIES, BACKOFF_SECONDS, transient=_unreachable)


def _error_line(url: DatabaseURL, err: BaseException) -> str:
    return url.scrub(str(err))[:500]


def ensure_schema(conn: Connection, drop_existing: bool = False, tables: dict[str, Table] | None = None) -> None:
    """Create whatever of the schema (``tables``, default the clean contract) is missing, or everything
    after dropping every table pii_gen may have made, with ``drop_existing``."""
    d = conn.dialect
    if conn.schema:
        try:
            conn.execute(ddl.create_schema(d, conn.schema))
            conn.commit()
        except Exception:  # noqa: BLE001 - exists, or not allowed while it exists
            conn.rollback()
    ordered = ddl.all_tables(tables)
    forward = ddl.forward_keys(ordered)
    unlink(conn, forward)  # before the drops too: a cycle's tables cannot be dropped while it is closed
    if drop_existing:  # the marker stays: it lists what pii_gen created here, which cleanup drops
        for table in ddl.droppable(tables):
            if table is not ddl.MARKER:
                conn.execute(ddl.drop_table(d, table, conn.schema))
        conn.commit()
    # Look first, create after: a failed look-up aborts the transaction it runs in.
    missing = [t for t in ordered if not conn.table_exists(t.name)]
    for table in missing:
        for statement in ddl.create_table(d, table, conn.schema, () if d.name == "sqlite" else forward[table.name]):
            conn.execute(statement)
    conn.commit()
    record_created(conn, [t.name for t in missing])


def record_created(conn: Connection, names: list[str]) -> None:
    """Note in the marker that pii_gen created the tables ``names`` (in that order), so that cleanup drops
    them, and only them, later."""
    if not names:
        return
    marker = conn.table(ddl.MARKER.name)
    top = conn.execute(f"SELECT MAX(position) FROM {marker} WHERE kind = 'table'")[0][0]
    for position, name in enumerate(names, start=int(top or 0) + 1):
        conn.execute(f"DELETE FROM {marker} WHERE kind = 'table' AND name = %s", (name,))
        conn.execute(f"INSERT INTO {marker} (kind, name, position, created_at) VALUES ('table', %s, %s, %s)",
                     (name, position, now()))  # fmt: skip
    conn.commit()


def unlink(conn: Connection, forward: dict[str, tuple[ddl.ForeignKey, ...]]) -> None:
    """Drop the foreign keys that close a cycle (:func:`~pii_gen.db.ddl.forward_keys`) where the tables have
    them: a load delivers a table's rows before those of the table such a key names, so it could not hold
    while loading; :func:`link` adds them back once every row is in."""
    if conn.dialect.name not in ddl.ALTERABLE:
        return
    for name, fks in forward.items():
        for fk in fks:
            if conn.table_exists(name) and conn.foreign_key_exists(name, ddl.fk_name(name, fk[0])):
                conn.execute(ddl.drop_foreign_key(conn.dialect, name, fk, conn.schema))
    conn.commit()


def link(conn: Connection, forward: dict[str, tuple[ddl.ForeignKey, ...]]) -> None:
    """After a load: add the foreign keys that close a cycle (checked against every row by the database), or on
    SQLite, which keeps them inline but was loaded with foreign keys off, check every foreign key."""
    if conn.dialect.name == "sqlite" and any(forward.values()):
        broken = conn.execute("PRAGMA foreign_key_check")
        if broken:
            raise OutputError(f"{len(broken)} rows break a foreign key after the load (first: table {broken[0][0]}, "
                              f"row {broken[0][1]} names no row of {broken[0][2]})")
        return
    if conn.dialect.name not in ddl.ALTERABLE:
        return
    for name, fks in forward.items():
        for fk in fks:
            if not conn.foreign_key_exists(name, ddl.fk_name(name, fk[0])):
                conn.execute(ddl.add_foreign_key(conn.dialect, name, fk, conn.schema))
    conn.commit()


@OUTPUTS.add
class DatabaseSink(Sink):
    """Loads batches into the contract's tables of one database (``generate --db``, any scheme it takes)."""

    name = "db"
    schemes = tuple(SCHEMES)
    capabilities = Capabilities(transactional=True)

    def __init__(self, url: DatabaseURL, start: RunStart, tables: Mapping[str, Table],
                 schema: str | None = None, overrides: guard.Overrides = guard.NONE) -> None:
        """``start``: how the run starts, as :func:`~pii_gen.start.decide_start` decided it (a stream's run
        records 0 people until it closes: an open-ended run that ``--resume`` must refuse); ``tables``: the
        run plan's contract, which the schema is created from; ``overrides``: what the user allowed the
        safety guard to let through."""
        super().__init__()
        self.overrides = overrides
        self.start = start
        self.stream = start.stream
        self.people = 0  # persons rows loaded by this run, duplicate records left out
        self.url = url
        self.schema = schema
        self.conn: Connection | None = None
        self.run: RunRecord | None = None
        self.next_batch = start.first_task
        self.retries = 0
        self._codec = CsvCodec()
        self.tables: dict[str, Table] = dict(tables)
        self.cancel: CancelToken | None = None  # a cancel during a retry's backoff gives the batch up
        self.on_retry: Callable[[str | None, int, str], None] | None = None  # (table, batch, error) per retry
        self._table: str | None = None  # the table being loaded, for the retry report
        self._retry = RetryPolicy(RETRIES, BACKOFF_SECONDS, transient=self._transient)
        self.sleep: Sleep = time.sleep  # the wait between retries when there is no cancel token

    def _transient(self, err: BaseException) -> bool:
        """A dropped connection, deadlock or timeout of this sink's database: worth loading the batch again."""
        return self.conn is not None and self.conn.is_transient(err)

    # -- set-up ------------------------------------------------------------------
    def connect(self) -> Connection:
        return connect(self.url, self.schema)

    def prepare(self) -> RunRecord:
        """Connect through the safety guard (:mod:`pii_gen.db.guard`: a refusal writes nothing), create what
        is missing of the schema (all of it anew for ``--if-exists replace``), and record a new run (a resumed
        one is recorded already)."""
        self.conn = guard.open_checked(self.url, self.schema, self.overrides, self.connect)
        try:
            self._relax()
            ensure_schema(self.conn, self.start.mode == "replace", self.tables)
            run = self.start.record()
            if self.start.existing is None:
                self.conn.execute(
                    f"INSERT INTO {self.conn.table(ddl.RUNS.name)} ({', '.join(RUN_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(RUN_COLUMNS))})",
                    run.to_row(),
                )
                self.conn.commit()
        except PiiGenError:
            self.conn.close()
            raise
        except Exception as err:  # noqa: BLE001
            self.conn.close()
            raise OutputError(f"cannot prepare {self.url.redacted()}: {_error_line(self.url, err)}") from None
        self.run = run
        return run

    def open(self, schemas: dict[str, pa.Schema]) -> None:
        self.schemas = schemas
        if self.conn is None:
            self.prepare()
        self.rows = {name: 0 for name in schemas}

    # -- loading -------------------------------------------------------------------
    def write(self, batch: Batch) -> None:
        """Load one batch, retrying transient errors; a cancel while it waits to retry leaves the batch
        out (not loaded, not logged, so a resume loads it) and returns."""
        number = self.next_batch
        committed = False  # the commit went through before the connection dropped

        failed: list[Exception] = []  # the error the next retry answers

        def load() -> None:
            if not committed:
                try:
                    self._load(number, batch)
                except Exception as err:
                    failed[:] = [err]
                    raise

        def pause(seconds: float) -> bool:
            """Count and report the retry, then wait; True when the run was cancelled meanwhile."""
            self.retries += 1
            if self.on_retry is not None:
                self.on_retry(self._table, number, _error_line(self.url, failed[0]))
            return self._backoff(seconds)

        def recover(retry: int, err: Exception) -> None:
            nonlocal committed
            self._reconnect()
            committed = self._logged(number)

        try:
            self._retry.call(load, on_retry=recover, sleep=pause)
        except GaveUp as gave:
            cancelled = not gave.permanent and self.cancel is not None and self.cancel.cancelled
            if not cancelled:
                raise OutputError(
                    f"loading batch {number} into {self.url.redacted()} failed: {_error_line(self.url, gave.error)}"
                ) from None
            self._reconnect()
            if not self._logged(number):  # not in: left out, so a resume loads it
                return
        self.next_batch += 1
        for name, table in batch.items():
            self.rows[name] += table.num_rows
        persons = batch.get("persons")
        if persons is None:  # a schema file's tables: no people to count
            return
        copies = "source_person_id" in persons.column_names  # duplicate records carry their source's id
        self.people += persons.column("source_person_id").null_count if copies else persons.num_rows

    def _backoff(self, seconds: float) -> bool:
        """Wait before a retry; True when the run was cancelled meanwhile."""
        if self.cancel is None:
            return bool(self.sleep(seconds))
        return self.cancel.wait(seconds)

    def _load(self, number: int, batch: Batch) -> None:
        conn = self.conn
        assert conn is not None and self.run is not None
        log = []
        for name, spec in self.tables.items():  # parents first (persons first): the foreign keys need it
            self._table = name
            data = batch[name]
            csv = self._codec.encode(data)  # the checksum's input, and PostgreSQL's COPY payload
            if data.num_rows:  # a table-major batch holds one table's rows; the others are logged with none
                conn.load(spec, data, csv)
            log.append((self.run.run_id, name, number, data.num_rows, f"{zlib.crc32(csv):08x}", now()))
        cur_sql = (
            f"INSERT INTO {conn.table('pii_gen_load_log')} "
            "(run_id, table_name, batch_number, row_count, checksum, loaded_at) VALUES (%s, %s, %s, %s, %s, %s)"
        )
        self._table = None
        for row in log:
            conn.execute(cur_sql, row)
        conn.commit()

    def _reconnect(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
        try:
            self.conn = RECONNECT.call(self.connect, sleep=self.sleep)
        except GaveUp as gave:
            raise gave.error from None
        self._relax()

    @property
    def _forward(self) -> dict[str, tuple[ddl.ForeignKey, ...]]:
        return ddl.forward_keys(ddl.all_tables(self.tables))

    def _relax(self) -> None:
        """On SQLite, whose foreign keys closing a cycle are inline: no foreign key checks while this connection
        loads (a table's rows come before those of the table such a key names); :func:`link` checks them all
        after the load."""
        assert self.conn is not None
        if self.conn.dialect.name == "sqlite" and any(self._forward.values()):
            self.conn.execute("PRAGMA foreign_keys = OFF")

    def _logged(self, number: int) -> bool:
        assert self.conn is not None and self.run is not None
        rows = self.conn.execute(
            f"SELECT COUNT(*) FROM {self.conn.table('pii_gen_load_log')} WHERE run_id = %s AND batch_number = %s",
            (self.run.run_id, number),
        )
        self.conn.commit()
        return bool(rows[0][0])

    # -- finishing -----------------------------------------------------------------
    def verify(self) -> dict[str, tuple[int, int]]:
        """Rows per table: (in the table, according to the load log of every run)."""
        conn = self.conn
        assert conn is not None
        logged = dict(
            conn.execute(f"SELECT table_name, SUM(row_count) FROM {conn.table('pii_gen_load_log')} GROUP BY table_name")
        )
        out = {
            t: (conn.execute(f"SELECT COUNT(*) FROM {conn.table(t)}")[0][0], int(logged.get(t, 0) or 0))
            for t in self.tables
        }
        conn.commit()
        return out

    def close(self) -> None:
        conn = self.conn
        if conn is None or self.run is None:
            return
        try:
            counts = self.verify()
            wrong = {t: c for t, c in counts.items() if c[0] != c[1]}
            if wrong:
                t, (have, logged) = next(iter(wrong.items()))
                raise OutputError(f"table {t} holds {have} rows but the load log accounts for {logged}")
            link(conn, self._forward)
            if self.stream:  # a stream's size is known only now
                conn.execute(
                    f"UPDATE {conn.table('pii_gen_runs')} SET person_count = %s WHERE run_id = %s",
                    (self.people, self.run.run_id),
                )
            conn.execute(
                f"UPDATE {conn.table('pii_gen_runs')} SET finished_at = %s WHERE run_id = %s", (now(), self.run.run_id)
            )
            conn.commit()
        finally:
            conn.close()

    def abort(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
