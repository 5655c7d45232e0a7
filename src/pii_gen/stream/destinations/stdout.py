"""Standard output: JSON Lines (or CSV), flushed after every write so a reader sees people promptly."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, BinaryIO

from ..documents import Chunk
from .base import Destination, StreamClosed

if TYPE_CHECKING:
    from ...config import GenerateConfig
    from ..options import StreamOptions


class StdoutDestination(Destination):
    """``--to -`` (or nothing)."""

    name = "stdout"
    formats = ("jsonl", "csv")

    @classmethod
    def create(cls, to: str, options: StreamOptions, config: GenerateConfig, header: bytes) -> Destination:
        return cls(options.format, header)

    def __init__(self, fmt: str, header: bytes = b"", out: BinaryIO | None = None) -> None:
        super().__init__("stdout")
        self.fmt = fmt
        self.header = header
        self.out = out or sys.stdout.buffer

    def open(self) -> None:
        if self.fmt == "csv":
            self._send(self.header)

    def write(self, chunk: Chunk) -> None:
        self._send(chunk.jsonl() if self.fmt == "jsonl" else chunk.csv())
        self.sent += len(chunk)

    def _send(self, data: bytes) -> None:
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:
            # Point stdout at /dev/null so the interpreter's own flush at exit finds nothing to complain about.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.out.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):
                pass
            raise StreamClosed() from None
