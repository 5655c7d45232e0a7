"""Effects (section 5 of the schema contract): time windows that change a table's values or its rows per unit
of time, and the ledger ``_effects`` that lists every row they (and labelled outliers and noise) touched.

A column effect changes a finished block: after every generator and modifier, effects of the table apply in
file order to the rows whose ``time`` is inside one of their windows and where ``where`` holds, each row at
most once per effect (by the first of its windows, in the source table's row order).  A rate effect acts
while the block is drawn: the ``time`` column of the rows it covers is drawn from its density with each
window weighted by ``rate`` (:func:`~pii_gen.dsl.generators.temporal.draw_rated`), and a global one (no
``where``, no ``on``) also grows the table's rows by the extra mass the windows get, so rows per unit of
time outside the windows stay what they were; so does a keyed one decided by the parent (its ``where`` and
``on`` read only the parent link), for the covered parents' children only.  Windows come from ``window:``
or from the rows of a vocab table (``source:``), matched to a row by its ``on`` columns.  Everything here is
vectorized over a block; loops run over effects, windows' key groups and ledger pieces, never over rows.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.contract import Column, Table
from ...dsl.base import GENERATORS, Context
from ...dsl.checks import parent_column
from ...dsl.expr import evaluate, names
from ...dsl.generators._arrow import as_numpy
from ...dsl.generators.temporal import bounds_us, growth, window_us
from ...dsl.model import WEEKDAYS, Effect, Schema, Window
from ...errors import SchemaError

#: The ledger table's name, and its columns (name, nullable).
LEDGER = "_effects"
LEDGER_COLUMNS = (("effect", False), ("table", False), ("row_key", False), ("column", True), ("original", True))
#: Modifiers whose ``label: true`` lists the rows they changed in the ledger (as ``MODIFIER:TABLE.COLUMN``).
LABELLED = ("outliers", "noise")


def ledger_contract() -> Table:
    """The ledger's contract: text columns, no key (a row may be listed once per effect that touched it)."""
    return Table(LEDGER, tuple(Column(name, pa.string(), nullable) for name, nullable in LEDGER_COLUMNS), "", (),
                 description="rows changed by effects, outliers and noise (one row per change)")


def labelled(schema: Schema) -> bool:
    """Whether a run of ``schema`` writes the ledger: an effect, outliers or noise step with ``label: true``."""
    steps = (params for t in schema.tables.values() for c in t.columns.values() for (name, params), in c.modify
             if name in LABELLED)
    return any(e.label for e in schema.effects) or any(getattr(p, "label", False) for p in steps)


@dataclass
class Windows:
    """An effect's windows: [start, end) in µs, each one's ``value`` (source column) and ``on`` key columns."""

    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray | None
    keys: list[pa.Array]


@dataclass
class Piece:
    """One part of a block's ledger: the rows (positions in the block) one effect or modifier step touched."""

    effect: str
    rows: np.ndarray
    column: str | None
    original: pa.Array | None


class Effects:
    """The effects of one engine's schema: windows resolved once, applied to any block."""

    def __init__(self, schema: Schema, vocab: dict[str, pa.Table], seed: int, whole: Callable[[str], pa.Table]
                 ) -> None:
        self.schema = schema
        self.vocab = vocab
        self.whole = whole  # every row of a (small) table: a source that is not vocab
        self.seed = seed
        self.by_table: dict[str, list[Effect]] = {}
        self.rated: dict[tuple[str, str], list[Effect]] = {}
        for effect in schema.effects:
            self.by_table.setdefault(effect.table, []).append(effect)
            if effect.rate is not None:
                self.rated.setdefault((effect.table, effect.time), []).append(effect)
        self._windows: dict[str, Windows] = {}
        self._growth: dict[str, float] = {}
        self._cells: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, int]] = {}
        self._key_growth: dict[str, dict[int, float]] = {}

    def windows(self, effect: Effect) -> Windows:
        """The effect's windows: its ``window:``, or one per row of its source table."""
        if effect.name not in self._windows:
            if effect.window is not None:
                spans = [window_us(s, e) for s, e in recurrences(effect.window, self.schema.calendar.start,
                                                                  self.schema.calendar.end)]
                made = Windows(np.array([s for s, _ in spans]), np.array([e for _, e in spans]), None, [])
            else:
                src = effect.source
                rows = self.vocab[src.table] if src.table in self.vocab else self.whole(src.table)  # type: ignore
                values = None if src.value is None else as_numpy(rows.column(src.value).combine_chunks())
                made = Windows(bounds_us(rows.column(src.start).combine_chunks(), False),
                               bounds_us(rows.column(src.end).combine_chunks(), True), values,
                               [rows.column(c).combine_chunks() for c in src.on.values()])
            self._windows[effect.name] = made
        return self._windows[effect.name]

    def _codes(self, effect: Effect, windows: Windows, columns: dict[str, pa.Array], n: int
               ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's key code and each window's (a row can fall into the windows of its code only; -1 and
        -2 for null keys, which match nothing); all 0 without ``on``."""
        if not windows.keys:
            return np.zeros(n, dtype=np.int64), np.zeros(len(windows.starts), dtype=np.int64)
        w = len(windows.starts)
        parts = []
        for column, keys in zip(effect.source.on, windows.keys):  # type: ignore[union-attr]
            mine = columns[column]
            both = pa.concat_arrays([keys.cast(mine.type), mine]).dictionary_encode().indices
            parts.append(np.asarray(pc.fill_null(both, -1).to_numpy(zero_copy_only=False), dtype=np.int64))
        stacked = np.stack(parts, axis=1)
        _, code = np.unique(stacked, axis=0, return_inverse=True)
        code = code.ravel().astype(np.int64)
        null = (stacked < 0).any(axis=1)
        code[null] = -1
        code[:w][null[:w]] = -2
        return code[w:], code[:w]

    def _covered(self, effect: Effect, ctx: Context, n: int) -> np.ndarray:
        """Where the effect's ``where:`` holds (null counts as false); everywhere without one."""
        if effect.where is None:
            return np.ones(n, dtype=bool)
        held = pc.fill_null(evaluate(effect.where, ctx, n), False)
        return np.asarray(held.to_numpy(zero_copy_only=False), dtype=bool)

    # -- rate effects: while the time column is drawn ------------------------------------------------------

    def rates(self, ctx: Context, n: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] | None:
        """For the column being drawn: each row's group and each group's windows (starts, ends, rates), or
        None when no rate effect times its rows by it.  Rows share a group when every effect covers them
        with the same windows (group 0: the first combination met; a group may have no windows)."""
        effects = self.rated.get((ctx.table, ctx.column))
        if not effects:
            return None
        codes, table = [], []
        for effect in effects:
            windows = self.windows(effect)
            rows, wins = self._codes(effect, windows, ctx.columns, n)
            codes.append(np.where(self._covered(effect, ctx, n), rows, -1))
            table.append((effect, windows, wins))
        combos, groups = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
        out = []
        for combo in combos:
            parts = [(w.starts[wins == k], w.ends[wins == k], np.full(int((wins == k).sum()), e.rate))
                     for k, (e, w, wins) in zip(combo, table) if k >= 0]
            out.append(tuple(np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, dtype=np.int64 if i < 2
                                                                                           else np.float64)
                             for i in range(3)))
        return groups.ravel().astype(np.int64), out  # type: ignore[return-value]

    def growth(self, table: str) -> float:
        """How many times its rows a table gets from its global rate effects (no ``where``, no ``on``): the
        weighted density's mass over the plain one, multiplied over the effects."""
        if table not in self._growth:
            factor = 1.0
            for effect in self.by_table.get(table, []):
                if effect.rate is None or effect.where is not None or (effect.source is not None and effect.source.on):
                    continue
                w = self.windows(effect)
                factor *= self._mass_growth(effect, w.starts, w.ends)
            self._growth[table] = factor
        return self._growth[table]

    def _mass_growth(self, effect: Effect, starts: np.ndarray, ends: np.ndarray) -> float:
        """The time column's density mass with these windows weighted by the effect's rate over its plain mass."""
        if (effect.table, effect.time) not in self._cells:
            col = self.schema.tables[effect.table].columns[effect.time]
            ctx = Context(seed=self.seed, table=effect.table, block=0, first_row=0,
                          calendar=(self.schema.calendar.start, self.schema.calendar.end))
            self._cells[(effect.table, effect.time)] = GENERATORS[col.gen](col, effect.table, effect.time).cells(ctx)
        edges, mass, unit = self._cells[(effect.table, effect.time)]
        return growth(edges, mass, (starts, ends, np.full(len(starts), float(effect.rate))), unit)  # type: ignore[arg-type]

    def by_parent(self, effect: Effect) -> bool:
        """Whether a keyed rate effect's coverage is decided by the parent row alone: its table has a parent,
        and its ``where`` and ``on`` read nothing but the parent link (lookups through it included)."""
        table = self.schema.tables[effect.table]
        link = parent_column(self.schema, table)
        if effect.rate is None or link is None:
            return False
        used = (names(effect.where) if effect.where else set()) | set(effect.source.on if effect.source else ())
        return bool(used) and used <= {link}

    def parent_growth(self, table: str, ctx: Context, n: int) -> np.ndarray | None:
        """Each parent row's growth from the table's keyed rate effects decided by the parent (see
        :meth:`by_parent`; ``ctx`` holds the parents as the link column), the product over effects; None when
        the table has none.  A covered parent's children grow by its windows' extra mass, the others' not."""
        effects = [e for e in self.by_table.get(table, []) if self.by_parent(e)]
        if not effects:
            return None
        factor = np.ones(n)
        for effect in effects:
            windows = self.windows(effect)
            row_code, win_code = self._codes(effect, windows, ctx.columns, n)
            covered = self._covered(effect, ctx, n) & (row_code >= 0)
            known = self._key_growth.setdefault(effect.name, {})
            size = int(max(row_code.max(initial=-1), win_code.max(initial=-1))) + 1
            by_code = np.ones(size)
            for code in np.unique(win_code[win_code >= 0]):
                mine = np.flatnonzero(win_code == code)
                if int(mine[0]) not in known:  # a key's first window names it in every block
                    known[int(mine[0])] = self._mass_growth(effect, windows.starts[mine], windows.ends[mine])
                by_code[code] = known[int(mine[0])]
            factor[covered] *= by_code[row_code[covered]]
        return factor

    # -- column effects and the ledger: on a finished block ------------------------------------------------

    def apply(self, table: str, rows: pa.Table, ctx: Context) -> tuple[pa.Table, list[Piece]]:
        """The block's rows after the table's effects, in file order, and the ledger pieces of labelled ones.

        ``ctx`` sees the block's finished columns (and refs), so ``where`` and expressions read final values
        of the effects before."""
        pieces: list[Piece] = []
        n = rows.num_rows
        columns = {c: rows.column(c).combine_chunks() for c in rows.column_names}
        for effect in self.by_table.get(table, []):
            if effect.column is None and not effect.label:
                continue  # a rate effect's work was done while the block was drawn
            ctx.columns = columns
            hit, window = self._inside(effect, columns, ctx, n)
            if effect.column is None:
                pieces.append(Piece(effect.name, hit, None, None))
                continue
            before = columns[effect.column]
            valid = np.asarray(pc.is_valid(before).to_numpy(zero_copy_only=False), dtype=bool)[hit]
            hit, window = hit[valid], window[valid]  # a null value has nothing to change
            columns[effect.column] = self._change(effect, before, hit, window, ctx, n, table)
            if effect.label:
                pieces.append(Piece(effect.name, hit, effect.column, before.take(pa.array(hit)).cast(pa.string())))
        return pa.table(columns), pieces

    def _inside(self, effect: Effect, columns: dict[str, pa.Array], ctx: Context, n: int
                ) -> tuple[np.ndarray, np.ndarray]:
        """The rows (ascending) inside one of their windows where the effect holds, with each one's first
        window (in window order)."""
        windows = self.windows(effect)
        time = columns[effect.time]
        if not (pa.types.is_date(time.type) or pa.types.is_timestamp(time.type)):
            raise SchemaError(f"effect {effect.name}: time column {effect.table}.{effect.time} holds "
                              f"{time.type} values, not dates or timestamps")
        us = pc.cast(pc.cast(time, pa.timestamp("us")), pa.int64())
        valid = np.asarray(pc.is_valid(us).to_numpy(zero_copy_only=False), dtype=bool)
        us = np.asarray(pc.fill_null(us, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        row_code, win_code = self._codes(effect, windows, columns, n)
        eligible = valid & self._covered(effect, ctx, n) & (row_code >= 0)
        order = np.lexsort((np.arange(len(win_code)), win_code))
        sorted_codes = win_code[order]
        lo = np.searchsorted(sorted_codes, row_code, side="left")
        counts = np.where(eligible, np.searchsorted(sorted_codes, row_code, side="right") - lo, 0)
        row = np.repeat(np.arange(n), counts)
        win = order[np.repeat(lo, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)]
        inside = (us[row] >= windows.starts[win]) & (us[row] < windows.ends[win])
        row, win = row[inside], win[inside]
        first = np.lexsort((win, row))
        row, win = row[first], win[first]
        keep = np.concatenate([[True], row[1:] != row[:-1]]) if len(row) else np.zeros(0, dtype=bool)
        return row[keep], win[keep]

    def locate(self, effect: Effect, columns: dict[str, pa.Array], ctx: Context, n: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What a validator needs to measure the effect on stored rows: where it covers a row (``where``
        holds, time and keys not null), each row's window group (the index of the first window of its key;
        -1 where it is not covered or no window has its key), each window's group, and the rows inside a
        window with the first one of each."""
        windows = self.windows(effect)
        row_code, win_code = self._codes(effect, windows, columns, n)
        size = int(max(row_code.max(initial=-1), win_code.max(initial=-1))) + 1
        first = np.full(size, len(win_code), dtype=np.int64)
        mine = np.flatnonzero(win_code >= 0)
        np.minimum.at(first, win_code[mine], mine)  # each key's first window
        first[first == len(win_code)] = -1
        win_group = np.where(win_code >= 0, first[np.maximum(win_code, 0)], -1) if len(first) else win_code
        ctx.columns = columns
        time = columns[effect.time]
        eligible = self._covered(effect, ctx, n) & np.asarray(pc.is_valid(time).to_numpy(zero_copy_only=False),
                                                               dtype=bool) & (row_code >= 0)
        group = np.where(eligible, first[np.maximum(row_code, 0)], -1) if len(first) else np.full(n, -1)
        hit, win = self._inside(effect, columns, ctx, n)
        return eligible, group, win_group, hit, win

    def _spans(self, effect: Effect, kind: pa.DataType, hit: np.ndarray, window: np.ndarray, n: int
               ) -> dict[str, pa.Array]:
        """``window_start`` and ``window_end`` of each changed row (null elsewhere), of the time column's type:
        a date window's end is its last day, a timestamp window's its end instant."""
        windows = self.windows(effect)
        out = {}
        for name, bounds, back in (("window_start", windows.starts, 0), ("window_end", windows.ends, 1)):
            values = np.zeros(n, dtype=np.int64)
            values[hit] = bounds[window]
            mask = np.ones(n, dtype=bool)
            mask[hit] = False
            if pa.types.is_date(kind):
                days = values // 86_400_000_000 - back
                out[name] = pa.array(days.astype(np.int32), pa.date32(), mask=mask).cast(kind)
            else:
                out[name] = pa.array(values, pa.timestamp("us"), mask=mask).cast(kind)
        return out

    def _change(self, effect: Effect, before: pa.Array, hit: np.ndarray, window: np.ndarray, ctx: Context, n: int,
                table: str) -> pa.Array:
        """The effect's column with ``multiply``/``add`` applied at rows ``hit`` (whole numbers stay whole,
        values rounded to the column's ``decimals`` where it has them)."""
        amount_spec = effect.multiply if effect.multiply is not None else effect.add
        if amount_spec == "value" and effect.source is not None:
            amount = self.windows(effect).values[window]  # type: ignore[index]
        elif isinstance(amount_spec, str):
            ctx.columns = {**ctx.columns, **self._spans(effect, ctx.columns[effect.time].type, hit, window, n)}
            amount = as_numpy(evaluate(amount_spec, ctx, n))[hit]  # type: ignore[index]
        else:
            amount = float(amount_spec)  # type: ignore[arg-type]
        x = np.array(pc.fill_null(before.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
        x[hit] = x[hit] * amount if effect.multiply is not None else x[hit] + amount
        col = self.schema.tables[table].columns[effect.column]  # type: ignore[index]
        decimals = getattr(col, "decimals", None)
        if col.type and col.type.startswith("decimal"):
            decimals = int(col.type.split(",")[1].rstrip(")"))
        if decimals is not None:
            x[hit] = np.round(x[hit], decimals)
        out = pa.array(np.rint(x).astype(np.int64) if pa.types.is_integer(before.type) else x)
        out = out.cast(before.type) if not pa.types.is_integer(before.type) else out
        return pc.if_else(pc.is_null(before), pa.scalar(None, out.type), out) if before.null_count else out


def recurrences(window: Window, first: dt.date, last: dt.date) -> list[tuple[Any, Any]]:
    """The (start, end) pairs of a window over a calendar from ``first`` to ``last``: itself, or with
    ``every: year`` one per year that can touch the calendar (the year before too, for a window across New
    Year), each moved forward to its ``weekday`` (the same shift for its end); 29 February is 28 February in
    other years."""
    if window.every is None:
        return [(window.start, window.end)]
    length = window.end - window.start
    out = []
    for year in range(first.year - 1, last.year + 1):
        day = min(window.start.day, calendar.monthrange(year, window.start.month)[1])
        start = window.start.replace(year=year, day=day)
        if window.weekday is not None:
            start += dt.timedelta(days=(WEEKDAYS.index(window.weekday) - start.weekday()) % 7)
        out.append((start, start + length))
    return out


def row_keys(rows: pa.Table, keys: list[str], first: int) -> pa.Array:
    """Each row's primary key as text (a composite key joined with ``|``; a table without key: the row's
    0-based position in the table, ``first`` being the block's first)."""
    if keys:
        texts = [rows.column(k).combine_chunks().cast(pa.string()) for k in keys]
        return texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, "|")
    return pa.array(np.arange(first, first + rows.num_rows)).cast(pa.string())


def ledger(table: str, pieces: list[Piece], rows: pa.Table, keys: list[str], first: int) -> pa.Table | None:
    """A block's ledger rows, piece after piece, each row keyed by its primary key as text (a composite key
    joined with ``|``; a table without key by its 0-based position in the table)."""
    if not pieces:
        return None
    key = row_keys(rows, keys, first)
    text = lambda value, m: pa.repeat(pa.scalar(value, pa.string()), m)  # noqa: E731
    parts = [pa.table({"effect": text(p.effect, len(p.rows)), "table": text(table, len(p.rows)),
                       "row_key": key.take(pa.array(p.rows, pa.int64())), "column": text(p.column, len(p.rows)),
                       "original": text(None, len(p.rows)) if p.original is None else p.original})
             for p in pieces]
    return pa.concat_tables(parts)
