"""The census-grounded population as a schema sees it: person ``id``'s fields, read from the person pack's
clean blocks (the very people ``pii_gen generate`` makes for the same seed and config, so a schema's people
agree with the population's exactly), one row per person.

A person's address is their home address, phone and e-mail their primary ones, employer and job title their
current job's, income and credit score their financial profile's; a person without one gets nulls there.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...config import build_config
from ...core.runtime import Runtime
from ..person.contract import BLOCK_SIZE
from ..person.pack import PersonPack
from .gather import by_block

#: Person blocks a process keeps (each flattened to one row per person).
CACHED_BLOCKS = 8

_PERSONS = ("person_id", "first_name", "middle_name", "last_name", "sex", "date_of_birth", "ssn", "household_id")
#: Field -> (the person pack's table, its column); :func:`_which` says which of a person's rows it reads.
_CHILD = {
    "street": ("addresses", "street"), "city": ("addresses", "city"), "state": ("addresses", "state"),
    "zip_code": ("addresses", "zip_code"), "county": ("addresses", "county"),
    "latitude": ("addresses", "latitude"), "longitude": ("addresses", "longitude"),
    "phone": ("phone_numbers", "phone_number"), "email": ("email_addresses", "email"),
    "employer_name": ("employments", "employer_name"), "job_title": ("employments", "job_title"),
    "annual_income": ("financial_profiles", "annual_income"), "credit_score": ("financial_profiles", "credit_score"),
}


def _which(table: str, rows: pa.Table) -> np.ndarray:
    """The rows of a person's that a schema's person field reads."""
    if table == "addresses":
        return np.asarray(pc.equal(rows.column("address_type"), "home").to_numpy(zero_copy_only=False), bool)
    if table in ("phone_numbers", "email_addresses"):
        return rows.column("is_primary").to_numpy(zero_copy_only=False).astype(bool)
    if table == "employments":
        return rows.column("is_current").to_numpy(zero_copy_only=False).astype(bool)
    return np.ones(rows.num_rows, bool)


def _age(born: pa.Array, today: dt.date) -> pa.Array:
    """Whole years from each birth date to ``today``."""
    days = born.cast(pa.int32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    year = days.astype("datetime64[Y]")
    month = days.astype("datetime64[M]")
    m, d = month.astype(np.int64) % 12 + 1, (days - month).astype(np.int64) + 1
    before = (m > today.month) | ((m == today.month) & (d > today.day))  # no birthday yet this year
    return pa.array(today.year - (year.astype(np.int64) + 1970) - before)


def _first_of(rows: pa.Table, column: str, chosen: np.ndarray, ids: np.ndarray) -> pa.Array:
    """``column`` of each person's first chosen row (rows belong to persons by ``person_id``), null for none."""
    values = rows.column(column).combine_chunks()
    keep = np.flatnonzero(chosen)
    owners, first = np.unique(rows.column("person_id").to_numpy()[keep], return_index=True)
    if not len(owners):
        return pa.nulls(len(ids), values.type)
    at = np.minimum(np.searchsorted(owners, ids), len(owners) - 1)
    found = owners[at] == ids
    return values.take(pa.array(np.where(found, keep[first[at]], 0), mask=~found))


class Population:
    """Fields of population persons by id (1-based), for a seed and a ``population:`` section."""

    def __init__(self, seed: int, pii_mode: str = "strict", config: dict[str, Any] | None = None) -> None:
        self.config = build_config(config or {}, seed=seed, pii_mode=pii_mode)
        pack = PersonPack()
        self.runtime = Runtime(pack.plan(self.config), pack)
        self._blocks: OrderedDict[int, dict[str, pa.Array]] = OrderedDict()

    def _block(self, block: int) -> dict[str, pa.Array]:
        if block in self._blocks:
            self._blocks.move_to_end(block)
            return self._blocks[block]
        tables = self.runtime.clean_block(block)
        persons = tables["persons"]
        ids = persons.column("person_id").to_numpy()
        out = {name: persons.column(name).combine_chunks() for name in _PERSONS}
        out["full_name"] = pc.binary_join_element_wise(out["first_name"], out["last_name"], " ")
        out["age"] = _age(out["date_of_birth"], self.config.as_of)
        for field, (table, column) in _CHILD.items():
            out[field] = _first_of(tables[table], column, _which(table, tables[table]), ids)
        self._blocks[block] = out
        while len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return out

    def field(self, name: str, ids: np.ndarray) -> pa.Array:
        """Field ``name`` of persons ``ids``, in the order of ``ids`` (grouped by person block, vectorized)."""
        blocks = (ids - 1) // BLOCK_SIZE
        return by_block(blocks, ids - 1 - blocks * BLOCK_SIZE, lambda b, rows: self._block(b)[name].take(rows),
                        lambda: self._block(0)[name].slice(0, 0))
