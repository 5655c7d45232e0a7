"""Parquet files stitched from parts the workers encoded: Thrift's compact protocol read and written back
exactly, and a stitched file byte for byte what one writer makes, for any worker count and batch size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gen.packs.person.contract import TABLES
from pii_gen.sinks import Staging, file_sink
from pii_gen.sinks import thrift
from pii_gen.sinks.parquet import BLOCKS_PER_ROW_GROUP, ROW_GROUP, Footer, parquet_bytes, parquet_options, split_file

ROOT = Path(__file__).resolve().parents[1]


def _values(kind: int) -> st.SearchStrategy:
    if kind == thrift.TRUE:
        return st.booleans()
    if kind == thrift.BYTE:
        return st.integers(-128, 127)
    if kind == thrift.I16:
        return st.integers(-(2**15), 2**15 - 1)
    if kind == thrift.I32:
        return st.integers(-(2**31), 2**31 - 1)
    if kind == thrift.I64:
        return st.integers(-(2**63), 2**63 - 1)
    if kind == thrift.DOUBLE:
        return st.floats(allow_nan=False)
    return st.binary(max_size=40)


SCALARS = [thrift.TRUE, thrift.BYTE, thrift.I16, thrift.I32, thrift.I64, thrift.DOUBLE, thrift.BINARY]


@st.composite
def structs(draw: st.DrawFn, depth: int = 2) -> list[thrift.Field]:
    ids = sorted(draw(st.sets(st.integers(1, 400), max_size=8)))
    fields = []
    for id_ in ids:
        kinds = SCALARS + ([thrift.LIST, thrift.MAP, thrift.STRUCT] if depth else [])
        kind = draw(st.sampled_from(kinds))
        if kind == thrift.LIST:
            elem = draw(st.sampled_from(SCALARS))
            value = thrift.Sequence(elem, draw(st.lists(_values(elem), max_size=20)), draw(st.booleans()))
            kind = thrift.SET if value.set else thrift.LIST
        elif kind == thrift.MAP:
            k, v = draw(st.sampled_from(SCALARS)), draw(st.sampled_from(SCALARS))
            items = draw(st.lists(st.tuples(_values(k), _values(v)), max_size=5))
            value = thrift.Mapping(k if items else 0, v if items else 0, items)
        elif kind == thrift.STRUCT:
            value = draw(structs(depth - 1))
        else:
            value = draw(_values(kind))
        fields.append(thrift.Field(id_, kind, value))
    return fields


@settings(max_examples=300, deadline=None)
@given(structs())
def test_compact_protocol_reads_back_what_it_wrote_and_writes_the_same_bytes(value):
    data = thrift.write_struct(value)
    back = thrift.read_struct(data)
    assert back == value
    assert thrift.write_struct(back) == data


def test_a_pyarrow_footer_reads_and_writes_back_byte_for_byte_and_truncation_is_refused():
    table = pa.table({"k": np.arange(40_000), "flag": np.arange(40_000) % 3 == 0,
                      "x": pa.array([[1, 2]] * 40_000), "s": pa.array([None, "a", "bb", "é"] * 10_000)})  # fmt: skip
    _, footer = split_file(parquet_bytes("x", table, row_group=16_384))
    meta = thrift.read_struct(footer)
    assert thrift.write_struct(meta) == footer
    assert thrift.field(meta, 3).value == 40_000  # num_rows
    assert len(thrift.field(meta, 4).value.items) == 3  # row groups
    with pytest.raises(thrift.ThriftError, match="ends early"):
        thrift.read_struct(footer[:-5])
    with pytest.raises(ValueError, match="not a Parquet file"):
        split_file(pa.py_buffer(b"PAR1" + b"\0" * 20))


def _one_writer(name: str, table: pa.Table, sizes: list[int]) -> bytes:
    """``table`` written by one pyarrow writer, row groups of ``sizes`` rows in order."""
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, table.schema, **parquet_options(name, table.schema)) as writer:
        start = 0
        for size in sizes:
            writer.write_table(table.slice(start, size), row_group_size=size)
            start += size
    return sink.getvalue().to_pybytes()


def test_parts_stitched_are_the_file_one_writer_makes(tmp_path):
    """Parts of unequal sizes, one empty, one past ROW_GROUP rows (two row groups): the sink's file is the bytes
    one writer makes of the same row groups, the rows read back, and each row group's statistics are its own."""
    schema = pa.schema([("id", pa.int64()), ("city", pa.string()), ("score", pa.float64())])
    sizes = [7, 0, ROW_GROUP + 5, 1_000]
    parts, first = [], 0
    for n in sizes:
        ids = np.arange(first, first + n)
        parts.append(pa.table({"id": ids, "city": pa.array([f"c{i % 9}" for i in ids], pa.string()),
                               "score": ids / 7.0}, schema=schema))  # fmt: skip
        first += n
    staging = Staging(tmp_path)
    with file_sink("parquet", staging) as sink:
        sink.open({"things": schema})
        for part in parts:
            sink.write({"things": part})
    staging.commit()
    data = (tmp_path / "things.parquet").read_bytes()
    whole = pa.concat_tables(parts)
    assert data == _one_writer("things", whole, [7, ROW_GROUP, 5, 1_000])
    back = pq.read_table(tmp_path / "things.parquet")
    assert back.equals(whole)
    meta = pq.read_metadata(tmp_path / "things.parquet")
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [7, ROW_GROUP, 5, 1_000]
    assert [meta.row_group(g).column(0).statistics.min for g in range(4)] == [0, 7, 7 + ROW_GROUP, 12 + ROW_GROUP]
    assert sink.checksums()["things.parquet"]["bytes"] == len(data)


def test_a_table_without_rows_is_a_valid_empty_file(tmp_path):
    schema = pa.schema([("id", pa.int64())])
    staging = Staging(tmp_path)
    with file_sink("parquet", staging) as sink:
        sink.open({"none": schema})
        sink.write({"none": schema.empty_table()})
    staging.commit()
    assert (tmp_path / "none.parquet").read_bytes() == _one_writer("none", schema.empty_table(), [])
    assert pq.read_table(tmp_path / "none.parquet").num_rows == 0


def test_a_footer_keeps_its_schema_and_counts_the_rows_it_was_given():
    table = pa.table({"a": np.arange(10)})
    footer = Footer(split_file(parquet_bytes("t", table.slice(0, 0)))[1])
    body, part = split_file(parquet_bytes("t", table))
    footer.add(part, 100)
    meta = thrift.read_struct(footer.encode())
    assert thrift.field(meta, 3).value == 10
    groups = thrift.field(meta, 4).value.items
    assert thrift.field(groups[0], 5).value == 4 + 100  # the row group's bytes start after the magic, moved


def test_generated_parquet_is_the_same_for_any_worker_count_and_batch_size(tmp_path):
    """120,000 people are three tasks of the Parquet output (50,000, 50,000, 20,000 people) whatever the batch
    size, so one worker with small batches and two with large ones write the same bytes."""
    people = 2 * BLOCKS_PER_ROW_GROUP * 10_000 + 20_000
    outs = {}
    for workers, batch in ((1, 7_000), (2, 200_000)):
        out = tmp_path / f"w{workers}"
        r = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", str(people), "--seed", "5",
                            "--workers", str(workers), "--batch-size", str(batch), "--format", "parquet",
                            "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=600)  # fmt: skip
        assert r.returncode == 0, r.stderr
        outs[workers] = {name: (out / f"{name}.parquet").read_bytes() for name in TABLES}
    assert outs[1] == outs[2]
    meta = pq.read_metadata(pa.BufferReader(outs[1]["persons"]))
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [50_000, 50_000, 20_000]
    assert meta.num_rows == people
