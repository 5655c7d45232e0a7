"""Where the tests find the real database and message servers.

A ``PII_GEN_TEST_*`` variable names a server; when it is unset the local server of the default URL is
used if it answers (``.ci/run`` and the README's servers: 127.0.0.1, database ``test``).  Otherwise the
test skips with the reason (summed up at the end of the run), or fails when PII_GEN_REQUIRE_DB=1 (as in
CI), so a missing server is never a silent pass.
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


def server_url(var: str) -> str:
    """The server URL for ``var``: the variable, else the answering default; else skip (or fail in CI)."""
    url = os.environ.get(var)
    if url:
        return url
    if var in DERIVED and os.environ.get(DERIVED[var][0]):
        base, scheme = DERIVED[var]
        return scheme + "://" + os.environ[base].split("://", 1)[1]
    default = DEFAULTS[var]
    problem = _unreachable(default)
    if not problem:
        return default
    reason = f"{SKIP_PREFIX} {var} is not set and {problem}"
    if os.environ.get("PII_GEN_REQUIRE_DB") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


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
