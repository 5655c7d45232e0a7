"""Outliers: values no clean source would hold (a $40M salary, a credit score of 912, a 118-year-old)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa

from ..core.contract import Column
from ..core.dates import DAYS_PER_YEAR, as_of_days
from .base import Cells, Change, NoiseType

NEGATIVE_SHARE = 0.3


class Outlier(NoiseType):
    """Amounts multiplied by the configured magnitude (times 1-3) or made negative, credit scores
    outside 300-850, birth dates that make a person 111-125 years old."""

    name = "outlier"
    position = 6
    variants = ("implausible", "negative", "out_of_range", "over_110")
    kinds = frozenset({"money", "ratio", "score", "birth_date"})
    description = "implausible or negative amounts, credit scores out of range, ages over 110"

    @classmethod
    def contract_column(cls, col: Column) -> Column:
        """32-bit integers widen to 64 bits: an outlier may not fit."""
        return replace(col, type=pa.int64()) if pa.types.is_integer(col.type) and col.type.bit_width == 32 else col

    def apply(self, cells: Cells) -> Change:
        n, kind = len(cells), cells.kind
        if kind == "score":
            low = cells.uniform() < 0.5
            score = np.where(low, cells.integers(0, 300), cells.integers(851, 1000))
            return Change(pa.array(score.astype(np.int16)), np.ones(n, dtype=bool), np.full(n, 2))
        if kind == "birth_date":
            days = as_of_days(cells.as_of) - np.floor((111 + 15 * cells.uniform()) * DAYS_PER_YEAR).astype(np.int64)
            return Change(pa.array(days.astype(np.int32)).cast(pa.date32()), np.ones(n, dtype=bool), np.full(n, 3))
        value = np.asarray(cells.values.to_numpy(zero_copy_only=False), dtype=np.float64)
        # A zero (no debt) has nothing to scale: start from a typical amount instead.
        typical = 0.4 if kind == "ratio" else 50_000.0
        base = np.where(np.abs(value) < 1e-9, typical, np.abs(value))
        negative = cells.uniform() < NEGATIVE_SHARE
        new = np.where(negative, -base, base * cells.magnitude * (1 + 2 * cells.uniform()))
        if pa.types.is_integer(cells.target):
            new = np.round(new).astype(np.int64)
        return Change(pa.array(new).cast(cells.target), np.ones(n, dtype=bool), np.where(negative, 1, 0))
