"""First, middle and last names, suffixes and nicknames."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..text import take
from .base import Column, Context, SubGenerator

SUFFIX_VOCAB = pa.array(["Jr.", "Sr.", "II", "III", "IV"])
# Share of men carrying each suffix (Jr., Sr., II, III, IV); women almost never do.
MALE_SUFFIX_SHARES = np.array([0.030, 0.006, 0.004, 0.004, 0.001])
NICKNAME_RATE = 0.35  # of people whose first name has a familiar form
MIDDLE_FULL, MIDDLE_INITIAL = 0.62, 0.18  # the rest have no middle name on record


class Name(SubGenerator):
    """Surname drawn for the person's race/ethnicity from the Census 2020 surname table (so the
    surname and race agree as they do in the census); first and middle names drawn from the SSA
    names given to babies of the person's sex in the person's birth year."""

    name = "name"
    stream = 2
    table = "persons"
    columns = ("first_name", "middle_name", "last_name", "name_suffix", "nickname")
    requires = ("sex", "birth_year", "race", "age")
    provides = ("first_idx", "last_idx", "first_name", "last_name")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        names = ctx.ref.names
        v = ctx.values
        last_idx = names.surname_by_race.sample(rng, v["race"])
        year = np.clip(v["birth_year"], names.year_min, names.year_max)
        group = (year - names.year_min) * 2 + v["sex"]
        first_idx = names.first_by_year_sex.sample(rng, group)
        middle_idx = names.first_by_year_sex.sample(rng, group)
        same = middle_idx == first_idx
        if same.any():
            middle_idx[same] = names.first_by_year_sex.sample(rng, group[same])

        kind = rng.random(n)
        full = pa.array(kind < MIDDLE_FULL)
        initial = pa.array((kind >= MIDDLE_FULL) & (kind < MIDDLE_FULL + MIDDLE_INITIAL))
        drawn = take(names.first_vocab, middle_idx)
        middle = pc.if_else(
            full, drawn, pc.if_else(initial, pc.utf8_slice_codeunits(drawn, 0, 1), pa.nulls(n, pa.string()))
        )

        # Suffixes: men only; "Sr." only once old enough to have a grown son.
        cdf = np.cumsum(MALE_SUFFIX_SHARES)
        code = np.searchsorted(cdf, rng.random(n), side="right")
        has_suffix = (code < len(cdf)) & (v["sex"] == 1)
        code = np.where((code == 1) & (v["age"] < 38), 0, code)
        suffix = take(SUFFIX_VOCAB, np.minimum(code, len(cdf) - 1), null_mask=~has_suffix)

        count = names.nickname_count[first_idx]
        has_nick = (count > 0) & (rng.random(n) < NICKNAME_RATE)
        pick = names.nickname_start[first_idx] + np.floor(rng.random(n) * count).astype(np.int64)
        nickname = take(names.nickname_vocab, np.where(has_nick, pick, 0), null_mask=~has_nick)

        first = take(names.first_vocab, first_idx)
        last = take(names.surname_vocab, last_idx)
        v.update(first_idx=first_idx, last_idx=last_idx, first_name=first, last_name=last)
        return {
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "name_suffix": suffix,
            "nickname": nickname,
        }
