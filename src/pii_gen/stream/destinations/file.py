"""A file, appended to, optionally rotated by size or age (the full file is renamed with a UTC time stamp).

A file that already holds people (or, when it is empty, its newest rotated predecessor) is continued
after the last of them, at the next whole block, as a database destination is: a second stream adds new
people instead of repeating the first one's ids and SSNs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit

from ...errors import OutputError
from ...packs.person.contract import BLOCK_SIZE
from ...variability.duplicates import DUPLICATE_ID_BASE
from ..documents import Chunk
from .base import Destination

if TYPE_CHECKING:
    from ...config import GenerateConfig
    from ..options import StreamOptions

TAIL_STEP = 1 << 16  # bytes read at a time from the end of a file, looking for its last person
# A record's person_id: JSON Lines documents and CSV rows both start with it.
_FIRST_ID = {"jsonl": re.compile(rb'^\{"person_id":(\d+)[,}]'), "csv": re.compile(rb"^(\d+)(?:,|\r?$)")}


class FileDestination(Destination):
    """A path, or a ``file://`` URL."""

    name = "file"
    schemes = ("file",)
    formats = ("jsonl", "csv")
    rotates = True

    @classmethod
    def create(cls, to: str, options: StreamOptions, config: GenerateConfig, header: bytes) -> Destination:
        path = Path(unquote(urlsplit(to).path)) if to.lower().startswith("file://") else Path(to)
        return cls(path, options.format, header, options.rotate_size, options.rotate_every)

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
        if self.file is None and self.first_person_id is None:  # the first open, not a rotation's
            top = self._last_person()
            if top:
                self.first_person_id = -(-top // BLOCK_SIZE) * BLOCK_SIZE + 1  # the next whole block
        try:
            self.file = open(self.path, "ab")
        except OSError as err:
            raise OutputError(f"cannot write '{self.path}': {err.strerror}") from None
        self.size = self.file.tell()
        self.opened_at = time.monotonic()
        if self.size == 0 and self.header:  # appending to a CSV file that already has its header: no second one
            self._append(self.header)

    def _last_person(self) -> int | None:
        """The highest id of a person already streamed to this file (or to its newest rotated file)."""
        for path in [self.path, *self._rotated_files()]:
            top = _last_person_id(path, self.fmt, len(self.header))
            if top is not None:
                return top
        return None

    def _rotated_files(self) -> list[Path]:
        """Files an earlier stream rotated this file to, newest first."""
        pattern = re.compile(re.escape(self.path.stem) + r"-\d{8}T\d{6}(?:-\d+)?" + re.escape(self.path.suffix) + "$")
        found = [p for p in self.path.parent.glob(f"{self.path.stem}-*") if pattern.match(p.name)]
        return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)[:1]

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


def _last_person_id(path: Path, fmt: str, header: int) -> int | None:
    """The id of the last (non-duplicate) person in ``path``, read from its end; None when it holds none.

    A file whose last record is not a person record of ``fmt`` is refused: appending would mix formats
    or files."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    pattern = _FIRST_ID[fmt]
    other = "JSON Lines" if fmt == "csv" else "CSV"
    with path.open("rb") as f:
        first = f.read(1)
        if first and (first == b"{") != (fmt == "jsonl"):
            raise OutputError(f"'{path}' does not hold {fmt} people of pii_gen stream (it looks like {other}); "
                              f"stream to it with the format it has, or choose another file")  # fmt: skip
        if size <= header:  # empty, or only the CSV header
            return None
        pos, rest = size, b""
        while pos > 0:
            step = min(TAIL_STEP, pos)
            pos -= step
            f.seek(pos)
            lines = (f.read(step) + rest).split(b"\n")
            rest = lines.pop(0) if pos > 0 else b""  # the first line may be cut: read on
            for line in reversed(lines):
                if not line.strip() or line.startswith(b'"person_id"'):  # blank, or the CSV header
                    continue
                found = pattern.match(line)
                if found is None:
                    raise OutputError(
                        f"'{path}' does not end with a person of pii_gen stream, so the ids to continue after are "
                        "unknown; choose another file (or repair or remove this one)"
                    )
                if int(found.group(1)) < DUPLICATE_ID_BASE:  # duplicate records (noise) end a block
                    return int(found.group(1))
    return None
