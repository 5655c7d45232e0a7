"""Name variants: how the same person's name is recorded differently."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core.contract import Column
from ..core.text import take
from .base import Cells, Change, NoiseType

LETTERS = pa.array(list("ABCDEFGHIJKLMNOPRSTW"))  # common middle initials


class NameVariant(NoiseType):
    """Nicknames for first names (Robert -> Bob, from the curated nickname table), initial only,
    swapped first and last name, hyphenated or maiden surnames, dropped or added middle names and
    suffixes."""

    name = "name_variant"
    position = 2
    variants = ("nickname", "initial", "swapped", "hyphenated", "maiden", "dropped", "added")
    kinds = frozenset({"given_name", "family_name", "middle_name", "name_suffix"})
    description = "nicknames, initials, swapped, hyphenated or maiden names, dropped or added parts"

    #: Kinds whose variants are drawn over every row, not only those with a value: a missing part
    #: can be added (a suffix only for men, as only men carry one in the clean data).
    EVERY_ROW = ("middle_name", "name_suffix")
    #: The variant a first name's draw also writes into the last name (it counts for the first name).
    WRITES_LAST_NAME = "swapped"

    def eligible(self, kind: str, values: pa.Array) -> np.ndarray | None:
        if kind in self.EVERY_ROW:
            return None
        return super().eligible(kind, values)

    def __init__(self) -> None:
        self._nicknames: tuple[pa.Array, np.ndarray, np.ndarray] | None = None

    @classmethod
    def contract_column(cls, col: Column) -> Column:
        """Text names become nullable: a dropped middle name leaves none."""
        return replace(col, nullable=True) if pa.types.is_string(col.type) else col

    def apply(self, cells: Cells) -> Change:
        variant = {
            "given_name": self._first_name,
            "family_name": self._last_name,
            "middle_name": self._middle_name,
            "name_suffix": self._name_suffix,
        }
        return variant[cells.kind](cells)

    def _familiar(self, ref) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """The first names that have a nickname, with where their nicknames start and how many there are
        (a lookup among these ~1,000 names is far cheaper than among all 100,000)."""
        if self._nicknames is None:
            names = ref.names
            has = np.flatnonzero(names.nickname_count > 0)
            self._nicknames = (
                names.first_vocab.take(pa.array(has)),
                names.nickname_start[has],
                names.nickname_count[has],
            )
        return self._nicknames

    def _first_name(self, cells: Cells) -> Change:
        n = len(cells)
        names = cells.ref.names
        kind = cells.choose((0.6, 0.25, 0.15))  # nickname, initial, swapped
        familiar, start, count = self._familiar(cells.ref)
        idx = np.asarray(pc.fill_null(pc.index_in(cells.values, familiar), -1), dtype=np.int64)
        count = np.where(idx >= 0, count[np.maximum(idx, 0)], 0)
        # Without a familiar form in the table, the first name is cut to its initial instead.
        kind = np.where((kind == 0) & (count == 0), 1, kind)
        pick = start[np.maximum(idx, 0)] + np.floor(cells.uniform() * count).astype(np.int64)
        nickname = take(names.nickname_vocab, np.where(kind == 0, pick, 0))
        initial = pc.utf8_slice_codeunits(cells.values, 0, 1)
        dotted = pc.if_else(pa.array(cells.uniform() < 0.5), pc.binary_join_element_wise(initial, ".", ""), initial)
        k = pa.array(kind)
        last_name = cells.column_of("family_name")
        values = pc.case_when(
            pc.make_struct(pc.equal(k, 0), pc.equal(k, 1)), nickname, dotted, cells.column_at(last_name)
        )
        # A swap writes the first name into the last name too; the engine applies it only where kind is 2.
        return Change(values, np.ones(n, dtype=bool), kind, {last_name: (kind == 2, cells.values)})

    def _last_name(self, cells: Cells) -> Change:
        n = len(cells)
        # Another surname of the same place and time: a random other person's.
        other = cells.column_at(cells.column, cells.other_rows())
        hyphen = cells.uniform() < 0.5
        values = pc.if_else(pa.array(hyphen), pc.binary_join_element_wise(cells.values, other, "-"), other)
        return Change(values, np.ones(n, dtype=bool), np.where(hyphen, 3, 4))

    def _middle_name(self, cells: Cells) -> Change:
        present = np.asarray(pc.is_valid(cells.values), dtype=bool)
        added = take(LETTERS, cells.integers(0, len(LETTERS)), null_mask=present)
        return Change(added, np.ones(len(cells), dtype=bool), np.where(present, 5, 6))

    def _name_suffix(self, cells: Cells) -> Change:
        present = np.asarray(pc.is_valid(cells.values), dtype=bool)
        # Only men are given an added "Jr." (as only men carry one in the clean data).
        male = np.asarray(pc.equal(cells.column_at(cells.column_of("sex")), "M"))
        values = pa.array(np.where(present, None, "Jr."), type=pa.string())
        return Change(values, present | male, np.where(present, 5, 6))
