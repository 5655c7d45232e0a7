"""The census-grounded population as a schema sees it: person ``id``'s fields, read from the person pack's
clean blocks (the very people ``pii_gen generate`` makes for the same seed and config, so a schema's people
agree with the population's exactly), one row per person.

A person's address is their home address, phone and e-mail their primary ones, employer and job title their
current job's, income and credit score their financial profile's; a person without one gets nulls there.
Their household's own fields (type, size, group quarters, the householder's home ``address_id``, income) come
from the pack's households table, joined on ``household_id`` within the block (a household never spans two
blocks).  A ``from: households`` table's row is a household, read as its householder (``household_id`` is the
householder's ``person_id``), so every person field of that row describes the householder and the household.

The population has ``size`` people, as ``pii_gen generate --count size`` makes them: the last block is short
when ``size`` is not a whole number of blocks (a short block holds other households than a full one's first
rows would).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...config import build_config
from ...core.rng import block_rng
from ...core.runtime import Runtime
from ..person.contract import BLOCK_SIZE, TABLES
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
#: Field -> the pack's household column it reads (each person gets their household's).
_HOUSEHOLD = {"household_type": "household_type", "household_size": "size", "is_group_quarters": "is_group_quarters",
              "address_id": "address_id", "household_income": "household_income"}
_UNITS = "households"  # the pack's table of one row per household (and per group-quarters resident)


def field_kind(name: str) -> str:
    """The person contract's kind of a field (what noise may do to it), "" for one the contract has not."""
    if name in _PERSONS:
        return TABLES["persons"].column(name).kind
    if name in _CHILD:
        table, column = _CHILD[name]
        return TABLES[table].column(column).kind
    if name in _HOUSEHOLD:
        return TABLES[_UNITS].column(_HOUSEHOLD[name]).kind
    return ""


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
    """Fields of population persons by id (1-based), for a seed, a ``population:`` section and a size."""

    def __init__(self, seed: int, pii_mode: str = "strict", config: dict[str, Any] | None = None,
                 size: int | None = None) -> None:
        self.config = build_config(config or {}, seed=seed, pii_mode=pii_mode, count=size)
        self.size = size
        pack = PersonPack()
        self.runtime = Runtime(pack.plan(self.config), pack)
        self._blocks: OrderedDict[int, dict[str, pa.Array]] = OrderedDict()

    @property
    def blocks(self) -> int:
        """Person blocks of the population (0 when its size is open)."""
        return -(-(self.size or 0) // BLOCK_SIZE)

    def block_size(self, block: int) -> int:
        """People in block ``block``: a whole block but for the last one of a sized population."""
        return BLOCK_SIZE if self.size is None else max(0, min(BLOCK_SIZE, self.size - block * BLOCK_SIZE))

    def household_count(self, block: int) -> int:
        """Households in person block ``block``, from the household step alone (it needs no other step), so
        counting them costs a fraction of the block."""
        runtime, size = self.runtime, self.block_size(block)
        step = next(g for g in runtime.generators if g.name == "household")
        absolute = runtime.first_block + block
        first = absolute * BLOCK_SIZE + 1
        ctx = runtime.pack.context(runtime.config, runtime.ref, np.arange(first, first + size, dtype=np.int64))
        ids = np.asarray(step.generate(size, block_rng(self.config.seed, absolute, step.stream), ctx)["household_id"])
        return int(np.count_nonzero(np.diff(ids))) + 1 if size else 0

    def _block(self, block: int) -> dict[str, pa.Array]:
        if block in self._blocks:
            self._blocks.move_to_end(block)
            return self._blocks[block]
        tables = self.runtime.clean_block(block, self.block_size(block))
        persons = tables["persons"]
        ids = persons.column("person_id").to_numpy()
        out = {name: persons.column(name).combine_chunks() for name in _PERSONS}
        out["full_name"] = pc.binary_join_element_wise(out["first_name"], out["last_name"], " ")
        out["age"] = _age(out["date_of_birth"], self.config.as_of)
        for field, (table, column) in _CHILD.items():
            out[field] = _first_of(tables[table], column, _which(table, tables[table]), ids)
        units = tables[_UNITS]
        heads = units.column("household_id").to_numpy()
        mine = pa.array(np.searchsorted(heads, out["household_id"].to_numpy()))
        for field, column in _HOUSEHOLD.items():
            out[field] = units.column(column).combine_chunks().take(mine)
        out["#heads"] = units.column("household_id").combine_chunks()
        self._blocks[block] = out
        while len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return out

    def field(self, name: str, ids: np.ndarray) -> pa.Array:
        """Field ``name`` of persons ``ids``, in the order of ``ids`` (grouped by person block, vectorized)."""
        blocks = (ids - 1) // BLOCK_SIZE
        return by_block(blocks, ids - 1 - blocks * BLOCK_SIZE, lambda b, rows: self._block(b)[name].take(rows),
                        lambda: self._block(0)[name].slice(0, 0))

    def householders(self, blocks: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The person ids of households ``rows[i]`` of person blocks ``blocks[i]`` (each household's
        householder: its ``household_id``)."""
        found = by_block(blocks, rows, lambda b, r: self._block(b)["#heads"].take(r),
                         lambda: pa.array([], pa.int64()))
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
