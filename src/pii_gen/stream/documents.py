"""Person documents: each person of a block as one JSON line, with its child rows nested, built per block.

A document is the person's ``persons`` columns, then ``addresses``, ``phone_numbers``,
``email_addresses`` and ``employments`` as arrays of objects, then ``financial_profile`` as
one object (``null`` if the person has none).  Child objects leave out ``person_id``, which
their parent carries.  With noise, duplicate records are documents of their own (at the end
of their block, as in ``persons``); the noise log is not streamed.

Everything is built with Arrow kernels over the whole block: each table's rows are encoded
to JSON object strings once, child rows are grouped per person with list offsets and joined,
so no Python code runs per person.  The stream then only slices ready-made bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..config import GenerateConfig
from ..packs.person.contract import TABLES
from ..planning import build_plan
from ..sinks.base import Batch
from ..sinks.codecs import CsvCodec, json_members, json_objects, string_bytes

#: Child tables nested as arrays (any other table keyed by person_id is too), and the one nested as an object.
ARRAYS = ("addresses", "phone_numbers", "email_addresses", "employments")
SINGLE = "financial_profiles"
SINGLE_KEY = "financial_profile"
NOISE_LOG = "noise_log"

_CSV = CsvCodec()


@dataclass
class DocumentBlock:
    """One block's documents (each ending in a newline) and its tables, child rows grouped per document."""

    index: int
    docs: pa.Array  # string array, document i is persons row i
    tables: Batch  # persons, and child tables sorted by their document
    offsets: dict[str, np.ndarray] = field(default_factory=dict)  # child table -> row offsets, len(docs) + 1
    # Tables in the order a database loads them, where that differs from the documents': child tables
    # whose rows also name other people (relationships) by the later of the people they name, tables
    # the persons reference (households) by their first person, the noise log by the row it changed;
    # each with offsets, so a database gets each row together with the last person it needs.
    loads: dict[str, tuple[pa.Table, np.ndarray]] = field(default_factory=dict)
    # Document positions where a household starts (and len(docs)): commits that end only there hold
    # whole households.  Duplicate records (noise) stand alone.
    households: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))

    def __len__(self) -> int:
        return len(self.docs)


@dataclass
class Chunk:
    """Documents ``start`` up to ``stop`` of one block: what one write hands a destination."""

    block: DocumentBlock
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start

    def jsonl(self) -> bytes:
        """The documents as JSON Lines."""
        return string_bytes(self.block.docs.slice(self.start, len(self)))

    def csv(self) -> bytes:
        """The people's flat ``persons`` columns as CSV rows (no header)."""
        return _CSV.encode(self.block.tables["persons"].slice(self.start, len(self)))

    def tables(self) -> Batch:
        """The rows of every table (the noise log too) that belong to these documents.

        A table the persons reference (households) goes with the first person naming each row, so
        whatever a person references is there before or with the person; a table neither keyed by
        ``person_id`` nor referenced goes whole with the block's first chunk.
        """
        out: Batch = {}
        for name, table in self.block.tables.items():
            off = self.block.offsets.get(name)
            if name in self.block.loads:
                table, off = self.block.loads[name]
            if name == "persons":
                out[name] = table.slice(self.start, len(self))
            elif off is not None:
                lo, hi = int(off[self.start]), int(off[self.stop])
                out[name] = table.slice(lo, hi - lo)
            else:
                out[name] = table if self.start == 0 else table.slice(0, 0)
        return out


def csv_header(config: GenerateConfig) -> bytes:
    """The CSV header line of the root table (``persons``) of this config's plan."""
    plan = build_plan(config)
    return _CSV.header(plan.tables[plan.keys.table].arrow_schema)


def build_block(index: int, batch: Batch) -> DocumentBlock:
    """Turn one block's tables into documents, vectorized over the whole block."""
    persons = batch["persons"]
    n = persons.num_rows
    person_ids = persons.column("person_id").combine_chunks()
    parts: list[pa.Array | str] = ["{", json_members(persons, dictionary=TABLES["persons"].repetitive_columns)]
    tables: Batch = dict(batch)  # contract order, for foreign keys
    offsets: dict[str, np.ndarray] = {}
    loads: dict[str, tuple[pa.Table, np.ndarray]] = {}
    for name, column in _referenced(batch):
        loads[name] = _first_reference(batch[name], persons.column(column), TABLES[name].primary_key, n)
    for name in _children(batch):
        child, off = _group(batch[name], person_ids, n)
        tables[name], offsets[name] = child, off
        refs = _other_person_refs(name)
        if refs:
            loads[name] = _load_order(child, off, refs, person_ids, n)
        columns = [c for c in child.column_names if c != "person_id"]
        few = TABLES[name].repetitive_columns if name in TABLES else []
        objects = json_objects(child, columns, few) if child.num_rows else pa.array([], pa.string())
        lists = pa.ListArray.from_arrays(pa.array(off, pa.int32()), objects)
        joined = pc.binary_join(lists, ",")
        if name == SINGLE:  # one profile per person: the object itself, or null
            counts = np.diff(off)
            joined = pc.if_else(pa.array(counts == 0), "null", joined)
            parts += [f',"{SINGLE_KEY}":', joined]
        else:
            parts += [f',"{name}":[', joined, "]"]
    parts.append("}\n")
    docs = pc.binary_join_element_wise(*parts, "") if n else pa.array([], pa.string())
    if NOISE_LOG in batch:
        loads[NOISE_LOG] = _log_order(batch[NOISE_LOG], tables, offsets, loads, n)
    return DocumentBlock(index, docs, tables, offsets, loads, _household_starts(persons))


def _household_starts(persons: pa.Table) -> np.ndarray:
    """Positions where a household's members begin (members are consecutive), and the end."""
    n = persons.num_rows
    if n == 0 or "household_id" not in persons.column_names:
        return np.arange(n + 1, dtype=np.int64)
    hid = persons.column("household_id").to_numpy(zero_copy_only=False)
    start = np.ones(n, dtype=bool)
    start[1:] = hid[1:] != hid[:-1]
    if "source_person_id" in persons.column_names:  # a duplicate record is a unit of its own
        start |= pc.is_valid(persons.column("source_person_id")).to_numpy(zero_copy_only=False)
    return np.append(np.flatnonzero(start), n).astype(np.int64)


def _referenced(batch: Batch) -> list[tuple[str, str]]:
    """(table, persons column) for each table the persons reference (households via household_id)."""
    return [(parent, column) for column, parent, _ in TABLES["persons"].foreign_keys
            if parent in batch and parent != "persons"]  # fmt: skip


def _first_reference(table: pa.Table, refs: pa.ChunkedArray, key: str, n: int) -> tuple[pa.Table, np.ndarray]:
    """``table`` sorted by the position of the first person referencing each row (none: the first)."""
    found = pc.index_in(table.column(key), value_set=refs.combine_chunks())
    return _by_position(table, pc.fill_null(found, 0).to_numpy(zero_copy_only=False).astype(np.int64), n)


def _by_position(table: pa.Table, position: np.ndarray, n: int) -> tuple[pa.Table, np.ndarray]:
    """``table`` sorted (stably) by each row's document position, with per-document offsets."""
    order = np.argsort(position, kind="stable")
    counts = np.bincount(position, minlength=n)
    return table.take(pa.array(order)), np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _log_order(log: pa.Table, tables: Batch, offsets: dict[str, np.ndarray],
               loads: dict[str, tuple[pa.Table, np.ndarray]], n: int) -> tuple[pa.Table, np.ndarray]:  # fmt: skip
    """The noise log sorted by the load position of the row each entry changed."""
    position = np.zeros(log.num_rows, dtype=np.int64)
    names = log.column("table_name")
    for name in pc.unique(names).to_pylist():
        if name not in TABLES or name not in tables:
            continue
        table, off = loads.get(name) or (tables[name], offsets.get(name))
        rows = np.arange(table.num_rows) if off is None else np.repeat(np.arange(n), np.diff(off))
        where = pc.equal(names, name)
        found = pc.index_in(pc.filter(log.column("record_id"), where), value_set=table.column(TABLES[name].primary_key))
        index = pc.fill_null(found, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        position[where.to_numpy(zero_copy_only=False)] = rows[index] if len(rows) else 0
    return _by_position(log, position, n)


def _children(batch: Batch) -> list[str]:
    """The tables nested in documents: every table keyed by person_id, in contract order (not the noise log)."""
    return [n for n, t in batch.items() if n not in ("persons", "noise_log") and "person_id" in t.column_names]


def _other_person_refs(name: str) -> list[str]:
    """Columns of ``name`` besides person_id that reference persons (e.g. related_person_id)."""
    spec = TABLES.get(name)
    return [c for c, parent, _ in spec.foreign_keys if parent == "persons" and c != "person_id"] if spec else []


def _load_order(child: pa.Table, off: np.ndarray, refs: list[str], person_ids: pa.Array,
                n: int) -> tuple[pa.Table, np.ndarray]:  # fmt: skip
    """``child`` sorted by the position of the last person each row names (its own or a referenced one)."""
    position = np.repeat(np.arange(n), np.diff(off))
    for column in refs:
        found = pc.index_in(child.column(column), value_set=person_ids)
        other = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)  # -1: another block
        position = np.maximum(position, other)
    return _by_position(child, position, n)


def _group(child: pa.Table, person_ids: pa.Array, n: int) -> tuple[pa.Table, np.ndarray]:
    """Sort ``child`` by its person's position in ``persons`` (stable) and return it with per-person offsets."""
    found = pc.index_in(child.column("person_id"), value_set=person_ids)
    if found.null_count:  # a child row without its person: a generator bug
        raise RuntimeError("child rows reference a person_id missing from persons")
    owner = found.to_numpy(zero_copy_only=False).astype(np.int64)
    if len(owner) > 1 and (np.diff(owner) < 0).any():  # duplicates' rows follow all originals
        order = np.argsort(owner, kind="stable")
        child, owner = child.take(pa.array(order)), owner[order]
    counts = np.bincount(owner, minlength=n)
    return child, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
