"""Generating a table's columns for one block, in file order: generator, modifiers, then ``null_rate``;
for a fact with a parent, first each parent row's fanout count, then its children with the parent's key.

This is the part of the engine that needs nothing but the block itself (and, for a child table, the
parent rows it hangs from); refs, lookups and population fields come with the engine. A column's draws
come from its own stream (seed, table, column, block), each modifier's from that stream salted with its
position, so adding, removing or reordering other columns or tables never changes this column's values.
Block boundaries belong to the run plan (a fixed number of rows per block), never to workers or batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import GENERATORS, MODIFIERS, Context, stream
from .checks import parent_column
from .fanout import draw_counts
from .model import Schema

#: Salts of a column's sub-streams: modifier i uses (MODIFY, i), nulls use NULLS.
MODIFY, NULLS = 1, 2
#: The stream fanout counts are drawn from: a name no column can have (column names are identifiers).
FANOUT = "#fanout"


class ParentColumns(dict):
    """The parent rows' columns, each made (joined, and aligned to the child rows by ``owner``) when first
    read: a child reads few of its parent's columns, and making all of them for every block of a child table
    was a tenth of a one-day-per-block run."""

    def __init__(self, parents: pa.Table, owner: pa.Array | None = None) -> None:
        super().__init__()
        self._parents, self._owner, self._names = parents, owner, frozenset(parents.column_names)

    def __missing__(self, name: str) -> pa.Array:
        if name not in self._names:
            raise KeyError(name)
        values = self._parents.column(name).combine_chunks()
        self[name] = values = values if self._owner is None else values.take(self._owner)
        return values

    def __contains__(self, name: object) -> bool:
        return name in self._names


def column_block(name: str, column: Any, n: int, ctx: Context) -> pa.Array:
    """One column of one block: its generator's values, each modifier in order, then its null share."""
    gen = GENERATORS[column.gen](column, ctx.table, name)
    ctx.column, ctx.step = name, -1
    values = gen.generate(n, stream(ctx.seed, ctx.table, name, ctx.key_block), ctx)
    for i, step in enumerate(column.modify):
        ((mod_name, params),) = step
        ctx.column, ctx.step = name, i
        rng = stream(ctx.seed, ctx.table, name, ctx.key_block, MODIFY, i)
        values = MODIFIERS[mod_name](params).apply(values, rng, ctx)
    if column.null_rate:
        hit = stream(ctx.seed, ctx.table, name, ctx.key_block, NULLS).random(n) < column.null_rate
        values = pc.if_else(pa.array(hit), pa.scalar(None, values.type), values)
    return values


def table_block(
    schema: Schema, table: str, block: int, first_row: int, n: int, seed: int | None = None, **context: Any
) -> pa.Table:
    """Rows ``first_row .. first_row + n`` of a self-contained table (block ``block``), columns in file order.

    ``context`` passes what the engine knows (``total_rows``, ``parent``, ``index_in_parent``,
    ``parent_count``, ``tables``) on to the generators.
    """
    spec = schema.tables[table]
    ctx = Context(
        seed=schema.seed if seed is None else seed,
        table=table,
        block=block,
        first_row=first_row,
        calendar=(schema.calendar.start, schema.calendar.end),
        **context,
    )
    for name, column in spec.columns.items():
        ctx.columns[name] = column_block(name, column, n, ctx)
    return pa.table(ctx.columns)


def fanout_counts(
    schema: Schema, table: str, parents: pa.Table, block: int, seed: int | None = None, stream_block: int | None = None
) -> np.ndarray:
    """How many children each parent row of a parent block gets (drawn before any child value, so a child's
    table-wide position is a prefix sum of counts, whatever the workers)."""
    spec = schema.tables[table]
    seed = schema.seed if seed is None else seed
    ctx = Context(
        seed=seed,
        table=table,
        block=block,
        first_row=0,
        calendar=(schema.calendar.start, schema.calendar.end),
        parent=ParentColumns(parents),
    )
    key = block if stream_block is None else stream_block
    return draw_counts(spec.fanout, parents.num_rows, stream(seed, table, FANOUT, key), ctx)


def fact_block(
    schema: Schema,
    table: str,
    parents: pa.Table,
    counts: np.ndarray,
    block: int,
    first_row: int,
    seed: int | None = None,
    **context: Any,
) -> pa.Table:
    """The children of one parent block (block ``block`` of the fact, as the parents' block), the parent's key
    first, then the columns in file order; ``first_row`` is the number of children of earlier blocks."""
    spec = schema.tables[table]
    link = parent_column(schema, spec)
    parent_key = schema.tables[spec.parent].keys[0]  # type: ignore[index]
    owner = np.repeat(np.arange(parents.num_rows), counts)
    starts = np.cumsum(counts) - counts
    index = np.arange(len(owner)) - np.repeat(starts, counts)
    parent = ParentColumns(parents, pa.array(owner))
    ctx = Context(
        seed=schema.seed if seed is None else seed,
        table=table,
        block=block,
        first_row=first_row,
        calendar=(schema.calendar.start, schema.calendar.end),
        parent=parent,
        index_in_parent=index,
        parent_count=np.repeat(counts, counts),
        **context,
    )
    ctx.columns[link] = parent[parent_key]  # type: ignore[index]
    for name, column in spec.columns.items():
        ctx.columns[name] = column_block(name, column, len(owner), ctx)
    return pa.table(ctx.columns)
