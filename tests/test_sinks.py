"""One contract every sink honours: what goes in comes back out, and a failure leaves nothing."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.packs.person.contract import TABLES
from pii_gen.sinks import Staging, file_sink
from pii_gen.sinks.codecs import CsvCodec
from pii_gen.sinks.direct import crc32_combine


def read_back(fmt: str, path: Path, schema: pa.Schema) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "csv":
        opts = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False)
        return pacsv.read_csv(path, convert_options=opts)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    columns = [pa.array([r[f.name] for r in rows]).cast(f.type) for f in schema] if rows else []
    return pa.Table.from_arrays(columns, schema=schema) if rows else schema.empty_table()


@pytest.fixture(scope="module")
def batches() -> list[dict[str, pa.Table]]:
    gen = PersonGenerator(GenerateConfig(seed=21))
    parts = list(gen.iter_batches(25_000, 10_000))
    # Values a writer must escape or quote correctly.
    awkward = pa.array(['Anne "Nan" O\'Neil', "back\\slash", "comma, inside", "tab\there", "line\nbreak", "Zoë"])
    p = parts[0]["persons"]
    idx = p.schema.get_field_index("nickname")
    nick = pa.concat_arrays([awkward, p.column(idx).combine_chunks().slice(len(awkward))])
    parts[0]["persons"] = p.set_column(idx, p.schema.field(idx), nick)
    return parts


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_round_trip(tmp_path, fmt, batches):
    staging = Staging(tmp_path)
    with file_sink(fmt, staging) as sink:
        sink.open({n: t.arrow_schema for n, t in TABLES.items()})
        for b in batches:
            sink.write(b)
    staging.commit()
    for name, spec in TABLES.items():
        want = pa.concat_tables([b[name] for b in batches])
        got = read_back(fmt, tmp_path / f"{name}.{fmt}", spec.arrow_schema)
        assert sink.rows[name] == want.num_rows
        assert got.num_rows == want.num_rows
        for c in spec.columns:
            assert got.column(c.name).to_pylist() == want.column(c.name).to_pylist(), (fmt, name, c.name)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_failure_leaves_nothing(tmp_path, fmt, batches):
    staging = Staging(tmp_path)
    with pytest.raises(RuntimeError):
        with file_sink(fmt, staging) as sink:
            sink.open({n: t.arrow_schema for n, t in TABLES.items()})
            sink.write(batches[0])
            raise RuntimeError("disk on fire")
    staging.abort()
    assert list(tmp_path.iterdir()) == []


def test_csv_of_chunks_without_rows_is_the_rows_csv():
    """Empty chunks first (a ledger concatenated from blocks without rows): pyarrow's writer alone writes zero
    bytes and stray memory for them; the codec writes the rows' CSV, as for the combined table."""
    empty = pa.array([], pa.string())
    table = pa.table(
        {
            "effect": pa.chunked_array([empty, empty, pa.array(["outage", "late"]), empty, pa.array(["late"])]),
            "row_key": pa.chunked_array([pa.array([], pa.int64())] * 2 + [pa.array([7, 8]), pa.array([], pa.int64()),
                                         pa.array([9])]),
        }
    )  # fmt: skip
    assert CsvCodec().encode(table) == b'"outage",7\n"late",8\n"late",9\n'
    assert CsvCodec().encode(table) == CsvCodec().encode(table.combine_chunks())
    assert CsvCodec().encode(table.slice(0, 0)) == b""


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_crc32_combine_matches_zlib(a, b):
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_capabilities_are_declared_and_a_false_declaration_is_refused():
    from pii_gen.errors import RegistryError
    from pii_gen.sinks.base import Capabilities, Sink
    from pii_gen.sinks.database import DatabaseSink

    assert [file_sink(f, None).capabilities for f in ("csv", "jsonl", "parquet")] == [  # type: ignore[arg-type]
        Capabilities(parallel_parts=True), Capabilities(parallel_parts=True),
        Capabilities(parallel_parts=True, blocks_per_task=5),
    ]  # fmt: skip
    assert DatabaseSink.capabilities == Capabilities(transactional=True)
    with pytest.raises(RegistryError, match=r"Boasting declares parallel_parts but does not implement part_writer"):

        class Boasting(Sink):
            capabilities = Capabilities(parallel_parts=True)
