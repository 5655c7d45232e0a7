"""Delta Lake output (``--format delta``): each table a Delta table folder ``OUT/<table>/``.

Workers write each task's rows of a table as one Parquet part file (the Parquet settings of the file per
table) into the run's staging folder and hand back what they wrote; once every part is written, one
process moves the parts into their table folders and commits each table once, through the ``deltalake``
package's transaction API.  Until that commit no Delta reader sees a part, so a run that fails, is
cancelled or killed leaves every table at its previous version (or absent); parts of a killed run stay
in its staging folder, which the next run into the folder removes.

:func:`commit_parts` is the commit alone, for part files any engine wrote into a table's folder (Spark's
executors, say: :func:`write_part` writes one as pii_gen does, :func:`read_part` describes one another writer
made).  ``deltalake`` is an optional extra, imported only when a Delta table is written.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import OutputError
from .base import Batch, Capabilities
from .direct import Receipt
from .files import PartedOutput, Staging
from .parquet import parquet_bytes

Mode = Literal["error", "append", "overwrite"]

#: ``--if-exists`` in deltalake's words.
MODES: dict[str, Mode] = {"fail": "error", "append": "append", "replace": "overwrite"}
#: Longest string a part's statistics record whole (as deltalake truncates); a longer minimum is cut to it.
STATS_CHARS = 32


def deltalake() -> Any:
    """The ``deltalake`` module, or an error naming the extra that installs it."""
    try:
        import deltalake as module
        import deltalake.transaction  # noqa: F401 - the commit API
    except ImportError:
        raise OutputError('Delta Lake output needs the deltalake package: pip install "pii-gen[delta]"') from None
    return module


@dataclass(frozen=True)
class Part:
    """A Parquet file in a Delta table's folder, ready to be added by a commit: its path relative to the table's
    root, bytes, rows, Delta statistics (JSON), modification time (ms since the epoch) and CRC-32."""

    path: str
    size: int
    rows: int
    stats: str
    modification_time: int
    crc32: int = 0


def part_name(task: int, token: str) -> str:
    """The file name of task ``task``'s part of a table; ``token`` (one per run) keeps runs' parts apart."""
    return f"part-{task:05d}-{token}-c000.zstd.parquet"


def part_stats(schema: pa.Schema, metadata: pq.FileMetaData, table: pa.Table | None = None) -> str:
    """Delta's per-file statistics of the Parquet file of ``metadata`` (columns ``schema``): row count, nulls, and
    minimum and maximum where they are exact (integers, dates, short strings; floats only given the ``table``
    written, to rule NaN out, which Parquet's bounds leave out), from the row groups' statistics the Parquet
    writer computed anyway.  Never timestamps: Delta keeps their statistics in milliseconds, and a truncated
    maximum would skip rows."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    groups = [metadata.row_group(g) for g in range(metadata.num_row_groups)]
    for i, field in enumerate(schema):
        stats = [group.column(i).statistics for group in groups]
        known = all(s is not None and s.has_null_count for s in stats)
        if table is not None or known:
            nulls[field.name] = table.column(i).null_count if table is not None else sum(s.null_count for s in stats)
        kind = field.type
        if not (pa.types.is_integer(kind) or pa.types.is_date32(kind) or pa.types.is_string(kind)
                or (pa.types.is_floating(kind) and table is not None)):  # fmt: skip
            continue
        bounds = [(s.min, s.max) for s in stats if s is not None and s.has_min_max]
        if len(bounds) != len(stats) or not bounds:  # a group without bounds (all null, or none written)
            continue
        low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
        if pa.types.is_floating(kind):
            assert table is not None
            if not (math.isfinite(low) and math.isfinite(high)) or pc.any(pc.is_nan(table.column(i))).as_py():
                continue
        elif pa.types.is_date32(kind):
            low, high = low.isoformat(), high.isoformat()
        elif pa.types.is_string(kind):
            low = low[:STATS_CHARS]  # a prefix is still a lower bound
            if len(high) > STATS_CHARS:
                mins[field.name] = low
                continue
        mins[field.name], maxs[field.name] = low, high
    return json.dumps({"numRecords": metadata.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls},
                      separators=(",", ":"))  # fmt: skip


def write_part(folder: str | os.PathLike[str], name: str, table_name: str, table: pa.Table,
               filesystem: Any | None = None, final: str | None = None) -> Part:
    """Write ``table`` as Parquet file ``name`` in ``folder`` (the Parquet output's settings); what to commit.
    With a ``pyarrow.fs`` ``filesystem`` the folder is a path on it; ``final``, when given, is the name the
    file is then moved to (a rename on the local file system, so a retried task replaces it whole)."""
    data = parquet_bytes(table_name, table)
    if filesystem is None:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    else:
        with filesystem.open_output_stream(f"{str(folder).rstrip('/')}/{name}") as f:
            f.write(data)
        if final is not None:
            filesystem.move(f"{str(folder).rstrip('/')}/{name}", f"{str(folder).rstrip('/')}/{final}")
            name = final
    stats = part_stats(table.schema, pq.read_metadata(pa.BufferReader(data)), table)
    return Part(name, data.size, table.num_rows, stats, int(time.time() * 1000), zlib.crc32(data))


def read_part(table_dir: str | os.PathLike[str], path: str) -> Part:
    """The :class:`Part` of Parquet file ``path`` (relative to ``table_dir``) that another writer made (a Spark
    executor, say), from its footer and its bytes."""
    where = Path(table_dir) / path
    data = where.read_bytes()
    metadata = pq.read_metadata(pa.BufferReader(data))
    stats = part_stats(metadata.schema.to_arrow_schema(), metadata)
    return Part(path, len(data), metadata.num_rows, stats, int(where.stat().st_mtime * 1000), zlib.crc32(data))


def _fields(schema: Any) -> list[tuple[str, Any]]:
    return [(f["name"], f["type"]) for f in json.loads(schema.to_json())["fields"]]


def existing_table(table_uri: str) -> Any | None:
    """The Delta table at ``table_uri``, or None when there is none."""
    dl = deltalake()
    return dl.DeltaTable(table_uri) if dl.DeltaTable.is_deltatable(table_uri) else None


def max_below(table_uri: str, column: str, below: int) -> int | None:
    """The largest value under ``below`` in integer ``column`` of the Delta table at ``table_uri`` (None when
    there is no table or no such value); one column is read."""
    import pyarrow.dataset as ds

    table = existing_table(table_uri)
    if table is None or column not in pa.schema(table.schema().to_arrow()).names:
        return None
    values = table.to_pyarrow_dataset().to_table(columns=[column], filter=ds.field(column) < below)
    top = pc.max(values.column(column)).as_py()
    return None if top is None else int(top)


def check_table(table_uri: str, schema: pa.Schema, mode: Mode, parts_inside: bool = False) -> None:
    """Refuse, in one line, to write ``schema`` to ``table_uri`` with ``mode`` when that cannot work: a table
    there and mode ``error``, a folder there that is not a Delta table (unless it holds the ``parts_inside``
    that are to be committed), an append of other columns."""
    table = existing_table(table_uri)
    if table is None:
        path = Path(table_uri)
        if path.exists() and (not path.is_dir() or (not parts_inside and any(path.iterdir()))):
            raise OutputError(f"'{table_uri}' exists and is not a Delta table: move it away or write elsewhere")
        return
    if mode == "error":
        raise OutputError(f"Delta table '{table_uri}' already exists (version {table.version()}): pass "
                          "--if-exists append to add a version or --if-exists replace to overwrite it")  # fmt: skip
    if mode == "append":
        ours, theirs = _fields(deltalake().Schema.from_arrow(schema)), _fields(table.schema())
        if ours != theirs:
            raise OutputError(f"Delta table '{table_uri}' has other columns than this run's "
                              f"({', '.join(n for n, _ in theirs)}): append needs the same columns; "
                              "--if-exists replace overwrites it")  # fmt: skip


def commit_parts(table_uri: str, schema: pa.Schema, parts: list[Part], mode: Mode = "error",
                 metadata: dict[str, Any] | None = None) -> int:
    """Add ``parts`` (Parquet files already in the table's folder) to the Delta table at ``table_uri`` in one
    commit and return the table's new version: the table is created (``error``: it must not exist yet), or
    given a version adding them (``append``) or replacing every file it had (``overwrite``).  ``metadata``
    goes into the commit's info."""
    dl = deltalake()
    from deltalake.transaction import AddAction, CommitProperties, create_table_with_add_actions

    check_table(table_uri, schema, mode, parts_inside=True)
    actions = [AddAction(p.path, p.size, {}, p.modification_time, True, p.stats) for p in parts]
    props = CommitProperties(custom_metadata=metadata) if metadata else None
    table = existing_table(table_uri)
    try:
        if table is None:
            create_table_with_add_actions(table_uri, dl.Schema.from_arrow(schema), actions, mode="error",
                                          commit_properties=props)  # fmt: skip
        else:
            table.create_write_transaction(actions, mode, schema, commit_properties=props)
    except Exception as err:  # noqa: BLE001 - deltalake's errors (a commit conflict, storage) as one line
        if isinstance(err, OutputError):
            raise
        raise OutputError(f"cannot commit Delta table '{table_uri}': {' '.join(str(err).split())[:300]}") from None
    return int(dl.DeltaTable(table_uri).version())


class DeltaPartWriter:
    """Writes each task's tables as Parquet parts into per-table folders (in the workers) and names them in
    the receipt; a table without rows in a task gets no part."""

    def __init__(self, folders: dict[str, str], token: str) -> None:
        self.folders = folders
        self.token = token

    def write(self, task: int, batch: Batch) -> Receipt:
        rows, sizes, crcs, parts = {}, {}, {}, {}
        for name, folder in self.folders.items():
            table = batch[name]
            rows[name], sizes[name], crcs[name] = table.num_rows, 0, 0
            if table.num_rows:
                part = parts[name] = write_part(folder, part_name(task, self.token), name, table)
                sizes[name], crcs[name] = part.size, part.crc32
        return Receipt(task, rows, sizes, crcs, parts)

    def close(self) -> None:
        pass


class DeltaSink(PartedOutput):
    """``--format delta``: one Delta table per table, in folder ``OUT/<table>/``, committed once at the end
    (``--if-exists`` fail, append or replace, read at ``open``); the run's manifest.json stays beside them."""

    name = "delta"
    capabilities = Capabilities(parallel_parts=True)

    def __init__(self, staging: Staging) -> None:
        super().__init__(staging)
        self.token = uuid.uuid4().hex[:12]
        self.parts: dict[str, list[Part]] = {}
        self.versions: dict[str, int] = {}

    @property
    def mode(self) -> Mode:
        return MODES[self.if_exists]

    def table_uri(self, table: str) -> str:
        return str(self.staging.out / table)

    def open(self, schemas: dict[str, pa.Schema]) -> None:
        deltalake()
        self.schemas = schemas
        for name, schema in schemas.items():
            check_table(self.table_uri(name), schema, self.mode)
            self.staging.path(name).mkdir()
            self.rows[name] = 0
            self.parts[name] = []

    def part_writer(self, ctx: Any | None = None) -> DeltaPartWriter:
        """A writer of Parquet parts into the staging folder; picklable, so workers write their own."""
        return DeltaPartWriter({n: str(self.staging.path(n)) for n in self.schemas or {}}, self.token)

    def record(self, receipt: Receipt) -> None:
        """Note a task's parts; receipts must come in task order (the commit lists parts in it)."""
        self.take(receipt)
        for name, rows in receipt.rows.items():
            self.rows[name] += rows
        for name, part in receipt.parts.items():
            self.parts[name].append(part)

    def close(self) -> None:
        for name, parts in self.parts.items():
            for part in parts:
                actual = self.staging.path(name).joinpath(part.path).stat().st_size
                if actual != part.size:
                    raise OutputError(f"{name}/{part.path} has {actual} bytes, expected {part.size}")

    def abort(self) -> None:
        pass  # the parts are in the staging folder, which goes with it

    def publish(self) -> bool:
        """Move each table's parts into its folder and commit it, one version per table, in table order."""
        from .. import __version__

        assert self.schemas is not None, "open() comes first"
        for name, schema in self.schemas.items():
            target = Path(self.table_uri(name))
            target.mkdir(parents=True, exist_ok=True)
            moved: list[Path] = []
            try:
                for part in self.parts[name]:
                    os.replace(self.staging.path(name) / part.path, target / part.path)
                    moved.append(target / part.path)
                self.staging.path(name).rmdir()
                self.versions[name] = commit_parts(str(target), schema, self.parts[name], self.mode,
                                                   {"pii_gen": __version__, "rows": self.rows[name]})
            except BaseException:
                for path in moved:  # never committed: nothing refers to them
                    path.unlink(missing_ok=True)
                raise
        return True

    def checksums(self) -> dict[str, dict[str, object]]:
        return {
            name: {"table": name, "rows": self.rows[name], "bytes": sum(p.size for p in parts),
                   "delta_version": self.versions.get(name), "mode": self.mode,
                   "parts": [{"path": p.path, "rows": p.rows, "bytes": p.size, "crc32": f"{p.crc32:08x}"}
                             for p in parts]}
            for name, parts in self.parts.items()
        }  # fmt: skip
