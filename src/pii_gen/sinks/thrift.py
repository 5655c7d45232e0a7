"""Thrift's compact protocol, read into plain values and written back byte for byte.

Parquet keeps its footer (``FileMetaData``) in this encoding.  Stitching Parquet files written apart into one
file means moving their row groups' byte offsets, which no Parquet library exposes (pyarrow's
``append_row_groups`` keeps each part's own offsets, for a ``_metadata`` file beside the parts), so the
footer is read here generically, without the Parquet IDL: every value keeps its wire type and every struct
its field order, so a value read and written unchanged gives back the same bytes.

A struct is a list of :class:`Field`; a list or set is a :class:`Sequence`; a map a :class:`Mapping`;
binary is ``bytes``; integers are ``int``, booleans ``bool``, doubles ``float``; a :class:`Raw` value is written
as the bytes it holds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)
_INTS = (BYTE, I16, I32, I64)


class ThriftError(ValueError):
    """Bytes that are not a compact-protocol struct this reader understands."""


@dataclass
class Field:
    """One field of a struct: its id, its wire type (:data:`TRUE` for any boolean) and its value."""

    id: int
    type: int
    value: Any


@dataclass
class Sequence:
    """A list (or, with ``set``, a set) of values of one wire type."""

    type: int
    items: list[Any]
    set: bool = False


@dataclass
class Mapping:
    """A map: key and value wire types, and the pairs in wire order."""

    key_type: int
    value_type: int
    items: list[tuple[Any, Any]]


@dataclass
class Raw:
    """A value already encoded (written as it is): row groups encoded once, spliced into a footer later."""

    data: bytes


def field(struct_: list[Field], id_: int) -> Field | None:
    """The field ``id_`` of a struct, or None when it is absent."""
    return next((f for f in struct_ if f.id == id_), None)


class _Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ThriftError("compact-protocol data ends early")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = value = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 70:
                raise ThriftError("compact-protocol varint is too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (TRUE, FALSE):  # inside a list: one byte each
            return self.byte() == TRUE
        if kind == BYTE:
            b = self.byte()
            return b - 256 if b > 127 else b
        if kind in (I16, I32, I64):
            return self.zigzag()
        if kind == DOUBLE:
            end = self.pos + 8
            if end > len(self.data):
                raise ThriftError("compact-protocol data ends early")
            (number,) = struct.unpack("<d", self.data[self.pos:end])
            self.pos = end
            return number
        if kind == BINARY:
            size = self.varint()
            end = self.pos + size
            if end > len(self.data):
                raise ThriftError("compact-protocol data ends early")
            raw = bytes(self.data[self.pos:end])
            self.pos = end
            return raw
        if kind in (LIST, SET):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return Sequence(elem, [self.value(elem) for _ in range(size)], kind == SET)
        if kind == MAP:
            size = self.varint()
            if not size:
                return Mapping(0, 0, [])
            types = self.byte()
            k, v = types >> 4, types & 0x0F
            return Mapping(k, v, [(self.value(k), self.value(v)) for _ in range(size)])
        if kind == STRUCT:
            return self.struct()
        raise ThriftError(f"unknown compact-protocol type {kind}")

    def struct(self) -> list[Field]:
        fields: list[Field] = []
        last = 0
        while True:
            head = self.byte()
            kind = head & 0x0F
            if kind == STOP:
                return fields
            delta = head >> 4
            last = last + delta if delta else self.zigzag()
            if kind in (TRUE, FALSE):
                fields.append(Field(last, TRUE, kind == TRUE))
            else:
                fields.append(Field(last, kind, self.value(kind)))


def read_struct(data: bytes | memoryview) -> list[Field]:
    """The struct encoded in ``data`` (which must hold exactly one)."""
    reader = _Reader(data)
    out = reader.struct()
    if reader.pos != len(reader.data):
        raise ThriftError(f"{len(reader.data) - reader.pos} bytes follow the compact-protocol struct")
    return out


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63) if n < 0 else n << 1)

    def value(self, kind: int, value: Any) -> None:
        if isinstance(value, Raw):
            self.out += value.data
        elif kind in (TRUE, FALSE):
            self.out.append(TRUE if value else FALSE)
        elif kind == BYTE:
            self.out.append(value & 0xFF)
        elif kind in (I16, I32, I64):
            self.zigzag(value)
        elif kind == DOUBLE:
            self.out += struct.pack("<d", value)
        elif kind == BINARY:
            self.varint(len(value))
            self.out += value
        elif kind in (LIST, SET):
            size = len(value.items)
            if size < 15:
                self.out.append(size << 4 | value.type)
            else:
                self.out.append(0xF0 | value.type)
                self.varint(size)
            for item in value.items:
                self.value(value.type, item)
        elif kind == MAP:
            self.varint(len(value.items))
            if value.items:
                self.out.append(value.key_type << 4 | value.value_type)
                for k, v in value.items:
                    self.value(value.key_type, k)
                    self.value(value.value_type, v)
        elif kind == STRUCT:
            self.struct(value)
        else:
            raise ThriftError(f"unknown compact-protocol type {kind}")

    def struct(self, fields: list[Field]) -> None:
        last = 0
        for f in fields:
            kind = (TRUE if f.value else FALSE) if f.type in (TRUE, FALSE) else f.type
            if 0 < f.id - last <= 15:
                self.out.append((f.id - last) << 4 | kind)
            else:
                self.out.append(kind)
                self.zigzag(f.id)
            if f.type not in (TRUE, FALSE):
                self.value(f.type, f.value)
            last = f.id
        self.out.append(STOP)


def write_struct(fields: list[Field]) -> bytes:
    """The compact-protocol encoding of a struct."""
    writer = _Writer()
    writer.struct(fields)
    return bytes(writer.out)


def write_value(kind: int, value: Any) -> bytes:
    """The compact-protocol encoding of one value of wire type ``kind`` (no field header)."""
    writer = _Writer()
    writer.value(kind, value)
    return bytes(writer.out)
