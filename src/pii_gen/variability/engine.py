"""VariabilityEngine: turns a block's clean tables into noisy ones, logging every change.

Each (table, column) draws from its own random stream, derived like every
other stream from (seed, block), so noise is deterministic and independent of
worker count and batching, and a column's noise does not shift when another
column's rates change.  Per cell one draw picks at most one noise type (the
rates of a column never add up to more than 1), so every changed value is
changed exactly once and its original is in the log.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..packs.person.reference import Reference
from ..core.contract import Table
from ..packs.person.contract import TABLES
from .base import Cells, NoiseType
from .contract import contract
from .duplicates import add_duplicates
from .log import NoiseLog
from .plan import NoisePlan, make_plan
from .registry import noise_types

if TYPE_CHECKING:  # the config imports the noise registry: the engine only reads the config it is given
    from ..config import GenerateConfig

RngFor = Callable[[int, int], np.random.Generator]  # (block, stream) -> generator
STREAM_BASE = 1_000_000  # far above the sub-generators' stream numbers


def stream_of(name: str) -> int:
    """The fixed stream number of a column ('table.column') or step."""
    return STREAM_BASE + zlib.crc32(name.encode())


class VariabilityEngine:
    """Applies a run's noise plan to batches of clean blocks.

    A batch is noised as one table per name, so each Arrow call covers all its
    blocks, but every random number is drawn from the stream of the block its
    cell belongs to: the result is the same for any grouping of blocks.
    """

    def __init__(self, config: GenerateConfig, ref: Reference, plan: NoisePlan | None = None) -> None:
        self.config = config
        self.ref = ref
        self.plan: NoisePlan = plan or make_plan(config.noise)
        self.tables: dict[str, Table] = contract(self.plan)
        self.types: dict[str, NoiseType] = {t.name: t() for t in noise_types()}

    @property
    def active(self) -> bool:
        return self.plan.active

    def apply(self, parts: list[dict[str, pa.Table]], blocks: list[int], rng_for: RngFor) -> dict[str, pa.Table]:
        """The noisy tables (plus ``noise_log``) for consecutive clean blocks (numbered ``blocks``)."""
        log = NoiseLog()
        dup = stream_of("duplicates")
        parts = [
            add_duplicates(part, rng_for(b, dup), self.plan.duplicates, log.for_block(i))
            for i, (part, b) in enumerate(zip(parts, blocks))
        ]
        out = {}
        for name in TABLES:
            sizes = [p[name].num_rows for p in parts]
            table = parts[0][name] if len(parts) == 1 else pa.concat_tables([p[name] for p in parts])
            out[name] = self._table(name, table, np.concatenate([[0], np.cumsum(sizes)]), blocks, rng_for, log)
        if self.plan.log:
            out["noise_log"] = log.table()
        return out

    def _table(self, name: str, table: pa.Table, block_start: np.ndarray, blocks: list[int], rng_for: RngFor,
               log: NoiseLog) -> pa.Table:  # fmt: skip
        spec = self.tables[name]
        cols = _Columns(table)
        n = table.num_rows
        locked = _Locked(n)
        keys = table.column(TABLES[name].primary_key)
        log.start_table(name, keys, block_start)
        for col in TABLES[name].column_names:
            rates = self.plan.rates.get((name, col))
            if not rates:
                continue
            streams = [rng_for(b, stream_of(f"{name}.{col}")) for b in blocks]
            types = list(rates)  # the noise types of this column, by position
            bounds = np.cumsum([rates[t] for t in types])
            u = np.concatenate([rng.random(m) for rng, m in zip(streams, np.diff(block_start))])
            drawn = np.flatnonzero(u < bounds[-1])  # the few cells that get any noise
            drawn = drawn[~locked[col][drawn]]
            choice = np.searchsorted(bounds, u[drawn], side="right")
            target, kind = spec.column(col).type, spec.column(col).kind
            changed: list[tuple[np.ndarray, pa.Array]] = []
            for k, type_name in enumerate(types):
                noise = self.types[type_name]
                rows = drawn[choice == k]
                before = cols[col].take(pa.array(rows))
                keep = noise.eligible(kind, before)
                if keep is not None and not keep.all():
                    rows, before = rows[keep], before.filter(pa.array(keep))
                if len(rows) == 0:
                    continue
                change = noise.apply(
                    Cells(cols, col, kind, spec, rows, before, target, streams, block_start, self.ref,
                          self.config.pii_mode == "strict", self.config.as_of, self.plan.magnitude)
                )  # fmt: skip
                applied = change.applied & _differs(before, change.values, target)
                for other, (where, _) in change.also.items():
                    applied &= ~(where & locked[other][rows])
                done = rows[applied]
                everything = applied.all()
                new = change.values if everything else change.values.filter(pa.array(applied))
                changed.append((done, new))
                locked[col][done] = True
                old = before if everything else before.filter(pa.array(applied))
                log.add(done, col, type_name, change.variant[applied], noise.variants, old)
                for other, (where, new) in change.also.items():
                    mask = applied & where
                    also_rows = rows[mask]
                    old = cols[other].take(pa.array(also_rows))
                    other_type = spec.column(other).type
                    cols[other] = _scatter(cols[other], [(also_rows, new.filter(pa.array(mask)))], other_type)
                    locked[other][also_rows] = True
                    log.add(also_rows, other, type_name, change.variant[mask], noise.variants, old)
            cols[col] = _scatter(cols[col], changed, target)
        arrays = [cols.raw(c.name) for c in spec.columns]
        arrays = [a if a.type == c.type else a.cast(c.type) for a, c in zip(arrays, spec.columns)]
        return pa.Table.from_arrays(arrays, schema=spec.arrow_schema)


class _Columns(dict):
    """A table's columns, combined into one array only when noise reads or changes them."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__()
        self._table = table

    def __missing__(self, name: str) -> pa.Array:
        value = self[name] = self._table.column(name).combine_chunks()
        return value

    def raw(self, name: str) -> pa.Array | pa.ChunkedArray:
        """The column as it stands, without combining an untouched one."""
        return self[name] if name in self else self._table.column(name)


def _differs(before: pa.Array, after: pa.Array, target: pa.DataType) -> np.ndarray:
    """Where a change really changes the value (as the output will show it)."""
    a = before if before.type == target else before.cast(target)
    b = after if after.type == target else after.cast(target)
    unequal = pc.not_equal(a, b)
    if a.null_count or b.null_count:
        unequal = pc.fill_null(unequal, pc.not_equal(pc.is_valid(a), pc.is_valid(b)))
    return np.asarray(unequal, dtype=bool)


class _Locked(dict):
    """Per column, the cells already changed (made on first use)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def __missing__(self, column: str) -> np.ndarray:
        value = self[column] = np.zeros(self.n, dtype=bool)
        return value


def _scatter(base: pa.Array, changed: list[tuple[np.ndarray, pa.Array]], target: pa.DataType) -> pa.Array:
    """``base`` (cast to ``target``) with the given rows replaced by new values."""
    if base.type != target:
        base = base.cast(target)
    changed = [(r, v) for r, v in changed if len(r)]
    if not changed:
        return base
    n = len(base)
    index = np.arange(n)
    rows = np.concatenate([r for r, _ in changed])
    index[rows] = n + np.arange(len(rows))
    merged = pa.concat_arrays([base, *(v.cast(target) for _, v in changed)])
    return merged.take(pa.array(index))
