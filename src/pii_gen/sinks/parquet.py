"""Parquet output (``--format parquet``): one file per table, its row groups encoded by the workers.

Each task's rows of a table are encoded by the worker that made them, as a whole Parquet file in memory;
the worker writes that file's row groups (everything between the leading magic and the footer) into the
output file at the offset its task claimed, as CSV chunks are written, and hands back only the footer.  The
parent moves each footer's byte offsets by where its row groups landed and, at the end, writes one footer
listing every row group in task order.  The file is byte for byte what one ``pyarrow.parquet.ParquetWriter``
writing the same row groups in order would make.

A task is a fixed number of blocks for this output (:data:`BLOCKS_PER_ROW_GROUP`), whatever the run's batch
size, so row groups, and with them the file, are the same for every batch size and worker count.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..packs.person.contract import TABLES
from . import thrift
from .base import Capabilities
from .direct import Receipt
from .files import FileSink, Staging

MAGIC = b"PAR1"
#: Blocks of root rows per task, and so per row group (larger tables split at :data:`ROW_GROUP` rows).
BLOCKS_PER_ROW_GROUP = 5
#: Most rows in one row group (a table with many rows per root row splits its task's rows at it).
ROW_GROUP = 131_072


def parquet_options(table: str, schema: pa.Schema) -> dict[str, Any]:
    """The Parquet writer settings of table ``table`` (zstd level 1; dictionaries only for the columns with few
    distinct values: the population's repetitive columns, a schema file's text columns), one place for every
    output that writes Parquet (the file per table, Delta part files).  Keys, numbers and times are left out
    of dictionaries: trying one costs more than it saves, the encoder giving up on most of them."""
    if table in TABLES:
        dictionary = TABLES[table].repetitive_columns
    else:
        dictionary = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                      or pa.types.is_dictionary(f.type)]
    return {"compression": "zstd", "compression_level": 1, "use_dictionary": dictionary}


def parquet_bytes(table_name: str, table: pa.Table, row_group: int = ROW_GROUP) -> pa.Buffer:
    """``table`` as one Parquet file in memory, with :func:`parquet_options` and row groups of ``row_group`` rows."""
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, table.schema, **parquet_options(table_name, table.schema)) as writer:
        for start in range(0, table.num_rows, row_group):
            writer.write_table(table.slice(start, row_group), row_group_size=row_group)
    return sink.getvalue()


def split_file(data: pa.Buffer) -> tuple[pa.Buffer, bytes]:
    """A Parquet file's row groups (the bytes between its leading magic and its footer) and its footer."""
    (size,) = struct.unpack("<I", data[-8:-4].to_pybytes())
    if data[:4].to_pybytes() != MAGIC or data[-4:].to_pybytes() != MAGIC or size + 12 > data.size:
        raise ValueError("not a Parquet file")
    end = data.size - 8 - size
    return data.slice(4, end - 4), data[end:data.size - 8].to_pybytes()


# FileMetaData fields: 3 num_rows, 4 row_groups; RowGroup: 1 columns, 5 file_offset, 7 ordinal;
# ColumnChunk: 2 file_offset, 3 meta_data, 4/6 offset and column index offsets; ColumnMetaData: 9 data, 10 index and
# 11 dictionary page offsets, 14 bloom filter offset.
_NUM_ROWS, _ROW_GROUPS = 3, 4
_RG_COLUMNS, _RG_OFFSET, _RG_ORDINAL = 1, 5, 7
_CC_OFFSET, _CC_META, _CC_INDEXES = 2, 3, (4, 6)
_MD_OFFSETS, _MD_BLOOM = (9, 10, 11), 14
_I16_MAX = 32_767


def _moved(field: thrift.Field | None, shift: int) -> None:
    if field is not None and field.value:  # 0 is "not set" in the footers pyarrow writes
        field.value += shift


class Footer:
    """The footer of one Parquet file being stitched from parts: the first part's schema and metadata, and
    every part's row groups, their offsets moved to where their bytes landed."""

    def __init__(self, template: bytes) -> None:
        self.fields = thrift.read_struct(template)
        self.rows = 0
        self.groups: list[bytes] = []  # each row group encoded, in order

    def add(self, footer: bytes, shift: int) -> None:
        """Append the row groups of a part's ``footer`` whose row groups start ``shift`` bytes further on."""
        meta = thrift.read_struct(footer)
        rows = thrift.field(meta, _NUM_ROWS)
        groups = thrift.field(meta, _ROW_GROUPS)
        self.rows += rows.value if rows else 0
        for group in groups.value.items if groups else []:
            _moved(thrift.field(group, _RG_OFFSET), shift)
            for chunk in thrift.field(group, _RG_COLUMNS).value.items:
                if any(thrift.field(chunk, i) for i in _CC_INDEXES):
                    raise thrift.ThriftError("a Parquet part with a page index cannot be stitched")
                _moved(thrift.field(chunk, _CC_OFFSET), shift)
                meta_data = thrift.field(chunk, _CC_META).value
                if thrift.field(meta_data, _MD_BLOOM):
                    raise thrift.ThriftError("a Parquet part with bloom filters cannot be stitched")
                for i in _MD_OFFSETS:
                    _moved(thrift.field(meta_data, i), shift)
            ordinal = thrift.field(group, _RG_ORDINAL)
            if ordinal is not None:
                if len(self.groups) > _I16_MAX:  # the field is 16 bits: past it, a writer leaves it out
                    group.remove(ordinal)
                else:
                    ordinal.value = len(self.groups)
            self.groups.append(thrift.write_value(thrift.STRUCT, group))  # encoded now: the parent keeps bytes

    def encode(self) -> bytes:
        """The stitched footer, as it goes before the file's closing length and magic."""
        for f in self.fields:
            if f.id == _NUM_ROWS:
                f.value = self.rows
            elif f.id == _ROW_GROUPS:
                f.value = thrift.Sequence(thrift.STRUCT, [thrift.Raw(g) for g in self.groups])
        return thrift.write_struct(self.fields)


class ParquetCodec:
    """A task's rows of a table as Parquet row groups (the bytes to append) and the footer describing them."""

    extension = "parquet"

    def header(self, schema: pa.Schema) -> bytes:
        return MAGIC

    def encode(self, table: pa.Table) -> bytes:
        raise NotImplementedError("Parquet parts are encoded per table: use encode_part")

    def encode_part(self, name: str, table: pa.Table) -> tuple[Any, bytes | None]:
        if table.num_rows == 0:
            return b"", None
        return split_file(parquet_bytes(name, table))


class ParquetSink(FileSink):
    """``--format parquet``: one Parquet file per table, zstd-compressed, a row group per task
    (:data:`BLOCKS_PER_ROW_GROUP` blocks; split at :data:`ROW_GROUP` rows); columns with few distinct values
    are dictionary-encoded, the others (SSNs, e-mails, card numbers) are not.  Workers encode and write the
    row groups; this process only stitches the footers."""

    name = "parquet"
    capabilities = Capabilities(parallel_parts=True, blocks_per_task=BLOCKS_PER_ROW_GROUP)

    def __init__(self, staging: Staging) -> None:
        super().__init__(staging, ParquetCodec())
        self.footers: dict[str, Footer] = {}

    def open(self, schemas: dict[str, pa.Schema]) -> None:
        super().open(schemas)
        for name, schema in schemas.items():
            self.footers[name] = Footer(split_file(parquet_bytes(name, schema.empty_table()))[1])

    def record(self, receipt: Receipt) -> None:
        starts = dict(self.sizes)
        super().record(receipt)
        for name, footer in receipt.parts.items():
            self.footers[name].add(footer, starts[name] - len(MAGIC))

    def close(self) -> None:
        for name, footer in self.footers.items():
            tail = footer.encode()
            tail += struct.pack("<I", len(tail)) + MAGIC
            with open(self.staging.path(self.file_name(name)), "ab") as f:
                f.write(tail)
            self.crcs[name] = zlib.crc32(tail, self.crcs[name])
            self.sizes[name] += len(tail)
        super().close()
