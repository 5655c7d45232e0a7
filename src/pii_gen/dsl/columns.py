"""Generating a table's columns for one block, in file order: generator, modifiers, then ``null_rate``.

This is the part of the engine that needs nothing but the block itself (and, for a child table, the
parent rows it hangs from); refs, lookups and population fields come with the engine. A column's draws
come from its own stream (seed, table, column, block), each modifier's from that stream salted with its
position, so adding, removing or reordering other columns or tables never changes this column's values.
Block boundaries belong to the run plan (a fixed number of rows per block), never to workers or batches.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .base import GENERATORS, MODIFIERS, Context, stream
from .model import Schema

#: Salts of a column's sub-streams: modifier i uses (MODIFY, i), nulls use NULLS.
MODIFY, NULLS = 1, 2


def column_block(name: str, column: Any, n: int, ctx: Context) -> pa.Array:
    """One column of one block: its generator's values, each modifier in order, then its null share."""
    gen = GENERATORS[column.gen](column, ctx.table, name)
    values = gen.generate(n, stream(ctx.seed, ctx.table, name, ctx.block), ctx)
    for i, step in enumerate(column.modify):
        (mod_name, params), = step
        rng = stream(ctx.seed, ctx.table, name, ctx.block, MODIFY, i)
        values = MODIFIERS[mod_name](params).apply(values, rng, ctx)
    if column.null_rate:
        hit = stream(ctx.seed, ctx.table, name, ctx.block, NULLS).random(n) < column.null_rate
        values = pc.if_else(pa.array(hit), pa.scalar(None, values.type), values)
    return values


def table_block(schema: Schema, table: str, block: int, first_row: int, n: int, seed: int | None = None,
                **context: Any) -> pa.Table:
    """Rows ``first_row .. first_row + n`` of a self-contained table (block ``block``), columns in file order.

    ``context`` passes what the engine knows (``total_rows``, ``parent``, ``index_in_parent``,
    ``parent_count``, ``tables``) on to the generators.
    """
    spec = schema.tables[table]
    ctx = Context(seed=schema.seed if seed is None else seed, table=table, block=block, first_row=first_row,
                  calendar=(schema.calendar.start, schema.calendar.end), **context)
    for name, column in spec.columns.items():
        ctx.columns[name] = column_block(name, column, n, ctx)
    return pa.table(ctx.columns)
