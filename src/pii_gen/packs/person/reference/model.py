"""The prepared reference data: what each group of sub-generators draws from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ....core.sampling import GroupedSampler, Sampler


@dataclass
class Names:
    first_vocab: pa.Array
    first_by_year_sex: GroupedSampler  # group = (year - year_min) * 2 + sex
    year_min: int
    year_max: int
    nickname_vocab: pa.Array
    nickname_start: np.ndarray  # per first-name vocab index
    nickname_count: np.ndarray
    surname_vocab: pa.Array
    surname_by_race: GroupedSampler
    first_slug: pa.Array  # lower-case ASCII letters/digits of each first name, for e-mails
    surname_slug: pa.Array


@dataclass
class Places:
    states: pa.Array  # abbreviations, index = state index
    wage_index: np.ndarray
    zip_code: pa.Array
    zip_city: pa.Array
    zip_county: pa.Array
    zip_state: np.ndarray  # state index per ZIP (-1 for military ZIPs)
    zip_state_code: pa.Array  # state abbreviation per ZIP (AA/AE/AP for military)
    zip_lat: np.ndarray
    zip_lon: np.ndarray
    home_by_race: GroupedSampler  # residential ZIPs, weighted by population of that race
    home_by_state: GroupedSampler  # residential ZIPs of a state, by population
    po_box_by_state: GroupedSampler  # PO box ZIPs of a state
    military: Sampler  # over military_zips
    military_zips: np.ndarray
    zip_npa_start: np.ndarray  # per ZIP into zip_npa (NPAs of the ZIP inside its state)
    zip_npa_count: np.ndarray
    zip_npa: np.ndarray
    street_vocab: pa.Array
    street: Sampler
    suffix_vocab: pa.Array
    suffix: Sampler
    street_and_suffix: pa.Array  # every 'name suffix' pair: index = name * len(suffix_vocab) + suffix
    unit_vocab: pa.Array
    unit: Sampler


@dataclass
class Work:
    soc_code: pa.Array
    job_title: pa.Array
    wage_pct: np.ndarray  # (k, 5): p10, p25, p50, p75, p90 national annual wages
    state_wage_ratio: np.ndarray  # (states, k): state median / national median (1 where unknown), clamped
    wage_spread: np.ndarray  # (k,) within-state share of the national spread of log wages (see _work)
    by_state_education: GroupedSampler  # group = state * len(EDUCATION) + education; only occupations it allows
    min_age: np.ndarray  # (k,) youngest age at which a job in the occupation may start
    fallback_occupation: np.ndarray  # (len(EDUCATION), MAX_AGE + 1): the commonest occupation open to that cell
    industry_vocab: pa.Array
    industry_by_occupation: GroupedSampler  # group = occupation index
    employer_names: pa.Array
    employer_domains: pa.Array  # lower-case letters/digits of the name, for work e-mail domains
    employer_by_state_industry: GroupedSampler  # group = state * len(industry_vocab) + industry
    employment_rate: np.ndarray  # (2 sexes, MAX_AGE + 1)


@dataclass
class People:
    age_sex_weights: np.ndarray  # (2, MAX_AGE + 1)
    race: Sampler
    education_by_age: np.ndarray  # (MAX_AGE + 1, len(EDUCATION)) shares
    marital_by_age_sex: np.ndarray  # (2, MAX_AGE + 1, len(MARITAL)) shares
    email_domains: dict[str, tuple[pa.Array, Sampler]]  # pii mode -> personal domains


@dataclass
class Households:
    """Household composition tables (data/household_*.parquet and friends), ready to sample."""

    types: tuple[str, ...]  # household types, index = type code
    type_share: np.ndarray  # share of households per type
    female_householder: np.ndarray  # per type
    same_sex: np.ndarray  # per type: share of couples that are same-sex
    size: GroupedSampler  # group = type, item = household size
    sizes: np.ndarray  # published share of households per size 1..7 (index 0 = size 1)
    mean_size: np.ndarray  # expected household size per type
    householder_age: np.ndarray  # (types, MAX_AGE + 1) share of householders by single year of age
    gq_types: tuple[str, ...]
    gq_share: np.ndarray  # share of all people per group-quarters type
    gq_age_min: np.ndarray
    gq_age_max: np.ndarray
    gq_male: np.ndarray
    spouse_gap: Sampler  # index into spouse_gap_values: husband's age minus wife's
    spouse_gap_values: np.ndarray
    birth_age_cdf: np.ndarray  # cumulative share of births by mother's age, index = age 0..MAX_AGE


@dataclass
class Reference:
    names: Names
    places: Places
    work: Work
    people: People
    households: Households
