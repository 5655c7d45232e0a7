"""The output contract of a noisy run: what noise does to types, nullability and lengths."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from ..core.contract import Column, Table
from ..packs.person.contract import NOISE_LOG, SOURCE_PERSON_ID, TABLES
from .plan import NoisePlan
from .registry import noise_types


def noisy_column(col: Column, rates: dict[str, float]) -> Column:
    """A column as noise leaves it: room for longer strings, then what each noise type with a rate on it
    does to the column (text dates, wider integers, nulls), in the noise types' order."""
    if pa.types.is_string(col.type):
        # Hyphenated surnames double a name; extensions, spelt-out words and typos add a little.
        col = replace(col, max_length=2 * (col.max_length or 0) + 16)
    for noise in noise_types():
        if noise.name in rates:
            col = noise.contract_column(col)
    return col


def contract(plan: NoisePlan | None) -> dict[str, Table]:
    """The tables of a run with this noise plan (the clean contract when there is no noise)."""
    if plan is None or not plan.active:
        return dict(TABLES)
    out: dict[str, Table] = {}
    for name, table in TABLES.items():
        columns = tuple(noisy_column(c, plan.rates.get((name, c.name), {})) for c in table.columns)
        if name == "persons":
            columns = (*columns, SOURCE_PERSON_ID)
        out[name] = replace(table, columns=columns)
    if plan.log:
        out[NOISE_LOG.name] = NOISE_LOG
    return out
