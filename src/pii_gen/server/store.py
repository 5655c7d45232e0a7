"""Where the job server keeps its jobs, their events and its switches: SQLite in the data folder by default,
PostgreSQL when the server is given a ``postgresql://`` URL, so jobs outlive a restart of the server.

One connection per store, guarded by a lock (the server's threads share it); every write commits at once.  A
job's request is kept as it came (a database URL with its password too: the job process needs it), and only
ever shown redacted (:func:`pii_gen.server.models.public_request`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..errors import ConfigError

#: The tables, in SQL both engines take (TEXT, BIGINT, DOUBLE PRECISION).
TABLES = (
    """CREATE TABLE IF NOT EXISTS pii_gen_jobs (
        id TEXT PRIMARY KEY, state TEXT NOT NULL, request TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
        started DOUBLE PRECISION, finished DOUBLE PRECISION, progress TEXT NOT NULL, error TEXT, result TEXT,
        pid BIGINT)""",
    """CREATE TABLE IF NOT EXISTS pii_gen_job_events (
        job_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL, PRIMARY KEY (job_id, seq))""",
    """CREATE TABLE IF NOT EXISTS pii_gen_server_switches (name TEXT PRIMARY KEY, value TEXT NOT NULL)""",
)
JOB_COLUMNS = ("id", "state", "request", "created", "started", "finished", "progress", "error", "result", "pid")
_JSON = ("request", "progress", "result")


def _encoded(column: str, value: Any) -> Any:
    return json.dumps(value) if column in _JSON and value is not None else value


class Store:
    """Jobs, events and switches in SQLite (``path``) or PostgreSQL (``url``)."""

    def __init__(self, path: Path | None = None, url: str | None = None) -> None:
        self.lock = threading.Lock()
        if url is not None:
            try:
                import psycopg
            except ImportError:
                raise ConfigError('a PostgreSQL job store needs psycopg: pip install "pii-gen[postgresql]"') from None
            try:
                self.conn: Any = psycopg.connect(url, autocommit=True)
            except psycopg.Error as err:
                from ..redact import scrub, secrets_of

                raise ConfigError(f"--store: cannot connect ({scrub(str(err), *secrets_of(url))})") from None
            self.mark = "%s"
        else:
            assert path is not None
            self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.mark = "?"
        with self.lock:
            for statement in TABLES:
                self.conn.execute(statement)

    def _sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    def _rows(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            cur = self.conn.execute(self._sql(text), params)
            return list(cur.fetchall())

    def _run(self, text: str, params: tuple[Any, ...] = ()) -> None:
        with self.lock:
            self.conn.execute(self._sql(text), params)

    # -- jobs ----------------------------------------------------------------------------------------------

    def add_job(self, job: dict[str, Any]) -> None:
        values = tuple(_encoded(c, job.get(c)) for c in JOB_COLUMNS)
        self._run(f"INSERT INTO pii_gen_jobs ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join('?' * len(values))})",
                  values)

    def update_job(self, job_id: str, **changes: Any) -> None:
        names = list(changes)
        values = tuple(_encoded(c, changes[c]) for c in names)
        self._run(f"UPDATE pii_gen_jobs SET {', '.join(f'{c} = ?' for c in names)} WHERE id = ?", (*values, job_id))

    def jobs(self) -> Iterator[dict[str, Any]]:
        """Every job, oldest first."""
        for row in self._rows(f"SELECT {', '.join(JOB_COLUMNS)} FROM pii_gen_jobs ORDER BY created"):
            yield {c: (json.loads(v) if c in _JSON and v is not None else v) for c, v in zip(JOB_COLUMNS, row)}

    # -- events --------------------------------------------------------------------------------------------

    def add_event(self, job_id: str, seq: int, type: str, data: dict[str, Any]) -> None:
        self._run("INSERT INTO pii_gen_job_events (job_id, seq, type, data, at) VALUES (?, ?, ?, ?, ?)",
                  (job_id, seq, type, json.dumps(data), time.time()))

    def events(self, job_id: str, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        """The job's events after sequence number ``after``, in order."""
        rows = self._rows("SELECT seq, type, data FROM pii_gen_job_events WHERE job_id = ? AND seq > ? ORDER BY seq",
                          (job_id, after))
        return [(int(seq), type, json.loads(data)) for seq, type, data in rows]

    def last_seq(self, job_id: str) -> int:
        rows = self._rows("SELECT MAX(seq) FROM pii_gen_job_events WHERE job_id = ?", (job_id,))
        return int(rows[0][0] or 0)

    # -- switches ------------------------------------------------------------------------------------------

    def switch(self, name: str, default: str) -> str:
        rows = self._rows("SELECT value FROM pii_gen_server_switches WHERE name = ?", (name,))
        return rows[0][0] if rows else default

    def set_switch(self, name: str, value: str) -> None:
        with self.lock:
            self.conn.execute(self._sql("DELETE FROM pii_gen_server_switches WHERE name = ?"), (name,))
            self.conn.execute(self._sql("INSERT INTO pii_gen_server_switches (name, value) VALUES (?, ?)"),
                              (name, value))

    def close(self) -> None:
        with self.lock:
            self.conn.close()
