"""Occupations gated by education and age, state wages, industries and employers: the job samplers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....errors import DataError
from ....core import portable
from ....core.sampling import GroupedSampler, Sampler
from .model import Names, People, Places, Work
from .names import slug
from .tables import EDUCATION, MAX_AGE, RACES, SEXES, _index, _np, _read


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
    order = portable.argsort(p50)
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
    log_ratio = portable.log(ratio)
    state_share = state_emp / state_emp.sum(axis=0, keepdims=True)
    centre = (state_share * log_ratio).sum(axis=0)
    ratio = np.clip(portable.exp(log_ratio - centre), 1 / STATE_WAGE_RATIO_MAX, STATE_WAGE_RATIO_MAX)
    between = (state_share * log_ratio**2).sum(axis=0) - centre**2
    national = (portable.log(pct[:, 4] / pct[:, 0]) / (2 * 1.2815516)) ** 2
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
        total = portable.matmul(affinity, (open_at * w).T)  # (edu, ages): weight each cell's draw is normalised by
        share = cells / np.where(total > 0, total, np.inf)
        drawn = w * (affinity * portable.matmul(share, open_at)).sum(axis=0)
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
    sampler = GroupedSampler(group, 1.0 / portable.power(rank, 1.1), n_states * n_ind)
    return name, domain, sampler
