"""Runtime: runs a pack's steps over fixed-size blocks of a plan, and the plan's noise on each batch.

A block is the unit of determinism: block ``b`` holds root keys ``b * block_size + 1 ...`` and every
random draw in it comes from a stream derived from ``(seed, b, step stream)``.  Batches, workers and
processes only decide which blocks run where, never what a block contains, so output is identical
however the work is split.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np
import pyarrow as pa

from ..errors import RegistryError
from .contract import Table
from .pack import Batch, Pack
from .plan import RunPlan
from .rng import block_rng
from .steps import Step


class Runtime:
    """Generates a plan's tables, vectorized over blocks of root rows."""

    def __init__(self, plan: RunPlan, pack: Pack) -> None:
        self.plan = plan
        self.pack = pack
        self.config = pack.settings(plan)
        self.first_block = plan.keys.first_block
        self.ref = pack.reference()
        by_name = {cls.name: cls for cls in pack.steps()}
        for step in plan.steps:
            if step.name not in by_name or by_name[step.name].stream != step.stream:
                raise RegistryError(f"the plan's step {step.name} (stream {step.stream}) is not pack {pack.name}'s")
        self.generators: list[Step] = [by_name[step.name]() for step in plan.steps]
        self.clean: Mapping[str, Table] = pack.contract()
        self.tables: Mapping[str, Table] = plan.tables
        # Noise loads vocabularies of its own: built only when there is noise to apply.
        self.noise = pack.noise(plan, self.config, self.ref)

    def clean_block(self, index: int, size: int | None = None) -> Batch:
        """The clean tables for block ``index`` holding ``size`` root rows (only the last block is short)."""
        keys = self.plan.keys
        size = keys.block_size if size is None else size
        absolute = self.first_block + index  # streams follow the ids, so appended rows are new rows
        first = absolute * keys.block_size + 1
        ctx = self.pack.context(self.config, self.ref, np.arange(first, first + size, dtype=np.int64))
        produced: dict[str, dict[str, object]] = {name: {} for name in self.clean}
        produced[keys.table][keys.key] = ctx.keys
        for gen in self.generators:
            columns = gen.generate(size, block_rng(self.plan.seed, absolute, gen.stream), ctx)
            produced[gen.table].update(columns)
        return {name: _to_table(self.clean[name], cols) for name, cols in produced.items()}

    def batch(self, n: int, start_block: int, stop_block: int) -> Batch:
        """Blocks ``start_block`` up to ``stop_block`` of ``n`` root rows, as one batch.

        Noise (when planned) runs on the whole batch at once; its draws follow the
        blocks, so the result is the same however blocks are grouped into batches.
        """
        keys = self.plan.keys
        indices = range(start_block, min(stop_block, keys.blocks_for(n)))
        parts = [self.clean_block(b, min(keys.block_size, n - b * keys.block_size)) for b in indices]
        if not parts:
            return {name: t.arrow_schema.empty_table() for name, t in self.tables.items()}
        if self.noise is None:
            return concat_batches(parts)
        seed = self.plan.seed
        absolute = [self.first_block + b for b in indices]
        return self.noise.apply(parts, absolute, lambda block, stream: block_rng(seed, block, stream))

    def iter_batches(self, n: int, batch_size: int | None = None) -> Iterator[Batch]:
        """Stream ``n`` root rows' tables as batches of about ``batch_size`` root rows."""
        keys = self.plan.keys
        per = keys.blocks_per_batch(batch_size or self.plan.batch_size)
        for start in range(0, keys.blocks_for(n), per):
            yield self.batch(n, start, start + per)

    def generate(self, n: int) -> Batch:
        """All tables for ``n`` root rows, in memory (use :meth:`iter_batches` for large ``n``)."""
        return self.batch(n, 0, self.plan.keys.blocks_for(n))


def concat_batches(parts: list[Batch]) -> Batch:
    if len(parts) == 1:
        return parts[0]
    return {name: pa.concat_tables([p[name] for p in parts]) for name in parts[0]}


def _to_table(spec: Table, columns: dict[str, object]) -> pa.Table:
    missing = [c for c in spec.column_names if c not in columns]
    if missing:
        raise RuntimeError(f"table {spec.name} lacks columns {missing}: a sub-generator is missing from the registry")
    arrays = []
    for col in spec.columns:
        value = columns[col.name]
        if isinstance(value, pa.ChunkedArray):
            value = value.combine_chunks()
        arr = value if isinstance(value, pa.Array) else pa.array(value)
        arrays.append(arr if arr.type == col.type else arr.cast(col.type))
    return pa.Table.from_arrays(arrays, schema=spec.arrow_schema)
