"""What every noise type is: a small class that says which columns it can change and changes a set of cells."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..reference import Reference


@dataclass
class Cells:
    """The cells of one column chosen for one noise type in one block.

    ``table`` holds the block's whole table as it stands, column by column
    (earlier columns may already be noisy), ``rows`` the chosen row positions and ``values`` the
    column's values there.  ``target`` is the column's type in the noisy
    contract (a date column with format drift becomes a string column).
    """

    table: dict[str, pa.Array]
    column: str
    rows: np.ndarray
    values: pa.Array
    target: pa.DataType
    rng: np.random.Generator
    ref: Reference
    strict: bool
    as_of: dt.date
    magnitude: float

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def size(self) -> int:
        """Rows in the whole table."""
        return len(self.table[self.column])

    def column_at(self, name: str, rows: np.ndarray | None = None) -> pa.Array:
        """A column of the table at ``rows`` (default: the chosen rows)."""
        return self.table[name].take(pa.array(self.rows if rows is None else rows))


@dataclass
class Change:
    """What a noise type did to its cells.

    ``values`` holds the new value of every chosen cell (ignored where
    ``applied`` is false) and ``variant`` the index into the type's
    ``variants`` of what was done.  ``also`` carries changes the same edit
    makes to other columns of the same rows (swapping first and last name
    changes both): column -> (where, new values) over the chosen cells.  Where
    such a cell is already noisy the whole edit is dropped, so every cell is
    changed at most once and the noise log stays exact.
    """

    values: pa.Array
    applied: np.ndarray
    variant: np.ndarray
    also: dict[str, tuple[np.ndarray, pa.Array]] = field(default_factory=dict)


class NoiseType:
    """One kind of data-quality noise.

    ``columns`` maps each table to the columns this type knows how to change;
    the config is checked against it, so a rate on a column the type cannot
    touch is an error, not a silent no-op.  ``variants`` names the finer
    kinds recorded in the noise log.
    """

    name: ClassVar[str]
    columns: ClassVar[dict[str, tuple[str, ...]]]
    variants: ClassVar[tuple[str, ...]]
    description: ClassVar[str]

    def eligible(self, column: str, values: pa.Array) -> np.ndarray:
        """Cells this type may be drawn for: by default those holding a value."""
        return np.asarray(pc.is_valid(values), dtype=bool)

    def apply(self, cells: Cells) -> Change:
        raise NotImplementedError

    @classmethod
    def supports(cls, table: str, column: str) -> bool:
        return column in cls.columns.get(table, ())

    def variant_index(self, name: str) -> int:
        return self.variants.index(name)


def choose(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> np.ndarray:
    """Draw ``n`` indices with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype=np.float64)
    return np.searchsorted(np.cumsum(w) / w.sum(), rng.random(n), side="right").clip(0, len(w) - 1)


def other_rows(rng: np.random.Generator, rows: np.ndarray, n: int) -> np.ndarray:
    """For each row, a different random row of a table of ``n`` rows (the row itself when ``n`` is 1)."""
    if n <= 1:
        return rows.copy()
    pick = rng.integers(0, n - 1, len(rows))
    return pick + (pick >= rows)
