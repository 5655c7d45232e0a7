"""A NATS subject: one message per person, a batch per flush (extra ``nats``).

``nats://host:4222/SUBJECT`` (default subject ``pii_gen.people``).  Core NATS is fire-and-forget: a
batch counts as sent once the server has acknowledged the flush that follows it.  With
``?jetstream=1`` every message is published to JetStream (a stream must capture the subject) and
acknowledged one by one, with a ``Nats-Msg-Id`` header of ``<run>-<batch>-<n>`` so a retried batch is
deduplicated by the server.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from ...redact import redact_url, secrets_of
from ...errors import OutputError
from ...retry import GaveUp, RetryPolicy
from ..documents import Chunk
from .base import Batching, DeliveryError, Destination

if TYPE_CHECKING:
    from ...config import GenerateConfig
    from ..options import StreamOptions

RETRIES = 3
BACKOFF_SECONDS = 0.2  # 0.2, 0.4, 0.8 s (JetStream only)
TIMEOUT = 10.0
DEFAULT_SUBJECT = "pii_gen.people"


class NatsDestination(Batching):
    name = "nats"
    schemes = ("nats", "tls")

    @classmethod
    def create(cls, to: str, options: StreamOptions, config: GenerateConfig, header: bytes) -> Destination:
        return cls(to, options.batch, options.flush_interval)

    def __init__(self, url: str, batch: int, interval: float) -> None:
        super().__init__(redact_url(url), batch, interval, secrets_of(url))
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.subject = unquote(parts.path.strip("/")) or DEFAULT_SUBJECT
        self.jetstream = query.get("jetstream", "").lower() in ("1", "true", "yes")
        self.server = urlunsplit(parts._replace(path="", query=""))
        self.run = uuid.uuid4().hex[:12]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.nc: Any = None
        self.js: Any = None

    def open(self) -> None:
        try:
            import nats
        except ImportError:
            raise OutputError('streaming to NATS needs nats-py; install it with pip install "pii-gen[nats]"') from None
        self.loop = asyncio.new_event_loop()
        try:
            connecting = nats.connect(
                servers=[self.server],
                connect_timeout=5,
                allow_reconnect=False,
                max_reconnect_attempts=1,  # 0 would mean: retry the first connection forever
                reconnect_time_wait=0.2,
                error_cb=_quiet,  # nats-py prints every failed attempt otherwise; the error below says it once
            )
            self.nc = self.loop.run_until_complete(asyncio.wait_for(connecting, timeout=TIMEOUT))
        except Exception as err:  # noqa: BLE001 - nats-py raises several kinds for an unreachable server
            self.release()
            raise OutputError(f"cannot reach {self.label}: {self.scrub(str(err) or type(err).__name__)}") from None
        if self.jetstream:
            self.js = self.nc.jetstream(timeout=TIMEOUT)

    def deliver(self, chunks: list[Chunk], number: int) -> None:
        assert self.loop is not None
        docs = self.documents(chunks)
        loop = self.loop
        try:
            RetryPolicy(RETRIES, BACKOFF_SECONDS, transient=self._transient).call(
                lambda: loop.run_until_complete(self._send(docs, number)), sleep=self.sleep
            )
        except GaveUp as gave:  # timeouts, no responders, a closed connection
            problem = str(gave.error) or type(gave.error).__name__
            raise DeliveryError(f"sending batch {number} to {self.label} failed: {self.scrub(problem)}") from None

    def _transient(self, err: BaseException) -> bool:
        """JetStream deduplicates a resent batch; core NATS cannot tell which messages arrived: no resend."""
        return self.jetstream

    async def _send(self, docs: list[bytes], number: int) -> None:
        if self.js is not None:
            acks = [
                self.js.publish(self.subject, doc, headers={"Nats-Msg-Id": f"{self.run}-{number}-{i}"})
                for i, doc in enumerate(docs)
            ]
            await asyncio.gather(*acks)
            return
        for doc in docs:
            await self.nc.publish(self.subject, doc)
        await self.nc.flush(timeout=TIMEOUT)

    def release(self) -> None:
        if self.loop is None:
            return
        if self.nc is not None:
            try:
                self.loop.run_until_complete(self.nc.drain())
            except Exception:  # noqa: BLE001 - already closed
                pass
            self.nc = None
        self.loop.close()
        self.loop = None


async def _quiet(err: Exception) -> None:
    """nats-py's error callback: errors surface as exceptions where they matter."""
