"""What every noise type is: a small class that says which kinds of column it can change and changes a set of cells.

Defining a subclass registers it (see :func:`pii_gen.variability.registry.noise_types`): a noise type is one
module of this package, checked as it registers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import RegistryError
from ..packs.person.reference import Reference
from ..core.registry import Registry, where
from ..core.contract import KINDS, Column, Table
from ..packs.person.contract import NOISE_LOG


@dataclass
class Cells:
    """The cells of one column chosen for one noise type in one batch of blocks.

    ``table`` holds the batch's whole table as it stands, column by column
    (earlier columns may already be noisy), ``rows`` the chosen row positions
    and ``values`` the column's values there.  ``kind`` is what the column
    holds (see ``schema.KINDS``) and ``spec`` its table in the noisy contract,
    where ``target`` is the column's type (a date column with format drift
    becomes a string column).

    Random numbers come from :meth:`uniform` and friends, one (or ``width``)
    per chosen cell, each drawn from the stream of the cell's own block: a
    cell's noise is the same whichever blocks are processed together.
    """

    table: dict[str, pa.Array]
    column: str
    kind: str
    spec: Table
    rows: np.ndarray
    values: pa.Array
    target: pa.DataType
    streams: list[np.random.Generator]  # one per block of the batch
    block_start: np.ndarray  # first row of each block in the table, and the end as the last entry
    ref: Reference
    strict: bool
    as_of: dt.date
    magnitude: float

    def __post_init__(self) -> None:
        self.block = np.searchsorted(self.block_start, self.rows, side="right") - 1
        self._counts = np.bincount(self.block, minlength=len(self.streams))

    def __len__(self) -> int:
        return len(self.rows)

    def uniform(self, width: int | None = None) -> np.ndarray:
        """Uniform [0, 1) numbers, one (or a row of ``width``) per chosen cell."""
        shape = (lambda c: c) if width is None else (lambda c: (c, width))
        parts = [rng.random(shape(c)) for rng, c in zip(self.streams, self._counts) if c]
        if not parts:
            return np.zeros(shape(0))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def integers(self, low: int, high: int) -> np.ndarray:
        """Whole numbers in [low, high), one per chosen cell."""
        return low + np.floor(self.uniform() * (high - low)).astype(np.int64)

    def choose(self, weights: tuple[float, ...]) -> np.ndarray:
        """An index drawn with the given (unnormalised) weights, one per chosen cell."""
        return choose(self.uniform(), weights)

    def other_rows(self) -> np.ndarray:
        """For each chosen cell, a different random row of the same block (the row itself in a block of one)."""
        start = self.block_start[self.block]
        size = self.block_start[self.block + 1] - start
        step = 1 + np.floor(self.uniform() * np.maximum(size - 1, 1)).astype(np.int64)
        return np.where(size > 1, start + (self.rows - start + step) % np.maximum(size, 1), self.rows)

    def column_at(self, name: str, rows: np.ndarray | None = None) -> pa.Array:
        """A column of the table at ``rows`` (default: the chosen rows)."""
        return self.table[name].take(pa.array(self.rows if rows is None else rows))

    def column_of(self, kind: str) -> str:
        """The table's (first) column of ``kind``: the sibling an edit reads or also writes."""
        for col in self.spec.columns:
            if col.kind == kind:
                return col.name
        raise RegistryError(f"noise on {self.spec.name}.{self.column} needs a column of kind {kind} in that table")


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

    ``kinds`` are the kinds of column (``schema.KINDS``) this type knows how
    to change; the config is checked against them, so a rate on a column the
    type cannot touch is an error, not a silent no-op.  ``variants`` names the
    finer kinds of change recorded in the noise log.  ``position`` is the
    type's fixed place among noise types: where its rate sits in a column's
    one draw (and its field in the config), pinned as a sub-generator's stream
    is, so a new type never moves which cells the others change.
    """

    name: ClassVar[str]
    position: ClassVar[int]
    kinds: ClassVar[frozenset[str]]
    variants: ClassVar[tuple[str, ...]]
    description: ClassVar[str]

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            REGISTRY.add(cls)

    def eligible(self, kind: str, values: pa.Array) -> np.ndarray | None:
        """Cells of a column of ``kind`` this type may be drawn for (None: all): by default those holding a value."""
        return None if values.null_count == 0 else np.asarray(pc.is_valid(values), dtype=bool)

    def apply(self, cells: Cells) -> Change:
        raise NotImplementedError

    @classmethod
    def contract_column(cls, col: Column) -> Column:
        """``col`` as this noise may leave it (another type, a null): the output contract's column."""
        return col

    @classmethod
    def supports(cls, kind: str) -> bool:
        return kind in cls.kinds

    @classmethod
    def columns_in(cls, tables: Mapping[str, Table]) -> dict[str, tuple[str, ...]]:
        """Per table, the columns this type can change (tables with none left out)."""
        found = {name: tuple(c.name for c in t.columns if cls.supports(c.kind)) for name, t in tables.items()}
        return {name: cols for name, cols in found.items() if cols}


class NoiseTypes(Registry[type[NoiseType]]):
    """The registered noise types: each with its own name and position, known kinds and distinct variants."""

    def check(self, cls: type[NoiseType], others: list[type[NoiseType]]) -> None:
        for attr in ("position", "kinds", "variants", "description"):
            if not hasattr(cls, attr):
                raise RegistryError(f"noise type {where(cls)} declares no {attr}")
        if not isinstance(cls.position, int) or cls.position < 0:
            raise RegistryError(f"noise type {where(cls)} has position {cls.position!r}: a whole number >= 0")
        taken = next((o for o in others if o.position == cls.position), None)
        if taken is not None:
            raise RegistryError(
                f"noise type {where(cls)} has position {cls.position}, already {where(taken)}'s: positions must differ"
            )
        unknown = sorted(set(cls.kinds) - set(KINDS))
        if not cls.kinds or unknown:
            raise RegistryError(
                f"noise type {where(cls)} declares kind {', '.join(unknown) or '(none)'}, which no column has "
                f"(column kinds: {', '.join(KINDS)})"
            )
        if not cls.variants or len(set(cls.variants)) != len(cls.variants):
            raise RegistryError(f"noise type {where(cls)} needs variants, each named once (got {cls.variants!r})")
        for column, names in (("noise_type", (cls.name,)), ("variant", cls.variants)):
            room = NOISE_LOG.column(column).max_length or 0
            long = next((n for n in names if len(n) > room), None)
            if long is not None:
                raise RegistryError(
                    f"noise type {where(cls)} names '{long}', longer than the noise log's {column} column "
                    f"({room} characters)"
                )


#: Every noise type defined so far (see :func:`pii_gen.variability.registry.noise_types` for all of them).
REGISTRY = NoiseTypes("noise type")

#: The kinds of column that hold data: every kind but keys.
DATA_KINDS = frozenset(KINDS) - {"id"}


def choose(u: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights from uniform numbers ``u``."""
    w = np.asarray(weights, dtype=np.float64)
    return np.searchsorted(np.cumsum(w) / w.sum(), u, side="right").clip(0, len(w) - 1)
