"""pick: a random row of another table of the same block that shares a key with this row (a person's own or
household's devices, say), as a foreign key that lookups can read through.

Why within the block: tables descending from the same population block (people, their homes, their
children) are generated block by block together, so the rows that can match are in block k of the other
table; nothing is joined across blocks and memory stays bounded. ``match`` lists the ways a row matches
(each a key of this row, the other table's column equal to it and an optional ``where`` over the other
table); the candidates are their union, and one is drawn uniformly. A row with no candidate gets null.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from ..base import Context, Generator, Params
from ..expr import evaluate
from .aggregate import _groups


class Match(Params):
    key: str
    by: str | None = None
    where: str | None = None


class PickParams(Params):
    of: str
    match: list[Match] = Field(min_length=1)
    column: str | None = None


class Pick(Generator):
    """One of the rows of ``of`` (this block) matching this row by any of ``match``; its ``column`` (the key)."""

    name = "pick"
    Params = PickParams
    summary = ("a random row of another table of the same block sharing a key with this row: `of: TABLE`, "
               "`match: [{key: COLUMN, by: THEIR_COLUMN, where: EXPR}, ...]` (the union), `column` (default "
               "their key); lookups read through it like a ref")

    @staticmethod
    def needs(params: PickParams) -> list[str]:
        """The tables generated before this column (the loader orders tables by them)."""
        return [params.of]

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = self.params
        engine = ctx.engine
        rows = engine.block(p.of, ctx.block).table
        groups, starts, sizes = [], [], []
        for m in p.match:
            keys = ctx.columns[m.key]
            distinct = pc.unique(keys)  # many rows may share a key (a person's events): match on its values
            mine = _groups(keys, distinct)
            group = _groups(rows.column(m.by or m.key).combine_chunks(), distinct)
            if m.where is not None:
                sub = Context(seed=ctx.seed, table=p.of, block=ctx.block, first_row=0, calendar=ctx.calendar,
                              tables=ctx.tables,
                              columns={c: rows.column(c).combine_chunks() for c in rows.column_names})
                held = pc.fill_null(evaluate(m.where, sub, rows.num_rows), False).to_numpy(zero_copy_only=False)
                group = np.where(np.asarray(held, dtype=bool), group, -1)
            # Candidate rows of each key value, contiguous after a stable sort by the value they match.
            members = np.flatnonzero(group >= 0)
            members = members[np.argsort(group[members], kind="stable")]
            size = np.bincount(group[group >= 0], minlength=len(distinct))
            start = np.cumsum(size) - size
            groups.append(members)
            starts.append(np.where(mine >= 0, start[np.maximum(mine, 0)], 0))
            sizes.append(np.where(mine >= 0, size[np.maximum(mine, 0)], 0))
        total = np.sum(sizes, axis=0)
        u = np.floor(rng.random(n) * total).astype(np.int64)
        local = np.full(n, -1, dtype=np.int64)
        before = np.zeros(n, dtype=np.int64)
        for members, start, size in zip(groups, starts, sizes):
            inside = (u >= before) & (u < before + size)
            local[inside] = members[start[inside] + u[inside] - before[inside]]
            before = before + size
        spec = engine.schema.tables[p.of]
        column = p.column or spec.keys[0]
        first = int(engine.firsts[p.of][ctx.block])
        positions = np.where(local >= 0, first + local, -1)
        ctx.refs[self.column] = (p.of, positions)
        values = rows.column(column).combine_chunks().take(pa.array(np.maximum(local, 0)))
        return values if (local >= 0).all() else pc.if_else(pa.array(local < 0), pa.scalar(None, values.type), values)
