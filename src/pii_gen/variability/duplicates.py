"""Duplicate records: the same person entered again, with all their rows, under a new id."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..packs.person.contract import TABLES
from .log import BlockLog
from .plan import Duplicates

#: Duplicate records get person_id = DUPLICATE_ID_BASE + 10 * source person_id + copy number (1-9),
#: which no generated person can have (person ids stay below 2**40).
DUPLICATE_ID_BASE = 10**14


def duplicate_id(source: np.ndarray, copy: np.ndarray) -> np.ndarray:
    return DUPLICATE_ID_BASE + source * 10 + copy


def add_duplicates(batch: dict[str, pa.Table], rng: np.random.Generator, cfg: Duplicates,
                   log: BlockLog) -> dict[str, pa.Table]:  # fmt: skip
    """Append to every per-person table the rows of duplicated people, re-keyed; persons gain
    ``source_person_id``.  A duplicate record keeps its source's ``household_id`` (the same household entered
    again); ``households`` and ``relationships`` get no copies, so links only ever join real people.

    People of a block have consecutive ids, so a person's position is ``person_id - first id``.
    """
    persons = batch["persons"]
    n = persons.num_rows
    pid = persons.column("person_id").to_numpy()
    chosen = np.flatnonzero(rng.random(n) < cfg.rate)
    copies = rng.integers(1, cfg.max_variants + 1, len(chosen))
    source = np.repeat(chosen, copies)  # block positions, sorted
    copy_no = np.arange(len(source)) - np.repeat(np.cumsum(copies) - copies, copies) + 1
    new_id = duplicate_id(pid[source], copy_no)
    per_person = np.bincount(source, minlength=n)
    first_copy = np.concatenate([[0], np.cumsum(per_person)[:-1]])

    out: dict[str, pa.Table] = {}
    for name, spec in TABLES.items():
        table = batch[name]
        if not spec.per_person:
            out[name] = table
            continue
        owner = table.column("person_id").to_numpy() - (pid[0] if n else 0)
        rep = per_person[owner]
        rows = np.repeat(np.arange(table.num_rows), rep)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(rep) - rep, rep)
        dup = first_copy[owner[rows]] + within  # index into new_id
        copy = table.take(pa.array(rows))
        ids = new_id[dup]
        copy = _replace(copy, "person_id", pa.array(ids))
        if spec.key_factor:
            old_key = table.column(spec.primary_key).to_numpy()[rows]
            seq = old_key - (owner[rows] + pid[0]) * spec.key_factor
            copy = _replace(copy, spec.primary_key, pa.array(ids * spec.key_factor + seq))
        if name == "persons":
            src = pa.array(np.concatenate([np.zeros(n, np.int64), pid[source]]), mask=np.arange(n + len(source)) < n)
            both = pa.concat_tables([table, copy])
            out[name] = both.append_column("source_person_id", src)
            log.add_records("persons", pa.array(new_id), "person_id", "duplicate", "record", pa.array(pid[source]))
        else:
            out[name] = pa.concat_tables([table, copy])
    return out


def _replace(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), values)
