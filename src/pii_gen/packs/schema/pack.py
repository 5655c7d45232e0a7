"""The schema pack: a schema file's tables as the core runs them.

:meth:`SchemaPack.plan` compiles a loaded :class:`~pii_gen.dsl.model.Schema` into a :class:`RunPlan`: the
schema's JSON form as the settings (so every worker rebuilds the same engine), each table's rows per block
(fanout counts drawn once, here), and the output contract (Arrow types, primary and foreign keys) that
files, DDL and database loads read.  :class:`SchemaRuntime` generates the plan's batches in any process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ...core.contract import Column, Table
from ...core.pack import Batch, Pack
from ...core.plan import KeySpace, RunPlan
from ...dsl.checks import Problem, check, composite_columns, parent_column
from ...dsl.loader import dotted
from ...dsl.model import Schema
from ...errors import SchemaError
from .anomalies import LABELS, Anomalies, labels_contract, plan_counts
from .constraints import check_block, row_rules
from .effects import LEDGER, labelled, ledger_contract
from .engine import BLOCK_SIZE, Engine, unsupported

#: Rows per batch when the caller names none: ten blocks.
BATCH_SIZE = 10 * BLOCK_SIZE

_DECLARED = {"int": pa.int64(), "bigint": pa.int64(), "float": pa.float64(), "decimal": pa.float64(),
             "string": pa.string(), "bool": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us")}


def _contract_type(generated: pa.DataType) -> pa.DataType:
    """The contract's type for a generated Arrow type (integers widened, strings plain, times in µs)."""
    if pa.types.is_integer(generated):
        return pa.int64()
    if pa.types.is_floating(generated) or pa.types.is_decimal(generated):
        return pa.float64()
    if pa.types.is_timestamp(generated):
        return pa.timestamp("us")
    if pa.types.is_date(generated):
        return pa.date32()
    if pa.types.is_boolean(generated):
        return pa.bool_()
    return pa.string()


def with_data(schema: Schema, base: Path | None) -> Schema:
    """``schema`` with every vocab ``file:`` read into ``data:`` rows, so the plan carries them to workers."""
    tables = {}
    for name, table in schema.tables.items():
        if table.file is not None:
            path = (base or Path(".")) / table.file
            read = pq.read_table(path) if path.suffix.lower() == ".parquet" else pacsv.read_csv(path)
            table = table.model_copy(update={"file": None, "data": read.to_pylist()})
        tables[name] = table
    return schema.model_copy(update={"tables": tables})


def declared_type(schema: Schema, table: str, column: str,
                  seen: frozenset[tuple[str, str]] = frozenset()) -> str | None:
    """The ``type:`` a column declares, or for a ref, a lookup and a parent link without one, that of the
    column it copies (a foreign key has its key's type: ``string(8)``, not a text of any length)."""
    spec = schema.tables[table]
    col = spec.columns.get(column)
    if (table, column) in seen or (col is None and column != parent_column(schema, spec)):
        return None
    seen = seen | {(table, column)}
    if col is None:  # the parent link
        return declared_type(schema, spec.parent, schema.tables[spec.parent].keys[0], seen)  # type: ignore[arg-type]
    if col.type is not None or col.gen not in ("ref", "lookup"):
        return col.type
    if col.gen == "ref":
        target, _, target_col = col.to.partition(".")
        target = table if target == "self" else target
        return declared_type(schema, target, target_col or schema.tables[target].keys[0], seen)
    here = table
    for hop in [col.via] if isinstance(col.via, str) else col.via:
        hop_spec = schema.tables[here]
        if hop == "parent":
            here = hop_spec.parent  # type: ignore[assignment]
        elif hop in hop_spec.columns and hop_spec.columns[hop].gen == "ref":
            to = hop_spec.columns[hop].to.split(".")[0]
            here = here if to == "self" else to
        else:
            return None
    return declared_type(schema, here, col.column, seen)


def contract(schema: Schema, engine: Engine, clean: bool = False) -> dict[str, Table]:
    """The output tables in generation order: types from the declared ``type:`` (a ref's and a lookup's: the
    column it copies, see :func:`declared_type`) or block 0's values, the key as primary key, a foreign key per
    ref column (a composite one for a ref with ``with:``, its columns comma-separated) and parent link; last
    the ledger ``_effects`` when anything is labelled, then ``anomaly_labels`` when the run injects anomalies
    (not in a ``clean`` twin)."""
    out = {}
    for name in engine.order:
        spec = schema.tables[name]
        sample = engine.block(name, 0).table
        link = parent_column(schema, spec)
        fks = [] if link is None else [(link, spec.parent, schema.tables[spec.parent].keys[0])]
        columns = []
        for cname in sample.column_names:
            col = spec.columns.get(cname)
            declared = declared_type(schema, name, cname)
            kind = declared.split("(")[0] if declared else None
            arrow = _DECLARED[kind] if kind else _contract_type(sample.column(cname).type)
            length = int(declared.split("(")[1].rstrip(")")) if kind == "string" and "(" in declared else None
            if col is not None and col.gen == "ref":
                target, _, target_col = col.to.partition(".")
                target = name if target == "self" else target
                if col.with_:  # one composite foreign key, its columns joined like a composite primary key's
                    pairs = composite_columns(spec, cname, col, target, schema.tables[target])
                    fks.append((", ".join(c for c, _ in pairs), target, ", ".join(t for _, t in pairs)))
                else:
                    fks.append((cname, target, target_col or schema.tables[target].keys[0]))
            keyish = cname in spec.keys or cname == link
            exact = declared if kind in ("int", "bigint", "decimal") else ""
            columns.append(Column(cname, arrow, nullable=not keyish, max_length=length, declared=exact))
        out[name] = Table(name, tuple(columns), ", ".join(spec.keys), tuple(fks), description=schema.name or "")
    if labelled(schema):
        out[LEDGER] = ledger_contract()
    if schema.anomalies and not clean:
        out[LABELS] = labels_contract()
    return out


class SchemaPack(Pack):
    """A schema file's tables; the contract, block counts and settings are each plan's own."""

    name = "schema"
    root_table = ""
    root_key = ""
    block_size = BLOCK_SIZE

    def contract(self) -> Mapping[str, Table]:
        return {}  # a schema's tables are its plan's (see :func:`contract`)

    def settings(self, plan: RunPlan) -> Schema:
        return Schema.model_validate(plan.settings["schema"])

    def runtime(self, plan: RunPlan) -> SchemaRuntime:
        return SchemaRuntime(plan)

    def plan(self, schema: Schema, *, seed: int | None = None, scale: float | None = None, base: Path | None = None,
             batch_size: int | None = None, workers: int = 0, digest: str | None = None,
             table_major: bool = False, clean: bool = False) -> RunPlan:  # type: ignore[override]
        """The run plan of a loaded schema (``base``: the folder its vocab files are read from; ``digest``: the
        SHA-256 of its file, which the manifest records; by default that of its canonical JSON form).

        ``table_major``: each batch holds blocks of one table only, every table's batches after those of the
        tables it references (generation order).  A database load needs that: a ref may pick any row of its
        table, so with every table's blocks in each batch a foreign key could point at a row of a later batch,
        and the database would refuse the batch.  Loaded table after table, every foreign key holds at every
        commit (but a foreign key closing a cycle, which the load adds after the last batch: see
        :func:`~pii_gen.sinks.database.link`).  The rows are the same either way; only their grouping into
        batches differs.

        ``clean``: the run's clean twin, the same rows without the file's anomalies (nor their labels)."""
        problems = unsupported(schema)
        if problems:
            raise SchemaError(problems[0])
        row_rules(schema)  # a row-level constraint over two tables is refused before any row
        schema = with_data(schema, base)
        try:  # again with the vocab files' columns, which the file's own check could not see
            check(schema)
        except Problem as problem:
            raise SchemaError(f"{dotted(problem.path)}: {problem}") from None
        seed = schema.seed if seed is None else seed
        scale = schema.scale if scale is None else scale
        engine = Engine.counting(schema, seed, scale)
        tables = contract(schema, engine, clean)
        first = engine.order[0]
        settings = {"schema": schema.model_dump(mode="json", by_alias=True, exclude_none=True),
                    "sha256": digest or schema_hash(schema),
                    "block_rows": {name: rows.tolist() for name, rows in engine.block_rows.items()},
                    # what each table writes: its blocks' rows less the days outside a calendar window
                    "rows": {name: engine.kept_rows(name) for name in engine.block_rows},
                    "people": engine.population_size, "scale": scale}
        if schema.anomalies:
            settings["clean"] = clean
            if not clean:  # the twin picks nothing: no count, no pass over a table to count eligible rows
                settings["anomalies"] = plan_counts(schema, engine)
        blocks = engine.blocks
        if batch_size is None:
            batch_size = batch_rows(engine)
        if table_major:  # each table's blocks padded to whole batches, so no batch holds two tables
            per = -(-batch_size // BLOCK_SIZE)
            settings["table_blocks"] = -(-blocks // per) * per
            blocks = settings["table_blocks"] * len(engine.order)
        return RunPlan(
            pack=self.name, seed=seed, count=blocks * BLOCK_SIZE, batch_size=batch_size,
            keys=KeySpace(first, (schema.tables[first].keys or [""])[0], 1, BLOCK_SIZE),
            tables=tables, steps=(), settings=settings, workers=workers,
        )  # fmt: skip


def batch_rows(engine: Engine) -> int:
    """The default batch: ten blocks, fewer when the blocks' rows of all tables together pass ``BATCH_SIZE``.

    A batch is what a worker holds at once: sizing it by the rows of every table (a pack with forty rows per
    person makes 400,000 rows per block) keeps memory flat whatever the schema, and gives workers several
    batches to share even when the run has only a few blocks."""
    per_block = sum(int(rows.sum()) for rows in engine.block_rows.values()) / max(engine.blocks, 1)
    return BLOCK_SIZE * int(min(BATCH_SIZE // BLOCK_SIZE, max(1, BATCH_SIZE // max(per_block, 1))))


def schema_hash(schema: Schema) -> str:
    """SHA-256 of the schema's canonical JSON form: what a manifest records of the file."""
    text = json.dumps(schema.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class SchemaBatch(dict):
    """A batch of a schema's tables (a plain ``Batch`` to every output) that also carries ``noise``: per (table,
    column, modify step), the rows its ``noise`` step changed in these blocks, and ``violations``: per
    ``report`` constraint (by index), the rows of these blocks that break it."""

    noise: dict[tuple[str, str, int], int]
    violations: dict[int, int]


class SchemaRuntime:
    """Generates a schema plan's batches: whole blocks of every table, in the plan's table order."""

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        schema = SchemaPack().settings(plan)
        self.engine = Engine(schema, plan.seed, plan.settings["block_rows"], plan.keys.block_size,
                             people=plan.settings.get("people"), scale=plan.settings.get("scale", 1.0))
        self.rules = row_rules(schema)
        counts = plan.settings.get("anomalies")
        self.anomalies = Anomalies(self.engine, counts) if counts and not plan.settings.get("clean") else None

    def batch(self, n: int, start_block: int, stop_block: int) -> Batch:
        """Blocks ``start_block`` up to ``stop_block`` of every table (a schema's blocks are fixed by its plan,
        so the backend's row count ``n`` adds nothing)."""
        per_table, only = self.plan.settings.get("table_blocks"), None
        if per_table:  # a table-major plan: these blocks are one table's (see SchemaPack.plan)
            only = self.engine.order[start_block // per_table]
            start_block, stop_block = start_block % per_table, (stop_block - 1) % per_table + 1
        blocks = range(start_block, min(stop_block, self.engine.blocks))
        out = SchemaBatch()
        out.noise, out.violations = {}, {}
        ledgers: dict[tuple[int, str], pa.Table] = {}
        labels: dict[tuple[int, str], pa.Table] = {}
        for name, spec in self.plan.tables.items():
            if name in (LEDGER, LABELS):  # block after block, each block's tables in generation order
                pieces = ledgers if name == LEDGER else labels
                parts = [pieces[(k, t)] for k in blocks for t in self.engine.order if (k, t) in pieces]
                out[name] = (pa.concat_tables(parts).cast(spec.arrow_schema) if parts
                             else spec.arrow_schema.empty_table())
                continue
            mine = not per_table or name == only
            made = [self.engine.block(name, k) for k in blocks] if mine else []
            keeps = [self.engine.kept(name, k) for k in blocks] if mine else []
            parts = [b.table for b in made]
            clean = None
            if self.anomalies is not None and name in self.anomalies.by_table:
                # the constraints hold for the clean rows: anomalies are their deliberate exceptions
                clean = [kept(part, keep) for part, keep in zip(parts, keeps)]
                parts = []
                for k, part, keep in zip(blocks, [b.table for b in made], keeps):
                    changed, labelled_rows = self.anomalies.overlay(name, k, part, int(self.engine.firsts[name][k]))
                    parts.append(kept(changed, keep))
                    if labelled_rows is not None:
                        labels[(k, name)] = labelled_rows
            else:
                parts = [kept(part, keep) for part, keep in zip(parts, keeps)]
            # The chunks, not the chunked arrays: given ChunkedArrays, pa.chunked_array goes through Python
            # objects value by value.
            out[name] = pa.Table.from_arrays(
                [pa.chunked_array([chunk for p in parts for chunk in p.column(c.name).cast(c.type).chunks],
                                  c.type).combine_chunks()
                 for c in spec.columns], schema=spec.arrow_schema)  # fmt: skip
            checked = out[name] if not clean else pa.concat_tables(clean)
            for index, bad in check_block(self.engine.schema, self.rules, name, checked).items():
                out.violations[index] = out.violations.get(index, 0) + bad
            for k, b, keep in zip(blocks, made, keeps):
                if b.ledger is not None:
                    ledgers[(k, name)] = b.ledger
                for (column, step), touched in b.noise.items():
                    key = (name, column, step)
                    out.noise[key] = out.noise.get(key, 0) + int((touched if keep is None else touched[keep]).sum())
        return out


def kept(rows: pa.Table, keep: np.ndarray | None) -> pa.Table:
    """A block's rows a run writes (see :meth:`Engine.kept`); rows after the block's own (an anomaly's copies
    of kept rows) are kept."""
    if keep is None:
        return rows
    return rows.filter(pa.array(np.concatenate([keep, np.ones(rows.num_rows - len(keep), dtype=bool)])))
