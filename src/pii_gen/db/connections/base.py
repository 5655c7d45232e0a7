"""What every database connection is, and the registry that picks one for a URL by dialect and path.

A connection type is one module of this package: subclassing :class:`Connection` registers it for the
(dialect, path) pairs it claims; two classes claiming one pair is an error when the second is imported.
Every loader runs inside one transaction per batch that the caller commits.
"""

from __future__ import annotations

from types import EllipsisType
from typing import Any, ClassVar, Sequence

import pyarrow as pa

from ...errors import RegistryError
from ...core.registry import Registry, discover, where
from ...core.contract import Table
from ..ddl import Dialect, dialect, qualified
from ..url import DatabaseURL


class Connection:
    """A database connection with the operations the database sink needs.

    A subclass registers itself under its ``name`` for the (dialect, path) pairs in ``claims``;
    the one with ``fallback`` set serves every pair no class claims.
    """

    #: What messages call this connection type.
    name: ClassVar[str]
    #: The (dialect, path) pairs of :class:`~pii_gen.db.url.DatabaseURL` this class opens.
    claims: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Whether this class opens the URLs no class claims.
    fallback: ClassVar[bool] = False
    #: The pip extra that installs each driver module this class imports.
    extras: ClassVar[dict[str, str]] = {}

    paramstyle = "?"

    def __init__(self, url: DatabaseURL, schema: str | None) -> None:
        self.url = url
        self.schema = schema
        self.dialect: Dialect = dialect(url.dialect)

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            REGISTRY.add(cls)

    @classmethod
    def failure(cls, url: DatabaseURL, err: Exception, message: str) -> str | None:
        """A better one-line reason than the driver's ``message`` (scrubbed) for ``err`` while opening, if any."""
        return None

    # -- plumbing every driver shares ------------------------------------------
    def table(self, name: str) -> str:
        return qualified(self.dialect, name, self.schema)

    def sql(self, text: str) -> str:
        return text.replace("%s", self.paramstyle) if self.paramstyle != "%s" else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.raw.cursor()
        cur.execute(self.sql(text), tuple(params))
        rows = cur.fetchall() if cur.description else []
        cur.close()
        return [tuple(r) for r in rows]

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        try:
            self.raw.rollback()
        except Exception:  # noqa: BLE001 - a dead connection cannot roll back; the server already did
            pass

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # noqa: BLE001
            pass

    def table_exists(self, name: str, schema: str | None | EllipsisType = ...) -> bool:
        """Whether table ``name`` is there: in this connection's schema, or in ``schema`` when given (None: the
        schema a connection without one works in)."""
        where = self.schema if schema is ... else schema
        try:
            self.execute(f"SELECT 1 FROM {qualified(self.dialect, name, where)} WHERE 1 = 0")
            return True
        except Exception:  # noqa: BLE001 - any error here means "not there (for us)"
            self.rollback()
            return False

    #: The SQL naming the schema a connection without one works in (SQLite has none: it lists its file's tables).
    HERE: ClassVar[dict[str, str]] = {"postgresql": "current_schema()", "mysql": "DATABASE()",
                                      "tsql": "SCHEMA_NAME()", "duckdb": "current_schema()"}  # fmt: skip

    def table_names(self) -> list[str]:
        """The tables (and views) of this connection's schema, or of the one it works in without one, sorted."""
        catalog = " AND table_catalog = current_database()" if self.dialect.name == "duckdb" else ""
        rows = self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"{'%s' if self.schema else self.HERE[self.dialect.name]}{catalog}",
            tuple([self.schema] if self.schema else []),
        )
        return sorted(str(r[0]) for r in rows)

    def foreign_key_exists(self, table: str, name: str) -> bool:
        """Whether ``table`` has the foreign key constraint ``name``, from the catalog (PostgreSQL, MySQL/MariaDB
        and SQL Server keep ``information_schema.table_constraints``)."""
        rows = self.execute(
            "SELECT COUNT(*) FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY' "
            f"AND table_name = %s AND constraint_name = %s AND table_schema = "
            f"{'%s' if self.schema else self.HERE[self.dialect.name]}",
            (table, name, *([self.schema] if self.schema else [])),
        )
        return bool(rows[0][0])

    def columns(self, table: Table) -> str:
        """The table's quoted column list, in contract order."""
        return ", ".join(self.dialect.q(c) for c in table.column_names)

    def load(self, table: Table, data: pa.Table, csv: bytes | None = None) -> None:
        """Append ``data`` to ``table`` in the open transaction (``csv``: its CSV encoding, if already made)."""
        raise NotImplementedError

    def stream_cursor(self) -> Any:
        """A cursor that fetches rows as they are read, not the whole result at once (bounded memory)."""
        return self.raw.cursor()

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        return False


class Connections(Registry[type[Connection]]):
    """The registered connection types: each (dialect, path) pair claimed by one class, and one fallback."""

    def check(self, cls: type[Connection], others: list[type[Connection]]) -> None:
        for other in others:
            shared = sorted(set(cls.claims) & set(other.claims))
            if shared:
                raise RegistryError(
                    f"connection {where(cls)} claims {'+'.join(shared[0])} like {where(other)}: "
                    "a dialect and path name one connection"
                )
            if cls.fallback and other.fallback:
                raise RegistryError(f"connection {where(cls)} is a fallback like {where(other)}: there is one fallback")

    def serving(self, dialect: str, path: str) -> type[Connection]:
        """The class that opens URLs of ``dialect`` through ``path``: its claimant, else the fallback."""
        for cls in self:
            if (dialect, path) in cls.claims:
                return cls
        fallback = next((cls for cls in self if cls.fallback), None)
        if fallback is None:
            raise RegistryError(f"no connection opens {dialect}+{path} and none is the fallback")
        return fallback


#: Every connection type defined so far (:func:`connection_class` imports every module of this package first).
REGISTRY = Connections("connection")


def connection_types() -> tuple[type[Connection], ...]:
    """Every connection type, each module of this package imported once."""
    discover(__package__)
    return tuple(REGISTRY)


def connection_class(url: DatabaseURL) -> type[Connection]:
    """The connection type that opens ``url``."""
    connection_types()
    return REGISTRY.serving(url.dialect, url.path)


def rows(data: pa.Table, table: Table) -> list[tuple]:
    """The rows of ``data`` as tuples of Python values, in contract column order."""
    return list(zip(*(data.column(c).to_pylist() for c in table.column_names)))
