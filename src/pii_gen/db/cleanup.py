"""``pii_gen cleanup``: drop what pii_gen created in a database schema, and only that, in two steps.

What goes is what the schema's :data:`~pii_gen.db.ddl.MARKER` lists as created by pii_gen (tables into
which it only wrote, with ``--allow-unmarked``, stay) and its bookkeeping tables.  A first call lists them
and issues a token, stored in the marker with its expiry, so any process can confirm it; the call with
the token drops them.  A token works once, for :data:`TOKEN_SECONDS`, and only while the list is what
it was when it was issued.  The safety guard's production rules apply to the drop as to any write.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import ConfigError, OutputError, PiiGenError
from . import guard
from .connections.base import Connection
from .ddl import BOOKKEEPING, MARKER, create_table
from .loaders import connect, now
from .url import DatabaseURL

__all__ = ["TOKEN_SECONDS", "Cleanup", "cleanup"]

#: How long a cleanup token stays valid.
TOKEN_SECONDS = 300

Clock = Callable[[], float]  # Unix seconds: tokens are compared across processes


@dataclass(frozen=True)
class Cleanup:
    """What a cleanup call found and did: the tables that go (name, rows), children first; the token a first
    call issued (None for a dry run, or with nothing to drop); whether they were dropped."""

    where: str
    tables: list[tuple[str, int]] = field(default_factory=list)
    token: str | None = None
    expires_in: int = TOKEN_SECONDS
    dropped: bool = False


def _digest(names: list[str]) -> str:
    """What a token is bound to: the tables it drops, in order."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _present(conn: Connection) -> set[str]:
    names = set(conn.table_names())
    conn.commit()
    return names


def planned(conn: Connection) -> list[tuple[str, int]]:
    """The tables cleanup drops from ``conn``'s schema, children first (the reverse of their creation), then
    the bookkeeping, the marker last; with the rows each holds."""
    present = _present(conn)
    if not {MARKER.name, *(t.name for t in BOOKKEEPING)} & present:
        return []
    created: list[str] = []
    if MARKER.name in present:
        rows = conn.execute(f"SELECT name FROM {conn.table(MARKER.name)} WHERE kind = 'table' ORDER BY position DESC")
        created = [str(r[0]) for r in rows]
    bookkeeping = [t.name for t in BOOKKEEPING]
    order = [n for n in created if n not in bookkeeping] + bookkeeping[:-1][::-1] + [MARKER.name]
    names = [n for n in dict.fromkeys(order) if n in present]
    out = [(n, int(conn.execute(f"SELECT COUNT(*) FROM {conn.table(n)}")[0][0])) for n in names]
    conn.commit()
    return out


def _drop(conn: Connection, names: list[str]) -> None:
    """Drop ``names`` (children first); foreign keys among them, a cycle's too, never stop it."""
    d = conn.dialect
    tables = [conn.table(n) for n in names]
    if d.name in ("postgresql", "tsql"):  # one statement: references among the tables dropped do not count
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(tables)}")
    elif d.name == "mysql":
        conn.execute("SET FOREIGN_KEY_CHECKS = 0")
        try:
            for t in tables:
                conn.execute(f"DROP TABLE IF EXISTS {t}")
        finally:
            conn.execute("SET FOREIGN_KEY_CHECKS = 1")
    else:
        if d.name == "sqlite":
            conn.commit()
            conn.execute("PRAGMA foreign_keys = OFF")  # a cycle's inline keys; only outside a transaction
        for t in tables:
            conn.execute(f"DROP TABLE IF EXISTS {t}")
    conn.commit()


def cleanup(url: DatabaseURL, schema: str | None = None, *, confirm: str | None = None, dry_run: bool = False,
            overrides: guard.Overrides = guard.NONE, clock: Clock = time.time) -> Cleanup:  # fmt: skip
    """List what pii_gen created in ``url``'s ``schema`` and issue a token (``dry_run``: list only), or with
    ``confirm``, check that token and drop them.  A wrong, used or expired token, or one issued for another
    list, is refused (:class:`~pii_gen.db.guard.Refused`) with nothing dropped."""
    if confirm is not None and dry_run:
        raise ConfigError("--dry-run lists what would go and --confirm drops it: pass one of them")
    where = url.redacted() + (f" (schema {schema})" if schema else "")
    guard.check_target(url, schema, overrides)
    if url.file and not os.path.exists(url.file):  # connecting would create it
        if confirm is not None:
            raise guard.Refused(f"token {confirm} is not valid for {where}: there is no such file")
        return Cleanup(where)
    conn = connect(url, schema)
    try:
        guard.check_database(conn, overrides, unmarked=False)
        return _run(conn, where, confirm, dry_run, clock)
    except PiiGenError:
        raise
    except Exception as err:  # noqa: BLE001 - every driver has its own error classes
        raise OutputError(f"cannot clean up {where}: {url.scrub(str(err))[:500]}") from None
    finally:
        conn.rollback()
        conn.close()


def _run(conn: Connection, where: str, confirm: str | None, dry_run: bool, clock: Clock) -> Cleanup:
    tables = planned(conn)
    names = [n for n, _ in tables]
    marker = conn.table(MARKER.name)
    if confirm is None:
        if dry_run or not tables:
            return Cleanup(where, tables)
        if MARKER.name not in names:  # a schema of a pii_gen before the marker: its bookkeeping only
            for statement in create_table(conn.dialect, MARKER, conn.schema):
                conn.execute(statement)
            conn.commit()
            tables, names = [*tables, (MARKER.name, 0)], [*names, MARKER.name]
        token = secrets.token_hex(4)
        issued = int(clock())
        conn.execute(f"DELETE FROM {marker} WHERE kind = 'token' AND expires_at < %s", (issued,))
        conn.execute(
            f"INSERT INTO {marker} (kind, name, position, expires_at, detail, created_at) "
            "VALUES ('token', %s, 0, %s, %s, %s)",
            (token, issued + TOKEN_SECONDS, _digest(names), now()),
        )
        conn.commit()
        return Cleanup(where, tables, token)
    token = confirm.strip().lower()
    rows = []
    if MARKER.name in names:
        rows = conn.execute(f"SELECT expires_at, detail FROM {marker} WHERE kind = 'token' AND name = %s", (token,))
    again = "run pii_gen cleanup without --confirm for a new one"
    if not rows:
        raise guard.Refused(f"token {confirm} is not one {where} issued, or it was used already; {again}")
    expires_at, digest = int(rows[0][0]), str(rows[0][1])
    late = int(clock()) - expires_at
    if late > 0:
        conn.execute(f"DELETE FROM {marker} WHERE kind = 'token' AND name = %s", (token,))
        conn.commit()
        raise guard.Refused(f"token {confirm} expired {late} s ago (a token lasts {TOKEN_SECONDS} s); {again}")
    if digest != _digest(names):
        raise guard.Refused(f"what pii_gen would drop from {where} changed since token {confirm} was issued; {again}")
    conn.execute(f"DELETE FROM {marker} WHERE kind = 'token' AND name = %s", (token,))  # used: once only
    conn.commit()
    _drop(conn, names)
    return Cleanup(where, tables, dropped=True)
