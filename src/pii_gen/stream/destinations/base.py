"""The one interface of every stream destination and the batching most of them share.

A destination registers itself in the outputs' registry (:data:`~pii_gen.sinks.outputs.OUTPUTS`, as a
streaming output) by subclassing :class:`Destination`: its ``name`` (the kind messages call it), the
``--to`` URL schemes it takes, and :meth:`Destination.create`, which builds it from a ``--to`` value.
Two destinations claiming one scheme is an error when the second is imported.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar

from ...errors import OutputError, RegistryError
from ...redact import scrub
from ...core.registry import where
from ...retry import Sleep
from ...sinks.base import Capabilities
from ...sinks.outputs import OUTPUTS
from ..documents import Chunk

if TYPE_CHECKING:
    from ...config import GenerateConfig
    from ..options import StreamOptions


class DeliveryError(OutputError):
    """A batch could not be delivered; ``fatal`` when the destination is gone (the stream stops).
    ``reason``: the short cause (``HTTP 404 Not Found``) that failures are counted by."""

    def __init__(self, message: str, fatal: bool = True, reason: str = "") -> None:
        super().__init__(message)
        self.fatal = fatal
        self.reason = reason or message


class StreamClosed(Exception):
    """The reader went away (a broken pipe): the stream ends quietly."""


class Destination:
    """Where the stream's documents go.  ``write`` returns once the chunk is handed over (or held for a
    batch); ``sent`` counts people delivered, ``failed`` people given up on; ``close`` flushes."""

    #: The kind of destination (stdout, file, database, http ...), as messages name it.
    name: ClassVar[str]
    #: The ``--to`` URL schemes (before ``://``, lower case) this destination takes.
    schemes: ClassVar[tuple[str, ...]] = ()
    #: The ``--format`` values it can write.
    formats: ClassVar[tuple[str, ...]] = ("jsonl",)
    #: Whether ``--rotate-size`` / ``--rotate-every`` apply.
    rotates: ClassVar[bool] = False
    #: Every destination streams; one that commits what it takes batch by batch is transactional too.
    capabilities: ClassVar[Capabilities] = Capabilities(streaming=True)

    #: person_id the stream starts at, when the destination decides it (a database that already holds people).
    first_person_id: int | None = None

    def __init__(self, label: str, secrets: tuple[str, ...] = ()) -> None:
        self.label = label  # for messages: never holds a password
        self.secrets = secrets  # the destination's passwords and tokens, removed from every message
        self.sent = 0
        self.failed = 0
        self.failures: dict[str, int] = {}  # batches given up on, by reason
        self.last_failure = ""  # the message of the latest batch given up on
        self.sleep: Sleep = time.sleep  # the wait between retries: a cancel-aware one cuts a backoff short

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not register:
            return
        if cls.create.__func__ is Destination.create.__func__:  # type: ignore[attr-defined]
            raise RegistryError(f"stream destination {where(cls)} has no create() to build it from --to")
        OUTPUTS.add(cls)

    @classmethod
    def create(cls, to: str, options: StreamOptions, config: GenerateConfig, header: bytes) -> Destination:
        """The destination for ``--to`` value ``to`` (not yet opened); ``header``: the CSV header, if CSV."""
        raise NotImplementedError

    def scrub(self, text: str) -> str:
        """``text`` (a client library's error, say) on one line, without this destination's secrets."""
        return scrub(text, *self.secrets)

    def open(self) -> None:
        """Connect or create what is needed; an unreachable destination raises OutputError here."""

    def write(self, chunk: Chunk) -> None:
        """Send (or hold for a batch) one chunk of documents."""
        raise NotImplementedError

    def poll(self) -> None:
        """Called between ticks: deliver held documents that have waited long enough."""

    def close(self) -> None:
        """Deliver whatever is held and release the connection."""

    def abort(self) -> None:
        """Release the connection without delivering anything more."""

    @property
    def pending(self) -> int:
        return 0

    def __enter__(self) -> "Destination":
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Batching(Destination, ABC, register=False):
    """Holds chunks until ``batch`` people or ``interval`` seconds have gathered, then delivers them in one
    go (one POST, commit or pipeline), so a slow rate does not mean one round trip per person."""

    def __init__(self, label: str, batch: int, interval: float, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(label, secrets)
        self.batch = batch
        self.interval = interval
        self._held: list[Chunk] = []
        self._count = 0
        self._since = 0.0
        self.number = 0  # batches delivered or failed so far: the next batch's number

    @property
    def pending(self) -> int:
        return self._count

    def write(self, chunk: Chunk) -> None:
        if self._held and self._count + len(chunk) > self.batch:  # a batch holds at most ``batch`` people
            self.flush()
        if not self._held:
            self._since = time.monotonic()
        self._held.append(chunk)
        self._count += len(chunk)
        if self._count >= self.batch:
            self.flush()

    def poll(self) -> None:
        if self._held and time.monotonic() - self._since >= self.interval:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        chunks, count, number = self._held, self._count, self.number
        self._held, self._count = [], 0
        self.number += 1
        try:
            self.deliver(chunks, number)
        except DeliveryError as err:
            self.failed += count
            self.failures[err.reason] = self.failures.get(err.reason, 0) + 1
            self.last_failure = str(err)
            if err.fatal:
                raise
            return
        self.sent += count

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.release()

    def abort(self) -> None:
        self.release()

    @staticmethod
    def documents(chunks: list[Chunk]) -> list[bytes]:
        """The batch's documents, one JSON object each (for destinations that take a message per person)."""
        return b"".join(c.jsonl() for c in chunks)[:-1].split(b"\n")

    @abstractmethod
    def deliver(self, chunks: list[Chunk], number: int) -> None:
        """Deliver the documents of ``chunks`` as batch ``number``; raise DeliveryError when it cannot."""

    def release(self) -> None:
        """Close the connection."""
