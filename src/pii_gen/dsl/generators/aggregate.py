"""aggregate: a per-row summary of another table's rows of the same block (count, sum, mean, min, max, share,
mode, distinct), matched on a key.

Why within the block: children of parent block k are generated with block k, and every table hanging from
the population (its people, their homes and their children) has block k made of person block k. A
per-person or per-household summary of events therefore needs only block k of the event table, so it
stays vectorized, bounded in memory and identical at any worker count. Rows of the summarised table whose
key is not among this block's rows are ignored: the tables must share their block alignment, which the
engine gives to tables descending from the same population or parent blocks.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import model_validator

from ...core import portable
from ..base import Context, Generator, Params, fail
from ..expr import evaluate

FUNCTIONS = ("count", "sum", "mean", "min", "max", "share", "mode", "distinct")


class AggregateParams(Params):
    of: str
    key: str
    by: str | None = None
    fn: Literal[FUNCTIONS] = "count"  # type: ignore[valid-type]
    column: str | None = None
    where: str | None = None
    default: float | int | str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "AggregateParams":
        if self.fn in ("sum", "mean", "min", "max", "mode", "distinct") and self.column is None:
            raise fail(f"fn {self.fn} needs column: (a column of {self.of})", "column")
        if self.fn == "share" and self.where is None:
            raise fail("fn share needs where: (the share of rows where it holds)", "where")
        return self

    @property
    def child_key(self) -> str:
        """The summarised table's column matched against this table's ``key`` column."""
        return self.by or self.key


class Aggregate(Generator):
    """A summary of ``of``'s rows of this block whose ``by`` column equals this row's ``key`` column."""

    name = "aggregate"
    Params = AggregateParams
    summary = ("a summary of another table's rows of the same block matched on a key: `of: TABLE`, `key: COLUMN` "
               "(this table's), `by: COLUMN` (theirs, default the same name), `fn: count | sum | mean | min | max | "
               "share | mode | distinct`, `column`, `where` (rows counted), `default` (no rows)")

    @classmethod
    def kind(cls, params: Any, type_: str | None) -> str:
        if type_:
            return super().kind(params, type_)
        return {"count": "int", "distinct": "int", "mean": "float", "share": "float"}.get(params.fn, "any")

    @staticmethod
    def needs(params: Any) -> list[str]:
        """The tables generated before this column (the loader orders tables by them)."""
        return [params.of]

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        keys = ctx.columns[self.params.key]
        distinct = pc.unique(keys)
        if len(distinct) == n:
            return self._summaries(n, keys, ctx)
        # a key several rows share (two payments of one order): each distinct key summarised once, given to
        # every row holding it
        return self._summaries(len(distinct), distinct, ctx).take(pc.index_in(keys, value_set=distinct))

    def _summaries(self, n: int, keys: pa.Array, ctx: Context) -> pa.Array:
        """The summary of each of ``keys`` (distinct), in their order."""
        p = self.params
        rows = ctx.engine.block(p.of, ctx.block).table
        group = _groups(rows.column(p.child_key).combine_chunks(), keys)
        if p.where is not None:
            sub = Context(seed=ctx.seed, table=p.of, block=ctx.block, first_row=0, calendar=ctx.calendar,
                          tables=ctx.tables, columns={c: rows.column(c).combine_chunks() for c in rows.column_names})
            held = pc.fill_null(evaluate(p.where, sub, rows.num_rows), False).to_numpy(zero_copy_only=False)
            hit = np.asarray(held, dtype=bool)
        else:
            hit = np.ones(rows.num_rows, dtype=bool)
        total = np.bincount(group[group >= 0], minlength=n)
        keep = (group >= 0) & hit
        g = group[keep]
        count = np.bincount(g, minlength=n)
        if p.fn == "count":
            return pa.array(count.astype(np.int64))
        if p.fn == "share":
            return _filled(np.divide(count, total, out=np.zeros(n), where=total > 0), total > 0, p.default)
        values = rows.column(p.column).combine_chunks().filter(pa.array(keep))
        if p.fn in ("mode", "distinct"):
            return _categorical(p.fn, values, g, n, count, p.default)
        return _numeric(p.fn, values, g, n, count, p.default)


def _groups(child: pa.Array, keys: pa.Array) -> np.ndarray:
    """Each child row's row number in this block (-1: its key is not among the block's rows)."""
    index = pc.index_in(child.cast(keys.type) if child.type != keys.type else child, value_set=keys, skip_nulls=True)
    return np.asarray(pc.fill_null(index, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _filled(values: np.ndarray, present: np.ndarray, default: Any) -> pa.Array:
    """``values`` where a row has rows to summarise, ``default`` (null when None) elsewhere."""
    arr = pa.array(values)
    if present.all():
        return arr
    fill = pa.scalar(default, arr.type) if default is not None else pa.scalar(None, arr.type)
    return pc.if_else(pa.array(present), arr, fill)


def _numeric(fn: str, values: pa.Array, g: np.ndarray, n: int, count: np.ndarray, default: Any) -> pa.Array:
    """sum, mean, min, max of a numeric or time column per row (nulls among the values are skipped)."""
    kind = values.type
    timelike = pa.types.is_timestamp(kind) or pa.types.is_date(kind)
    raw = values.cast(pa.int64()) if timelike else values.cast(pa.float64())
    valid = np.asarray(raw.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    x = np.asarray(pc.fill_null(raw, 0).to_numpy(zero_copy_only=False))
    g, x = g[valid], x[valid]
    present = np.bincount(g, minlength=n) > 0
    if fn in ("sum", "mean"):
        sums = np.bincount(g, weights=x.astype(np.float64), minlength=n)
        if fn == "sum":
            out = sums if not pa.types.is_integer(kind) else sums.astype(np.int64)
            return pa.array(out)
        return _filled(np.divide(sums, np.maximum(np.bincount(g, minlength=n), 1)), present, default)
    out = np.full(n, np.iinfo(np.int64).max if fn == "min" else np.iinfo(np.int64).min,
                  dtype=np.int64 if timelike else np.float64)
    if not timelike:
        out[:] = np.inf if fn == "min" else -np.inf
    (np.minimum if fn == "min" else np.maximum).at(out, g, x)
    arr = _filled(out, present, None)
    return arr.cast(pa.int64()).cast(kind) if timelike else (arr.cast(kind) if pa.types.is_integer(kind) else arr)


def _categorical(fn: str, values: pa.Array, g: np.ndarray, n: int, count: np.ndarray, default: Any) -> pa.Array:
    """The most frequent value per row (ties: the smallest value) or the number of distinct values."""
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    words = encoded.dictionary
    # Codes re-ranked in sorted order, so a tie resolves to the same value however the block was ordered.
    rank = np.empty(len(words), dtype=np.int64)
    rank[np.argsort(np.asarray(words.to_numpy(zero_copy_only=False), dtype=object), kind="stable")] = \
        np.arange(len(words))
    valid = np.asarray(encoded.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    codes = rank[np.asarray(pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False), dtype=np.int64)]
    g, codes = g[valid], codes[valid]
    k = max(len(words), 1)
    pairs, cnt = np.unique(g * k + codes, return_counts=True)  # sparse: only the (row, value) pairs that occur
    row, code = pairs // k, pairs % k
    if fn == "distinct":
        return pa.array(np.bincount(row, minlength=n).astype(np.int64))
    first = np.lexsort((code, -cnt, row))
    row, code = row[first], code[first]
    lead = np.r_[True, row[1:] != row[:-1]] if len(row) else np.zeros(0, dtype=bool)
    best = np.zeros(n, dtype=np.int64)
    best[row[lead]] = code[lead]
    present = np.zeros(n, dtype=bool)
    present[row[lead]] = True
    ordered = words.take(pa.array(portable.argsort(rank)))
    out = ordered.take(pa.array(best)) if len(words) else pa.nulls(n, pa.string())
    return _filled_strings(out, present, default)


def _filled_strings(values: pa.Array, present: np.ndarray, default: Any) -> pa.Array:
    if present.all():
        return values
    fill = pa.scalar(None if default is None else str(default), pa.string())
    return pc.if_else(pa.array(present), values, fill)
