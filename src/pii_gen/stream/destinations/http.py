"""An HTTP endpoint: each batch POSTed as a JSON array of documents, retried with exponential backoff.

Every batch carries ``Idempotency-Key`` and ``X-Batch-Id`` headers (``<run>-<number>``), the same on
every retry, so a receiver that saw a batch whose response was lost can drop the repeat.  Connection
errors, timeouts, 5xx, 408 and 429 are retried; after the last retry the stream stops (the endpoint
is down).  Any other 4xx is the receiver refusing that batch: it counts as failed and the stream
goes on.  Standard library only (http.client, one kept-alive connection).
"""

from __future__ import annotations

import base64
import http.client
import socket
import uuid
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ...redact import URL_HINT, redact_url, secrets_of
from ...errors import ConfigError, OutputError
from ...retry import GaveUp, RetryPolicy
from ..documents import Chunk
from .base import Batching, DeliveryError, Destination

if TYPE_CHECKING:
    from ...config import GenerateConfig
    from ..options import StreamOptions

RETRIES = 6
BACKOFF_SECONDS = 0.1  # 0.1, 0.2, ... 3.2 s: about 6 s before giving up
TIMEOUT = 10.0
RETRYABLE = {408, 429}


class HttpDestination(Batching):
    name = "http"
    schemes = ("http", "https")

    @classmethod
    def create(cls, to: str, options: StreamOptions, config: GenerateConfig, header: bytes) -> Destination:
        return cls(to, options.batch, options.flush_interval)

    def __init__(self, url: str, batch: int, interval: float, retries: int = RETRIES,
                 backoff: float = BACKOFF_SECONDS) -> None:  # fmt: skip
        super().__init__(redact_url(url), batch, interval, secrets_of(url))
        parts = urlsplit(url)
        if not parts.hostname:
            raise ConfigError(f"HTTP URL names no host: {self.label}{URL_HINT}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        try:
            self.port = parts.port or (443 if self.https else 80)
        except ValueError:
            raise ConfigError(f"HTTP URL has an invalid port: {self.label}{URL_HINT}") from None
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = {"Content-Type": "application/json", "User-Agent": "pii_gen-stream"}
        if parts.username:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        self.retries = retries
        self.backoff = backoff
        self.run = uuid.uuid4().hex[:12]
        self.retried = 0
        self.conn: http.client.HTTPConnection | None = None

    def open(self) -> None:
        try:  # reachable at all? Better one clear line now than a stream that fails on its first batch
            socket.create_connection((self.host, self.port), timeout=TIMEOUT).close()
        except OSError as err:
            raise OutputError(f"cannot reach {self.label}: {self.scrub(str(err.strerror or err))}") from None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=TIMEOUT)
        return self.conn

    def deliver(self, chunks: list[Chunk], number: int) -> None:
        lines = b"".join(c.jsonl() for c in chunks)
        # Documents never hold a raw newline (JSON escapes it), so newlines are exactly the separators.
        body = b"[" + lines[:-1].replace(b"\n", b",") + b"]"
        batch_id = f"{self.run}-{number}"
        headers = {**self.headers, "Idempotency-Key": batch_id, "X-Batch-Id": batch_id}
        policy = RetryPolicy(self.retries, self.backoff, transient=_transient)
        try:
            policy.call(lambda: self._post(body, headers), on_retry=self._count_retry, sleep=self.sleep)
        except GaveUp as gave:
            problem = _problem(gave.error)
            if gave.permanent and isinstance(gave.error, _Refused):
                raise DeliveryError(
                    f"{self.label} refused batch {batch_id}: {problem}", fatal=False, reason=problem
                ) from None
            if gave.permanent:
                raise gave.error from None
            raise DeliveryError(
                f"posting batch {batch_id} to {self.label} failed after {self.retries} retries: {self.scrub(problem)}",
                reason=self.scrub(problem),
            ) from None

    def _count_retry(self, retry: int, err: Exception) -> None:
        self.retried += 1

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        """POST one batch once; a response other than 2xx raises _Refused."""
        try:
            conn = self._connection()
            conn.request("POST", self.target, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.will_close:
                self.release()
        except (OSError, http.client.HTTPException):
            self.release()
            raise
        if not 200 <= response.status < 300:
            raise _Refused(response.status, response.reason)

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _Refused(Exception):
    """The endpoint answered with a status other than 2xx."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status


def _transient(err: BaseException) -> bool:
    """Connection errors, timeouts, 5xx, 408 and 429 are worth another POST; any other 4xx is a refusal."""
    if isinstance(err, _Refused):
        return err.status >= 500 or err.status in RETRYABLE
    return isinstance(err, (OSError, http.client.HTTPException))


def _problem(err: Exception) -> str:
    return str(err) or type(err).__name__
