"""Name variants: how the same person's name is recorded differently."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..text import take
from .base import Cells, Change, NoiseType, choose, other_rows

LETTERS = pa.array(list("ABCDEFGHIJKLMNOPRSTW"))  # common middle initials


class NameVariant(NoiseType):
    """Nicknames for first names (Robert -> Bob, from the curated nickname table), initial only,
    swapped first and last name, hyphenated or maiden surnames, dropped or added middle names and
    suffixes."""

    name = "name_variant"
    variants = ("nickname", "initial", "swapped", "hyphenated", "maiden", "dropped", "added")
    columns = {"persons": ("first_name", "last_name", "middle_name", "name_suffix")}
    description = "nicknames, initials, swapped, hyphenated or maiden names, dropped or added parts"

    def eligible(self, column: str, values: pa.Array) -> np.ndarray:
        if column in ("middle_name", "name_suffix"):  # a missing part can be added
            return np.ones(len(values), dtype=bool)
        return super().eligible(column, values)

    def apply(self, cells: Cells) -> Change:
        return getattr(self, f"_{cells.column}")(cells)

    def _first_name(self, cells: Cells) -> Change:
        rng, n = cells.rng, len(cells)
        names = cells.ref.names
        kind = choose(rng, n, (0.6, 0.25, 0.15))  # nickname, initial, swapped
        idx = np.asarray(pc.fill_null(pc.index_in(cells.values, names.first_vocab), -1), dtype=np.int64)
        count = np.where(idx >= 0, names.nickname_count[np.maximum(idx, 0)], 0)
        # Without a familiar form in the table, the first name is cut to its initial instead.
        kind = np.where((kind == 0) & (count == 0), 1, kind)
        pick = names.nickname_start[np.maximum(idx, 0)] + np.floor(rng.random(n) * count).astype(np.int64)
        nickname = take(names.nickname_vocab, np.where(kind == 0, pick, 0))
        initial = pc.utf8_slice_codeunits(cells.values, 0, 1)
        dotted = pc.if_else(pa.array(rng.random(n) < 0.5), pc.binary_join_element_wise(initial, ".", ""), initial)
        k = pa.array(kind)
        values = pc.case_when(
            pc.make_struct(pc.equal(k, 0), pc.equal(k, 1)), nickname, dotted, cells.column_at("last_name")
        )
        # A swap writes the first name into the last name too; the engine applies it only where kind is 2.
        return Change(values, np.ones(n, dtype=bool), kind, {"last_name": (kind == 2, cells.values)})

    def _last_name(self, cells: Cells) -> Change:
        rng, n = cells.rng, len(cells)
        # Another surname of the same place and time: a random other person's.
        other = cells.column_at("last_name", other_rows(rng, cells.rows, cells.size))
        hyphen = rng.random(n) < 0.5
        values = pc.if_else(pa.array(hyphen), pc.binary_join_element_wise(cells.values, other, "-"), other)
        return Change(values, np.ones(n, dtype=bool), np.where(hyphen, 3, 4))

    def _middle_name(self, cells: Cells) -> Change:
        present = np.asarray(pc.is_valid(cells.values), dtype=bool)
        added = take(LETTERS, cells.rng.integers(0, len(LETTERS), len(cells)), null_mask=present)
        return Change(added, np.ones(len(cells), dtype=bool), np.where(present, 5, 6))

    def _name_suffix(self, cells: Cells) -> Change:
        present = np.asarray(pc.is_valid(cells.values), dtype=bool)
        # Only men are given an added "Jr." (as only men carry one in the clean data).
        male = np.asarray(pc.equal(cells.column_at("sex"), "M"))
        values = pa.array(np.where(present, None, "Jr."), type=pa.string())
        return Change(values, present | male, np.where(present, 5, 6))
