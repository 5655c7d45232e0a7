"""Household types, sizes, householder ages, group quarters, spouse gaps and births: the household samplers."""

from __future__ import annotations

import numpy as np

from ....core import portable
from ....core.sampling import GroupedSampler, Sampler
from .model import Households
from .tables import MAX_AGE, _np, _read


def _spread(lo: int, hi: int, share: float) -> np.ndarray:
    """A group's share spread over its single years (the open top group falls off as survivorship does)."""
    ages = np.arange(lo, hi + 1)
    rate = 0.13 if lo >= 85 else (0.09 if lo >= 75 else (0.04 if lo >= 65 else 0.0))  # as the 2020 pyramid falls
    shape = portable.exp(-rate * (ages - lo))
    return share * shape / shape.sum()


def _households() -> Households:
    ht = _read("household_types")
    types = tuple(ht.column("household_type").to_pylist())
    code = {t: i for i, t in enumerate(types)}
    sbt = _read("household_size_by_type")
    size = GroupedSampler(
        np.array([code[t] for t in sbt.column("household_type").to_pylist()]),
        _np(sbt, "share", np.float64),
        len(types),
        items=_np(sbt, "size", np.int64),
    )
    sizes = _read("household_sizes")
    owner = np.array([code[t] for t in sbt.column("household_type").to_pylist()])
    share = _np(sbt, "share", np.float64)
    mean_size = np.bincount(owner, share * _np(sbt, "size", np.float64), len(types)) / np.bincount(
        owner, share, len(types)
    )
    hat = _read("householder_age_by_type")
    householder_age = np.zeros((len(types), MAX_AGE + 1))
    for t, lo, hi, share in zip(
        *(hat.column(c).to_pylist() for c in ("household_type", "age_min", "age_max", "share"))
    ):
        hi = min(hi, MAX_AGE)
        householder_age[code[t], lo : hi + 1] = _spread(lo, hi, share)
    gq = _read("group_quarters")
    gap = _read("spouse_age_gap")
    gap_values, gap_weights = [], []
    for lo, hi, share in zip(*(gap.column(c).to_pylist() for c in ("gap_min", "gap_max", "share"))):
        gap_values.append(np.arange(lo, hi + 1))
        gap_weights.append(np.full(hi - lo + 1, share / (hi - lo + 1)))
    births = _read("births_by_mother_age")
    per_age = np.zeros(MAX_AGE + 1)
    for lo, hi, share in zip(*(births.column(c).to_pylist() for c in ("age_min", "age_max", "share"))):
        per_age[lo : hi + 1] = share / (hi - lo + 1)
    return Households(
        types=types,
        type_share=_np(ht, "share", np.float64),
        female_householder=_np(ht, "female_householder", np.float64),
        same_sex=_np(ht, "same_sex", np.float64),
        size=size,
        sizes=_np(sizes, "share", np.float64),
        mean_size=mean_size,
        householder_age=householder_age,
        gq_types=tuple(gq.column("gq_type").to_pylist()),
        gq_share=_np(gq, "share_of_people", np.float64),
        gq_age_min=_np(gq, "age_min", np.int64),
        gq_age_max=_np(gq, "age_max", np.int64),
        gq_male=_np(gq, "male", np.float64),
        spouse_gap=Sampler(np.concatenate(gap_weights)),
        spouse_gap_values=np.concatenate(gap_values),
        birth_age_cdf=np.cumsum(per_age) / per_age.sum(),
    )
