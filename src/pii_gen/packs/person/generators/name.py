"""First, middle and last names, suffixes and nicknames."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....core.text import join, take
from .base import Column, Context, SubGenerator
from .household import CHILD, OTHER, PARENT, PARTNER, SIBLING, SPOUSE

SUFFIX_VOCAB = pa.array(["Jr.", "Sr.", "II", "III", "IV"])
# Share of men carrying each suffix (Jr., Sr., II, III, IV); women almost never do.
MALE_SUFFIX_SHARES = np.array([0.030, 0.006, 0.004, 0.004, 0.001])
NICKNAME_RATE = 0.35  # of people whose first name has a familiar form
MIDDLE_FULL, MIDDLE_INITIAL = 0.62, 0.18  # the rest have no middle name on record
# Spouses' surnames (share the householder's, hyphenate their own with it, keep their own): about 8 in 10
# married women take their husband's name, 5% hyphenate (Pew Research Center 2023); cohabiting partners
# rarely change names; same-sex spouses are taken at the same rates.
SPOUSE_SURNAME = (0.80, 0.05)
PARTNER_SURNAME = (0.05, 0.0)
CHILD_TAKES_SPOUSE = 0.10  # children of a couple carrying the spouse's/partner's surname, not the householder's
# Other relatives carrying the householder's surname: parents (as often the mother as the father), siblings,
# other relatives.
SHARED_SURNAME = {PARENT: 0.6, SIBLING: 0.8, OTHER: 0.5}
MAX_SURNAME = 40


class Name(SubGenerator):
    """Surname drawn for the person's race/ethnicity from the Census 2020 surname table (so the
    surname and race agree as they do in the census); first and middle names drawn from the SSA
    names given to babies of the person's sex in the person's birth year."""

    name = "name"
    stream = 2
    table = "persons"
    columns = ("first_name", "middle_name", "last_name", "name_suffix", "nickname")
    requires = ("sex", "birth_year", "race", "age", "hh_role", "hh_head", "hh_spouse", "hh_unit")
    provides = ("first_idx", "last_idx", "first_name", "last_name")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        names = ctx.ref.names
        v = ctx.values
        last_idx = names.surname_by_race.sample(rng, v["race"])
        role, head, spouse = v["hh_role"], v["hh_head"], v["hh_spouse"][v["hh_unit"]]
        u = rng.random(n)
        own_idx = last_idx
        last_idx = last_idx.copy()
        share = np.zeros(n, bool)
        hyphen = np.zeros(n, bool)
        for r, (same, hyph) in ((SPOUSE, SPOUSE_SURNAME), (PARTNER, PARTNER_SURNAME)):
            share |= (role == r) & (u < same)
            hyphen |= (role == r) & (u >= same) & (u < same + hyph)
        for r, rate in SHARED_SURNAME.items():
            share |= (role == r) & (u < rate)
        last_idx[share] = last_idx[head[share]]
        child = role == CHILD
        from_spouse = child & (spouse >= 0) & (u < CHILD_TAKES_SPOUSE)
        last_idx[child] = np.where(from_spouse[child], last_idx[np.maximum(spouse[child], 0)], last_idx[head[child]])
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
        if hyphen.any():  # "Own-Householder", where it fits the column
            rows = np.flatnonzero(hyphen)
            joined = join([take(names.surname_vocab, own_idx[rows]), take(names.surname_vocab, last_idx[head[rows]])],
                          "-")  # fmt: skip
            fits = np.asarray(pc.less_equal(pc.utf8_length(joined), MAX_SURNAME))
            rows = rows[fits]
            if len(rows):
                mask = np.zeros(n, bool)
                mask[rows] = True
                filled = take(joined.filter(pa.array(fits)), np.maximum(np.cumsum(mask) - 1, 0))
                last = pc.if_else(pa.array(mask), filled, last)
        v.update(first_idx=first_idx, last_idx=last_idx, first_name=first, last_name=last)
        return {
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "name_suffix": suffix,
            "nickname": nickname,
        }
