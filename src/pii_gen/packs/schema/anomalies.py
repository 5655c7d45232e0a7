"""Anomalies (``anomalies:`` of a schema file): exactly ``count`` rows of a kind, changed as they are written,
each listed in the table ``anomaly_labels``.

An anomaly's rows are picked among its table's eligible rows (all of them, or where its ``where`` holds,
inside its ``effect``'s windows and with a value in its column) as a seeded bijection of their ranks, so
exactly ``count`` (or ``round(rate x eligible)``) distinct rows are picked, the same at any worker count
and batch size: the plan knows each block's eligible rows (counted from the rows when they depend on
values), and each block takes the picks falling into its ranks.  Anomalies change the rows as written
only, after every effect: refs, lookups and constraints of the run see the clean rows, so nothing else
moves and a run's clean twin (the plan with ``clean``) differs from it exactly at the labelled rows.
Anomalies apply in file order; two picking one row both change it and are both labelled.  A block's picks
and labels are its own (memory grows with the block, not the run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.contract import Column, Table
from ...dsl.anomalies import ANOMALIES, Duplicate
from ...dsl.base import Context, stream
from ...dsl.checks import LABELS, scanned
from ...dsl.expr import evaluate
from ...dsl.generators.keys import permute
from ...dsl.model import Schema
from ...errors import SchemaError
from .effects import row_keys

#: The labels' columns (name, nullable).
LABEL_COLUMNS = (
    ("anomaly", False),
    ("kind", False),
    ("severity", False),
    ("effect", True),
    ("table", False),
    ("row_key", False),
    ("column", True),
    ("causal_group", False),
)


def labels_contract() -> Table:
    """The labels' contract: text columns, no key (a row is listed once per anomaly that changed it)."""
    return Table(
        LABELS,
        tuple(Column(name, pa.string(), nullable) for name, nullable in LABEL_COLUMNS),
        "",
        (),
        description="rows changed or added by anomalies (one row per anomaly and row)",
    )


def eligible(engine: Any, anomaly: Any, block: int) -> np.ndarray:
    """The positions (ascending) of a clean block's rows the anomaly may pick."""
    made = engine.block(anomaly.table, block)
    rows, n = made.table, made.table.num_rows
    written = engine.kept(anomaly.table, block)
    keep = np.ones(n, dtype=bool) if written is None else written.copy()
    column = getattr(anomaly, "column", None)
    if column is not None:
        keep &= np.asarray(pc.is_valid(rows.column(column)).to_numpy(zero_copy_only=False), dtype=bool)
    if anomaly.where is not None or anomaly.effect is not None:
        schema = engine.schema
        ctx = Context(seed=engine.seed, table=anomaly.table, block=block, first_row=int(
            engine.firsts[anomaly.table][block]), calendar=(schema.calendar.start, schema.calendar.end),
            **engine._context(anomaly.table, made.refs))  # fmt: skip
        ctx.columns = {c: rows.column(c).combine_chunks() for c in rows.column_names}
        if anomaly.where is not None:
            held = pc.fill_null(evaluate(anomaly.where, ctx, n), False)
            keep &= np.asarray(held.to_numpy(zero_copy_only=False), dtype=bool)
        if anomaly.effect is not None:
            effect = next(e for e in schema.effects if e.name == anomaly.effect)
            inside = np.zeros(n, dtype=bool)
            inside[engine.effects._inside(effect, ctx.columns, ctx, n)[0]] = True
            keep &= inside
    return np.flatnonzero(keep)


def plan_counts(schema: Schema, engine: Any) -> dict[str, dict[str, Any]]:
    """Per anomaly, what every process needs to pick the same rows: its count, and each block's eligible
    rows when they depend on values (counted here, reading the table once), else None (every row)."""
    out: dict[str, dict[str, Any]] = {}
    for i, anomaly in enumerate(schema.anomalies):
        per_block = (
            [len(eligible(engine, anomaly, k)) for k in range(engine.blocks)]
            if scanned(schema, anomaly) or anomaly.table in engine.daily  # a window's ends drop some days' rows
            else None
        )
        total = sum(per_block) if per_block is not None else engine.total(anomaly.table)
        count = anomaly.count if anomaly.count is not None else int(round(anomaly.rate * total))
        if count > total:
            where = "eligible rows" if per_block is not None else "rows"
            raise SchemaError(f"anomalies[{i}].count: {count} rows wanted, table {anomaly.table} has {total} {where}")
        out[anomaly.name] = {"count": count, "eligible": per_block, "rows": total}
    return out


@dataclass
class _Picks:
    """One anomaly's picks: the ranks (ascending, among its eligible rows) and each block's first rank."""

    anomaly: Any
    kind: Any
    ranks: np.ndarray
    firsts: np.ndarray
    scanned: bool
    #: The first added row's position after the table's last (a duplicate's copies, anomaly after anomaly).
    added: int


class Anomalies:
    """A run's anomalies (see the module): ``overlay`` changes one clean block as it is written."""

    def __init__(self, engine: Any, counts: dict[str, dict[str, Any]]) -> None:
        self.engine = engine
        self.by_table: dict[str, list[_Picks]] = {}
        added: dict[str, int] = {}
        for anomaly in engine.schema.anomalies:
            info = counts[anomaly.name]
            per_block = info["eligible"] if info["eligible"] is not None else engine.block_rows[anomaly.table]
            firsts = np.concatenate([[0], np.cumsum(np.asarray(per_block, dtype=np.int64))])
            count = info["count"]
            ranks = (
                np.sort(
                    permute(np.arange(count, dtype=np.int64), int(firsts[-1]), engine.seed, "#anomaly", anomaly.name)
                )
                if count
                else np.zeros(0, dtype=np.int64)
            )
            self.by_table.setdefault(anomaly.table, []).append(
                _Picks(
                    anomaly,
                    ANOMALIES[anomaly.kind](anomaly),
                    ranks,
                    firsts,
                    info["eligible"] is not None,
                    added.get(anomaly.table, 0),
                )
            )
            if anomaly.kind == Duplicate.name:
                added[anomaly.table] = added.get(anomaly.table, 0) + count

    def overlay(self, table: str, block: int, rows: pa.Table, first: int) -> tuple[pa.Table, pa.Table | None]:
        """Block ``block`` of ``table`` (clean ``rows``, the first at table position ``first``) with its
        anomalies, and its labels (None: none here)."""
        picks = self.by_table.get(table)
        if not picks or not rows.num_rows:
            return rows, None
        spec = self.engine.schema.tables[table]
        columns = {c: rows.column(c).combine_chunks() for c in rows.column_names}
        copies: list[pa.Table] = []
        labels: list[pa.Table] = []
        for p in picks:
            lo, hi = np.searchsorted(p.ranks, p.firsts[block : block + 2])
            if lo == hi:
                continue
            local = p.ranks[lo:hi] - p.firsts[block]
            hit = eligible(self.engine, p.anomaly, block)[local] if p.scanned else local
            rng = stream(self.engine.seed, table, f"#anomaly:{p.anomaly.name}", block)
            column = getattr(p.anomaly, "column", None)
            if column is None:  # a duplicate: copies of the rows as written so far, under keys after the last
                copy = {c: v.take(pa.array(hit)) for c, v in columns.items()}
                key = spec.keys[0]
                positions = self.engine.total(table) + p.added + np.arange(lo, hi, dtype=np.int64)
                copy[key] = self.engine.values(table, key, positions).cast(columns[key].type)
                if p.anomaly.time is not None:
                    copy[p.anomaly.time] = p.kind.shift(copy[p.anomaly.time], rng)
                made = pa.table(copy)
                copies.append(made)
                keys = row_keys(made, spec.keys, 0)
            else:
                before = columns[column]
                changed = p.kind.apply(before.take(pa.array(hit)), rng).cast(before.type)
                index = np.arange(len(before), dtype=np.int64)
                index[hit] = len(before) + np.arange(len(hit))
                columns[column] = pa.concat_arrays([before, changed]).take(pa.array(index))
                keys = (
                    row_keys(rows.select(spec.keys).take(pa.array(hit)), spec.keys, 0)
                    if spec.keys
                    else pa.array(first + hit).cast(pa.string())
                )  # a keyless table's: the row's position
            labels.append(self._labels(p.anomaly, table, keys, column))
        out = pa.table(columns)
        if copies:
            out = pa.concat_tables([out] + [c.select(out.column_names).cast(out.schema) for c in copies])
        return out, pa.concat_tables(labels) if labels else None

    @staticmethod
    def _labels(anomaly: Any, table: str, keys: pa.Array, column: str | None) -> pa.Table:
        m = len(keys)
        text = lambda value: pa.repeat(pa.scalar(value, pa.string()), m)  # noqa: E731
        return pa.table(
            {
                "anomaly": text(anomaly.name),
                "kind": text(anomaly.kind),
                "severity": text(anomaly.severity),
                "effect": text(anomaly.effect),
                "table": text(table),
                "row_key": keys,
                "column": text(column),
                "causal_group": text(anomaly.group or anomaly.name),
            }
        )
