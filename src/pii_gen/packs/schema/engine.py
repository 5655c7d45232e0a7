"""Generating a schema's tables block by block, in any process, from the schema and the per-block row counts.

Block ``k`` of a run is rows ``[k*B, (k+1)*B)`` of every entity and fact without parent (``rows:``, or people
of the population for ``from: population``), the children of its parent's block ``k`` for a fact with a
parent, and a vocab table whole in block 0.  The row counts of every block are fixed when the plan is built
(fanout counts are drawn first, from their own stream), so any block knows its first row without the others
and keys stay dense 1..N at any worker count.

A ``from: calendar`` table has one row per day, ``days_per_block`` days (16 by default) in a block, blocks
aligned on multiples of it counted from 1970-01-01, and its blocks and its descendants' draw from streams
numbered by that absolute block rather than by k.  The first and last blocks of a window are made whole, days
outside the window included, and those days' rows (and their descendants') are dropped as they are written
(see :meth:`Engine.kept`): so a run over January to June makes exactly the rows a full-year run makes for those
days.  Positions count the dropped rows too, so keys that are positions (a ``sequence``) have gaps at a
window's ends; key such tables by the day instead (``calendar_day``, ``daily_key``).

A ``ref`` picks rows of its target by position and rebuilds the value from the position: a ``sequence`` key is
a pure function of it; any other column (and every ``lookup``) is read from the target's blocks that hold the
picked rows, regenerated here and kept in a small cache of recent blocks.  A ref to a plain sequence that
needs only its target's row count (a positional one: see :func:`~pii_gen.dsl.checks.not_positional`) may
therefore point at a table generated later, which is how tables referencing each other in a cycle are made.
Everything is vectorized over the block: picks, grouping by block and gathering never loop over rows.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from ...core import portable
from ...dsl.base import Context, Generator, stream
from ...dsl.checks import order, parent_column
from ...dsl.columns import FANOUT, column_block, fact_block, fanout_counts, table_block
from ...dsl.expr import ExprError, evaluate, names
from ...dsl.fanout import draw_counts, expressions
from ...dsl.generators._arrow import weighted_indices
from ...dsl.generators.keys import Sequence as SequenceGen, permute
from ...dsl.model import CALENDAR, Schema, Table
from ...errors import SchemaError
from .effects import Effects, Piece, ledger
from .near import near_positions
from .gather import by_block
from .noise import Noiser, column_kind, step_kind
from .population import Population

#: Rows of each ``rows:`` table per block: the unit of determinism (never the workers' or batches' choice).
BLOCK_SIZE = 10_000
#: Where a block's rows keep their parent rows' (table, positions) beside the ref columns': no column's name.
PARENT = "#parent"
#: The stream a rate effect's extra children are drawn from: a name no column can have.
RATE = "#rate"
#: Rows of other tables' blocks a process keeps for refs and lookups (recent blocks first).
CACHE_ROWS = 2_000_000


_PARENT_NAME = re.compile(r"\bparent\.([A-Za-z_][A-Za-z0-9_]*)")


def column_closure(table: Table, texts: list[str]) -> tuple[str, ...] | None:
    """The columns of ``table`` that expressions over its rows as ``parent.COLUMN`` read, with every column
    those read in turn (any text of their parameters and modifiers naming a column, ``via`` and ``with``), in
    file order; None when an expression names something else (then the whole row is needed)."""
    wanted: list[str] = []
    for text in texts:
        try:
            if set(names(text)) - {"parent", "None", "True", "False"}:
                return None
        except ExprError:
            return None  # not an expression: nothing to narrow
        wanted += _PARENT_NAME.findall(text)
    if any(w not in table.columns for w in wanted):
        return None
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in _texts(table.columns[name]):
            found = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) & set(table.columns)
            wanted += sorted(found - seen)
    return tuple(c for c in table.columns if c in seen)


def _texts(value: Any) -> list[str]:
    """Every text in a column's parameters, nested ones, map keys and modifiers included (what may name a
    column of its row)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, BaseModel):
        return [t for _, v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _texts(k) + _texts(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _texts(v)]
    return []


@dataclass
class Block:
    """One block of one table: its rows and each ref column's picked (table, positions), with its parent rows'
    under :data:`PARENT` for a fact with a parent."""

    table: pa.Table
    refs: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    #: (column, modify step) -> the rows a ``noise`` step changed (what a ledger lists, what the manifest counts).
    noise: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    #: This block's rows of the ledger (see :mod:`.effects`), None when nothing in it is labelled.
    ledger: pa.Table | None = None


def unsupported(schema: Schema) -> list[str]:
    """What this engine does not generate yet, one ``path: what`` line each (refused before any row exists)."""
    out: list[str] = []
    sized = schema.population is not None and schema.population.size is not None
    for name, table in schema.tables.items():
        here = f"tables.{name}"
        if table.from_ == "households" and not sized:
            out.append(f"{here}.from: a from: households table needs population.size (the people whose households "
                       "it lists)")
        if table.from_ == "population" and table.rows is None and not sized:
            out.append(f"{here}.rows: a from: population table needs rows: or population.size")
        for cname, col in table.columns.items():
            path = f"{here}.columns.{cname}"
            if col.gen == "ref" and col.to == "self":
                key = table.columns.get(table.keys[0]) if table.keys else None
                if key is None or key.gen != "sequence" or key.modify or key.null_rate:
                    out.append(f"{path}.to: to: self needs a plain sequence key (the parent's key is rebuilt "
                               "from its position)")
                if col.pick != "uniform" or col.where is not None or col.unique:
                    out.append(f"{path}.pick: to: self picks uniformly among the earlier rows (no where, unique)")
            if col.gen == "ref" and col.unique and col.pick != "uniform":
                out.append(f"{path}.unique: a unique ref picks uniformly (no zipf or weighted_by)")
    return out


def people(schema: Schema, scale: float) -> int | None:
    """The population's size at ``scale``: ``population.size`` scaled, else the people the ``from: population``
    tables reach (the largest ``start + rows``), None when no table needs people."""
    reach = [scaled_start(t, scale) + scaled_rows(schema, t, scale) for t in schema.tables.values()
             if t.from_ == "population" and t.rows is not None]
    if schema.population is not None and schema.population.size is not None:
        size = max(1, int(round(schema.population.size * scale)))
        if reach and max(reach) > size:  # a table's people range past the population: refused, not wrapped
            raise SchemaError(f"population.size: {size} people, but the from: population tables reach person "
                              f"{max(reach)} (-n for a pack)")
        return size
    reach += [scaled_start(t, scale) + scaled_rows(schema, t, scale) for t in schema.tables.values()
              if t.from_ == "population" and t.rows is None]
    return max(reach) if reach else None


def scaled_start(table: Table, scale: float) -> int:
    """The people a ``from: population`` table skips at ``scale``: ``start`` scales with the rows, so tables whose
    people ranges are disjoint in the file (an import's, one after the other) stay disjoint at any scale, and
    tables sharing people keep sharing them."""
    return int(round(table.start * scale))


def scaled_rows(schema: Schema, table: Table, scale: float) -> int:
    """The rows of an entity or of a fact without parent at ``scale`` (a ``from: population`` table's default:
    the population's size). A ``from: population`` table's are its people range's scaled end less its scaled
    start, so that ranges meeting in the file meet exactly at any scale (rounding neither overlaps nor parts
    them)."""
    rows = table.rows
    if rows is None and table.from_ == "population" and schema.population is not None:
        rows = schema.population.size
    if table.from_ == "population":
        return int(round((table.start + (rows or 0)) * scale)) - scaled_start(table, scale)
    if table.from_ == CALENDAR:  # one row per day, whatever the scale
        return days(schema)
    return int(round((rows or 0) * scale))


def days(schema: Schema) -> int:
    """The days of the schema's calendar (both ends included)."""
    return (schema.calendar.end - schema.calendar.start).days + 1


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return (day - dt.date(1970, 1, 1)).days


def first_calendar_block(schema: Schema) -> int:
    """The absolute number (days since 1970-01-01 over ``days_per_block``) of a run's first calendar block: the
    stream block of its block 0."""
    return day_number(schema.calendar.start) // schema.calendar.days_per_block


def calendar_blocks(schema: Schema) -> int:
    """The blocks of a ``from: calendar`` table: every aligned block holding a day of the calendar."""
    return day_number(schema.calendar.end) // schema.calendar.days_per_block - first_calendar_block(schema) + 1


def calendar_rooted(schema: Schema) -> set[str]:
    """The ``from: calendar`` tables and the facts descending from one through parents: their blocks are days,
    their streams keyed by the day (see :meth:`Engine.key_block`)."""
    out: set[str] = set()
    for name in order(schema):
        table = schema.tables[name]
        if table.from_ == CALENDAR or (table.parent is not None and table.parent in out):
            out.add(name)
    return out


class Engine:
    """Generates any block of any table of one schema run; ``block_rows`` is every table's rows per block."""

    def __init__(self, schema: Schema, seed: int, block_rows: dict[str, list[int]], block_size: int = BLOCK_SIZE,
                 cache_rows: int = CACHE_ROWS, people: int | None = None, scale: float = 1.0) -> None:
        self.schema = schema
        #: Per ``from: population`` table, the people it skips at the run's scale (see :func:`scaled_start`).
        self.starts = {name: scaled_start(t, scale) for name, t in schema.tables.items() if t.from_ == "population"}
        self.population_size = people
        self.seed = seed
        self.block_size = block_size
        self.order = order(schema)
        self.block_rows = {name: np.asarray(rows, dtype=np.int64) for name, rows in block_rows.items()}
        self.firsts = {name: np.concatenate([[0], np.cumsum(rows)]) for name, rows in self.block_rows.items()}
        self.cache_rows = cache_rows
        self._cache: OrderedDict[tuple[str, int], Block] = OrderedDict()
        self._cached = 0
        self._people: Population | None = None
        self._wholes: dict[str, pa.Table] = {}
        self._vocabularies: dict[tuple[str, str], pa.Array] = {}
        self._eligibles: dict[tuple[str, str], np.ndarray] = {}
        self._prefixes: dict[tuple[str, tuple[str, ...]], Schema] = {}
        self._noise: Noiser | None = None
        self._vocab_noise: dict[str, dict[tuple[str, int], np.ndarray]] = {}
        self._vocab_labels: dict[str, dict[tuple[str, int], tuple[np.ndarray, pa.Array]]] = {}
        self.vocab: dict[str, pa.Table] = {}
        self.effects = Effects(schema, self.vocab, seed, self._whole)
        #: Tables whose block k is the calendar's day k, and the stream block of that day's first block.
        self.daily = calendar_rooted(schema)
        self.first_daily_block = first_calendar_block(schema)
        self._kept: dict[tuple[str, int], np.ndarray | None] = {}
        self._reads: dict[tuple[str, tuple[str, ...]], tuple[str, ...] | None] = {}
        for name in self.order:
            if schema.tables[name].kind == "vocab":
                self.vocab[name] = self._vocab(name)

    @classmethod
    def counting(cls, schema: Schema, seed: int, scale: float, block_size: int = BLOCK_SIZE) -> Engine:
        """An engine whose row counts per block are drawn here (what the plan stores for every process)."""
        rows: dict[str, list[int]] = {}
        positional = [name for name, t in schema.tables.items() if t.kind != "vocab" and t.parent is None
                      and t.from_ != "households"]
        engine = cls(schema, seed, {}, block_size, people=people(schema, scale), scale=scale)
        totals = {name: int(round(scaled_rows(schema, schema.tables[name], scale) * engine.effects.growth(name)))
                  for name in positional}
        blocks = max([1] + [-(-total // block_size) for name, total in totals.items() if name not in engine.daily]
                     + [calendar_blocks(schema) for name in totals if name in engine.daily])
        if any(t.from_ == "households" for t in schema.tables.values()):
            blocks = max(blocks, engine.people.blocks)
        # Every table without a parent first: its counts need no rows, and a positional ref to a table generated
        # later (a cycle's) needs its row count while a fanout over its own table's columns generates that.
        for name in engine.order:
            table = schema.tables[name]
            if table.kind == "vocab":
                rows[name] = [len(table.data or [])] + [0] * (blocks - 1)
            elif table.from_ == "households":
                rows[name] = engine._household_rows(name, table, scale, blocks)
            elif table.from_ == CALENDAR:  # whole aligned blocks of days (see kept)
                per = schema.calendar.days_per_block
                rows[name] = [per if k < calendar_blocks(schema) else 0 for k in range(blocks)]
            elif table.parent is None:
                total = totals[name]
                rows[name] = [max(0, min(block_size, total - k * block_size)) for k in range(blocks)]
        for name in engine.order:
            if schema.tables[name].parent is not None:
                engine._set_rows(rows)
                rows[name] = [int(engine.counts(name, k).sum()) for k in range(blocks)]
        engine._set_rows({name: rows[name] for name in engine.order})
        return engine

    def _household_rows(self, name: str, table: Table, scale: float, blocks: int) -> list[int]:
        """A ``from: households`` table's rows per block: the households of each person block (block k of the
        table is person block k's), the first ``rows`` of them when it says how many."""
        counts = np.array([self.people.household_count(k) for k in range(self.people.blocks)], dtype=np.int64)
        if table.rows is not None:
            wanted = int(round(table.rows * scale))
            if wanted > counts.sum():
                raise SchemaError(f"tables.{name}.rows: {wanted} households wanted, the population's "
                                  f"{self.population_size} people live in {int(counts.sum())}")
            counts = np.diff(np.minimum(np.concatenate([[0], np.cumsum(counts)]), wanted))
        return counts.tolist() + [0] * (blocks - len(counts))

    def _set_rows(self, rows: dict[str, list[int]]) -> None:
        self.block_rows = {name: np.asarray(r, dtype=np.int64) for name, r in rows.items()}
        self.firsts = {name: np.concatenate([[0], np.cumsum(r)]) for name, r in self.block_rows.items()}

    @property
    def blocks(self) -> int:
        return max((len(rows) for rows in self.block_rows.values()), default=1)

    def total(self, table: str) -> int:
        return int(self.firsts[table][-1])

    def key_block(self, table: str, block: int) -> int:
        """The block number of a block's streams: its own, or for a table of days (``from: calendar`` and its
        descendants) the absolute calendar block's, so that the same days draw the same rows in any window."""
        return self.first_daily_block + block if table in self.daily else block

    def kept(self, table: str, block: int) -> np.ndarray | None:
        """Which rows of a block are written (None: all): a calendar block's days inside the calendar, and the
        descendants of those days.  Drawn from the row counts alone, so a plan knows them without values."""
        if table not in self.daily:
            return None
        key = (table, block)
        if key not in self._kept:
            spec = self.schema.tables[table]
            if spec.parent is None:
                per = self.schema.calendar.days_per_block
                day = (self.first_daily_block + block) * per + np.arange(int(self.block_rows[table][block]))
                inside = (day >= day_number(self.schema.calendar.start)) & (day <= day_number(self.schema.calendar.end))
                self._kept[key] = None if inside.all() else inside
            else:
                parent = self.kept(spec.parent, block)
                self._kept[key] = None if parent is None else np.repeat(parent, self.counts(table, block))
        return self._kept[key]

    def kept_rows(self, table: str) -> int:
        """The rows of ``table`` a run writes (before anomalies' copies): its rows less the dropped days'."""
        dropped = 0
        if table in self.daily:  # only a window's first and last blocks hold days outside it
            for block in {0, calendar_blocks(self.schema) - 1}:
                keep = self.kept(table, block)
                dropped += 0 if keep is None else int(len(keep) - keep.sum())
        return self.total(table) - dropped

    def _context(self, table: str, refs: dict[str, tuple[str, np.ndarray]],
                 noise: dict[tuple[str, int], np.ndarray] | None = None, block: int = 0) -> dict[str, Any]:
        """What a block's generators see besides the block itself."""
        return {"total_rows": self.total(table) if table in self.firsts else None, "tables": self.vocab,
                "engine": self, "refs": refs, "noise": noise if noise is not None else {},
                "stream_block": self.key_block(table, block)}

    def _vocab(self, name: str) -> pa.Table:
        """A vocab table whole: its ``data:`` rows (read from ``file:`` when the plan was built), then its
        generated columns."""
        table = self.schema.tables[name]
        data = pa.Table.from_pylist(table.data or [])
        ctx = Context(seed=self.seed, table=name, block=0, first_row=0,
                      calendar=(self.schema.calendar.start, self.schema.calendar.end), total_rows=data.num_rows,
                      tables=self.vocab, engine=self)
        ctx.columns.update({c: data.column(c).combine_chunks() for c in data.column_names})
        for cname, col in table.columns.items():
            ctx.columns[cname] = column_block(cname, col, data.num_rows, ctx)
        self._vocab_noise[name] = ctx.noise
        self._vocab_labels[name] = ctx.labels
        return pa.table(ctx.columns)

    def counts(self, table: str, block: int) -> np.ndarray:
        """Each parent row's number of children in a parent block (drawn before any child value); a table's
        global rate effects scale each parent's expected count by their growth (extra children drawn as
        Poisson(count x (growth - 1)), or each child kept with probability growth below 1), and its rate
        effects keyed by the parent the covered parents' counts by their own windows' growth."""
        spec = self.schema.tables[table]
        if expressions(spec.fanout):
            counts = fanout_counts(self.schema, table, self._parents_read(table, block).table, block, self.seed,
                                   self.key_block(table, block))
        else:
            n = int(self.block_rows[spec.parent][block])
            ctx = Context(seed=self.seed, table=table, block=block, first_row=0,
                          calendar=(self.schema.calendar.start, self.schema.calendar.end))
            counts = draw_counts(spec.fanout, n, stream(self.seed, table, FANOUT, self.key_block(table, block)), ctx)
        grow = self.effects.growth(table)
        keyed = self._parent_growth(table, block) if table in self.effects.by_table else None
        if keyed is not None:
            rng = stream(self.seed, table, RATE, self.key_block(table, block))
            grow = grow * keyed
            return rng.poisson(counts * np.maximum(grow - 1.0, 0.0)) + rng.binomial(counts, np.minimum(grow, 1.0))
        if grow == 1.0:
            return counts
        rng = stream(self.seed, table, RATE, self.key_block(table, block))
        return counts + rng.poisson(counts * (grow - 1.0)) if grow > 1 else rng.binomial(counts, grow)

    def _parents_read(self, table: str, block: int, texts: list[str] | None = None) -> Block:
        """The parent block that ``texts`` (expressions over the parent row as ``parent.COLUMN``; default: the
        table's fanout) read: the whole block when it is at hand or effects change it, else only the parent's
        key, the columns they read and those these need (a plan counts rows without making the parent's
        other columns: refs, people and text that only the run needs)."""
        spec = self.schema.tables[table]
        parent: str = spec.parent  # type: ignore[assignment]
        if (parent, block) in self._cache or parent in self.effects.by_table:
            return self.block(parent, block)
        texts = list(expressions(spec.fanout).values()) if texts is None else texts
        reads = (table, tuple(texts))
        if reads not in self._reads:
            found = column_closure(self.schema.tables[parent], texts)
            keys = self.schema.tables[parent].keys
            self._reads[reads] = None if found is None else tuple(
                c for c in self.schema.tables[parent].columns if c in found or c in keys)
        keep = self._reads[reads]
        if keep is None:
            return self.block(parent, block)
        return self._partial(parent, block, keep, (f"{parent}@{','.join(keep)}", block))

    def _partial_parents(self, table: str, block: int, schema: Schema) -> Block:
        """The parent block a partial block of ``table`` (``schema``'s columns of it) reads: its columns' texts
        and lookups through the parent, as :meth:`_parents_read`; the whole block for a lookup of more hops."""
        spec = schema.tables[table]
        texts = []
        for col in spec.columns.values():
            via = getattr(col, "via", None) if col.gen == "lookup" else None
            if via == "parent" or via == ["parent"]:
                texts.append(f"parent.{col.column}")
            elif via is not None and "parent" in ([via] if isinstance(via, str) else list(via)):
                return self.block(spec.parent, block)  # type: ignore[arg-type]
            else:
                texts += [t for t in _texts(col) if "parent" in t]
        return self._parents_read(table, block, texts)

    def _parent_growth(self, table: str, block: int) -> np.ndarray | None:
        """Each parent's growth of a parent block from the keyed rate effects its parent decides (None: the
        table has none), their ``where`` evaluated over the parents as the link column."""
        if not any(self.effects.by_parent(e) for e in self.effects.by_table[table]):
            return None
        spec = self.schema.tables[table]
        parents = self.block(spec.parent, block).table  # type: ignore[arg-type]
        n = parents.num_rows
        positions = self.firsts[spec.parent][block] + np.arange(n, dtype=np.int64)  # type: ignore[index]
        link = parent_column(self.schema, spec)
        refs = {PARENT: (spec.parent, positions), link: (spec.parent, positions)}
        ctx = Context(seed=self.seed, table=table, block=block, first_row=0,
                      calendar=(self.schema.calendar.start, self.schema.calendar.end),
                      **{**self._context(table, refs, block=block), "total_rows": None})  # type: ignore[arg-type]
        ctx.columns = {link: parents.column(self.schema.tables[spec.parent].keys[0]).combine_chunks()}  # type: ignore[dict-item]
        return self.effects.parent_growth(table, ctx, n)

    def rates(self, ctx: Context, n: int) -> Any:
        """The rate effects' groups and windows of the time column being drawn (see :meth:`Effects.rates`)."""
        return self.effects.rates(ctx, n)

    def block(self, table: str, block: int) -> Block:
        """Block ``block`` of ``table`` (from the cache when it was made lately in this process)."""
        key = (table, block)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        made = self._make(table, block)
        self._cache[key] = made
        self._cached += made.table.num_rows
        while self._cached > self.cache_rows and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= old.table.num_rows
        return made

    def _make(self, table: str, block: int, schema: Schema | None = None) -> Block:
        """Block ``block`` of ``table``, of ``schema``'s columns (a prefix of the file's: see :meth:`_prefix`)."""
        schema = schema or self.schema
        spec = schema.tables[table]
        refs: dict[str, tuple[str, np.ndarray]] = {}
        noise: dict[tuple[str, int], np.ndarray] = {}
        labels: dict[tuple[str, int], tuple[np.ndarray, pa.Array]] = {}
        if spec.kind == "vocab":
            whole = self.vocab[table]
            if block:
                return Block(whole.slice(0, 0))
            pieces = self._labels(table, self._vocab_labels.get(table, {}))
            return Block(whole, noise=self._vocab_noise.get(table, {}),
                         ledger=ledger(table, pieces, whole, spec.keys, 0))
        first = int(self.firsts[table][block])
        context = {**self._context(table, refs, noise, block), "labels": labels}
        if spec.parent is None:
            n = int(self.block_rows[table][block])
            rows = table_block(schema, table, block, first, n, self.seed, **context)
        else:
            parents = (self.block(spec.parent, block) if schema is self.schema
                       else self._partial_parents(table, block, schema)).table
            counts = self.counts(table, block)
            owners = self.firsts[spec.parent][block] + np.repeat(np.arange(len(counts), dtype=np.int64), counts)
            refs[PARENT] = refs[parent_column(schema, spec)] = (spec.parent, owners)  # a lookup through the link
            rows = fact_block(schema, table, parents, counts, block, first, self.seed, **context)
        if schema is not self.schema:  # a prefix of the columns, for a self ref's lookups: values before effects
            return Block(rows, refs, noise)
        pieces = self._labels(table, labels)
        if table in self.effects.by_table:
            ctx = Context(seed=self.seed, table=table, block=block, first_row=first, calendar=(
                schema.calendar.start, schema.calendar.end), **self._context(table, refs, noise, block))
            rows, changed = self.effects.apply(table, rows, ctx)
            pieces += changed
        keep = self.kept(table, block)
        if keep is not None:  # the ledger lists written rows only
            pieces = [Piece(p.effect, p.rows[keep[p.rows]], p.column,
                            None if p.original is None else p.original.filter(pa.array(keep[p.rows])))
                      for p in pieces]
        return Block(rows, refs, noise, ledger(table, pieces, rows, spec.keys, first))

    def _labels(self, table: str, labels: dict[tuple[str, int], tuple[np.ndarray, pa.Array]]) -> list[Piece]:
        """The ledger pieces of a block's labelled modifier steps, named ``MODIFIER:TABLE.COLUMN``."""
        out = []
        for (column, step), (rows, before) in labels.items():
            (mod_name, _), = self.schema.tables[table].columns[column].modify[step]
            out.append(Piece(f"{mod_name}:{table}.{column}", rows, column,
                             before.take(pa.array(rows, pa.int64())).cast(pa.string())))
        return out

    def _prefix(self, table: str, block: int, upto: str | None) -> Block:
        """Block ``block`` of ``table`` with its columns up to ``upto`` only (none: just the parent link): what a
        self ref's lookups read of earlier blocks.  Those columns come before the lookup in the file, so making
        them never needs the lookup again, and a block's values do not depend on the columns after them."""
        if (table, block) in self._cache:
            return self.block(table, block)
        key = (f"{table}#{upto}", block)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        names = list(self.schema.tables[table].columns)
        return self._partial(table, block, tuple(names[:names.index(upto) + 1] if upto in names else ()), key)

    def _partial(self, table: str, block: int, keep: tuple[str, ...], key: tuple[str, int]) -> Block:
        """Block ``block`` of ``table`` with only the columns ``keep`` (in file order; each column's values
        depend on its own streams and the columns it reads alone, so they are the full block's), cached as
        ``key``; values before effects."""
        if (table, keep) not in self._prefixes:
            spec = self.schema.tables[table]
            short = spec.model_copy(update={"columns": {c: col for c, col in spec.columns.items() if c in keep}})
            self._prefixes[(table, keep)] = self.schema.model_copy(
                update={"tables": {**self.schema.tables, table: short}})
        made = self._make(table, block, self._prefixes[(table, keep)])
        self._cache[key] = made
        self._cached += made.table.num_rows
        while self._cached > self.cache_rows and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= old.table.num_rows
        return made

    # -- what needs other tables ---------------------------------------------------------------------------

    def generate(self, gen: Generator, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        """A column of an engine generator (``ref``, ``lookup``, ``person``, ``faker``) for one block."""
        if gen.name == "ref":
            return self._ref(gen, n, rng, ctx)
        if gen.name == "lookup":
            via = gen.params.via
            return self.lookup(ctx, [via] if isinstance(via, str) else list(via), gen.params.column)
        if gen.name == "noise_label":
            return self.noise_label(ctx, gen.params.columns)
        if gen.name == "person":
            ids = self._person_ids(gen.params.of, n, ctx)
            values = self.people.field(gen.params.field, np.maximum(ids, 1))
            return values if (ids > 0).all() else pc.if_else(pa.array(ids <= 0), pa.scalar(None, values.type), values)
        if gen.name == "faker":
            vocabulary = self._faker(gen, ctx.table)
            return vocabulary.take(pa.array(rng.integers(0, len(vocabulary), size=n)))
        raise SchemaError(f"tables.{ctx.table}.columns.{gen.column}.gen: gen: {gen.name} is not generated yet")

    def _faker(self, gen: Generator, table: str) -> pa.Array:
        """A ``gen: faker`` column's vocabulary: up to ``vocabulary`` distinct values of a Faker seeded from
        (seed, table, column), made once per process (Faker is never called per row)."""
        key = (table, gen.column)
        if key not in self._vocabularies:
            p, path = gen.params, f"tables.{table}.columns.{gen.column}"
            try:
                from faker import Faker
            except ImportError:
                raise SchemaError(f"{path}.gen: gen: faker needs the Faker package (pip install 'pii-gen[faker]')") \
                    from None
            fake = Faker(p.locale)
            fake.seed_instance(zlib.crc32(f"{self.seed}/{table}/{gen.column}".encode()))
            method = getattr(fake, p.method, None)
            if not callable(method):
                raise SchemaError(f"{path}.method: Faker has no method '{p.method}'")
            distinct: dict[Any, None] = {}
            for _ in range(3 * p.vocabulary):  # a method with fewer distinct values ends the vocabulary early
                value = method(**p.args)
                distinct[value if isinstance(value, (str, int, float, bool, dt.date)) else str(value)] = None
                if len(distinct) == p.vocabulary:
                    break
            self._vocabularies[key] = pa.array(list(distinct))
        return self._vocabularies[key]

    @property
    def people(self) -> Population:
        """The population the schema's people come from (built when a block first needs it)."""
        if self._people is None:
            section = self.schema.population
            self._people = Population(self.seed, *(("strict", None) if section is None else
                                                   (section.pii_mode, section.config)), size=self.population_size)
        return self._people

    def noise(self, params: Any, values: pa.Array, rng: np.random.Generator, ctx: Context) -> pa.Array:
        """A ``noise`` step of column ``ctx.column`` over one block: the population's noise type at ``rate``,
        its changed rows kept in ``ctx.noise`` under (column, step)."""
        if self._noise is None:  # from the file alone, whatever this process made first
            section = self.schema.population
            self._noise = Noiser(section is None or section.pii_mode == "strict",
                                 section.config if section is not None else {}, self.seed)
        spec = self.schema.tables[ctx.table]
        col = spec.columns[ctx.column]
        kinds = {c: column_kind(spec.columns[c]) if c in spec.columns else "" for c in ctx.columns}
        changed, touched = self._noise.apply(params, step_kind(col, params), values, rng, ctx, kinds)
        ctx.noise[(ctx.column, ctx.step)] = touched
        if params.label:
            ctx.labels[(ctx.column, ctx.step)] = (np.flatnonzero(touched), values)
        return changed

    def noise_label(self, ctx: Context, columns: list[str] | None) -> pa.Array:
        """Per row, the types of its parent row's ``noise`` steps (on ``columns``, default all) that changed it,
        in file order joined by ``+``, or ``none``: the masks the parent's blocks kept, so the label is exact."""
        table, positions = ctx.refs[PARENT]
        steps = []
        for cname, col in self.schema.tables[table].columns.items():
            for i, step in enumerate(col.modify):
                (mod, params), = step
                if mod == "noise" and (columns is None or cname in columns):
                    steps.append((cname, i, params.type))
        code = np.zeros(len(positions), np.int64)
        for bit, (cname, i, _) in enumerate(steps):
            hit = self._gather(table, positions, lambda b, key=(cname, i): pa.array(
                b.noise.get(key, np.zeros(b.table.num_rows, bool))))
            code |= np.asarray(hit, dtype=bool).astype(np.int64) << bit
        found, at = np.unique(code, return_inverse=True)
        names = ["+".join(t for bit, (_, _, t) in enumerate(steps) if c >> bit & 1) or "none" for c in found]
        return pa.array(names, pa.string()).take(pa.array(at.astype(np.int64)))

    def _person_ids(self, of: str | None, n: int, ctx: Context) -> np.ndarray:
        """The person ids of this block's rows (``from: population``: row i is person start + i + 1; ``from:
        households``: row i is its block's household i, read as its householder), or of the rows ref column
        ``of`` picked (0 where it picked none: a self ref's root)."""
        if of is None:
            table, positions = ctx.table, ctx.first_row + np.arange(n, dtype=np.int64)
        else:
            table, positions = ctx.refs[of]
        spec = self.schema.tables[table]
        if spec.from_ == "households":
            firsts = self.firsts[table]
            blocks = np.searchsorted(firsts, np.maximum(positions, 0), side="right") - 1
            ids = self.people.householders(blocks, np.maximum(positions, 0) - firsts[blocks])
        else:
            ids = self.starts[table] + positions + 1
        return np.where(positions < 0, 0, ids)

    def _self_ref(self, gen: Generator, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        """A parent among the earlier rows (uniform), none for the first row and a ``root_share`` of the others."""
        index = np.arange(ctx.first_row, ctx.first_row + n, dtype=np.int64)
        picked = np.floor(rng.random(n) * index).astype(np.int64)
        root = (index == 0) | (rng.random(n) < (gen.params.root_share or 0.0))
        ctx.refs[gen.column] = (ctx.table, np.where(root, -1, picked))
        values = self.values(ctx.table, self.schema.tables[ctx.table].keys[0], picked)
        return pc.if_else(pa.array(root), pa.scalar(None, values.type), values)

    def _ref(self, gen: Generator, n: int, rng: np.random.Generator, ctx: Context) -> pa.Array:
        p = gen.params
        if p.to == "self":
            return self._self_ref(gen, n, rng, ctx)
        target, _, column = p.to.partition(".")
        column = column or self.schema.tables[target].keys[0]
        path = f"tables.{ctx.table}.columns.{gen.column}"
        eligible = None if p.where is None else self._eligible(target, p.where)
        size = self.total(target) if eligible is None else len(eligible)
        if n and not size:
            what = "has no rows" if eligible is None else "has no rows where the ref's where: holds"
            raise SchemaError(f"{path}.to: table {target} {what} to refer to")
        if p.unique:  # a seeded bijection of the target's rows, taken at this row's table-wide index
            rows = self.total(ctx.table)
            if rows > size:
                raise SchemaError(f"{path}.unique: {rows} rows cannot each take a different row of {target} "
                                  f"({size} to pick from)")
            picked = permute(np.arange(ctx.first_row, ctx.first_row + n, dtype=np.int64), size, self.seed,
                             ctx.table, gen.column)
        elif not n:
            picked = np.zeros(0, dtype=np.int64)
        elif p.pick == "uniform":
            picked = rng.integers(0, size, size=n, dtype=np.int64)
        elif hasattr(p.pick, "near"):
            parent = ctx.refs.get(PARENT)
            own = parent[1] if parent is not None and parent[0] == target else \
                np.arange(ctx.first_row, ctx.first_row + n, dtype=np.int64)
            lo = hi = None
            if p.pick.near.block:  # the bounds of the target's block holding each own position
                firsts = self.firsts[target]
                at = np.searchsorted(firsts, own, side="right") - 1
                lo, hi = firsts[at], firsts[np.minimum(at + 1, len(firsts) - 1)]
            picked = near_positions(own, size, p.pick.near.window, rng, lo, hi)
        elif hasattr(p.pick, "zipf"):  # over position order: the first (eligible) rows are the most referenced
            picked = weighted_indices(portable.power(np.arange(1, size + 1, dtype=np.float64), -p.pick.zipf.s), n, rng)
        else:
            picked = weighted_indices(self._weights(target, p.pick.weighted_by, eligible, path), n, rng)
        positions = picked.astype(np.int64) if eligible is None else eligible[picked]
        ctx.refs[gen.column] = (target, positions)
        return self.values(target, column, positions)

    def _whole(self, table: str) -> pa.Table:
        """All rows of ``table`` (what ``where:`` and ``weighted_by`` read: meant for vocab and small tables)."""
        if table not in self._wholes:
            rows = self.block_rows[table] if table in self.block_rows else np.ones(1)
            held = [b for b in range(self.blocks) if b < len(rows) and rows[b]] or [0]  # empty blocks add nothing
            self._wholes[table] = pa.concat_tables([self.block(table, b).table for b in held])
        return self._wholes[table]

    def _eligible(self, table: str, where: str) -> np.ndarray:
        """The positions of ``table``'s rows where ``where`` holds (null counts as false)."""
        if (table, where) not in self._eligibles:
            rows = self._whole(table)
            ctx = Context(seed=self.seed, table=table, block=0, first_row=0,
                          calendar=(self.schema.calendar.start, self.schema.calendar.end), tables=self.vocab,
                          columns={c: rows.column(c).combine_chunks() for c in rows.column_names})
            held = pc.fill_null(evaluate(where, ctx, rows.num_rows), False).to_numpy(zero_copy_only=False)
            self._eligibles[(table, where)] = np.flatnonzero(held).astype(np.int64)
        return self._eligibles[(table, where)]

    def _weights(self, table: str, column: str, eligible: np.ndarray | None, path: str) -> np.ndarray:
        """The pick weights of ``table``'s (eligible) rows: its column ``column`` (null weighs 0)."""
        values = self._whole(table).column(column).combine_chunks()
        weights = pc.fill_null(values.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        weights = weights if eligible is None else weights[eligible]
        if (weights < 0).any() or not weights.sum() > 0:
            raise SchemaError(f"{path}.pick.weighted_by: {table}.{column} must be >= 0 with a positive sum")
        return weights

    def lookup(self, ctx: Context, hops: Sequence[str], column: str) -> pa.Array:
        """``column`` of the rows reached from this block's rows through ``hops`` (ref columns or ``parent``);
        null where a hop reaches no row (a self ref's root)."""
        table, positions = ctx.table, None
        for hop in hops:
            if positions is None:  # the first hop starts at this block's own rows
                table, positions = ctx.refs[PARENT if hop == "parent" else hop]
            else:
                table, positions = self._hop(table, hop, positions, ctx)
        return self._read(table, positions, ctx, column)  # type: ignore[arg-type]

    def _hop(self, table: str, hop: str, positions: np.ndarray, ctx: Context) -> tuple[str, np.ndarray]:
        """The (table, positions) one more hop away from rows ``positions`` of ``table`` (-1: no row)."""
        spec = self.schema.tables[table]
        target = spec.parent if hop == "parent" else spec.columns[hop].to.split(".")[0]
        reached = self._read(table, positions, ctx, None, PARENT if hop == "parent" else hop)
        return (table if target == "self" else target), \
            np.asarray(pc.fill_null(reached, -1).to_numpy(zero_copy_only=False), dtype=np.int64)  # type: ignore[return-value]

    def _read(self, table: str, positions: np.ndarray, ctx: Context, column: str | None,
              ref: str | None = None) -> pa.Array:
        """``column`` (or ref ``ref``'s picked positions) of ``table``'s rows at ``positions``, null at -1.

        Only a self ref leads back to the table being made: its rows in this block are read from the block's
        columns made so far, those of earlier blocks from those blocks' columns up to the one read (never the
        whole earlier block, whose own lookups would reach further back again)."""
        upto = column if ref is None else (None if ref == PARENT else ref)
        own = table == ctx.table and ctx.engine is self

        def there(at: np.ndarray) -> pa.Array:
            if ref is not None:
                return self._gather(table, at, lambda b: pa.array(b.refs[ref][1]), upto if own else "#all")
            return self.values(table, column, at, upto if own else "#all")  # type: ignore[arg-type]

        missing = positions < 0
        current = own & (positions >= ctx.first_row) & ~missing
        if not missing.any() and not current.any():
            return there(positions)
        here = ctx.refs[ref][1] if ref is not None else None
        pieces: list[tuple[np.ndarray, pa.Array]] = []
        elsewhere = np.flatnonzero(~missing & ~current)
        if len(elsewhere):
            pieces.append((elsewhere, there(positions[elsewhere])))
        inside = np.flatnonzero(current)
        if len(inside):
            at = pa.array(positions[inside] - ctx.first_row)
            pieces.append((inside, pa.array(here).take(at) if ref is not None else ctx.columns[column].take(at)))
        kind = pieces[0][1].type if pieces else (pa.int64() if ref is not None else
                                                 (ctx.columns[column].type if own else there(positions[:0]).type))
        gone = np.flatnonzero(missing)
        pieces.append((gone, pa.nulls(len(gone), kind)))
        order = np.concatenate([rows for rows, _ in pieces])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return pa.concat_arrays([values.cast(kind) for _, values in pieces]).take(pa.array(back))

    def values(self, table: str, column: str, positions: np.ndarray, upto: str | None = "#all") -> pa.Array:
        """``column`` of ``table``'s rows at ``positions``: a pure function of position for a plain sequence,
        else gathered from the blocks holding them (of their columns up to ``upto`` when it names one)."""
        spec = self.schema.tables[table]
        col = spec.columns.get(column)
        if col is not None and col.gen == "sequence" and not col.modify and not col.null_rate:
            ctx = Context(seed=self.seed, table=table, block=0, first_row=0,
                          calendar=(self.schema.calendar.start, self.schema.calendar.end), total_rows=self.total(table))
            return SequenceGen(col, table, column).at(positions, ctx)
        return self._gather(table, positions, lambda b: b.table.column(column).combine_chunks(), upto)

    def _gather(self, table: str, positions: np.ndarray, part: Any, upto: str | None = "#all") -> Any:
        """``part(block)`` of the blocks holding ``positions``, taken at them, in the order of ``positions``
        (blocks of their columns up to ``upto`` only, unless it is ``"#all"``)."""
        if self.schema.tables[table].kind == "vocab":
            return part(self.block(table, 0)).take(pa.array(positions))
        get = (lambda b: self.block(table, b)) if upto == "#all" else (lambda b: self._prefix(table, b, upto))
        firsts = self.firsts[table]
        blocks = np.searchsorted(firsts, positions, side="right") - 1
        return by_block(blocks, positions - firsts[blocks], lambda b, rows: part(get(b)).take(rows),
                        lambda: part(get(0)).slice(0, 0))
