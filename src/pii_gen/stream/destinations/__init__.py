"""Stream destinations, chosen by the ``--to`` value: stdout, a file, a database, HTTP, Redis or NATS.

Each is a :class:`Destination` subclass in a module of this package, registered by its URL schemes;
adding one is adding its module.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ...config import GenerateConfig
from ...redact import URL_HINT, redact_url
from ...errors import ConfigError
from ...core.registry import discover
from ..documents import csv_header
from ..options import StreamOptions
from .base import REGISTRY, Batching, DeliveryError, Destination, StreamClosed


def destinations() -> tuple[type[Destination], ...]:
    """Every stream destination, each module of this package imported once."""
    discover(__name__)
    return tuple(REGISTRY)


def kind_of(to: str) -> str:
    """Which destination ``to`` names: stdout, file, database, http, redis or nats."""
    if to in ("", "-"):
        return "stdout"
    if "://" not in to:
        return "database" if "=" in to and ";" in to else "file"  # a bare ODBC connection string
    scheme = to.split("://", 1)[0].lower()
    destinations()
    cls = REGISTRY.by_scheme(scheme)
    if cls is None:
        known = ", ".join(sorted({s.split("+")[0] for c in destinations() for s in c.schemes}))
        raise ConfigError(
            f"unsupported --to scheme '{scheme}://' in {redact_url(to)} (expected a file path, - or: {known})"
        )
    return cls.name


def make_destination(options: StreamOptions, config: GenerateConfig) -> Destination:
    """The destination for ``options.to`` (not yet opened)."""
    to = options.to
    kind = kind_of(to)
    try:
        urlsplit(to)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 host
        raise ConfigError(f"invalid --to URL {redact_url(to)}{URL_HINT}") from None
    destinations()
    cls = REGISTRY[kind]
    if options.format not in cls.formats:
        raise ConfigError(f"--format csv is for stdout and files; {kind} destinations take JSON documents")
    if (options.rotate_size or options.rotate_every) and not cls.rotates:
        raise ConfigError("--rotate-size and --rotate-every apply to a file destination only")
    header = csv_header(config) if options.format == "csv" else b""
    return cls.create(to, options, config, header)


__all__ = ["Batching", "DeliveryError", "Destination", "StreamClosed", "destinations", "kind_of", "make_destination"]
