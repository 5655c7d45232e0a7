"""Census-style reference tables, loaded once per process and turned into samplers.

The Parquet files live in ``data/`` (see ``data/SOURCES.md`` for where each
comes from).  ``tables`` reads them; ``names``, ``places``, ``work``, ``people``
and ``households`` precompute everything the sub-generators draw from, so that
per-batch work is pure array indexing.
"""

from __future__ import annotations

import functools

from .cache import cached
from .households import _households
from .model import Households, Names, People, Places, Reference, Work
from .names import _names, slug
from .people import _people
from .places import _places
from .tables import (
    EDUCATION,
    MARITAL,
    MAX_AGE,
    RACE_LABELS,
    RACES,
    SEXES,
    SURNAME_SHARE_COLUMNS,
    _read,
    data_dir,
)
from .work import (
    BELOW_ENTRY_WEIGHT,
    EDUCATION_EMPLOYMENT_FACTOR,
    EDUCATION_WAGE_AFFINITY,
    ENTRY_EDUCATION_LEVEL,
    MIN_JOB_AGE,
    STATE_WAGE_RATIO_MAX,
    _work,
    min_education,
)

__all__ = [
    "BELOW_ENTRY_WEIGHT",
    "EDUCATION",
    "EDUCATION_EMPLOYMENT_FACTOR",
    "EDUCATION_WAGE_AFFINITY",
    "ENTRY_EDUCATION_LEVEL",
    "MARITAL",
    "MAX_AGE",
    "MIN_JOB_AGE",
    "RACES",
    "RACE_LABELS",
    "SEXES",
    "STATE_WAGE_RATIO_MAX",
    "SURNAME_SHARE_COLUMNS",
    "Households",
    "Names",
    "People",
    "Places",
    "Reference",
    "Work",
    "_read",
    "data_dir",
    "load",
    "prepare",
    "min_education",
    "slug",
]


@functools.lru_cache(maxsize=1)
def load() -> Reference:
    """All reference data, read and prepared once per process (and kept on disk between runs: see ``cache``)."""
    return cached(prepare)


def prepare() -> Reference:
    """All reference data, read from ``data/`` and prepared."""
    places = _places()
    names = _names()
    people = _people()
    return Reference(
        names=names, places=places, work=_work(places, names, people), people=people, households=_households()
    )
