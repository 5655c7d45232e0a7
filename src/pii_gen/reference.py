"""Census-style reference tables, loaded once per process and turned into samplers.

The Parquet files live in ``data/`` (see ``data/SOURCES.md`` for where each
comes from).  This module reads them and precomputes everything the
sub-generators draw from, so that per-batch work is pure array indexing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import DataError
from .sampling import GroupedSampler, Sampler

RACES = ("white", "black", "asian", "native", "multiple", "hispanic")
RACE_LABELS = (
    "White",
    "Black or African American",
    "Asian or Pacific Islander",
    "American Indian or Alaska Native",
    "Two or more races",
    "Hispanic or Latino",
)
EDUCATION = ("less_than_high_school", "high_school", "some_college", "associate", "bachelor", "graduate")
MARITAL = ("never_married", "married", "separated", "divorced", "widowed")
SEXES = ("F", "M")
MAX_AGE = 100


def data_dir() -> Path:
    """The reference data folder: inside the installed package, else the source checkout's ``data/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "data", here.parent.parent / "data"):
        if (candidate / "first_names.parquet").exists():
            return candidate
    raise DataError("reference data not found: reinstall pii-gen (the data/ folder is missing)")


def _read(name: str) -> pa.Table:
    path = data_dir() / f"{name}.parquet"
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise DataError(f"reference table {path.name} cannot be read: {err}") from None


def _np(table: pa.Table, column: str, dtype: type | str | None = None) -> np.ndarray:
    arr = table.column(column).to_numpy()
    return arr.astype(dtype) if dtype is not None else arr


def _index(values: pa.ChunkedArray | pa.Array, vocab: pa.Array) -> np.ndarray:
    """Position of each value in ``vocab``, -1 where it is not there."""
    return pc.fill_null(pc.index_in(values, vocab), -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _csr(owner: np.ndarray, n_owners: int) -> tuple[np.ndarray, np.ndarray]:
    """Start offset and count per owner for rows sorted by owner."""
    counts = np.bincount(owner, minlength=n_owners)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return starts, counts


#: The surname table's column holding each race/ethnicity group's share (Census 2020 surname file).
SURNAME_SHARE_COLUMNS = {
    "white": "pct_white",
    "black": "pct_black",
    "asian": "pct_api",
    "native": "pct_aian",
    "multiple": "pct_2prace",
    "hispanic": "pct_hispanic",
}


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


def _places() -> Places:
    st = _read("states").sort_by("state")
    states = st.column("state").combine_chunks()
    n_states = len(states)
    zc = _read("zip_codes")
    ztype = _np(zc, "zip_type").astype(str)
    state_idx = _index(zc.column("state"), states)  # -1: military ZIPs (AA/AE/AP)
    pop = _np(zc, "population", np.float64)
    residential = (ztype == "STANDARD") & (pop > 0) & (state_idx >= 0)
    res_idx = np.flatnonzero(residential)

    race_cols = [f"pop_{r}" for r in RACES]
    groups = np.repeat(np.arange(len(RACES)), len(res_idx))
    weights = np.concatenate([_np(zc, c, np.float64)[res_idx] for c in race_cols])
    home_by_race = GroupedSampler(groups, weights, len(RACES), items=np.tile(res_idx, len(RACES)))
    home_by_state = GroupedSampler(state_idx[res_idx], pop[res_idx], n_states, items=res_idx)

    po = np.flatnonzero((ztype == "PO BOX") & (state_idx >= 0))
    po_by_state = GroupedSampler(state_idx[po], np.ones(len(po)), n_states, items=po)
    mil = np.flatnonzero(ztype == "MILITARY")

    ac = _read("area_codes")
    npa = _np(ac, "area_code").astype(np.int64)
    npa_state = _index(ac.column("state"), states)
    state_npas = [set(npa[npa_state == s].tolist()) for s in range(n_states)]
    zip_npas = zc.column("area_codes").to_pylist()
    # Per ZIP: its own area codes that belong to its state, else all of the state's.
    owner, values = [], []
    for z, (codes, s) in enumerate(zip(zip_npas, state_idx.tolist())):
        if s < 0:
            continue
        own = sorted(int(c) for c in (codes or "").split(",") if c and int(c) in state_npas[s])
        chosen = own or sorted(state_npas[s])
        owner.extend([z] * len(chosen))
        values.extend(chosen)
    zstart, zcount = _csr(np.array(owner, dtype=np.int64), len(zc))

    sn = _read("street_names")
    sf = _read("street_suffixes")
    ud = _read("unit_designators")
    ratio = np.ones(n_states)
    if "wage_index" in st.column_names:
        ratio = np.nan_to_num(_np(st, "wage_index", np.float64), nan=1.0)
    county = pc.if_else(pc.equal(zc.column("county"), ""), None, zc.column("county"))
    return Places(
        states=states,
        wage_index=ratio,
        zip_code=zc.column("zip_code").combine_chunks(),
        zip_city=pc.if_else(
            pa.array(ztype == "MILITARY"), pc.utf8_upper(zc.column("city")), zc.column("city")
        ).combine_chunks(),
        zip_state_code=zc.column("state").combine_chunks(),
        zip_county=county.combine_chunks() if isinstance(county, pa.ChunkedArray) else county,
        zip_state=state_idx,
        zip_lat=_np(zc, "latitude", np.float64),
        zip_lon=_np(zc, "longitude", np.float64),
        home_by_race=home_by_race,
        home_by_state=home_by_state,
        po_box_by_state=po_by_state,
        military=Sampler(np.ones(len(mil))),
        military_zips=mil,
        zip_npa_start=zstart,
        zip_npa_count=zcount,
        zip_npa=np.array(values, dtype=np.int64),
        street_vocab=sn.column("name").combine_chunks(),
        street=Sampler(_np(sn, "weight", np.float64)),
        suffix_vocab=sf.column("abbreviation").combine_chunks(),
        suffix=Sampler(_np(sf, "weight", np.float64)),
        street_and_suffix=pc.binary_join_element_wise(
            sn.column("name").combine_chunks().take(pa.array(np.repeat(np.arange(len(sn)), len(sf)))),
            sf.column("abbreviation").combine_chunks().take(pa.array(np.tile(np.arange(len(sf)), len(sn)))),
            " ",
        ),
        unit_vocab=ud.column("abbreviation").combine_chunks(),
        unit=Sampler(_np(ud, "weight", np.float64)),
    )


# Relative likelihood of holding an occupation of each wage quintile (columns,
# lowest paid first) given the highest education completed (rows).  A modelling
# choice calibrated so that education-income correlates as in ACS tables.
EDUCATION_WAGE_AFFINITY = np.array(
    [
        [3.0, 1.6, 0.6, 0.2, 0.05],  # less than high school
        [1.8, 1.5, 1.0, 0.5, 0.15],  # high school
        [1.1, 1.2, 1.1, 0.8, 0.35],  # some college
        [0.7, 1.0, 1.2, 1.1, 0.5],  # associate
        [0.3, 0.5, 0.9, 1.4, 1.7],  # bachelor
        [0.15, 0.3, 0.6, 1.3, 2.4],  # graduate
    ]
)


#: BLS typical education needed for entry (data/occupation_education.parquet) -> the ACS level (index into
#: EDUCATION) that meets it: a postsecondary nondegree award (a certificate) needs no college degree, and a
#: master's, doctoral or professional degree is a graduate degree.
ENTRY_EDUCATION_LEVEL = {
    "No formal educational credential": 0,
    "High school diploma or equivalent": 1,
    "Postsecondary nondegree award": 1,
    "Some college, no degree": 2,
    "Associate's degree": 3,
    "Bachelor's degree": 4,
    "Master's degree": 5,
    "Doctoral or professional degree": 5,
}
#: Occupations entered with up to a bachelor's degree are also held by people one level below the entry level
#: (as in real data, where many workers in bachelor's-level occupations hold none), at this weight relative to
#: people who meet it; graduate-level occupations (physicians, lawyers, nurse practitioners) never are.
BELOW_ENTRY_WEIGHT = 0.15
#: Employment is likelier with more education (BLS CPS, employment-population ratio by education).
EDUCATION_EMPLOYMENT_FACTOR = np.array([0.78, 0.93, 1.0, 1.05, 1.1, 1.13])
#: A state's median for an occupation over the national one, kept within this factor either way: small states'
#: medians for rare occupations are noisy (up to 3.8 times the national one in OEWS May 2025).
STATE_WAGE_RATIO_MAX = 1.5


def min_education(entry: str) -> int:
    """The lowest education level (index into EDUCATION) that may hold an occupation with this BLS entry level."""
    level = ENTRY_EDUCATION_LEVEL[entry]
    return level - 1 if 0 < level <= EDUCATION.index("bachelor") else level


def _work(places: Places, names: Names, people: People) -> Work:
    oc = _read("occupations").sort_by("soc_code")
    soc = oc.column("soc_code").combine_chunks()
    k = len(soc)
    oe = _read("occupation_education")
    row = _index(oe.column("soc_code"), soc)
    if len(np.unique(row)) != k or (row < 0).any():
        raise DataError("occupation_education.parquet does not list every occupation exactly once")
    entry, lowest, min_age = np.zeros(k, np.int64), np.zeros(k, np.int64), np.zeros(k, np.int64)
    entry[row] = [ENTRY_EDUCATION_LEVEL[e] for e in oe.column("education").to_pylist()]
    lowest[row] = [min_education(e) for e in oe.column("education").to_pylist()]
    min_age[row] = _np(oe, "min_age", np.int64)
    pct = np.column_stack([_np(oc, f"wage_p{p}", np.float64) for p in (10, 25, 50, 75, 90)])
    emp = _np(oc, "employment", np.float64)
    p50 = pct[:, 2]
    # Employment-weighted wage quintile of each occupation.
    order = np.argsort(p50)
    cum = np.cumsum(emp[order]) / emp.sum()
    quintile = np.empty(k, dtype=np.int64)
    quintile[order] = np.minimum((cum * 5).astype(np.int64), 4)

    n_states = len(places.states)
    os_ = _read("occupation_states")
    o_idx = _index(os_.column("soc_code"), soc)
    s_idx = _index(os_.column("state"), places.states)
    ok = (o_idx >= 0) & (s_idx >= 0)
    o_idx, s_idx = o_idx[ok], s_idx[ok]
    state_emp = np.zeros((n_states, k))
    state_emp[s_idx, o_idx] = _np(os_, "employment", np.float64)[ok]
    state_p50 = np.full((n_states, k), np.nan)
    state_p50[s_idx, o_idx] = _np(os_, "wage_p50", np.float64)[ok]
    ratio = state_p50 / p50[None, :]
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, places.wage_index[:, None])
    ratio = np.clip(ratio, 1 / STATE_WAGE_RATIO_MAX, STATE_WAGE_RATIO_MAX)
    # States that publish no figure for an occupation still employ some (national share).
    state_emp = np.where(
        state_emp > 0, state_emp, 0.02 * emp[None, :] / emp.sum() * state_emp.sum(axis=1, keepdims=True)
    )
    # National percentiles mix every state's wages.  Scaled by its state's ratio, a wage drawn from the national
    # curve would centre where the states' (employment-weighted, geometric) mean ratio is, not at the national
    # median, and spread wider than the nation's: the ratios are divided by that mean, and within a state the
    # normal score is narrowed by the share of the national variance of log wages that is not between states.
    log_ratio = np.log(ratio)
    state_share = state_emp / state_emp.sum(axis=0, keepdims=True)
    centre = (state_share * log_ratio).sum(axis=0)
    ratio = np.clip(np.exp(log_ratio - centre), 1 / STATE_WAGE_RATIO_MAX, STATE_WAGE_RATIO_MAX)
    between = (state_share * log_ratio**2).sum(axis=0) - centre**2
    national = (np.log(pct[:, 4] / pct[:, 0]) / (2 * 1.2815516)) ** 2
    spread = np.sqrt(np.clip(1 - between / national, 0.5, 1.0))

    n_edu = len(EDUCATION)
    levels = np.arange(n_edu)[:, None]
    allowed = np.where(levels >= entry, 1.0, np.where(levels >= lowest, BELOW_ENTRY_WEIGHT, 0.0))  # (edu, k)
    affinity = EDUCATION_WAGE_AFFINITY[:, quintile] * allowed
    er = _read("employment_by_age_sex")
    rate = np.zeros((2, MAX_AGE + 1))
    for lo, hi, sex, r in zip(*(er.column(c).to_pylist() for c in ("age_min", "age_max", "sex", "employment_rate"))):
        rate[SEXES.index(sex), lo : min(hi, MAX_AGE) + 1] = r
    affinity = affinity * _rake(affinity, emp, min_age, rate, people)
    weights = state_emp[:, None, :] * affinity[None, :, :]  # (states, edu, k)
    groups = np.repeat(np.arange(n_states * n_edu), k)
    by_state_edu = GroupedSampler(
        groups, weights.reshape(-1), n_states * n_edu, items=np.tile(np.arange(k), n_states * n_edu)
    )
    # Where every draw keeps failing the age gate (astronomically rare), the commonest occupation that is open.
    open_at = (min_age[None, :] <= np.arange(MAX_AGE + 1)[:, None]) | (min_age[None, :] <= MIN_JOB_AGE)
    score = (affinity * emp)[:, None, :] * open_at[None, :, :]  # (edu, age, k)
    fallback = np.argmax(score, axis=2)

    oi = _read("occupation_industries")
    ind_vocab = pc.unique(oi.column("industry"))
    ind_idx = _index(oi.column("industry"), ind_vocab)
    occ_of = _index(oi.column("soc_code"), soc)
    ok = occ_of >= 0
    industry_by_occ = GroupedSampler(occ_of[ok], _np(oi, "employment", np.float64)[ok], k, items=ind_idx[ok])

    employers = _employers(places, names, oi, ind_vocab)

    return Work(
        soc_code=soc,
        job_title=oc.column("job_title").combine_chunks(),
        wage_pct=pct,
        state_wage_ratio=ratio,
        wage_spread=spread,
        by_state_education=by_state_edu,
        min_age=min_age,
        fallback_occupation=fallback,
        industry_vocab=ind_vocab,
        industry_by_occupation=industry_by_occ,
        employer_names=employers[0],
        employer_domains=employers[1],
        employer_by_state_industry=employers[2],
        employment_rate=rate,
    )


MIN_JOB_AGE = 16
RAKE_ROUNDS = 60


def _rake(affinity: np.ndarray, emp: np.ndarray, min_age: np.ndarray, rate: np.ndarray, people: People) -> np.ndarray:
    """Per-occupation factors that keep the national occupation mix at OEWS shares once occupations are gated.

    Gating by education and age moves jobs away from the occupations few people qualify for; iterative
    proportional fitting over the workers' education x age cells (census education by age, the age pyramid
    and CPS employment rates) finds the factor per occupation that gives back its OEWS employment share.
    """
    ages = np.arange(18, MAX_AGE + 1)
    workers = (people.age_sex_weights[:, ages] * rate[:, ages]).sum(axis=0)  # (ages,)
    cells = (people.education_by_age[ages] * EDUCATION_EMPLOYMENT_FACTOR[None, :] * workers[:, None]).T  # (edu, ages)
    cells /= cells.sum()
    open_at = (min_age[None, :] <= ages[:, None]).astype(np.float64)  # (ages, k)
    target = emp / emp.sum()
    factor = np.ones(len(emp))
    for _ in range(RAKE_ROUNDS):
        w = target * factor
        total = affinity @ (open_at * w).T  # (edu, ages): weight each cell's draw is normalised by
        share = cells / np.where(total > 0, total, np.inf)
        drawn = w * np.einsum("ek,ea,ak->k", affinity, share, open_at)
        factor *= np.where(drawn > 0, target / np.maximum(drawn, 1e-300), 1.0)
    return factor


EMPLOYERS_BASE = 30  # employers per state and industry, plus more for populous states
EMPLOYERS_PER_POPULATION_SHARE = 4_000
EMPLOYER_BASE_SURNAME, EMPLOYER_BASE_CITY = 0.55, 0.25  # the rest use a street/place name


def _employers(
    places: Places, names: Names, oi: pa.Table, ind_vocab: pa.Array
) -> tuple[pa.Array, pa.Array, GroupedSampler]:
    """A fixed universe of employers for every state and industry, with Zipf-like sizes.

    Names read '<base> <industry word> <legal form>': 'Garcia Construction LLC',
    'Springfield Medical Center'.  People in one state and industry share
    employers, as they do in life, and the universe is the same for every seed.
    """
    rng = np.random.default_rng(0x454D50)
    ew = _read("employer_words")
    n_states, n_ind = len(places.states), len(ind_vocab)
    naics_of = {}
    for naics, ind in zip(oi.column("naics").to_pylist(), oi.column("industry").to_pylist()):
        naics_of.setdefault(ind, naics)
    stems = ew.filter(pc.equal(ew.column("kind"), "stem"))
    stem_naics = stems.column("naics").to_pylist()
    stem_w = _np(stems, "weight", np.float64)
    g, w, it = [], [], []
    for i, ind in enumerate(ind_vocab.to_pylist()):
        for j, (code, weight) in enumerate(zip(stem_naics, stem_w)):
            if code == naics_of.get(ind) or code == "*":
                g.append(i)
                w.append(weight if code != "*" else weight * 0.25)
                it.append(j)
    stem_by_ind = GroupedSampler(np.array(g), np.array(w), n_ind, items=np.array(it))
    legal = ew.filter(pc.equal(ew.column("kind"), "suffix"))
    legal_vocab = pc.if_else(pc.equal(legal.column("word"), ""), None, legal.column("word")).combine_chunks()

    state_pop = np.bincount(places.zip_state[places.home_by_state.items], minlength=n_states).astype(float)
    share = state_pop / state_pop.sum()
    per_state = (EMPLOYERS_BASE + EMPLOYERS_PER_POPULATION_SHARE * share).astype(np.int64)
    counts = np.repeat(per_state, n_ind)  # group = state * n_ind + industry
    group = np.repeat(np.arange(n_states * n_ind), counts)
    state, industry = group // n_ind, group % n_ind
    m = len(group)
    rank = np.arange(m) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    r = rng.random(m)
    surname = names.surname_vocab.take(pa.array(names.surname_by_race.sample(rng, rng.integers(0, len(RACES), m))))
    city = places.zip_city.take(pa.array(places.home_by_state.sample(rng, state)))
    street = places.street_vocab.take(pa.array(places.street.sample(rng, m)))
    which = np.where(r < EMPLOYER_BASE_SURNAME, 0, np.where(r < EMPLOYER_BASE_SURNAME + EMPLOYER_BASE_CITY, 1, 2))
    base = pc.choose(pa.array(which.astype(np.int8)), surname, city, street)
    stem = stems.column("word").combine_chunks().take(pa.array(stem_by_ind.sample(rng, industry)))
    legal_w = _np(legal, "weight", np.float64)
    suffix = legal_vocab.take(pa.array(Sampler(legal_w).sample(rng, m)))
    name = pc.binary_join_element_wise(base, stem, suffix, " ", null_handling="skip")
    domain = pc.utf8_slice_codeunits(slug(pc.binary_join_element_wise(base, stem, "")), 0, 30)
    sampler = GroupedSampler(group, 1.0 / rank**1.1, n_states * n_ind)
    return name, domain, sampler


def _by_age(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """Expand age-group rows into one row of shares per single year of age 0..MAX_AGE."""
    out = np.zeros((MAX_AGE + 1, len(columns)))
    lo_col, hi_col = table.column("age_min").to_pylist(), table.column("age_max").to_pylist()
    vals = np.column_stack([_np(table, c, np.float64) for c in columns])
    for lo, hi, v in zip(lo_col, hi_col, vals):
        out[lo : min(hi, MAX_AGE) + 1] = v
    first = min(lo_col)
    out[:first] = vals[int(np.argmin(lo_col))]  # younger than the table: youngest group's shares
    return out / out.sum(axis=1, keepdims=True)


def _people() -> People:
    py = _read("age_sex_pyramid")
    w = np.zeros((2, MAX_AGE + 1))
    for lo, hi, m, f in zip(*(py.column(c).to_pylist() for c in ("age_min", "age_max", "male", "female"))):
        hi = min(hi, MAX_AGE)
        ages = np.arange(lo, hi + 1)
        if hi - lo > 5:  # open-ended top group: survivorship falls off steeply
            shape = np.exp(-0.13 * (ages - lo))
        else:
            shape = np.ones(len(ages))
        shape = shape / shape.sum()
        w[0, lo : hi + 1] = f * shape
        w[1, lo : hi + 1] = m * shape

    race = _read("race_ethnicity")
    race_pop = dict(zip(race.column("race").to_pylist(), race.column("population").to_pylist()))
    edu = _by_age(_read("education_by_age"), EDUCATION)
    ms = _read("marital_status_by_age_sex")
    marital = np.zeros((2, MAX_AGE + 1, len(MARITAL)))
    for s, sex in enumerate(SEXES):
        marital[s] = _by_age(ms.filter(pc.equal(ms.column("sex"), sex)), MARITAL)

    ed = _read("email_domains")
    domains = {}
    for mode in ("strict", "realistic"):
        sub = ed.filter(pc.and_(pc.equal(ed.column("mode"), mode), pc.equal(ed.column("kind"), "personal")))
        domains[mode] = (sub.column("domain").combine_chunks(), Sampler(_np(sub, "weight", np.float64)))
    return People(
        age_sex_weights=w,
        race=Sampler(np.array([race_pop[r] for r in RACES], dtype=np.float64)),
        education_by_age=edu,
        marital_by_age_sex=marital,
        email_domains=domains,
    )


def _spread(lo: int, hi: int, share: float) -> np.ndarray:
    """A group's share spread over its single years (the open top group falls off as survivorship does)."""
    ages = np.arange(lo, hi + 1)
    rate = 0.13 if lo >= 85 else (0.09 if lo >= 75 else (0.04 if lo >= 65 else 0.0))  # as the 2020 pyramid falls
    shape = np.exp(-rate * (ages - lo))
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


@functools.lru_cache(maxsize=1)
def load() -> Reference:
    """All reference data, read and prepared once per process."""
    places = _places()
    names = _names()
    people = _people()
    return Reference(
        names=names, places=places, work=_work(places, names, people), people=people, households=_households()
    )
