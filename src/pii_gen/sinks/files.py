"""File outputs: one file per table in an output folder, replaced atomically at the end.

Each output format is a :class:`FileOutput` subclass named after its ``--format`` value; it registers
itself in :data:`~pii_gen.sinks.outputs.OUTPUTS`, so adding a format is adding its module to this package.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import zlib
import shutil
import uuid
from pathlib import Path
from typing import Any, ClassVar

import psutil
import pyarrow as pa

from ..errors import OutputError
from .base import Batch, Capabilities, Codec, Sink
from .codecs import CsvCodec, JsonlCodec
from .direct import Ledger, PartWriter, Receipt, crc32_combine
from .outputs import OUTPUTS


STAGING_PREFIX = ".pii_gen-partial-"
MANIFEST = "manifest.json"


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname()) or "host"


def _started(pid: int) -> int | None:
    """When process ``pid`` started (centiseconds since the epoch), or None when there is none."""
    try:
        return round(psutil.Process(pid).create_time() * 100)
    except psutil.Error:
        return None


class Staging:
    """A hidden folder inside the output folder that files are written to first.

    ``commit`` moves every staged file over its final name (an atomic rename on
    one file system) and then removes the files a previous pii_gen run listed in
    its manifest that this run did not write, so the folder holds one run's output
    as a whole; ``abort`` removes the folder, so a failed or interrupted run leaves
    the output folder as it was.

    The folder's name says which process owns it (host, pid and start time), so a
    later run can remove the folders of runs that were killed before cleaning up,
    and leaves those of runs still going (or of another host) alone.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._created = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            remove_stale_staging(self.out)
            pid = os.getpid()
            self.dir = self.out / f"{STAGING_PREFIX}{_host()}-{pid}-{_started(pid)}-{uuid.uuid4().hex[:6]}"
            self.dir.mkdir()
        except FileExistsError:
            raise OutputError(f"output path '{self.out}' exists and is not a folder") from None
        except OSError as err:
            raise OutputError(f"cannot write to output folder '{self.out}': {err.strerror}") from None

    def path(self, name: str) -> Path:
        return self.dir / name

    def commit(self) -> None:
        previous = previous_run_files(self.out)
        names = sorted(item.name for item in self.dir.iterdir())
        for name in sorted(names, key=lambda n: n == MANIFEST):  # the manifest last: it describes the rest
            os.replace(self.dir / name, self.out / name)
        self.dir.rmdir()
        for name in sorted(previous - set(names)):
            if (self.out / name).is_dir():  # a Delta table: its history is not a file to sweep away
                continue
            with contextlib.suppress(FileNotFoundError):
                (self.out / name).unlink()

    def abort(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        if self._created:  # the run made the folder: leave no empty one behind
            with contextlib.suppress(OSError):
                self.out.rmdir()


def previous_run_files(out: Path) -> set[str]:
    """The files a previous pii_gen run's manifest lists in ``out`` (only plain names inside it)."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(manifest, dict) or manifest.get("generator") != "pii_gen":
        return set()
    files = manifest.get("files")
    names = set(files) if isinstance(files, dict) else set()
    return {n for n in names if isinstance(n, str) and n == Path(n).name and not n.startswith(".") and n != MANIFEST}


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove the staging folders in ``out`` whose owner on this host is gone; return them."""
    removed = []
    host = _host()
    for item in out.glob(f"{STAGING_PREFIX}*"):
        parts = item.name[len(STAGING_PREFIX) :].rsplit("-", 3)
        if len(parts) != 4 or parts[0] != host or not item.is_dir():
            continue  # another host's, or of a version that did not name its owner: never guess
        try:
            pid, started = int(parts[1]), int(parts[2])
        except ValueError:
            continue
        owner = _started(pid)
        if owner is not None and abs(owner - started) <= 100:  # alive (start times agree within 1 s)
            continue
        shutil.rmtree(item, ignore_errors=True)
        removed.append(item)
    return removed


class FileOutput(Sink):
    """A sink writing one file per table into a :class:`Staging` folder, for ``--format`` ``name``."""

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]] = ()  # a folder, not a URL

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            OUTPUTS.add(cls)

    def __init__(self, staging: Staging) -> None:
        super().__init__()
        self.staging = staging
        #: What to do with tables the output folder already holds (``--if-exists``): a folder of plain files
        #: is always replaced as a whole; an output with tables of its own (Delta) reads it at ``open``.
        self.if_exists = "fail"

    def publish(self) -> bool:
        """Make the closed output part of its tables before the staging folder is committed; True when that
        cannot be undone (a Delta commit), so a cancel from then on comes too late.  Plain files: nothing."""
        return False


class PartedOutput(FileOutput, register=False):
    """A file output whose worker processes write parts through :meth:`part_writer`; the engine hands their
    receipts back to :meth:`record` in task order (checked by :meth:`take`), and an in-process
    :meth:`write` goes through the same writer."""

    def __init__(self, staging: Staging) -> None:
        super().__init__(staging)
        self._writer: Any | None = None
        self._tasks = 0

    def part_writer(self, ctx: Any | None = None) -> Any:
        raise NotImplementedError

    def write(self, batch: Batch) -> None:
        if self._writer is None:
            self._writer = self.part_writer()
        self.record(self._writer.write(self._tasks, batch))

    def take(self, receipt: Receipt) -> None:
        """Refuse a receipt out of task order, else count its task."""
        if receipt.task != self._tasks:
            raise RuntimeError(f"receipt for task {receipt.task} arrived out of order (expected {self._tasks})")
        self._tasks += 1


class FileSink(PartedOutput, register=False):
    """One file per table (CSV or JSON Lines), appended in order, with a running CRC-32.

    Worker processes can write into the files directly: :meth:`part_writer`
    hands out a :class:`PartWriter` and the engine passes the receipts back
    through :meth:`record` in task order.
    """

    capabilities = Capabilities(parallel_parts=True)

    def __init__(self, staging: Staging, codec: Codec) -> None:
        super().__init__(staging)
        self.codec = codec
        self.crcs: dict[str, int] = {}
        self.sizes: dict[str, int] = {}

    def file_name(self, table: str) -> str:
        return f"{table}.{self.codec.extension}"

    def open(self, schemas: dict[str, pa.Schema]) -> None:
        self.schemas = schemas
        for name, schema in schemas.items():
            header = self.codec.header(schema)
            self.staging.path(self.file_name(name)).write_bytes(header)
            self.crcs[name] = zlib.crc32(header)
            self.sizes[name] = len(header)
            self.rows[name] = 0

    def part_writer(self, ctx: Any | None = None) -> PartWriter:
        """A writer for this sink's files; with a multiprocessing context, usable from workers."""
        names = list(self.schemas or {})
        ledger = Ledger(names, [self.sizes[n] for n in names], ctx)
        paths = {n: str(self.staging.path(self.file_name(n))) for n in names}
        return PartWriter(paths, self.codec, ledger)

    def record(self, receipt: Receipt) -> None:
        """Account for a task's bytes; receipts must come in task order."""
        self.take(receipt)
        for name, size in receipt.sizes.items():
            self.crcs[name] = crc32_combine(self.crcs[name], receipt.crcs[name], size)
            self.sizes[name] += size
            self.rows[name] += receipt.rows[name]

    def checksums(self) -> dict[str, dict[str, object]]:
        return {
            self.file_name(n): {"table": n, "rows": self.rows[n], "bytes": self.sizes[n], "crc32": f"{c:08x}"}
            for n, c in self.crcs.items()
        }

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        for name in self.crcs:
            actual = self.staging.path(self.file_name(name)).stat().st_size
            if actual != self.sizes[name]:
                raise OutputError(f"{self.file_name(name)} has {actual} bytes, expected {self.sizes[name]}")

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()


class CsvSink(FileSink):
    """``--format csv``: RFC 4180 files with a header line."""

    name = "csv"

    def __init__(self, staging: Staging) -> None:
        super().__init__(staging, CsvCodec())


class JsonlSink(FileSink):
    """``--format jsonl``: one JSON object per row."""

    name = "jsonl"

    def __init__(self, staging: Staging) -> None:
        super().__init__(staging, JsonlCodec())


def file_formats() -> tuple[type[FileOutput], ...]:
    """Every file format, each module of this package imported once."""
    return OUTPUTS.file_formats()


def file_sink(fmt: str, staging: Staging, if_exists: str = "fail") -> FileOutput:
    """The sink for an output format (``if_exists`` for the formats whose tables outlive a run, Delta)."""
    formats = {cls.name: cls for cls in file_formats()}
    if fmt not in formats:
        names = sorted(formats)
        expected = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        raise OutputError(f"unknown output format '{fmt}' (expected {expected})")
    sink = formats[fmt](staging)
    sink.if_exists = if_exists
    return sink
