"""Outliers: values no clean source would hold (a $40M salary, a credit score of 912, a 118-year-old)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..generators.dates import as_of_days
from ..generators.base import DAYS_PER_YEAR
from .base import Cells, Change, NoiseType

AMOUNTS = ("annual_income", "total_debt", "annual_salary", "debt_to_income")
NEGATIVE_SHARE = 0.3


class Outlier(NoiseType):
    """Amounts multiplied by the configured magnitude (times 1-3) or made negative, credit scores
    outside 300-850, birth dates that make a person 111-125 years old."""

    name = "outlier"
    variants = ("implausible", "negative", "out_of_range", "over_110")
    columns = {
        "persons": ("date_of_birth",),
        "employments": ("annual_salary",),
        "financial_profiles": ("annual_income", "credit_score", "total_debt", "debt_to_income"),
    }
    description = "implausible or negative amounts, credit scores out of range, ages over 110"

    def apply(self, cells: Cells) -> Change:
        n, col = len(cells), cells.column
        if col == "credit_score":
            low = cells.uniform() < 0.5
            score = np.where(low, cells.integers(0, 300), cells.integers(851, 1000))
            return Change(pa.array(score.astype(np.int16)), np.ones(n, dtype=bool), np.full(n, 2))
        if col == "date_of_birth":
            days = as_of_days(cells.as_of) - np.floor((111 + 15 * cells.uniform()) * DAYS_PER_YEAR).astype(np.int64)
            return Change(pa.array(days.astype(np.int32)).cast(pa.date32()), np.ones(n, dtype=bool), np.full(n, 3))
        value = np.asarray(cells.values.to_numpy(zero_copy_only=False), dtype=np.float64)
        # A zero (no debt) has nothing to scale: start from a typical amount instead.
        typical = 0.4 if col == "debt_to_income" else 50_000.0
        base = np.where(np.abs(value) < 1e-9, typical, np.abs(value))
        negative = cells.uniform() < NEGATIVE_SHARE
        new = np.where(negative, -base, base * cells.magnitude * (1 + 2 * cells.uniform()))
        if pa.types.is_integer(cells.target):
            new = np.round(new).astype(np.int64)
        return Change(pa.array(new).cast(cells.target), np.ones(n, dtype=bool), np.where(negative, 1, 0))
