"""``pii_gen validate --schema FILE``: a schema run's tables checked against the file that made them.

Every constraint (section 6) and every target (section 7, declared and ``auto_targets``) becomes a
:class:`~.model.Check` of the population validator's report, so the score, the console table, ``--json`` and
``--html`` are the same machinery.  Aggregates run in DuckDB over the stored tables; what needs the
expression language (row-level constraints, ``where``, ``x``/``y``) streams record batches through it, so
memory stays bounded by a batch (and by the key and column a ``lookup()`` reads of its target table).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from ..core.contract import columns_of
from ..dsl.base import Context
from ..dsl.checks import parent_column
from ..dsl.expr import evaluate
from ..dsl.model import Schema
from ..errors import ConfigError
from ..packs.schema.constraints import ROW_LEVEL, RowRule, kind, row_rules, table_of, text
from .dataset import Source, quote
from .model import Check, Report, violations
from .schema_source import open_schema_source
from .targets import Targets

BATCH_ROWS = 100_000  # rows per record batch streamed through the expression language
CONSTRAINTS, POPULATION = "constraints", "population"
#: Person fields whose strict-mode safety the population's value checks prove, by the view they read.
PERSON_CHECKS = {"ssn": ("persons", "ssn"), "phone": ("phone_numbers", "phone_number"),
                 "email": ("email_addresses", "email")}


def batches(src: Source, table: str, columns: list[str]) -> Iterator[pa.Table]:
    """The table's rows, ``columns`` only, a record batch at a time."""
    cols = ", ".join(quote(c) for c in columns)
    reader = src.con.cursor().sql(f"SELECT {cols} FROM {quote(table)}").to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        yield pa.Table.from_batches([batch])


class Lookups:
    """What ``lookup(REF, TABLE.COLUMN)`` reads in a validation: the referenced rows' column, found by the ref's
    value among the target's keys (the target's key and that column are read once and kept)."""

    def __init__(self, src: Source, schema: Schema, links: dict[str, dict[str, tuple[str, str]]]) -> None:
        self.src, self.schema, self.links = src, schema, links
        self._columns: dict[tuple[str, str, str], tuple[pa.Array, pa.Array]] = {}

    def lookup(self, ctx: Context, hops: list[str], column: str) -> pa.Array:
        target, key = self.links[ctx.table][hops[0]]
        keys, read = self._read(target, key, column)
        return read.take(pc.index_in(ctx.columns[hops[0]], value_set=keys))

    def _read(self, table: str, key: str, column: str) -> tuple[pa.Array, pa.Array]:
        if (table, key, column) not in self._columns:
            rows = pa.concat_tables(list(batches(self.src, table, [key, column])))
            self._columns[(table, key, column)] = (rows.column(0).combine_chunks(), rows.column(1).combine_chunks())
        return self._columns[(table, key, column)]


def links(schema: Schema) -> dict[str, dict[str, tuple[str, str]]]:
    """Table -> ref column (or parent link) -> (target table, target column): where a lookup through it goes."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name, spec in schema.tables.items():
        here = out.setdefault(name, {})
        link = parent_column(schema, spec)
        if link is not None:
            here[link] = here["parent"] = (spec.parent, schema.tables[spec.parent].keys[0])  # type: ignore[index]
        for cname, col in spec.columns.items():
            if col.gen == "ref":
                target, _, column = col.to.partition(".")
                target = name if target == "self" else target
                here[cname] = (target, column or schema.tables[target].keys[0])
    return out


class Evaluator:
    """Expressions of a target or constraint over a table's stored rows, a batch at a time."""

    def __init__(self, src: Source, schema: Schema) -> None:
        self.src, self.schema = src, schema
        self.lookups = Lookups(src, schema, links(schema))

    def columns(self, table: str) -> list[str]:
        return [c for c in self.src.columns[table] if c != "__bad"]

    def contexts(self, table: str) -> Iterator[tuple[pa.Table, Context]]:
        """Each batch of ``table`` with the context an expression over it is evaluated in."""
        calendar = (self.schema.calendar.start, self.schema.calendar.end)
        for rows in batches(self.src, table, self.columns(table)):
            yield rows, Context(seed=0, table=table, block=0, first_row=0, calendar=calendar, engine=self.lookups,
                                columns={c: rows.column(c).combine_chunks() for c in rows.column_names})

    def values(self, table: str, exprs: list[str]) -> Iterator[tuple[pa.Table, list[pa.Array]]]:
        """Each batch of ``table`` with every expression of ``exprs`` evaluated over it."""
        for rows, ctx in self.contexts(table):
            yield rows, [evaluate(e, ctx, rows.num_rows) for e in exprs]


# -- constraints ---------------------------------------------------------------------------------------------


def constraint_checks(src: Source, schema: Schema, tables: dict[str, Any]) -> list[Check]:
    """One check per constraint (``fk: auto``: one per foreign key); a broken ``report`` constraint warns."""
    out: list[Check] = []
    rules = {r.index: r for rs in row_rules(schema).values() for r in rs}
    for i, c in enumerate(schema.constraints):
        k, warn = kind(c), c.on_violation == "report"
        if k == "unique":
            refs = [c.unique] if isinstance(c.unique, str) else list(c.unique)  # type: ignore[arg-type]
            table = refs[0].partition(".")[0]
            cols = ", ".join(quote(r.partition(".")[2]) for r in refs)
            total, distinct = src.one(f"SELECT (SELECT COUNT(*) FROM {quote(table)}), "
                                      f"(SELECT COUNT(*) FROM (SELECT DISTINCT {cols} FROM {quote(table)}))")
            out.append(violations(CONSTRAINTS, text(c), total - distinct, total, "rows repeat a value",
                                  warn_only=warn, threshold="every value once", weight=2, constraint=i))
        elif k == "fk":
            for name, t in tables.items():
                for column, target, key in t.foreign_keys:
                    cols, keys = columns_of(column), columns_of(key)  # a composite one: every column set
                    given = " AND ".join(f"c.{quote(c)} IS NOT NULL" for c in cols)
                    total, bad = src.one(
                        f"SELECT COUNT(*) FILTER (WHERE {given}), COUNT(*) FILTER (WHERE {given} AND "
                        f"p.{quote(keys[0])} IS NULL) FROM {quote(name)} c LEFT JOIN (SELECT DISTINCT "
                        f"{', '.join(quote(k) for k in keys)} FROM {quote(target)}) p ON "
                        + " AND ".join(f"c.{quote(a)} = p.{quote(b)}" for a, b in zip(cols, keys)))
                    out.append(violations(CONSTRAINTS, f"fk {name}.{column} -> {target}.{key}", bad, total,
                                          "values without a row", warn_only=warn, threshold="every value resolves",
                                          weight=2, constraint=i))
        else:
            out.append(_row_check(src, schema, rules[i]))
    return out


def _row_check(src: Source, schema: Schema, rule: RowRule) -> Check:
    calendar = (schema.calendar.start, schema.calendar.end)
    bad = total = 0
    columns = [c for c in src.columns[rule.table] if c != "__bad"]
    for rows in batches(src, rule.table, columns):
        bad += int(rule.violated(rows, calendar).sum())
        total += rows.num_rows
    threshold = f"0 violations (on_violation: {rule.constraint.on_violation})"
    return violations(CONSTRAINTS, text(rule.constraint), bad, total, "rows break it", warn_only=not rule.fails,
                      threshold=threshold, weight=2, constraint=rule.index)


# -- the population's checks on person columns ------------------------------------------------------------------


def population_checks(src: Source, schema: Schema, pii_mode: str) -> list[Check]:
    """The population's strict-mode safety checks (SSN, phone, e-mail) over every column bound to those person
    fields, all of one field together, beside the schema's checks."""
    from . import values

    bound: dict[str, list[str]] = {}
    for name, spec in schema.tables.items():
        for cname, col in spec.columns.items():
            if col.gen == "person" and col.field in PERSON_CHECKS and not col.modify:
                bound.setdefault(col.field, []).append(f"{name}.{cname}")
    if not bound:
        return []
    src.con.execute("CREATE SCHEMA IF NOT EXISTS person_fields")
    for fld, refs in bound.items():
        view, column = PERSON_CHECKS[fld]
        union = " UNION ALL ".join(f"SELECT {quote(r.partition('.')[2])}::VARCHAR AS {column} "
                                   f"FROM main.{quote(r.partition('.')[0])}" for r in refs)
        src.con.execute(f"CREATE VIEW person_fields.{view} AS {union}")
    strict = pii_mode == "strict"
    src.con.execute("SET search_path = 'person_fields,main'")  # the population's checks read these views
    try:
        made = {"ssn": lambda: values._ssn(src, strict), "phone": lambda: values._phone(src, strict),
                "email": lambda: values._email_domain(src, strict)}
        out = []
        for fld, refs in bound.items():
            check = made[fld]()
            check.group, check.name = POPULATION, f"{check.name}: {', '.join(refs)}"
            out.append(check)
    finally:
        src.con.execute("SET search_path = 'main'")
    return out


# -- the whole validation -------------------------------------------------------------------------------------


def validate_schema(schema_file: Path | str | Any, folder: Path | str | None = None, db: str | None = None,
                    db_schema: str | None = None, pii_mode: str | None = None, min_score: float = 90.0) -> Report:
    """Check a schema run's folder or database against ``schema_file``: every constraint, every target and the
    automatic ones, and the population's safety checks on person columns."""
    from .. import dsl
    from ..dsl.model import Schema
    from ..packs.schema.pack import SchemaPack

    if not 0 <= min_score <= 100:
        raise ConfigError(f"--min-score must be between 0 and 100 (got {min_score:g})")
    started = time.perf_counter()
    # a checked Schema (a pack's) is taken as it is
    schema = schema_file if isinstance(schema_file, Schema) else dsl.load(schema_file)
    base = None if isinstance(schema_file, Schema) else Path(schema_file).parent
    # The tables' types come from the plan; effects and anomalies change values, never types, so they are left
    # out of it (a run with effects validates the same way whatever the engine applies, and a run and its clean
    # twin, without anomaly_labels, validate alike).
    plan = SchemaPack().plan(schema.model_copy(update={"effects": [], "targets": [], "anomalies": []}),
                             base=base)
    for i, c in enumerate(schema.constraints):
        if kind(c) in ROW_LEVEL:
            table_of(c, f"constraints.{i}")
    src = open_schema_source(Path(folder) if folder is not None else None, db, db_schema, dict(plan.tables))
    try:
        mode = pii_mode or (schema.population.pii_mode if schema.population is not None else "strict")
        evaluator = Evaluator(src, schema)
        targets = Targets(src, schema, evaluator)
        checks = constraint_checks(src, schema, dict(plan.tables)) + targets.run() + population_checks(src, schema,
                                                                                                        mode)
        rows = {t: int(src.one(f"SELECT COUNT(*) FROM {quote(t)}")[0]) for t in plan.tables}
    finally:
        src.close()
    total = sum(rows.values())
    return Report(source=src.description, checks=checks, min_score=min_score, seconds=time.perf_counter() - started,
                  rows=rows, plots={"svg": targets.plots},
                  subject=f"{total:,} rows in {len(rows)} tables of schema {schema.name or Path(schema_file).name}",
                  extra={"schema": schema.name, "schema_file": str(schema_file)})


