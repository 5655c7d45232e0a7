"""The output contract of a noisy run: what noise does to types, nullability and lengths."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from ..core.contract import Column, Table
from ..packs.person.contract import NOISE_LOG, SOURCE_PERSON_ID, TABLES
from .plan import NoisePlan

DATE_TEXT_LENGTH = 12  # "Mar 07, 1980"


def noisy_column(col: Column, rates: dict[str, float]) -> Column:
    """A column as noise leaves it: text dates where formats drift, wider integers for outliers,
    nullable where values go missing, room for longer strings."""
    kind, length, nullable = col.type, col.max_length, col.nullable or "missing" in rates
    if pa.types.is_string(kind):
        # Hyphenated surnames double a name; extensions, spelt-out words and typos add a little.
        length = 2 * (length or 0) + 16
    if pa.types.is_date(kind) and "format" in rates:
        kind, length = pa.string(), DATE_TEXT_LENGTH
    if pa.types.is_integer(kind) and "outlier" in rates and kind.bit_width == 32:
        kind = pa.int64()
    if "name_variant" in rates and pa.types.is_string(kind):
        nullable = True
    return replace(col, type=kind, max_length=length, nullable=nullable, repetitive=col.repetitive)


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
