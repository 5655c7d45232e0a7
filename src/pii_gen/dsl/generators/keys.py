"""Generators whose values are functions of the row's position or its own stream: sequence, uuid, pattern,
and the constant of a plain scalar column."""

from __future__ import annotations

import string
import zlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import model_validator

from ..base import Context, Generator, Params, fail
from ._arrow import fixed_width_strings

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(x: np.ndarray, key: np.uint64) -> np.ndarray:
    """A 64-bit mixing function (splitmix64's finaliser), keyed: the round function of the Feistel network."""
    with np.errstate(over="ignore"):
        z = (x ^ key) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def permute(positions: np.ndarray, size: int, seed: int, table: str, column: str) -> np.ndarray:
    """A seeded bijection of [0, size) computed per position (a Feistel network with cycle walking).

    Any block computes its own part without the rest of the table, so a permuted key is the same at any
    worker count and block size, and still dense and unique.
    """
    bits = max(2, int(size - 1).bit_length() + (int(size - 1).bit_length() & 1))
    half = np.uint64(bits // 2)
    low = (np.uint64(1) << half) - np.uint64(1)
    keys = [np.uint64(zlib.crc32(f"{seed}/{table}/{column}/{r}".encode())) for r in range(4)]
    x = positions.astype(np.uint64)
    todo = np.ones(len(x), dtype=bool)
    out = x.copy()
    while todo.any():
        left, right = out[todo] >> half, out[todo] & low
        for key in keys:
            left, right = right, left ^ (_mix(right, key) & low)
        out[todo] = (left << half) | right
        todo &= out >= np.uint64(size)
    return out.astype(np.int64)


class SequenceParams(Params):
    start: int = 1
    step: int = 1
    format: str | None = None
    permute: bool = False

    @model_validator(mode="after")
    def _format(self) -> "SequenceParams":
        if self.format is not None:
            fields = [f for _, f, spec, _ in string.Formatter().parse(self.format) if f is not None]
            spec = next((s for _, f, s, _ in string.Formatter().parse(self.format) if f is not None), "")
            if len(fields) != 1 or fields[0] != "" or not _width(spec)[2]:
                raise fail("takes one '{}' field like '{:08d}' (width and zero padding only)", "format")
        if self.step == 0:
            raise fail("must not be 0", "step")
        return self


def _width(spec: str) -> tuple[int, str, bool]:
    """(width, pad character, understood) of a format spec like ``08d``, ``6``, ``d`` or ``''``."""
    body = spec[:-1] if spec.endswith("d") else spec
    if body and not body.isdigit():
        return 0, " ", False
    return (int(body) if body else 0), ("0" if body.startswith("0") else " "), True


class Sequence(Generator):
    """Dense unique integers ``start + step * i``; ``permute`` scatters them by a seeded bijection;
    ``format`` makes strings such as ``ORD-00000042``."""

    name = "sequence"
    Params = SequenceParams
    summary = "dense unique integers; `permute` scatters them as a seeded permutation; `format` makes a string"
    unique = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "string" if params.format else "int"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        return self.at(np.arange(ctx.first_row, ctx.first_row + n, dtype=np.int64), ctx)

    def at(self, index: np.ndarray, ctx: Context) -> pa.Array:
        """The values of the rows at table-wide positions ``index`` (a pure function of position, which is how
        a ref rebuilds a key without generating the referenced rows)."""
        p = self.params
        if p.permute:
            if ctx.total_rows is None:
                raise NotImplementedError("permute needs the table's row count from the engine")
            index = permute(index, ctx.total_rows, ctx.seed, ctx.table, self.column)
        values = pa.array(p.start + p.step * index, pa.int64())
        if p.format is None:
            return values
        (prefix, _, spec, _), *rest = string.Formatter().parse(p.format)
        suffix = "".join(literal for literal, *_ in rest)
        width, pad, _ = _width(spec)
        text = pc.cast(values, pa.string())
        if width:
            text = pc.utf8_lpad(text, width=width, padding=pad)
        return pc.binary_join_element_wise(prefix or "", text, suffix, "")


class UuidParams(Params):
    pass


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class Uuid(Generator):
    """UUID-4-shaped strings from the row's stream (122 random bits: a clash is as likely as n²/2¹²³)."""

    name = "uuid"
    Params = UuidParams
    summary = "UUID-4-shaped strings from the row's stream (deterministic)"
    unique = True

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "string"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
        nibbles = np.empty((n, 32), dtype=np.uint8)
        nibbles[:, 0::2] = _HEX[raw >> 4]
        nibbles[:, 1::2] = _HEX[raw & 0x0F]
        chars = np.full((n, 36), ord("-"), dtype=np.uint8)
        for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
            width = {0: 8, 24: 12}.get(dst, 4)
            chars[:, dst:dst + width] = nibbles[:, src:src + width]
        return fixed_width_strings(chars)


_CLASSES = {
    "#": np.frombuffer(b"0123456789", dtype=np.uint8),
    "%": np.frombuffer(b"123456789", dtype=np.uint8),
    "?": np.frombuffer(string.ascii_uppercase.encode(), dtype=np.uint8),
    "^": _HEX,
}


def _tokens(template: str) -> list[tuple[str, bool]]:
    """The template as (character, is a placeholder) pairs, with ``\\`` escapes resolved."""
    out, chars = [], iter(template)
    for c in chars:
        if c == "\\":
            out.append((next(chars, "\\"), False))
        else:
            out.append((c, c in _CLASSES))
    return out


class PatternParams(Params):
    template: str

    @model_validator(mode="after")
    def _ascii(self) -> "PatternParams":
        if not self.template:
            raise fail("must not be empty", "template")
        if not self.template.isascii():
            raise fail("must be ASCII", "template")
        return self


class Pattern(Generator):
    """Strings from a template: ``#`` digit, ``%`` non-zero digit, ``?`` capital letter, ``^`` hex digit."""

    name = "pattern"
    Params = PatternParams
    summary = "`#` digit, `%` non-zero digit, `?` capital letter, `^` hex digit, `\\` escapes; others literal"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        return "string"

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        tokens = _tokens(self.params.template)
        chars = np.empty((n, len(tokens)), dtype=np.uint8)
        for i, (c, placeholder) in enumerate(tokens):
            if placeholder:
                pool = _CLASSES[c]
                chars[:, i] = pool[rng.integers(0, len(pool), size=n)]
            else:
                chars[:, i] = ord(c)
        return fixed_width_strings(chars)


class ConstantParams(Params):
    value: Any


class Constant(Generator):
    """The same value on every row (what a plain scalar column such as ``currency: USD`` means)."""

    name = "constant"
    Params = ConstantParams
    summary = "the same value on every row (a plain scalar `currency: USD` is one)"

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        v = params.value
        kinds = ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"))
        return next((k for t, k in kinds if isinstance(v, t)), "any")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        return pa.repeat(pa.scalar(self.params.value), n)
