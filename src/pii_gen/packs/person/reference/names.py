"""First names by year and sex, nicknames and surnames by race: the name samplers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....core.sampling import GroupedSampler
from .model import Names
from .tables import RACES, SURNAME_SHARE_COLUMNS, _csr, _index, _np, _read


def _names() -> Names:
    fn = _read("first_names")
    name_col = fn.column("name")
    first_vocab = pc.unique(name_col)
    first_vocab = first_vocab.take(pc.array_sort_indices(first_vocab))
    name_idx = _index(name_col, first_vocab)
    year = _np(fn, "year", np.int64)
    sex = (_np(fn, "sex").astype(str) == "M").astype(np.int64)
    y0, y1 = int(year.min()), int(year.max())
    groups = (year - y0) * 2 + sex
    by_year_sex = GroupedSampler(groups, _np(fn, "count", np.float64), (y1 - y0 + 1) * 2, items=name_idx)

    nk = _read("nicknames")
    owner = pc.index_in(nk.column("name"), first_vocab)
    # The curated list also links names both ways (Jamie -> James); a nickname in use is the
    # shorter, familiar form (Robert -> Bob), so only shorter forms are drawn.
    keep = pc.and_(
        pc.is_valid(owner), pc.less(pc.utf8_length(nk.column("nickname")), pc.utf8_length(nk.column("name")))
    )
    nk = nk.filter(keep)
    owner_np = _index(nk.column("name"), first_vocab)
    order = np.argsort(owner_np, kind="stable")
    nick_vocab = nk.column("nickname").combine_chunks().take(pa.array(order))
    start, count = _csr(owner_np[order], len(first_vocab))

    sn = _read("surnames")
    surname_vocab = sn.column("name").combine_chunks()
    count_s = _np(sn, "count", np.float64)
    k = len(surname_vocab)
    groups = np.repeat(np.arange(len(RACES)), k)
    weights = np.concatenate(
        [count_s * np.nan_to_num(_np(sn, SURNAME_SHARE_COLUMNS[r], np.float64)) / 100 for r in RACES]
    )
    items = np.tile(np.arange(k), len(RACES))
    return Names(
        first_vocab=first_vocab,
        first_by_year_sex=by_year_sex,
        year_min=y0,
        year_max=y1,
        nickname_vocab=nick_vocab,
        nickname_start=start,
        nickname_count=count,
        surname_vocab=surname_vocab,
        surname_by_race=GroupedSampler(groups, weights, len(RACES), items=items),
        first_slug=slug(first_vocab),
        surname_slug=slug(surname_vocab),
    )


def slug(names: pa.Array) -> pa.Array:
    """Lower-case ASCII letters and digits only, as mail systems' local parts and domains take them."""
    return pc.replace_substring_regex(pc.utf8_lower(names), r"[^a-z0-9]", "")
