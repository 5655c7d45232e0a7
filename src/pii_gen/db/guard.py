"""The safety guard every database write passes first: no write to what says or looks like production,
and none into a schema that holds tables pii_gen did not make, unless the user overrides it by name.

The rules, in the order they are checked (the first that refuses names itself and its override):

* ``PII_GEN_ENV`` is ``production`` or ``prod``;
* a name of the target (host, database, schema, a SQLite/DuckDB file's name) matches a production
  pattern: glob patterns, case-insensitive, each tried on the whole name and on its words (split at
  anything but letters and digits), :data:`DEFAULT_PATTERNS` unless ``PII_GEN_PRODUCTION_PATTERNS``
  (comma-separated) says otherwise;
* the database marks itself production: a table :data:`PRODUCTION_TABLE` in the target schema or in
  the schema the connection works in by default;
* the target schema holds tables but no :data:`~pii_gen.db.ddl.MARKER` (nor the ``pii_gen_runs`` of a
  version before it), so pii_gen did not make it.

Spark's catalog writes (``saveAsTable`` into a namespace) pass the same rules, with the namespace's parts
as its names (:mod:`pii_gen.spark`).

The first three give way to ``--allow-production``, the last to ``--allow-unmarked``.  A refusal is a
:class:`Refused` raised before anything is written: the name checks run before connecting (a SQLite or
DuckDB file that is not there is not created), the others before the first statement that writes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePath
from typing import Callable, Mapping

from ..errors import OutputError
from .connections.base import Connection
from .ddl import MARKER, RUNS
from .url import DatabaseURL

__all__ = ["DEFAULT_PATTERNS", "ENV_VAR", "NONE", "Overrides", "PATTERNS_VAR", "PRODUCTION_TABLE", "Refused",
           "check_database", "check_names", "check_target", "open_checked", "production_patterns",
           "refuse_production_table", "refuse_unmarked"]  # fmt: skip

#: The variable naming the environment pii_gen runs in; :data:`PRODUCTION_ENVS` refuse every write.
ENV_VAR = "PII_GEN_ENV"
PRODUCTION_ENVS = ("production", "prod")
#: The variable that replaces :data:`DEFAULT_PATTERNS` (comma-separated glob patterns; empty: none).
PATTERNS_VAR = "PII_GEN_PRODUCTION_PATTERNS"
DEFAULT_PATTERNS = ("prod", "prod[0-9]*", "production", "live")
#: A table of this name (any columns) marks a database or schema as production.
PRODUCTION_TABLE = "pii_gen_production"
#: The tables whose presence says pii_gen made a schema (``pii_gen_runs``: before the marker existed).
MARKERS = (MARKER.name, RUNS.name)

ALLOW_PRODUCTION = "--allow-production"
ALLOW_UNMARKED = "--allow-unmarked"


class Refused(OutputError):
    """The guard refused a write; the message names the rule and the flag that overrides it."""


@dataclass(frozen=True)
class Overrides:
    """What the user explicitly allowed: writing to a production-looking target, or into a schema that holds
    tables pii_gen did not make."""

    allow_production: bool = False
    allow_unmarked: bool = False


#: Nothing allowed: every rule applies.
NONE = Overrides()


def _where(url: DatabaseURL, schema: str | None) -> str:
    return url.redacted() + (f" (schema {schema})" if schema else "")


def production_patterns(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The patterns production names match: ``PII_GEN_PRODUCTION_PATTERNS`` when set, else the defaults."""
    value = environ.get(PATTERNS_VAR)
    if value is None:
        return DEFAULT_PATTERNS
    return tuple(p.strip().lower() for p in value.split(",") if p.strip())


def _odbc_value(connection_string: str, *keys: str) -> str:
    found = re.search(rf"(?i)\b(?:{'|'.join(keys)})\s*=\s*(\{{[^}}]*\}}|[^;]*)", connection_string)
    return found.group(1).strip("{} ") if found else ""


def target_names(url: DatabaseURL, schema: str | None) -> list[tuple[str, str]]:
    """(what, name) of every name of the target the production patterns are tried on."""
    if url.file:
        names = [("file", PurePath(url.file).name)]
    elif url.odbc:
        names = [("host", _odbc_value(url.odbc, "server")), ("database", _odbc_value(url.odbc, "database"))]
    else:
        names = [("host", url.host), ("database", url.database)]
    return [(what, name) for what, name in [*names, ("schema", schema or "")] if name]


def _matching(name: str, patterns: tuple[str, ...]) -> str | None:
    """The first pattern that ``name`` or one of its words matches."""
    lowered = name.lower()
    words = [lowered, *(w for w in re.split(r"[^a-z0-9]+", lowered) if w)]
    return next((p for p in patterns if any(fnmatchcase(w, p) for w in words)), None)


def check_target(url: DatabaseURL, schema: str | None, overrides: Overrides,
                 environ: Mapping[str, str] = os.environ) -> None:  # fmt: skip
    """Refuse, without connecting, a target the environment or its names say is production."""
    check_names(_where(url, schema), target_names(url, schema), overrides, environ)


def check_names(where: str, names: list[tuple[str, str]], overrides: Overrides,
                environ: Mapping[str, str] = os.environ) -> None:  # fmt: skip
    """Refuse a write to ``where`` (as the message shows it) when the environment says production or one of
    its ``(what, name)`` names matches a production pattern; shared by databases and Spark catalogs."""
    if overrides.allow_production:
        return
    env = environ.get(ENV_VAR, "").strip().lower()
    if env in PRODUCTION_ENVS:
        raise Refused(f"refusing to write to {where}: {ENV_VAR} is '{env}'; pass {ALLOW_PRODUCTION} to write anyway")
    patterns = production_patterns(environ)
    for what, name in names:
        pattern = _matching(name, patterns)
        if pattern is not None:
            raise Refused(
                f"refusing to write to {where}: its {what} name '{name}' matches the production "
                f"pattern '{pattern}' ({PATTERNS_VAR} sets the patterns); pass {ALLOW_PRODUCTION} if it is not "
                "production"
            )


def refuse_unmarked(where: str, tables: list[str], overrides: Overrides) -> None:
    """Refuse a write into ``where`` when it holds ``tables`` but none of pii_gen's markers."""
    if overrides.allow_unmarked or not tables or set(MARKERS) & set(tables):
        return
    shown = ", ".join(tables[:3]) + (f" and {len(tables) - 3} more" if len(tables) > 3 else "")
    raise Refused(
        f"refusing to write to {where}: it holds {len(tables)} tables ({shown}) but no {MARKER.name}, so "
        f"pii_gen did not make it; pass {ALLOW_UNMARKED} to write there anyway"
    )


def refuse_production_table(where: str, place: str, overrides: Overrides) -> None:
    """Refuse a write to ``where``, whose ``place`` holds :data:`PRODUCTION_TABLE`."""
    if not overrides.allow_production:
        raise Refused(f"refusing to write to {where}: {place} holds the table {PRODUCTION_TABLE}, which "
                      f"marks it production; pass {ALLOW_PRODUCTION} to write anyway")  # fmt: skip


def check_database(conn: Connection, overrides: Overrides, *, unmarked: bool = True) -> None:
    """Refuse, before any write on ``conn``, a database that marks itself production and (with ``unmarked``)
    a schema that holds tables but no pii_gen marker."""
    where = _where(conn.url, conn.schema)
    if not overrides.allow_production:
        for schema in dict.fromkeys([conn.schema, None]):  # the target schema, then the connection's default
            if conn.table_exists(PRODUCTION_TABLE, schema):
                refuse_production_table(where, f"schema {schema}" if schema else "its default schema", overrides)
    if not unmarked or overrides.allow_unmarked:
        return
    tables = conn.table_names()
    conn.commit()  # a read: nothing to keep, but no transaction left open across the writes
    refuse_unmarked(where, tables, overrides)


def open_checked(url: DatabaseURL, schema: str | None, overrides: Overrides,
                 connect: Callable[[], Connection], *, unmarked: bool = True) -> Connection:  # fmt: skip
    """A connection from ``connect`` to a target the guard lets through (:func:`check_target`, then
    :func:`check_database` on the connection, unless it is a SQLite or DuckDB file this opening creates);
    on a refusal nothing is written and no connection is left open."""
    check_target(url, schema, overrides)
    fresh = bool(url.file) and not os.path.exists(url.file)
    conn = connect()
    if fresh:
        return conn
    try:
        check_database(conn, overrides, unmarked=unmarked)
    except BaseException:
        conn.rollback()
        conn.close()
        raise
    return conn
