"""Where the tests find the real database and message servers.

A ``PII_GEN_TEST_*`` variable names a server; when it is unset the local server of the default URL is
used if it answers (``.ci/run`` and the README's servers: 127.0.0.1, database ``test``).  Otherwise the
test skips with the reason (summed up at the end of the run), or fails when PII_GEN_REQUIRE_DB=1 (as in
CI), so a missing server is never a silent pass.

Under pytest-xdist each worker gets servers of its own from the same variables: PostgreSQL and MariaDB
database ``<database>_<worker>`` (``test_gw0``, ``test_gw1``; created when missing) and Redis database
``<number> + <worker index>``, so tests on two workers never meet in a table (NATS subjects and Redis keys
carry a random suffix in every test already).
"""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlsplit

import pytest

DEFAULTS = {
    "PII_GEN_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "PII_GEN_TEST_POSTGRES_ODBC_URL": "postgresql+pyodbc://postgres@127.0.0.1:5432/test",
    "PII_GEN_TEST_MARIADB_URL": "mysql://root@127.0.0.1:3306/test",
    "PII_GEN_TEST_MARIADB_ODBC_URL": "mysql+pyodbc://root@127.0.0.1:3306/test",
    "PII_GEN_TEST_REDIS_URL": "redis://127.0.0.1:6379/0",
    "PII_GEN_TEST_NATS_URL": "nats://127.0.0.1:4222",
}
#: Variables derived from another one when unset (the same server through another driver).
DERIVED = {
    "PII_GEN_TEST_MARIADB_ODBC_URL": ("PII_GEN_TEST_MARIADB_URL", "mysql+pyodbc"),
    "PII_GEN_TEST_POSTGRES_ODBC_URL": ("PII_GEN_TEST_POSTGRES_URL", "postgresql+pyodbc"),
}
#: Every skip reason of a missing server starts with this (conftest.py counts them).
SKIP_PREFIX = "no server:"


#: The pytest-xdist worker this process is ("gw0", "gw1", ...), "" when the tests run in one process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def server_url(var: str) -> str:
    """The server URL for ``var`` (this worker's database on it): the variable, else the answering default;
    else skip (or fail in CI)."""
    url = os.environ.get(var)
    if not url and var in DERIVED and os.environ.get(DERIVED[var][0]):
        base, scheme = DERIVED[var]
        url = scheme + "://" + os.environ[base].split("://", 1)[1]
    if not url:
        url = DEFAULTS[var]
        problem = _unreachable(url)
        if problem:
            _missing(f"{var} is not set and {problem}")
    if not WORKER:
        return url
    url, problem = _worker_url(url)
    if problem:
        _missing(f"{var}: {problem}")
    return url


def _missing(problem: str) -> None:
    """Skip for want of a server (fail when PII_GEN_REQUIRE_DB=1), saying why."""
    reason = f"{SKIP_PREFIX} {problem}"
    if os.environ.get("PII_GEN_REQUIRE_DB") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@functools.lru_cache(maxsize=None)
def _worker_url(url: str) -> tuple[str, str]:
    """``url`` moved to this worker's own database, created when missing; and why that failed ("" if not).

    PostgreSQL and MariaDB: database ``<name>_<worker>``; Redis: number ``<n> + <worker index>`` (of 16).
    NATS has no namespaces to move to: its tests pick random subjects and streams."""
    parts = urlsplit(url)
    kind = parts.scheme.split("+")[0]
    if kind == "redis":
        number = (int(parts.path.strip("/") or 0) + int(WORKER.removeprefix("gw"))) % 16
        return parts._replace(path=f"/{number}").geturl(), ""
    if kind not in ("postgresql", "postgres", "mysql", "mariadb"):
        return url, ""
    name = f"{parts.path.strip('/') or 'test'}_{WORKER}"
    return parts._replace(path=f"/{name}").geturl(), _create_database(url, name)


def _create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` (connecting through its native driver) unless it
    exists; why that failed, or ""."""
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse
    from pii_gen.errors import PiiGenError

    native = urlsplit(url)._replace(scheme=urlsplit(url).scheme.split("+")[0]).geturl()
    try:
        conn = connect(parse(native))
    except PiiGenError as err:
        return str(err)
    try:
        if conn.dialect.name == "postgresql":
            conn.raw.autocommit = True  # CREATE DATABASE runs outside a transaction
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
                try:
                    conn.execute(f"CREATE DATABASE {conn.dialect.q(name)}")
                except Exception as err:  # noqa: BLE001 - another session made it meanwhile: fine
                    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
                        return f"cannot create database {name}: {err}"
        else:
            conn.execute(f"CREATE DATABASE IF NOT EXISTS {conn.dialect.q(name)}")
    finally:
        conn.close()
    return ""


@functools.lru_cache(maxsize=None)
def _unreachable(url: str) -> str:
    """Why the server of ``url`` cannot be used ("" when it can): not listening, or the database refuses."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError:
        return f"nothing answers at {parts.hostname}:{parts.port}"
    if parts.scheme.split("+")[0] in ("redis", "nats"):
        return ""
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse
    from pii_gen.errors import PiiGenError

    try:
        connect(parse(url)).close()
    except PiiGenError as err:
        return f"{parts.hostname}:{parts.port} answers but {err}"
    return ""


def terminate_copy(watcher, schema: str) -> bool:  # noqa: ANN001 - a pii_gen.db Connection to PostgreSQL
    """End the backend of a pii_gen ``COPY`` into ``schema`` on this database, if one runs now; whether one did.

    Only that load's own COPY: other loads on the server (other tests, other workers) are never touched."""
    rows = watcher.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'pii_gen' AND state <> 'idle' "
        "AND datname = current_database() AND query ILIKE 'COPY%%' AND query LIKE %s",
        (f"%{schema}%",),
    )
    watcher.commit()
    if rows:
        watcher.execute("SELECT pg_terminate_backend(%s)", (rows[0][0],))
        watcher.commit()
    return bool(rows)
