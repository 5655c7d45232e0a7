"""Stream destinations, chosen by the ``--to`` value: stdout, a file, a database, HTTP, Redis or NATS.

Each is a :class:`Destination` subclass in a module of this package, registered by its URL schemes in
the one registry of outputs (:data:`~pii_gen.sinks.outputs.OUTPUTS`); adding one is adding its module.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ...config import GenerateConfig
from ...redact import URL_HINT, redact_url
from ...errors import ConfigError
from ...db.url import scheme_of
from ...sinks.outputs import OUTPUTS
from ..documents import csv_header
from ..options import StreamOptions
from .base import Batching, DeliveryError, Destination, StreamClosed


def destinations() -> tuple[type[Destination], ...]:
    """Every stream destination, each module of this package imported once."""
    return OUTPUTS.streams()  # type: ignore[return-value]


def kind_of(to: str) -> str:
    """Which destination ``to`` names: stdout, file, database, http, redis or nats."""
    if to in ("", "-"):
        return "stdout"
    if "://" not in to and not ("=" in to and ";" in to):  # a path (not a bare ODBC connection string)
        return "file"
    scheme = scheme_of(to)
    cls = OUTPUTS.by_scheme(scheme, streaming=True)
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
    cls = next(c for c in destinations() if c.name == kind)
    if options.format not in cls.formats:
        raise ConfigError(f"--format csv is for stdout and files; {kind} destinations take JSON documents")
    if (options.rotate_size or options.rotate_every) and not cls.rotates:
        raise ConfigError("--rotate-size and --rotate-every apply to a file destination only")
    header = csv_header(config) if options.format == "csv" else b""
    return cls.create(to, options, config, header)


__all__ = ["Batching", "DeliveryError", "Destination", "StreamClosed", "destinations", "kind_of", "make_destination"]
