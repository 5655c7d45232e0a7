"""CSV and JSON Lines encoding of whole Arrow tables, without a per-row loop."""

from __future__ import annotations

import io
import json
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv


_CONTROL_ESCAPES = [("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")] + [
    (chr(c), f"\\u{c:04x}") for c in range(32) if chr(c) not in "\n\r\t"
]


class TextCodec:
    """A codec whose bytes say everything about themselves: a part is its bytes alone."""

    def encode(self, table: pa.Table) -> bytes:
        raise NotImplementedError

    def encode_part(self, name: str, table: pa.Table) -> tuple[bytes, None]:
        return self.encode(table), None


class CsvCodec(TextCodec):
    """RFC 4180 CSV: a header row, strings quoted, empty field for null, ISO dates."""

    extension = "csv"

    def header(self, schema: pa.Schema) -> bytes:
        buf = io.BytesIO()
        pacsv.write_csv(schema.empty_table(), buf, pacsv.WriteOptions(include_header=True))
        return buf.getvalue()

    def encode(self, table: pa.Table) -> bytes:
        # pyarrow's CSV writer writes garbage (zero bytes, stray memory) for a table whose first batch is
        # empty, as a concatenation of blocks without rows (the effects ledger) is: leave those batches out
        batches = table.to_batches()
        if any(batch.num_rows == 0 for batch in batches):
            table = pa.Table.from_batches([batch for batch in batches if batch.num_rows], schema=table.schema)
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, batch_size=65_536))
        return sink.getvalue().to_pybytes()


class JsonlCodec(TextCodec):
    """One JSON object per line, keys in schema order, null for missing values."""

    extension = "jsonl"

    def header(self, schema: pa.Schema) -> bytes:
        return b""

    def encode(self, table: pa.Table) -> bytes:
        if table.num_rows == 0:
            return b""
        parts: list[pa.Array | str] = []
        for i, field in enumerate(table.schema):
            key = json.dumps(field.name)
            parts.append(("{" if i == 0 else ",") + key + ":")
            parts.append(_json_values(table.column(i).combine_chunks(), field.type))
        parts.append("}\n")
        lines = pc.binary_join_element_wise(*parts, "")
        return _concat_strings(lines)


def _json_values(arr: pa.Array, type_: pa.DataType) -> pa.Array:
    """Each value as a JSON literal string ("null" for nulls)."""
    if pa.types.is_string(type_):
        escaped = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        if not pc.all(pc.utf8_is_printable(escaped)).as_py():
            for ch, esc in _CONTROL_ESCAPES:
                escaped = pc.replace_substring(escaped, ch, esc)
        text = pc.binary_join_element_wise('"', escaped, '"', "")
    elif pa.types.is_date(type_) or pa.types.is_timestamp(type_):
        text = pc.binary_join_element_wise('"', pc.cast(arr, pa.string()), '"', "")
    elif pa.types.is_boolean(type_):
        text = pc.if_else(arr, "true", "false")
    else:
        text = pc.cast(arr, pa.string())
    return pc.fill_null(text, "null") if arr.null_count else text


def _concat_strings(arr: pa.Array) -> bytes:
    """The bytes of all strings of an array back to back (a slice of its data buffer)."""
    off = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    data = arr.buffers()[2]
    return data.slice(int(off[0]), int(off[-1] - off[0])).to_pybytes() if data is not None else b""


def json_members(table: pa.Table, columns: list[str] | None = None, dictionary: Iterable[str] = ()) -> pa.Array:
    """Per row, its ``"key":value`` members joined by commas, without braces (to nest more members in).

    String columns named in ``dictionary`` (few distinct values: names, places, categories) are
    encoded once per distinct value and then taken per row, which is several times cheaper.
    """
    names = columns if columns is not None else table.column_names
    if not names:
        return pa.array([""] * table.num_rows, pa.string())
    few = set(dictionary)
    parts: list[pa.Array | str] = []
    for i, name in enumerate(names):
        field = table.schema.field(name)
        values = table.column(name).combine_chunks()
        parts.append(("" if i == 0 else ",") + json.dumps(name) + ":")
        if name in few and pa.types.is_string(field.type) and len(values):
            encoded = pc.dictionary_encode(values)
            text = _json_values(encoded.dictionary, field.type).take(encoded.indices)
            parts.append(pc.fill_null(text, "null") if text.null_count else text)
        else:
            parts.append(_json_values(values, field.type))
    return pc.binary_join_element_wise(*parts, "")


def json_objects(table: pa.Table, columns: list[str] | None = None, dictionary: Iterable[str] = ()) -> pa.Array:
    """Each row as one JSON object string (no newline), keys in ``columns`` order (default: the schema's)."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    return pc.binary_join_element_wise("{", json_members(table, columns, dictionary), "}", "")


def string_bytes(arr: pa.Array) -> bytes:
    """The bytes of all strings of a string array back to back, without a per-value copy."""
    return _concat_strings(arr)
