"""Households: who lives with whom, drawn first so every later generator can make members agree.

A block of people is filled with whole households (and group-quarters residents) drawn from the
census household-type, household-size and group-quarters tables until it is full.  The last few
people of a block, who would not fit a whole drawn household, each live alone: no household is
ever cut in two and no block depends on another.  Members of a household have consecutive
person ids, householder first, so ``household_id`` is the householder's ``person_id``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..reference import MAX_AGE, Households
from ....core import portable
from ....core.sampling import GroupedSampler
from .base import Column, Context, SubGenerator, child_ids

# Roles in a household (what a member is to the householder).
HOUSEHOLDER, SPOUSE, PARTNER, CHILD, PARENT, SIBLING, OTHER, ROOMMATE, RESIDENT = range(9)
ROLE_VOCAB = pa.array(
    ["householder", "spouse", "partner", "child", "parent", "sibling", "other_relative", "roommate", "resident"]
)
# Household type codes, in the order of data/household_types.parquet (checked on every block).
MARRIED_KIDS, MARRIED, PARTNERS, SINGLE_PARENT, OTHER_FAMILY, MULTIGEN, ALONE, ROOMMATES = range(8)
TYPE_ORDER = (
    "married_with_children", "married_without_children", "unmarried_partners", "single_parent", "other_family",
    "multigenerational", "living_alone", "roommates",
)  # fmt: skip
MAX_SIZE = 7  # "7 or more" people are generated as 7
ADULT = 18
YOUNG_ADULT = 21  # children after the first in families with minor children may be this old
OLDEST_CHILD = 26  # adult children living with their parents
FLAT_BIRTH_AGE = 0.7  # share of children whose age is uniform over what fits (see _birth_age)
MIN_BIRTH_AGE, MAX_BIRTH_AGE = 15, 49  # a parent's age at a child's birth (NCHS births by mother's age)
# A child's relation to its parents: biological, adopted, or (in couples) the householder's own but a stepchild
# of the spouse/partner.  ACS 2019 (B09018): 2.5% of householders' children are adopted, 5.5% stepchildren.
CHILD_KINDS = np.array([0.92, 0.025, 0.055])
BIO, ADOPTED, STEP = 0, 1, 2
MG_SPOUSE_RATE, MG_TWO_PARENTS = 0.6, 0.3  # multigenerational: householder's spouse, both of their parents
SHARED_RACE = {SPOUSE: 0.88, PARTNER: 0.80}  # Pew: about 1 in 8 married / 1 in 5 cohabiting couples interracial


class Household(SubGenerator):
    """Household type, size and composition for every person (census shares), with ages and sexes that fit:
    householder ages by household type (ACS), spouses' age gaps (CPS), children younger than each parent by
    an age at birth of 15-49 (NCHS births by mother's age), parents of the householder older still."""

    name = "household"
    stream = 9
    table = "persons"
    columns = ("household_id", "household_role")
    provides = (
        "hh_unit", "hh_head", "hh_role", "hh_type", "hh_unit_type", "hh_unit_size", "hh_spouse", "hh_age",
        "hh_sex", "hh_child_kind",
    )  # fmt: skip

    def __init__(self) -> None:
        self._samplers: dict[int, tuple[GroupedSampler, GroupedSampler]] = {}

    def _age_samplers(self, ctx: Context) -> tuple[GroupedSampler, GroupedSampler]:
        """Householder age by type, and group-quarters residents' ages (census pyramid within each type's range)."""
        top = ctx.config.demographics.max_age
        if top not in self._samplers:
            hh = ctx.ref.households
            w = hh.householder_age.copy()
            w[:, top + 1 :] = 0
            k = w.shape[1]
            head = GroupedSampler(np.repeat(np.arange(len(w)), k), w.reshape(-1), len(w), np.tile(np.arange(k), len(w)))
            pyramid = ctx.ref.people.age_sex_weights.sum(axis=0)
            g = np.zeros((len(hh.gq_types), MAX_AGE + 1))
            for i, (lo, hi) in enumerate(zip(hh.gq_age_min, hh.gq_age_max)):
                g[i, lo : min(hi, top) + 1] = pyramid[lo : min(hi, top) + 1]
            gq = GroupedSampler(np.repeat(np.arange(len(g)), k), g.reshape(-1), len(g), np.tile(np.arange(k), len(g)))
            self._samplers[top] = (head, gq)
        return self._samplers[top]

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        hh = ctx.ref.households
        if hh.types != TYPE_ORDER:
            raise RuntimeError(f"data/household_types.parquet lists {hh.types}, expected {TYPE_ORDER}")
        if not ctx.config.households.enabled:
            return self._alone(n, ctx)
        top = ctx.config.demographics.max_age
        n_types = len(hh.types)
        unit_type, size = _units(n, rng, hh)
        units = len(size)
        start = np.cumsum(size) - size
        unit = np.repeat(np.arange(units), size)
        head = start[unit]
        k = np.arange(n) - head  # position within the household
        t = unit_type[unit]
        gq = t >= n_types

        # Composition: the role of each position.
        has_sp = np.zeros(units, bool)
        n_par = np.zeros(units, np.int64)
        mg = unit_type == MULTIGEN
        has_sp[mg] = (size[mg] >= 4) & (rng.random(int(mg.sum())) < MG_SPOUSE_RATE)
        n_par[mg] = 1 + ((size[mg] - has_sp[mg] >= 4) & (rng.random(int(mg.sum())) < MG_TWO_PARENTS))
        couple = np.isin(unit_type, (MARRIED_KIDS, MARRIED)) | has_sp
        has_sp |= couple | (unit_type == PARTNERS)
        role = np.full(n, CHILD, np.int8)
        role[k == 0] = HOUSEHOLDER
        role[(k == 1) & couple[unit]] = SPOUSE
        role[(k == 1) & (t == PARTNERS)] = PARTNER
        par = mg[unit] & (k >= 1 + has_sp[unit]) & (k < 1 + has_sp[unit] + n_par[unit])
        role[par] = PARENT
        role[(k > 0) & (t == ROOMMATES)] = ROOMMATE
        of = (k > 0) & (t == OTHER_FAMILY)
        r = rng.random(n)
        role[of & (r >= 0.5)] = SIBLING
        role[of & (r >= 0.8)] = OTHER
        role[gq] = RESIDENT

        # Householder: age by household type, sex by type.
        head_sampler, gq_sampler = self._age_samplers(ctx)
        age = np.zeros(n, np.int64)
        sex = (rng.random(n) < 0.512).astype(np.int8)  # 1 = male; children and others as at birth
        heads = start[unit_type < n_types]
        htype = unit_type[unit_type < n_types]
        h_age = head_sampler.sample(rng, htype).astype(np.int64)
        h_age = np.where(htype == MULTIGEN, np.minimum(h_age, top - 20), h_age)  # room for the parents above
        age[heads] = h_age
        sex[heads] = rng.random(len(heads)) >= hh.female_householder[htype]
        gq_rows = np.flatnonzero(gq)
        gq_type = t[gq_rows] - n_types
        age[gq_rows] = gq_sampler.sample(rng, gq_type)
        sex[gq_rows] = rng.random(len(gq_rows)) < hh.gq_male[gq_type]

        # Spouse or partner: the other sex unless a same-sex couple; age gap from the published distribution.
        sp = np.flatnonzero((role == SPOUSE) | (role == PARTNER))
        hs = head[sp]
        same = rng.random(len(sp)) < hh.same_sex[t[sp]]
        sex[sp] = np.where(same, sex[hs], 1 - sex[hs])
        gap = hh.spouse_gap_values[hh.spouse_gap.sample(rng, len(sp))]  # husband minus wife
        gap = np.where(same, np.abs(gap) * np.where(rng.random(len(sp)) < 0.5, 1, -1), gap)
        sp_age = np.where(sex[hs] == 1, age[hs] - gap, age[hs] + gap)
        age[sp] = np.clip(sp_age, ADULT, top)
        spouse = np.full(units, -1, np.int64)
        spouse[unit[sp]] = sp

        # Children: younger than the younger parent by an age at birth of 15-49 (never under 14 years apart).
        ch = np.flatnonzero(role == CHILD)
        uc = unit[ch]
        h_age, s_pos = age[head[ch]], np.maximum(spouse[uc], 0)
        with_sp = spouse[uc] >= 0
        s_age = np.where(with_sp, age[s_pos], h_age)
        p_ref = np.minimum(h_age, s_age)
        # The mother (the older, in a couple of two women) was at most 49 at the birth.
        h_mom = sex[head[ch]] == 0
        s_mom = with_sp & (sex[s_pos] == 0)
        mom = np.maximum(np.where(h_mom, h_age, 0), np.where(s_mom, s_age, 0))
        mom_excess = np.where(h_mom | s_mom, mom - p_ref, 0)
        tc = t[ch]
        minor = np.isin(tc, (MARRIED_KIDS, PARTNERS, SINGLE_PARENT))
        adult = np.isin(tc, (MARRIED, OTHER_FAMILY))
        # Oldest child allowed: the first child of a family with children is a minor, later ones may be young
        # adults still at home; adult children of older couples and other families are 18-26.
        oldest = np.where(minor, np.where(k[ch] == 1 + with_sp, ADULT - 1, YOUNG_ADULT), OLDEST_CHILD)
        lo = p_ref - oldest  # youngest birth age
        hi = np.where(adult, p_ref - ADULT, p_ref)  # oldest birth age: youngest child allowed
        hi = np.minimum(hi, MAX_BIRTH_AGE - mom_excess)
        lo = np.minimum(lo, hi)  # the mother's bound before the oldest-child one (rare: much older wives)
        age[ch] = p_ref - _birth_age(rng, hh.birth_age_cdf, lo, hi)
        # An "adult child" of a parent too young to have one is a sibling instead.
        young = ch[adult & (age[ch] < ADULT)]
        role[young] = SIBLING

        # Parents of the householder (multigenerational homes): older by an age at birth of 18-49.
        pa_rows = np.flatnonzero(role == PARENT)
        hp = age[head[pa_rows]]
        age[pa_rows] = np.minimum(hp + _birth_age(rng, hh.birth_age_cdf, np.full(len(hp), ADULT), top - hp), top)
        first = k[pa_rows] == 1 + has_sp[unit[pa_rows]]
        sex[pa_rows] = np.where(first, rng.random(len(pa_rows)) < 0.25, 1 - sex[np.maximum(pa_rows - 1, 0)])
        second = pa_rows[~first]
        age[second] = np.clip(age[second - 1] + rng.integers(-4, 5, len(second)), age[head[second]] + 18, top)

        # Siblings, other relatives and roommates.
        sib = np.flatnonzero(role == SIBLING)
        age[sib] = np.clip(age[head[sib]] + rng.integers(-8, 9, len(sib)), ADULT, top)
        oth = np.flatnonzero(role == OTHER)
        age[oth] = rng.integers(0, 71, len(oth))
        rm = np.flatnonzero(role == ROOMMATE)
        age[rm] = np.clip(age[head[rm]] + np.round(rng.normal(0, 5, len(rm))).astype(np.int64), ADULT, top)

        kind = np.full(n, BIO, np.int8)
        kind[ch] = np.searchsorted(np.cumsum(CHILD_KINDS), rng.random(len(ch)), side="right").clip(0, 2)
        kind[ch] = np.where((kind[ch] == STEP) & ~with_sp, BIO, kind[ch])

        ctx.values.update(
            hh_unit=unit, hh_head=head, hh_role=role, hh_type=t, hh_unit_type=unit_type, hh_unit_size=size,
            hh_spouse=spouse, hh_age=age.astype(np.int16), hh_sex=sex.astype(np.int8), hh_child_kind=kind,
        )  # fmt: skip
        return {"household_id": ctx.person_id[head], "household_role": ROLE_VOCAB.take(pa.array(role))}

    def _alone(self, n: int, ctx: Context) -> dict[str, Column]:
        """Households switched off: everyone is a one-person household; ages come from the pyramid."""
        idx = np.arange(n)
        ctx.values.update(
            hh_unit=idx, hh_head=idx, hh_role=np.zeros(n, np.int8), hh_type=np.full(n, ALONE),
            hh_unit_type=np.full(n, ALONE), hh_unit_size=np.ones(n, np.int64), hh_spouse=np.full(n, -1, np.int64),
            hh_age=None, hh_sex=None, hh_child_kind=np.zeros(n, np.int8),
        )  # fmt: skip
        return {"household_id": ctx.person_id, "household_role": ROLE_VOCAB.take(pa.array(np.zeros(n, np.int8)))}


def _units(n: int, rng: np.random.Generator, hh: Households) -> tuple[np.ndarray, np.ndarray]:
    """Household types and sizes (group-quarters residents: type ``len(types) + gq type``, size 1) filling n people.

    Units are drawn in rounds until they hold at least ``n`` people; those that fit whole are kept and the
    remaining few people live alone.
    """
    n_types = len(hh.types)
    mean = float(portable.matmul(hh.type_share, hh.mean_size))
    g = hh.gq_share.sum()
    kinds = np.concatenate([hh.type_share * (1 - g) / mean, hh.gq_share])  # units per person, by kind
    cdf = np.cumsum(kinds / kinds.sum())
    per_unit = 1 / kinds.sum()
    types, lengths, total = [], [], 0
    while total < n:
        m = int((n - total) / per_unit * 1.02) + 8
        ut = np.minimum(np.searchsorted(cdf, rng.random(m), side="right"), len(cdf) - 1)
        sz = np.ones(m, np.int64)
        reg = ut < n_types
        sz[reg] = hh.size.sample(rng, ut[reg])
        types.append(ut)
        lengths.append(sz)
        total += int(sz.sum())
    ut, sz = np.concatenate(types), np.concatenate(lengths)
    keep = np.cumsum(sz) <= n
    ut, sz = ut[keep], sz[keep]
    rest = n - int(sz.sum())
    return np.concatenate([ut, np.full(rest, ALONE)]), np.concatenate([sz, np.ones(rest, np.int64)])


def _birth_age(rng: np.random.Generator, cdf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A parent's age at a birth, drawn from the births-by-mother's-age shares restricted to [lo, hi]
    (each clipped to 15-49; where the range is empty, the nearest bound)."""
    lo = np.clip(lo, MIN_BIRTH_AGE, MAX_BIRTH_AGE)
    hi = np.clip(hi, lo, MAX_BIRTH_AGE)
    f_lo, f_hi = cdf[lo - 1], cdf[hi]
    u = f_lo + rng.random(len(lo)) * (f_hi - f_lo)
    by_births = np.clip(np.searchsorted(cdf, u, side="right"), lo, hi)
    # Most draws are uniform over the allowed ages: births weighted alone crowd children of young
    # parents into infancy (older children of the same parents have often left), skewing the age pyramid.
    flat = lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)
    return np.where(rng.random(len(lo)) < FLAT_BIRTH_AGE, flat, by_births)


REL_VOCAB = pa.array(
    [
        "spouse", "partner", "child", "adopted_child", "stepchild", "parent", "adoptive_parent", "stepparent",
        "sibling", "grandchild", "grandparent", "parent_in_law", "child_in_law", "other_relative", "roommate",
    ]
)  # fmt: skip
(R_SPOUSE, R_PARTNER, R_CHILD, R_ADOPTED_CHILD, R_STEPCHILD, R_PARENT, R_ADOPTIVE_PARENT, R_STEPPARENT, R_SIBLING,
 R_GRANDCHILD, R_GRANDPARENT, R_PARENT_IN_LAW, R_CHILD_IN_LAW, R_OTHER, R_ROOMMATE) = range(15)  # fmt: skip
#: REL[role of person, role of related person] = what the related person is to the person (-1: no row).
REL = np.full((9, 9), -1, np.int64)
for (_a, _b), _r in {
    (HOUSEHOLDER, SPOUSE): R_SPOUSE, (HOUSEHOLDER, PARTNER): R_PARTNER, (HOUSEHOLDER, CHILD): R_CHILD,
    (HOUSEHOLDER, PARENT): R_PARENT, (HOUSEHOLDER, SIBLING): R_SIBLING, (HOUSEHOLDER, OTHER): R_OTHER,
    (HOUSEHOLDER, ROOMMATE): R_ROOMMATE,
    (SPOUSE, HOUSEHOLDER): R_SPOUSE, (SPOUSE, CHILD): R_CHILD, (SPOUSE, PARENT): R_PARENT_IN_LAW,
    (PARTNER, HOUSEHOLDER): R_PARTNER, (PARTNER, CHILD): R_CHILD,
    (CHILD, HOUSEHOLDER): R_PARENT, (CHILD, SPOUSE): R_PARENT, (CHILD, PARTNER): R_PARENT, (CHILD, CHILD): R_SIBLING,
    (CHILD, PARENT): R_GRANDPARENT,
    (PARENT, HOUSEHOLDER): R_CHILD, (PARENT, SPOUSE): R_CHILD_IN_LAW, (PARENT, CHILD): R_GRANDCHILD,
    (PARENT, PARENT): R_SPOUSE,
    (SIBLING, HOUSEHOLDER): R_SIBLING, (SIBLING, SIBLING): R_SIBLING,
    (OTHER, HOUSEHOLDER): R_OTHER,
    (ROOMMATE, HOUSEHOLDER): R_ROOMMATE, (ROOMMATE, ROOMMATE): R_ROOMMATE,
}.items():  # fmt: skip
    REL[_a, _b] = _r


class Relationships(SubGenerator):
    """One row per ordered pair of household members who are related (or roommates): what the related
    person is to the person.  Keys are ``person_id * 10 + the related person's position in the household``."""

    name = "relationships"
    stream = 10
    table = "relationships"
    columns = ("relationship_id", "person_id", "related_person_id", "relationship_type")
    requires = ("hh_unit", "hh_head", "hh_role", "hh_unit_size", "hh_child_kind")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        v = ctx.values
        head, role, kind = v["hh_head"], v["hh_role"].astype(np.int64), v["hh_child_kind"]
        others = v["hh_unit_size"][v["hh_unit"]] - 1
        i = np.repeat(np.arange(n), others)
        within = np.arange(len(i)) - np.repeat(np.cumsum(others) - others, others)
        k_i = i - head[i]
        k_j = within + (within >= k_i)
        j = head[i] + k_j
        rel = REL[role[i], role[j]]
        keep = rel >= 0
        i, j, k_j, rel = i[keep], j[keep], k_j[keep], rel[keep]
        step_parent = np.isin(role[i], (SPOUSE, PARTNER))
        rel = np.where((rel == R_CHILD) & (kind[j] == ADOPTED), R_ADOPTED_CHILD, rel)
        rel = np.where((rel == R_CHILD) & (kind[j] == STEP) & step_parent, R_STEPCHILD, rel)
        step_child = np.isin(role[j], (SPOUSE, PARTNER))
        rel = np.where((rel == R_PARENT) & (role[i] == CHILD) & (kind[i] == ADOPTED), R_ADOPTIVE_PARENT, rel)
        rel = np.where((rel == R_PARENT) & (role[i] == CHILD) & (kind[i] == STEP) & step_child, R_STEPPARENT, rel)
        pid = ctx.person_id
        return {
            "relationship_id": child_ids(pid[i], k_j, 10),
            "person_id": pid[i],
            "related_person_id": pid[j],
            "relationship_type": REL_VOCAB.take(pa.array(rel)),
        }


class HouseholdSummary(SubGenerator):
    """One row per household (and per group-quarters resident): its type, size, the householder's current
    home address and the household income, the sum of its members' incomes."""

    name = "households"
    stream = 11
    table = "households"
    columns = ("household_id", "household_type", "size", "is_group_quarters", "address_id", "household_income")
    requires = ("hh_unit", "hh_unit_type", "hh_unit_size", "annual_income")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        v = ctx.values
        hh = ctx.ref.households
        size = v["hh_unit_size"]
        head_id = ctx.person_id[np.cumsum(size) - size]
        income = np.bincount(v["hh_unit"], weights=v["annual_income"], minlength=len(size))
        vocab = pa.array([*hh.types, *hh.gq_types])
        return {
            "household_id": head_id,
            "household_type": vocab.take(pa.array(v["hh_unit_type"])),
            "size": size.astype(np.int16),
            "is_group_quarters": v["hh_unit_type"] >= len(hh.types),
            "address_id": child_ids(head_id, 0, 10),
            "household_income": np.round(income).astype(np.int64),
        }


__all__ = ["REL_VOCAB", "ROLE_VOCAB", "Household", "HouseholdSummary", "Relationships"]
