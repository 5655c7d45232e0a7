"""A Redis stream: one ``XADD key * doc <json>`` per person, a batch per pipeline (extra ``redis``).

``redis://host:6379/0?stream=KEY&maxlen=N``: the stream key (default ``pii_gen:people``) and, with
``maxlen``, approximate trimming so the stream does not grow without bound in Redis either.
Redis has no idempotent XADD, so a batch retried after the connection dropped mid-pipeline may be
partly delivered twice (at-least-once); a batch that still fails stops the stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...redact import URL_HINT, redact_url, secrets_of
from ...errors import ConfigError, OutputError
from ...retry import GaveUp, RetryPolicy
from ..documents import Chunk
from .base import Batching, DeliveryError, Destination

if TYPE_CHECKING:
    from ...config import GenerateConfig
    from ..options import StreamOptions

RETRIES = 3
BACKOFF_SECONDS = 0.2  # 0.2, 0.4, 0.8 s
DEFAULT_KEY = "pii_gen:people"


class RedisDestination(Batching):
    name = "redis"
    schemes = ("redis", "rediss")

    @classmethod
    def create(cls, to: str, options: StreamOptions, config: GenerateConfig, header: bytes) -> Destination:
        return cls(to, options.batch, options.flush_interval)

    def __init__(self, url: str, batch: int, interval: float) -> None:
        super().__init__(redact_url(url), batch, interval, secrets_of(url))
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.key = query.pop("stream", DEFAULT_KEY)
        maxlen = query.pop("maxlen", None)
        try:
            self.maxlen = int(maxlen) if maxlen else None
        except ValueError:
            raise ConfigError(f"Redis URL option maxlen must be a whole number (got {maxlen!r})") from None
        self.url = urlunsplit(parts._replace(query=urlencode(query)))
        self.client: Any = None

    def open(self) -> None:
        try:
            import redis
        except ImportError:
            raise OutputError(
                'streaming to Redis needs redis-py; install it with pip install "pii-gen[redis]"'
            ) from None
        self._errors = (redis.ConnectionError, redis.TimeoutError)
        try:
            self.client = redis.Redis.from_url(self.url, socket_timeout=10, socket_connect_timeout=5)
        except ValueError:  # redis-py cannot parse it (a raw "/" in a password makes a bad port)
            raise ConfigError(f"invalid Redis URL {self.label}{URL_HINT}") from None
        try:
            self.client.ping()
        except redis.RedisError as err:
            self.client = None
            raise OutputError(f"cannot reach {self.label}: {self.scrub(str(err))}") from None

    def deliver(self, chunks: list[Chunk], number: int) -> None:
        docs = self.documents(chunks)

        def send() -> None:
            pipe = self.client.pipeline(transaction=False)
            for doc in docs:
                pipe.xadd(self.key, {"doc": doc}, maxlen=self.maxlen, approximate=True)
            pipe.execute()

        try:
            RetryPolicy(RETRIES, BACKOFF_SECONDS, transient=self._transient).call(send, sleep=self.sleep)
        except GaveUp as gave:
            problem = self.scrub(str(gave.error))
            if gave.permanent:  # a refusal (wrong type of key, out of memory): not retried
                raise DeliveryError(f"{self.label} refused batch {number}: {problem}") from None
            raise DeliveryError(
                f"sending batch {number} to {self.label} failed after {RETRIES} retries: {problem}"
            ) from None

    def _transient(self, err: BaseException) -> bool:
        """A dropped connection or a timeout: worth sending the batch again."""
        return isinstance(err, self._errors)

    def release(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
