"""Stream destinations, chosen by the ``--to`` value: stdout, a file, a database, HTTP, Redis or NATS."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from ...config import GenerateConfig
from ...db.url import SCHEMES as DB_SCHEMES
from ...db.url import parse as parse_db_url
from ...redact import URL_HINT, redact_url
from ...errors import ConfigError
from ..documents import csv_header
from ..options import StreamOptions
from .base import Batching, DeliveryError, Destination, StreamClosed

OTHER_SCHEMES = ("file", "http", "https", "redis", "rediss", "nats", "tls")


def kind_of(to: str) -> str:
    """Which destination ``to`` names: stdout, file, database, http, redis or nats."""
    if to in ("", "-"):
        return "stdout"
    if "://" not in to:
        return "database" if "=" in to and ";" in to else "file"  # a bare ODBC connection string
    scheme = to.split("://", 1)[0].lower()
    if scheme in DB_SCHEMES:
        return "database"
    kinds = {"file": "file", "http": "http", "https": "http", "redis": "redis", "rediss": "redis", "nats": "nats",
             "tls": "nats"}  # fmt: skip
    if scheme not in kinds:
        known = ", ".join(sorted({s.split("+")[0] for s in DB_SCHEMES} | set(OTHER_SCHEMES)))
        raise ConfigError(
            f"unsupported --to scheme '{scheme}://' in {redact_url(to)} (expected a file path, - or: {known})"
        )
    return kinds[scheme]


def make_destination(options: StreamOptions, config: GenerateConfig) -> Destination:
    """The destination for ``options.to`` (not yet opened)."""
    to = options.to
    kind = kind_of(to)
    try:
        urlsplit(to)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        raise ConfigError(f"invalid --to URL {redact_url(to)}{URL_HINT}") from None
    if options.format == "csv" and kind not in ("stdout", "file"):
        raise ConfigError(f"--format csv is for stdout and files; {kind} destinations take JSON documents")
    if (options.rotate_size or options.rotate_every) and kind != "file":
        raise ConfigError("--rotate-size and --rotate-every apply to a file destination only")
    header = csv_header(config) if options.format == "csv" else b""
    if kind == "stdout":
        from .stdout import StdoutDestination

        return StdoutDestination(options.format, header)
    if kind == "file":
        from .file import FileDestination

        path = Path(unquote(urlsplit(to).path)) if to.lower().startswith("file://") else Path(to)
        return FileDestination(path, options.format, header, options.rotate_size, options.rotate_every)
    if kind == "database":
        from .database import DatabaseDestination

        return DatabaseDestination(parse_db_url(to), config, options.db_schema, options.batch, options.flush_interval)
    if kind == "http":
        from .http import HttpDestination

        return HttpDestination(to, options.batch, options.flush_interval)
    if kind == "redis":
        from .redis import RedisDestination

        return RedisDestination(to, options.batch, options.flush_interval)
    from .nats import NatsDestination

    return NatsDestination(to, options.batch, options.flush_interval)


__all__ = ["Batching", "DeliveryError", "Destination", "StreamClosed", "kind_of", "make_destination"]
