"""A file, appended to, optionally rotated by size or age (the full file is renamed with a UTC time stamp)."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import BinaryIO

from ...errors import OutputError
from ..documents import Chunk
from .base import Destination


class FileDestination(Destination):
    def __init__(self, path: Path, fmt: str, header: bytes = b"", rotate_size: int | None = None,
                 rotate_every: float | None = None) -> None:  # fmt: skip
        super().__init__(str(path))
        self.path = path
        self.fmt = fmt
        self.header = header
        self.rotate_size = rotate_size
        self.rotate_every = rotate_every
        self.file: BinaryIO | None = None
        self.size = 0
        self.opened_at = 0.0
        self.rotated: list[Path] = []

    def open(self) -> None:
        try:
            self.file = open(self.path, "ab")
        except OSError as err:
            raise OutputError(f"cannot write '{self.path}': {err.strerror}") from None
        self.size = self.file.tell()
        self.opened_at = time.monotonic()
        if self.size == 0 and self.header:  # appending to a CSV file that already has its header: no second one
            self._append(self.header)

    def write(self, chunk: Chunk) -> None:
        data = chunk.jsonl() if self.fmt == "jsonl" else chunk.csv()
        if self._rotation_due(len(data)):
            self._rotate()
        self._append(data)
        self.sent += len(chunk)

    def poll(self) -> None:
        if self.rotate_every is not None and self._rotation_due(0):
            self._rotate()

    def _rotation_due(self, incoming: int) -> bool:
        body = self.size - (len(self.header) if self.header else 0)
        if body <= 0:  # never rotate an empty file
            return False
        if self.rotate_size is not None and self.size + incoming > self.rotate_size:
            return True
        return self.rotate_every is not None and time.monotonic() - self.opened_at >= self.rotate_every

    def _rotate(self) -> None:
        assert self.file is not None
        self.file.close()
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.stem}-{stamp}-{n}{self.path.suffix}")
            n += 1
        try:
            os.replace(self.path, target)
        except OSError as err:
            raise OutputError(f"cannot rotate '{self.path}' to '{target}': {err.strerror}") from None
        self.rotated.append(target)
        self.open()

    def _append(self, data: bytes) -> None:
        assert self.file is not None
        try:
            self.file.write(data)
            self.file.flush()
        except OSError as err:
            raise OutputError(f"cannot write '{self.path}': {err.strerror}") from None
        self.size += len(data)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def abort(self) -> None:
        self.close()
