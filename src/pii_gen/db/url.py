"""Database URLs in the SQLAlchemy style, parsed once, and never shown with their password."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import ConfigError
from ..redact import MASK, SECRET_KEYS, URL_HINT, redact, redact_url, scrub

__all__ = ["DatabaseURL", "parse", "redact", "redact_url"]

DEFAULT_DUCKDB = "duckdb:///people.duckdb"
SCHEMES = {
    "postgresql": ("postgresql", "native"),
    "postgres": ("postgresql", "native"),
    "postgresql+psycopg": ("postgresql", "native"),
    "postgresql+pyodbc": ("postgresql", "odbc"),
    "mysql": ("mysql", "native"),
    "mariadb": ("mysql", "native"),
    "mysql+pymysql": ("mysql", "native"),
    "mariadb+pymysql": ("mysql", "native"),
    "mysql+pyodbc": ("mysql", "odbc"),
    "mariadb+pyodbc": ("mysql", "odbc"),
    "mssql+pyodbc": ("tsql", "odbc"),
    "mssql": ("tsql", "odbc"),
    "sqlite": ("sqlite", "native"),
    "duckdb": ("duckdb", "native"),
}
DEFAULT_ODBC_DRIVERS = {
    "postgresql": "PostgreSQL Unicode",
    "mysql": "MariaDB Unicode",
    "tsql": "ODBC Driver 18 for SQL Server",
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "tsql": 1433}


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL: which dialect, which path (native driver or ODBC), where."""

    dialect: str
    path: str  # "native" or "odbc"
    scheme: str = ""
    host: str = ""
    port: int | None = None
    database: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    query: tuple[tuple[str, str], ...] = ()
    file: str = ""  # sqlite / duckdb
    odbc: str = field(default="", repr=False)  # a raw ODBC connection string, when given

    def __str__(self) -> str:
        return self.redacted()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this URL carries, to remove from any text (driver errors included) with ``redact``."""
        return tuple(s for s in (self.password, *(v for k, v in self.query if k in SECRET_KEYS)) if s)

    def scrub(self, text: str) -> str:
        """``text`` (a driver's error message, say) on one line, without this URL's secrets."""
        return scrub(text, *self.secrets)

    def redacted(self) -> str:
        """The URL with any password replaced by ***, for messages and logs."""
        if self.file:
            return f"{self.dialect}:///{self.file}"
        if self.odbc:
            return f"odbc:{redact(self.odbc, *self.secrets)}"
        auth = f"{self.user}{':' + MASK if self.password else ''}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme or self.dialect}://{auth}{self.host}{port}/{self.database}"

    def option(self, key: str, default: str = "") -> str:
        return dict(self.query).get(key, default)

    def odbc_connection_string(self) -> str:
        """The DSN-less ODBC connection string for this URL."""
        if self.odbc:
            return self.odbc
        driver = self.option("driver", DEFAULT_ODBC_DRIVERS[self.dialect])
        parts = [f"DRIVER={{{driver}}}", f"SERVER={self.host or '127.0.0.1'}"]
        if self.dialect == "tsql":
            parts[-1] = f"SERVER={self.host or '127.0.0.1'},{self.port or DEFAULT_PORTS['tsql']}"
            if self.option("trustservercertificate"):
                parts.append(f"TrustServerCertificate={self.option('trustservercertificate')}")
        else:
            parts.append(f"PORT={self.port or DEFAULT_PORTS[self.dialect]}")
        parts += [f"DATABASE={self.database}", f"UID={self.user}", f"PWD={self.password}"]
        if self.dialect == "postgresql":
            # psqlodbc sends a parameter array as one statement only without server-side prepare;
            # BoolsAsChar=0 reads booleans back as booleans.
            parts += ["UseServerSidePrepare=0", "BoolsAsChar=0"]
        return ";".join(parts) + ";"


def _odbc_password(connection_string: str) -> str:
    found = re.search(r"(?i)\b(?:pwd|password)\s*=\s*(\{[^}]*\}|[^;]*)", connection_string)
    return found.group(1).strip("{}") if found else ""


def scheme_of(url: str | None) -> str:
    """The URL scheme (lower case) a database target stands for, as :func:`parse` reads it: nothing is the
    default DuckDB file, a bare ODBC connection string is SQL Server's ``mssql+pyodbc``."""
    if not url:
        url = DEFAULT_DUCKDB
    if "://" not in url:
        return "mssql+pyodbc" if "=" in url and ";" in url else ""
    return url.split("://", 1)[0].lower()


def parse(url: str | None) -> DatabaseURL:
    """Parse a database URL (or an ODBC connection string) into a :class:`DatabaseURL`."""
    if not url:
        url = DEFAULT_DUCKDB
    if "://" not in url and "=" in url and ";" in url:  # a bare ODBC connection string: SQL Server
        return DatabaseURL("tsql", "odbc", odbc=url, password=_odbc_password(url))
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        raise ConfigError(f"invalid database URL {redact_url(url)}{URL_HINT}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        odbc = {"mssql+pyodbc", "postgresql+pyodbc", "mysql+pyodbc"}
        known = ", ".join(sorted({s.split("+")[0] for s in SCHEMES} | odbc))
        raise ConfigError(f"unsupported database URL scheme '{parts.scheme}://' (expected one of: {known})")
    dialect, path = SCHEMES[scheme]
    query = tuple((k.lower(), v) for k, v in parse_qsl(parts.query))
    if dialect in ("sqlite", "duckdb"):
        rest = url.split("://", 1)[1].split("?", 1)[0]
        file = unquote(rest[1:] if rest.startswith("/") else rest)  # sqlite:///rel.db, sqlite:////abs.db
        if not file:
            raise ConfigError(
                f"{dialect} URL needs a file, e.g. {dialect}:///people.{'db' if dialect == 'sqlite' else 'duckdb'}"
            )
        return DatabaseURL(dialect, path, file=file, query=query)
    odbc_connect = dict(query).get("odbc_connect")
    if odbc_connect:
        return DatabaseURL(dialect, "odbc", scheme=scheme, odbc=odbc_connect, password=_odbc_password(odbc_connect))
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"database URL has an invalid port: {redact_url(url)}{URL_HINT}") from None
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname and not database:
        raise ConfigError(
            f"database URL names no host or database: {redact_url(url)} (e.g. {dialect}://user@127.0.0.1/test)"
        )
    return DatabaseURL(
        dialect,
        path,
        scheme=scheme,
        host=parts.hostname or "",
        port=port,
        database=database,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        query=query,
    )
