"""PersonGenerator: runs the registered sub-generators over fixed-size blocks of people.

A block is the unit of determinism: block ``b`` holds people
``b * BLOCK_SIZE + 1 ...`` and every random draw in it comes from a stream
derived from ``(seed, b, sub-generator stream)``.  Batches, workers and
processes only decide which blocks run where, never what a block contains, so
output is identical however the work is split.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa

from .config import GenerateConfig, build_config
from .errors import ConfigError
from .generators import Context, SubGenerator, registry
from .reference import Reference, load
from .schema import TABLES, Table
from .variability import VariabilityEngine, contract, make_plan

BLOCK_SIZE = 10_000

Batch = dict[str, pa.Table]


def block_rng(seed: int, block: int, stream: int) -> np.random.Generator:
    """The random stream of one sub-generator in one block."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block, stream))))


class PersonGenerator:
    """Generates the population tables, vectorized over blocks of people.

    >>> tables = PersonGenerator(seed=7).generate(1000)
    >>> tables["persons"].num_rows
    1000
    """

    def __init__(self, config: GenerateConfig | None = None, *, seed: int | None = None) -> None:
        base = config or GenerateConfig()
        self.config = base if seed is None else build_config(base.model_dump(), seed=seed)
        if (self.config.first_person_id - 1) % BLOCK_SIZE:
            raise ConfigError(
                f"first_person_id must be 1 plus a multiple of {BLOCK_SIZE} (got {self.config.first_person_id})"
            )
        self.first_block = (self.config.first_person_id - 1) // BLOCK_SIZE
        self.ref: Reference = load()
        self.generators: list[SubGenerator] = [cls() for cls in registry()]
        plan = make_plan(self.config.noise)
        self.tables: dict[str, Table] = contract(plan)
        # Noise types load vocabularies of their own: built only when there is noise to apply.
        self.noise = VariabilityEngine(self.config, self.ref, plan) if plan.active else None

    def clean_block(self, index: int, size: int = BLOCK_SIZE) -> Batch:
        """The clean tables for block ``index`` holding ``size`` people (only the last block is short)."""
        absolute = self.first_block + index  # streams follow the ids, so appended people are new people
        first = absolute * BLOCK_SIZE + 1
        ctx = Context(self.config, self.ref, np.arange(first, first + size, dtype=np.int64))
        produced: dict[str, dict[str, object]] = {name: {} for name in TABLES}
        produced["persons"]["person_id"] = ctx.person_id
        for gen in self.generators:
            columns = gen.generate(size, block_rng(self.config.seed, absolute, gen.stream), ctx)
            produced[gen.table].update(columns)
        return {name: _to_table(name, cols) for name, cols in produced.items()}

    def batch(self, n: int, start_block: int, stop_block: int) -> Batch:
        """Blocks ``start_block`` up to ``stop_block`` of a population of ``n`` people, as one batch.

        Noise (when configured) runs on the whole batch at once; its draws follow the
        blocks, so the result is the same however blocks are grouped into batches.
        """
        indices = range(start_block, min(stop_block, blocks_for(n)))
        parts = [self.clean_block(b, min(BLOCK_SIZE, n - b * BLOCK_SIZE)) for b in indices]
        if not parts:
            return {name: t.arrow_schema.empty_table() for name, t in self.tables.items()}
        if self.noise is None:
            return concat_batches(parts)
        seed = self.config.seed
        absolute = [self.first_block + b for b in indices]
        return self.noise.apply(parts, absolute, lambda block, stream: block_rng(seed, block, stream))

    def iter_batches(self, n: int, batch_size: int | None = None) -> Iterator[Batch]:
        """Stream a population of ``n`` people as batches of about ``batch_size`` people."""
        per = blocks_per_batch(batch_size or self.config.batch_size)
        for start in range(0, blocks_for(n), per):
            yield self.batch(n, start, start + per)

    def generate(self, n: int) -> Batch:
        """All tables for ``n`` people, in memory (use :meth:`iter_batches` for large ``n``)."""
        return self.batch(n, 0, blocks_for(n))


def blocks_for(n: int) -> int:
    return -(-n // BLOCK_SIZE)


def blocks_per_batch(batch_size: int) -> int:
    """Whole blocks per batch, so any batch size gives the same output."""
    return max(1, -(-batch_size // BLOCK_SIZE))


def concat_batches(parts: list[Batch]) -> Batch:
    if len(parts) == 1:
        return parts[0]
    return {name: pa.concat_tables([p[name] for p in parts]) for name in parts[0]}


def _to_table(name: str, columns: dict[str, object]) -> pa.Table:
    spec = TABLES[name]
    missing = [c for c in spec.column_names if c not in columns]
    if missing:
        raise RuntimeError(f"table {name} lacks columns {missing}: a sub-generator is missing from the registry")
    arrays = []
    for col in spec.columns:
        value = columns[col.name]
        if isinstance(value, pa.ChunkedArray):
            value = value.combine_chunks()
        arr = value if isinstance(value, pa.Array) else pa.array(value)
        arrays.append(arr if arr.type == col.type else arr.cast(col.type))
    return pa.Table.from_arrays(arrays, schema=spec.arrow_schema)
