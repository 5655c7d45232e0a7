"""Row-level constraints of a schema file (section 6): ``range``, ``inequality`` and ``check``, evaluated over a
whole block of one table (vectorized, never per row).

The engine checks every block it makes with :func:`check_block` (``on_violation: fail`` stops the run, ``report``
counts the rows into the manifest); ``pii_gen validate --schema`` evaluates the same predicates over the stored
tables with :func:`violations`, so a rule means the same thing while generating and afterwards.

A row whose constrained value is null does not violate (as an SQL ``CHECK``).  A ``check`` whose whole
expression is one ``==`` between numbers compares them within a relative 1e-9 (a product of decimals is a float),
anything else exactly.
"""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...dsl.base import Context
from ...dsl.expr import evaluate, parse
from ...dsl.model import Constraint, Schema
from ...errors import PiiGenError, SchemaError

ROW_LEVEL = ("range", "inequality", "check")
#: The relative (and absolute) tolerance of a numeric ``==`` check.
EQUAL_WITHIN = 1e-9


class ConstraintViolation(PiiGenError):
    """A ``fail`` constraint was broken while generating: the run stops, nothing is moved into place (exit 1)."""

    exit_code = 1


def kind(constraint: Constraint) -> str:
    """The constraint's kind: unique, fk, range, inequality or check."""
    return next(k for k in ("unique", "fk", "range", "inequality", "check") if getattr(constraint, k) is not None)


def text(constraint: Constraint) -> str:
    """The constraint as the file writes it (for messages and reports)."""
    k = kind(constraint)
    value = getattr(constraint, k)
    if k == "range":
        bounds = [f"{b} {getattr(value, b):g}" for b in ("min", "max") if getattr(value, b) is not None]
        return f"range {value.column} " + ", ".join(bounds)
    if k == "unique":
        return "unique " + (value if isinstance(value, str) else "(" + ", ".join(value) + ")")
    return f"{k} {value}"


def table_of(constraint: Constraint, path: str) -> str:
    """The one table a row-level constraint is about (its expression names TABLE.COLUMN of a single table)."""
    if constraint.range is not None:
        return constraint.range.column.partition(".")[0]
    expr = constraint.inequality if constraint.inequality is not None else constraint.check
    tables = {n.value.id for n in ast.walk(parse(expr)) if isinstance(n, ast.Attribute)  # type: ignore[attr-defined]
              and n.value.id != "calendar"}  # type: ignore[attr-defined]
    if len(tables) != 1:
        raise SchemaError(f"{path}: a row-level constraint names the columns of one table, not "
                          f"{', '.join(sorted(tables)) or 'none'}")
    return tables.pop()


@dataclass(frozen=True)
class RowRule:
    """One row-level constraint, ready to evaluate over blocks of its table."""

    index: int
    table: str
    constraint: Constraint

    @property
    def fails(self) -> bool:
        return self.constraint.on_violation == "fail"

    def violated(self, rows: pa.Table, calendar: tuple[dt.date, dt.date]) -> np.ndarray:
        """Per row of ``rows`` (a block or batch of the table): True where the constraint does not hold."""
        c, n = self.constraint, rows.num_rows
        if c.range is not None:
            values = rows.column(c.range.column.partition(".")[2]).combine_chunks()
            bad = pa.array(np.zeros(n, dtype=bool))
            for bound, op in (("min", pc.less), ("max", pc.greater)):
                limit = getattr(c.range, bound)
                if limit is not None:
                    bad = pc.or_(bad, pc.fill_null(op(values, pa.scalar(limit).cast(
                        pa.float64() if not pa.types.is_temporal(values.type) else values.type)), False))
            return np.asarray(bad, dtype=bool)
        expr = c.inequality if c.inequality is not None else c.check
        ctx = Context(seed=0, table=self.table, block=0, first_row=0, calendar=calendar,
                      parent={name: rows.column(name).combine_chunks() for name in rows.column_names})
        tree = parse(expr).body
        if c.check is not None and isinstance(tree, ast.Compare) and len(tree.ops) == 1 \
                and isinstance(tree.ops[0], ast.Eq):
            left = evaluate(ast.unparse(tree.left), ctx, n)
            right = evaluate(ast.unparse(tree.comparators[0]), ctx, n)
            if all(pa.types.is_integer(a.type) or pa.types.is_floating(a.type) for a in (left, right)):
                a = pc.cast(left, pa.float64()).to_numpy(zero_copy_only=False)
                b = pc.cast(right, pa.float64()).to_numpy(zero_copy_only=False)
                with np.errstate(invalid="ignore"):
                    close = np.isclose(a, b, rtol=EQUAL_WITHIN, atol=EQUAL_WITHIN)
                return ~close & ~np.isnan(a) & ~np.isnan(b)
        held = evaluate(expr, ctx, n)
        return np.asarray(pc.fill_null(pc.invert(held), False), dtype=bool)


def row_rules(schema: Schema) -> dict[str, list[RowRule]]:
    """The row-level constraints of ``schema`` by the table they are about."""
    out: dict[str, list[RowRule]] = {}
    for i, c in enumerate(schema.constraints):
        if kind(c) in ROW_LEVEL:
            name = table_of(c, f"constraints.{i}")
            out.setdefault(name, []).append(RowRule(i, name, c))
    return out


def check_block(schema: Schema, rules: dict[str, list[RowRule]], table: str, rows: pa.Table) -> dict[int, int]:
    """The violating rows of each ``report`` constraint in a block of ``table`` (by constraint index); raises
    :class:`ConstraintViolation` at the first ``fail`` constraint a row breaks."""
    counts: dict[int, int] = {}
    for rule in rules.get(table, ()):
        bad = rule.violated(rows, (schema.calendar.start, schema.calendar.end))
        if not bad.any():
            continue
        if rule.fails:
            first = int(np.flatnonzero(bad)[0])
            raise ConstraintViolation(f"constraints.{rule.index}: {text(rule.constraint)} is broken by "
                                      f"{int(bad.sum()):,} rows of a block of {table} (first: its row {first}); "
                                      "nothing was written")
        counts[rule.index] = int(bad.sum())
    return counts
