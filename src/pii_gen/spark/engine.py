"""The Spark backend's machinery (imports pyspark: reached only through :mod:`pii_gen.spark`).

One run is one DataFrame of blocks, ``spark.range(blocks, numPartitions=P).mapInArrow(...)``: row ``b`` holds
block ``b`` of every table as an Arrow IPC stream, one binary column per table, made by the pack's runtime in
an executor from the plan the driver built (shipped as JSON in a broadcast).  Each table's DataFrame decodes
its column of that DataFrame, which is persisted (memory, then local disk) so that writing every table
generates every block once, not once per table.  Blocks are pure functions of (seed, table, block), so the
rows are those of a local run at any number of partitions, with no shuffle and no row ever on the driver.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.accumulators import AccumulatorParam
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import BinaryType, LongType, StructField, StructType

from ..backends.base import BlockDone, CancelToken, Memory, OnEvent
from ..backends.local import _rss_all
from ..core.plan import RunPlan
from ..planning import runtime

#: Compression of a block's IPC streams while they are cached between the generating job and the writes.
IPC_COMPRESSION = "lz4"
#: Runtimes an executor's Python worker keeps (one per plan): loading reference data is its start-up cost.
KEPT_RUNTIMES = 2
POLL_SECONDS = 0.25

_runtimes: OrderedDict[str, Any] = OrderedDict()


class BlockRows(AccumulatorParam):
    """Accumulates {block: {table: rows}}.  Merging is idempotent (a recomputed block brings the same entry),
    and a merge makes a new dict, so the driver's progress thread never sees one change while it reads."""

    def zero(self, value: dict) -> dict:
        return {}

    def addInPlace(self, value1: dict, value2: dict) -> dict:
        return {**value1, **value2}


def _runtime(digest: str, plan_json: str) -> Any:
    """The runtime of a plan in this Python worker, built once (workers are reused across tasks)."""
    gen = _runtimes.get(digest)
    if gen is None:
        gen = runtime(RunPlan.from_json(plan_json))
        _runtimes[digest] = gen
        while len(_runtimes) > KEPT_RUNTIMES:
            _runtimes.popitem(last=False)
    return gen


def _ipc(table: pa.Table) -> bytes | None:
    """A table as one compressed Arrow IPC stream (None for no rows: most blocks of a vocab table)."""
    if table.num_rows == 0:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression=IPC_COMPRESSION)) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _blocks(plan_json: Any, digest: str, names: list[str], done: Any) -> Callable[[Iterator[pa.RecordBatch]],
                                                                                  Iterator[pa.RecordBatch]]:
    """The executors' function: block numbers in, each block's tables out (one IPC stream per table)."""
    schema = pa.schema([("block", pa.int64())] + [(name, pa.binary()) for name in names])

    def generate(ids: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        gen = _runtime(digest, plan_json.value)
        plan = gen.plan
        for ids_batch in ids:
            for block in ids_batch.column(0).to_pylist():  # block numbers, a few per partition
                tables = gen.batch(plan.population(block + 1), block, block + 1)
                row = pa.RecordBatch.from_arrays(
                    [pa.array([block], pa.int64())] + [pa.array([_ipc(tables[n])], pa.binary()) for n in names],
                    schema=schema)
                done.add({block: {n: tables[n].num_rows for n in names}})
                yield row

    return generate


def _decode(ipc: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One table's column of the blocks DataFrame back into its record batches."""
    for batch in ipc:
        for value in batch.column(0):
            if value.is_valid:
                yield from pa.ipc.open_stream(value.as_buffer())


def spark_schema(schema: pa.Schema) -> StructType:
    """The Spark schema of a contract table (a timestamp without zone is Spark's TIMESTAMP_NTZ)."""
    return from_arrow_schema(schema)


class SparkTables(dict):
    """One DataFrame per table of a run, in the plan's order, with what a write needs: the plan, the blocks
    DataFrame they all read (persisted), and the accumulator of blocks made."""

    plan: RunPlan
    blocks: DataFrame
    done: Any
    partitions: int


def dataframes(spark: SparkSession, plan: RunPlan, partitions: int | None = None,
               storage: StorageLevel = StorageLevel.MEMORY_AND_DISK) -> SparkTables:
    """The tables of ``plan`` as DataFrames over ``partitions`` partitions (default: four per core of the
    session, at most one per block; more leave some empty), generated lazily, once, by the executors."""
    sc = spark.sparkContext
    blocks = plan.blocks
    p = partitions or max(1, min(blocks, 4 * sc.defaultParallelism))  # more than blocks: some stay empty
    names = list(plan.tables)
    text = plan.to_json()
    digest = hashlib.sha256(text.encode()).hexdigest()
    done = sc.accumulator({}, BlockRows())
    schema = StructType([StructField("block", LongType(), False)] + [StructField(n, BinaryType(), True) for n in names])
    base = spark.range(blocks, numPartitions=p).mapInArrow(_blocks(sc.broadcast(text), digest, names, done), schema)
    base = base.persist(storage)
    out = SparkTables()
    for name, table in plan.tables.items():
        out[name] = base.select(f"`{name}`").mapInArrow(_decode, spark_schema(table.arrow_schema))
    out.plan, out.blocks, out.done, out.partitions = plan, base, done, p
    return out


def people_of(plan: RunPlan, block: int) -> int:
    """People a block holds, as the local backend counts them (duplicate records left out)."""
    size = plan.keys.block_size
    return min((block + 1) * size, plan.population(block + 1)) - block * size


class Watcher(threading.Thread):
    """A driver thread that turns the accumulator of blocks made into the backend's events while the write jobs
    run, keeps the peak memory of the process tree (the JVM and its Python workers in local mode) and cancels
    the run's jobs when the token is cancelled."""

    def __init__(self, tables: SparkTables, cancel: CancelToken, on_event: OnEvent | None, group: str) -> None:
        super().__init__(name="pii_gen-spark-progress", daemon=True)
        self.tables, self.cancel, self.on_event, self.group = tables, cancel, on_event, group
        self.seen: set[int] = set()
        self.peak_rss = 0
        self.people = 0
        self._done = threading.Event()

    def run(self) -> None:
        sc = self.tables.blocks.sparkSession.sparkContext
        cancelled = False
        while not self._done.wait(POLL_SECONDS):
            self.poll()
            if self.cancel.cancelled and not cancelled:
                cancelled = True
                sc.cancelJobGroup(self.group)

    def poll(self) -> None:
        done: Mapping[int, Mapping[str, int]] = self.tables.done.value
        new = [b for b in done if b not in self.seen]
        rss = _rss_all()
        self.peak_rss = max(self.peak_rss, rss)
        if not new:
            return
        self.seen.update(new)
        people = sum(people_of(self.tables.plan, b) for b in new)
        self.people += people
        if self.on_event is not None:
            tables: dict[str, int] = {}
            for b in new:
                for name, rows in done[b].items():
                    tables[name] = tables.get(name, 0) + rows
            self.on_event(BlockDone(people, sum(tables.values()), tables))
            self.on_event(Memory(rss))

    def stop(self) -> None:
        self._done.set()
        self.join()
        self.poll()


def job_group() -> str:
    return f"pii_gen-{uuid.uuid4().hex[:12]}"


# -- the direct write: executors write Parquet parts themselves, the driver only gets their metadata ---------------

#: The metadata row of one part an executor wrote (never a data row reaches the driver).
PART_FIELDS = [("table", pa.string()), ("block", pa.int64()), ("path", pa.string()), ("size", pa.int64()),
               ("rows", pa.int64()), ("stats", pa.string()), ("mtime", pa.int64()), ("crc32", pa.int64())]


def filesystem(uri: str) -> tuple[Any, str]:
    """The ``pyarrow.fs`` file system of an output folder or URI and the path on it (``s3a://`` is S3 to
    pyarrow, ``dbfs:/`` is the ``/dbfs`` mount on Databricks; a plain path is made absolute)."""
    from pyarrow import fs

    if uri.startswith(("s3a://", "s3n://")):
        uri = "s3://" + uri.split("://", 1)[1]
    elif uri.startswith("dbfs:/"):
        uri = "/dbfs/" + uri[len("dbfs:/"):].lstrip("/")
    if "://" not in uri:
        return fs.LocalFileSystem(), os.path.abspath(uri)
    return fs.FileSystem.from_uri(uri)


def _write_blocks(plan_json: Any, digest: str, names: list[str], done: Any, uri: str,
                  folders: dict[str, str], token: str) -> Callable[[Iterator[pa.RecordBatch]],
                                                                   Iterator[pa.RecordBatch]]:
    """The executors' function of the direct write: block numbers in, one Parquet part per (table, block) with
    rows written into ``folders[table]``, the parts' metadata out.  A part's name holds its block and the run's
    token, so a retried or speculative attempt writes the same file (the same bytes) and the driver, which
    commits only the list the job returns, never counts it twice."""
    from ..sinks.delta import part_name, write_part

    schema = pa.schema(PART_FIELDS)

    def generate(ids: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyarrow import fs

        gen = _runtime(digest, plan_json.value)
        plan = gen.plan
        filesys, _ = filesystem(uri)
        local = isinstance(filesys, fs.LocalFileSystem)  # an object store's put is whole already; a file is not
        for ids_batch in ids:
            for block in ids_batch.column(0).to_pylist():
                tables = gen.batch(plan.population(block + 1), block, block + 1)
                rows: list[tuple] = []
                for name in names:
                    table = tables[name]
                    if table.num_rows == 0:
                        continue
                    final = part_name(block, token)
                    temp = f".{final}.{uuid.uuid4().hex[:8]}.tmp" if local else final
                    part = write_part(folders[name], temp, name, table, filesys, final if local else None)
                    rows.append((name, block, part.path, part.size, part.rows, part.stats, part.modification_time,
                                 part.crc32))
                done.add({block: {n: tables[n].num_rows for n in names}})
                yield pa.RecordBatch.from_arrays([pa.array(list(col), t) for col, (_, t) in
                                                  zip(zip(*rows), PART_FIELDS)] if rows else
                                                 [pa.array([], t) for _, t in PART_FIELDS], schema=schema)

    return generate


def write_parts(spark: SparkSession, plan: RunPlan, uri: str, folders: dict[str, str], token: str,
                partitions: int | None, cancel: CancelToken, on_event: OnEvent | None) -> tuple[
                    dict[str, list[Any]], SparkTables, Watcher]:
    """Run the direct write's one job: every block's tables written as parts into ``folders`` by the executors;
    the parts per table in block order (:class:`~pii_gen.sinks.delta.Part`), with the progress watcher."""
    from ..sinks.delta import Part

    sc = spark.sparkContext
    p = partitions or max(1, min(plan.blocks, 4 * sc.defaultParallelism))
    names = list(plan.tables)
    text = plan.to_json()
    digest = hashlib.sha256(text.encode()).hexdigest()
    done = sc.accumulator({}, BlockRows())
    spark_parts = from_arrow_schema(pa.schema(PART_FIELDS))
    job = spark.range(plan.blocks, numPartitions=p).mapInArrow(
        _write_blocks(sc.broadcast(text), digest, names, done, uri, folders, token), spark_parts)
    tables = SparkTables()
    tables.plan, tables.blocks, tables.done, tables.partitions = plan, job, done, p
    group = job_group()
    watcher = Watcher(tables, cancel, on_event, group)
    sc.setJobGroup(group, "pii_gen generate (direct write)", interruptOnCancel=True)
    watcher.start()
    try:
        got = [row.asDict() for row in job.collect()]  # a few small rows per block
    finally:
        watcher.stop()
        sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    parts: dict[str, list[Any]] = {name: [] for name in names}
    for row in sorted(got, key=lambda r: (r["block"], r["table"])):
        parts[row["table"]].append(Part(row["path"], row["size"], row["rows"], row["stats"], row["mtime"],
                                        row["crc32"]))
    return parts, tables, watcher
