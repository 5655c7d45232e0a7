"""File outputs: one file per table in an output folder, replaced atomically at the end."""
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import OutputError
from .base import Batch, Codec, EncodedBatch, Sink
from .codecs import CsvCodec, JsonlCodec


class Staging:
    """A hidden folder inside the output folder that files are written to first.

    ``commit`` moves every staged file over its final name (an atomic rename on
    one file system); ``abort`` removes the folder, so a failed or interrupted
    run leaves the output folder as it was.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.dir = self.out / f".pii_gen-partial-{uuid.uuid4().hex[:12]}"
            self.dir.mkdir()
        except FileExistsError:
            raise OutputError(f"output path '{self.out}' exists and is not a folder") from None
        except OSError as err:
            raise OutputError(f"cannot write to output folder '{self.out}': {err.strerror}") from None

    def path(self, name: str) -> Path:
        return self.dir / name

    def commit(self) -> None:
        for item in sorted(self.dir.iterdir()):
            os.replace(item, self.out / item.name)
        self.dir.rmdir()

    def abort(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class FileSink(Sink):
    """Appends encoded tables (CSV or JSON Lines) to one file per table, hashing as it writes."""

    def __init__(self, staging: Staging, codec: Codec) -> None:
        super().__init__()
        self.staging = staging
        self.codec = codec
        self.files: dict[str, BinaryIO] = {}
        self.hashes: dict[str, "hashlib._Hash"] = {}
        self.sizes: dict[str, int] = {}

    def file_name(self, table: str) -> str:
        return f"{table}.{self.codec.extension}"

    def open(self, schemas: dict[str, pa.Schema]) -> None:
        self.schemas = schemas
        for name, schema in schemas.items():
            f = open(self.staging.path(self.file_name(name)), "wb", buffering=0)
            self.files[name] = f
            self.hashes[name] = hashlib.sha256()
            self.sizes[name] = 0
            self.rows[name] = 0
            self._append(name, self.codec.header(schema))

    def _append(self, name: str, data: bytes) -> None:
        if not data:
            return
        view = memoryview(data)
        while view:
            written = self.files[name].write(view)
            view = view[written:]
        self.hashes[name].update(data)
        self.sizes[name] += len(data)

    def write(self, batch: Batch | EncodedBatch, rows: dict[str, int] | None = None) -> None:
        self._count(batch, rows)
        for name, part in batch.items():
            self._append(name, part if isinstance(part, bytes) else self.codec.encode(part))

    def checksums(self) -> dict[str, dict[str, object]]:
        return {
            self.file_name(n): {"table": n, "rows": self.rows[n], "bytes": self.sizes[n], "sha256": h.hexdigest()}
            for n, h in self.hashes.items()
        }

    def close(self) -> None:
        for f in self.files.values():
            f.close()

    def abort(self) -> None:
        for f in self.files.values():
            f.close()


class ParquetSink(Sink):
    """One Parquet file per table, zstd-compressed, in row groups of a fixed size.

    Row groups never follow batch boundaries, so the file is the same however
    the run was batched or parallelised.
    """

    extension = "parquet"
    ROW_GROUP = 131_072

    def __init__(self, staging: Staging) -> None:
        super().__init__()
        self.staging = staging
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pending: dict[str, list[pa.Table]] = {}

    def file_name(self, table: str) -> str:
        return f"{table}.parquet"

    def open(self, schemas: dict[str, pa.Schema]) -> None:
        self.schemas = schemas
        for name, schema in schemas.items():
            self.rows[name] = 0
            self.pending[name] = []
            self.writers[name] = pq.ParquetWriter(
                self.staging.path(self.file_name(name)), schema, compression="zstd", compression_level=1
            )

    def write(self, batch: Batch | EncodedBatch, rows: dict[str, int] | None = None) -> None:
        self._count(batch, rows)
        for name, table in batch.items():
            self.pending[name].append(table)  # type: ignore[arg-type]
            self._flush(name, final=False)

    def _flush(self, name: str, final: bool) -> None:
        table = pa.concat_tables(self.pending[name]) if self.pending[name] else None
        if table is None:
            return
        start = 0
        while table.num_rows - start >= self.ROW_GROUP or (final and start < table.num_rows):
            part = table.slice(start, min(self.ROW_GROUP, table.num_rows - start))
            self.writers[name].write_table(part, row_group_size=self.ROW_GROUP)
            start += part.num_rows
        self.pending[name] = [table.slice(start)] if start < table.num_rows else []

    def checksums(self) -> dict[str, dict[str, object]]:
        out = {}
        for name in self.writers:
            path = self.staging.path(self.file_name(name))
            out[self.file_name(name)] = {
                "table": name,
                "rows": self.rows[name],
                "bytes": path.stat().st_size,
                "sha256": _sha256_file(path),
            }
        return out

    def close(self) -> None:
        for name, w in self.writers.items():
            self._flush(name, final=True)
            w.close()

    def abort(self) -> None:
        for w in self.writers.values():
            try:
                w.close()
            except Exception:  # noqa: BLE001 - the files are being discarded anyway
                pass


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(8 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sink(fmt: str, staging: Staging) -> FileSink | ParquetSink:
    """The sink for an output format."""
    if fmt == "csv":
        return FileSink(staging, CsvCodec())
    if fmt == "jsonl":
        return FileSink(staging, JsonlCodec())
    if fmt == "parquet":
        return ParquetSink(staging)
    raise OutputError(f"unknown output format '{fmt}' (expected csv, jsonl or parquet)")
