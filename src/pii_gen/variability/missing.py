"""Missing values: nulls, empty strings and the placeholder tokens real records carry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa

from ..core.contract import Column
from ..core.text import take
from .base import DATA_KINDS, Cells, Change, NoiseType

GENERIC = ("N/A", "UNKNOWN", "NONE", "-", "?")
# Placeholders people type into forms that insist on a value, by kind of column (any date column: "date");
# every one is safe (no real identifier).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "ssn": ("000-00-0000", "N/A", "UNKNOWN"),
    "phone": ("000-000-0000", "N/A", "NONE"),
    "email": ("none@example.com", "N/A", "NONE"),
    "zip": ("00000", "N/A"),
    "card": ("0000000000000000", "N/A"),
    "date": ("00/00/0000", "N/A", "UNKNOWN"),
}


class Missing(NoiseType):
    """A value left out: null, an empty string, or a placeholder such as "N/A" or "000-00-0000"
    (empty strings and placeholders only in text columns)."""

    name = "missing"
    position = 3
    variants = ("null", "empty", "placeholder")
    kinds = DATA_KINDS  # every column that holds data: not a key, not a link to a person, household or address
    description = "nulls, empty strings and placeholder tokens"

    @classmethod
    def contract_column(cls, col: Column) -> Column:
        return replace(col, nullable=True)

    def apply(self, cells: Cells) -> Change:
        n = len(cells)
        if not pa.types.is_string(cells.target):
            return Change(pa.nulls(n, cells.values.type), np.ones(n, dtype=bool), np.zeros(n, np.int64))
        kind = cells.choose((0.6, 0.2, 0.2))
        date = pa.types.is_date(cells.values.type)
        tokens = pa.array(PLACEHOLDERS.get("date" if date else cells.kind, GENERIC))
        token = take(tokens, cells.integers(0, len(tokens)))
        values = pa.array(np.where(kind == 1, "", None), type=pa.string())
        values = pa.compute.if_else(pa.array(kind == 2), token, values)
        return Change(values, np.ones(n, dtype=bool), kind)
