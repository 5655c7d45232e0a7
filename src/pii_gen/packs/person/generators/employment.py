"""Job histories: when people worked, in which occupation, for whom, and for what pay."""

from __future__ import annotations

import math
import numpy as np

from ..reference import EDUCATION_EMPLOYMENT_FACTOR, MAX_AGE, Work
from ....core import portable
from ....core.text import take
from ....core.dates import DAYS_PER_YEAR, as_of_days, date_array
from .base import Column, Context, SubGenerator, child_ids

# Age (years) at which working life starts, by highest education completed.
CAREER_START_AGE = np.array([16.5, 18.3, 19.5, 20.5, 22.3, 25.0])
MEAN_PAST_JOB_YEARS = 4.5
WAGE_GROWTH = 0.03  # nominal yearly growth used to deflate past salaries
Z_KNOTS = np.array([-1.2815516, -0.6744898, 0.0, 0.6744898, 1.2815516])  # normal quantiles of p10..p90
Z_99 = 2.3263479  # normal quantile of p99
Z_TAIL = 2.5758293  # the tails beyond p10 and p90 flatten out towards p0.5 / p99.5, never beyond
TAIL_P99 = 1.5  # beyond p90 wages grow at most as fast as gives p99 = 1.5 x p90 (and p1 = p10 / 1.5 below p10)
EXPERIENCE_WEIGHT = 0.45  # correlation of the wage's normal score with (standardised) years of experience
EXPERIENCE_MEAN, EXPERIENCE_SD = 22.5, 14.3  # of current jobs' years of experience (since the career began)
MAX_REDRAWS = 40  # occupation redraws for jobs that start younger than their occupation allows
MIN_WORKING_AGE = 16
ADULT = 18


class Employment(SubGenerator):
    """Employment status from BLS employment-population ratios by age and sex (65-69, 70-74 and 75+ apart;
    shifted by education); careers that start after schooling ends and never before 16; jobs chained back in
    time with gaps and occasional overlaps; occupations drawn by state employment (OEWS) among those the
    person's education and age at the job's start allow (BLS entry education and experience), weighted towards
    the wage level that fits the education; employers from the state's employers in the job's industry (the
    same employers recur across people); salaries at a quantile of the occupation's OEWS wage percentiles,
    higher with experience, with a bounded tail, scaled by the state's wage level."""

    name = "employment"
    stream = 5
    table = "employments"
    columns = (
        "employment_id", "person_id", "employer_name", "job_title", "occupation_code", "industry",
        "start_date", "end_date", "annual_salary", "is_current",
    )  # fmt: skip
    requires = ("age", "sex", "education", "birth_days", "home_state")
    provides = ("employed", "current_salary", "current_employer", "job_tenure_years", "work_years")

    def generate(self, n: int, rng: np.random.Generator, ctx: Context) -> dict[str, Column]:
        work = ctx.ref.work
        v = ctx.values
        today = as_of_days(ctx.config.as_of)
        k = ctx.config.employment.max_jobs
        age = v["age"].astype(np.int64)
        edu = v["education"].astype(np.int64)
        birth = v["birth_days"].astype(np.int64)

        rate = np.minimum(work.employment_rate[v["sex"], age] * EDUCATION_EMPLOYMENT_FACTOR[edu], 0.97)
        start_age = np.maximum(CAREER_START_AGE[edu] + rng.random(n) * 1.5, MIN_WORKING_AGE)
        career_start = birth + np.ceil(start_age * DAYS_PER_YEAR).astype(np.int64)
        can_work = (career_start < today - 30) & (age >= ADULT)  # minors get no jobs
        employed = can_work & (rng.random(n) < rate)

        # The most recent job: ongoing for the employed; otherwise it ended some time ago
        # (around retirement age for the old).
        retire_end = birth + np.floor((58 + rng.random(n) * 9) * DAYS_PER_YEAR).astype(np.int64)
        gap_end = today - np.floor(rng.exponential(1.5, n) * DAYS_PER_YEAR).astype(np.int64)
        last_end = np.where(employed, today, np.where(age >= 62, np.minimum(retire_end, today - 30), gap_end))
        tenure_mean = np.clip(1.5 + 0.12 * (age - 20), 1.5, 8.0)
        dur = rng.exponential(
            tenure_mean[:, None] * np.r_[1.0, np.full(k - 1, MEAN_PAST_JOB_YEARS / 4.0)][None, :], (n, k)
        )
        dur = np.floor(dur * DAYS_PER_YEAR).astype(np.int64) + 60
        gap = np.where(rng.random((n, k)) < 0.6, 0, np.floor(rng.exponential(0.4, (n, k)) * DAYS_PER_YEAR)).astype(
            np.int64
        )
        overlap = rng.random((n, k)) < 0.06
        # An earlier job may run on into the next one, but never past its end (nor so past today).
        later_job = np.roll(dur, 1, axis=1)  # column j: the duration of job j - 1, the next later one
        gap = np.where(overlap, -np.minimum(rng.integers(1, 90, (n, k)), later_job - 1), gap)
        gap[:, 0] = 0
        starts = last_end[:, None] - np.cumsum(dur + gap, axis=1)
        ends = starts + dur
        use = can_work[:, None] & (ends > career_start[:, None] + 30) & (last_end[:, None] > career_start[:, None])
        use &= np.cumsum(~use, axis=1) == 0  # a history stops at the first job that would predate the career
        starts = np.maximum(starts, career_start[:, None])

        who, j = np.nonzero(use)
        m = len(who)
        jobs = use.sum(axis=1)
        current = (j == 0) & employed[who]
        start_d = starts[who, j]
        end_d = ends[who, j]
        start_age = _completed_years(birth[who], start_d)

        group = v["home_state"][who] * 6 + edu[who]
        occ = _gated_occupations(work, rng, group, edu[who], start_age)
        # People mostly stay in their line of work: many earlier jobs repeat the latest occupation (when they
        # were old enough for it then).
        latest = np.zeros(n, np.int64)
        latest[who[j == 0]] = occ[j == 0]
        stay = (j > 0) & (rng.random(m) < 0.55) & (work.min_age[latest[who]] <= start_age)
        occ = np.where(stay, latest[who], occ)
        industry = work.industry_by_occupation.sample(rng, occ)

        # The wage's quantile within the occupation: higher with experience, otherwise spread so that each
        # occupation's wages follow its OEWS percentiles.
        experience = (np.where(current, today, end_d) - career_start[who]) / DAYS_PER_YEAR
        seniority = np.clip((experience - EXPERIENCE_MEAN) / EXPERIENCE_SD, -2.0, 2.5)
        z = EXPERIENCE_WEIGHT * seniority + np.sqrt(1 - EXPERIENCE_WEIGHT**2) * rng.standard_normal(m)
        z *= work.wage_spread[occ]  # the state's ratio below adds the rest of the national spread
        salary = _wage_at(work.wage_pct[occ], z) * work.state_wage_ratio[v["home_state"][who], occ]
        years_ago = np.where(current, 0.0, (today - end_d) / DAYS_PER_YEAR)
        salary = salary / portable.power(1 + WAGE_GROWTH, years_ago)
        salary = np.clip(np.round(salary, -2), 8_000, 2_000_000).astype(np.int32)

        employer = work.employer_by_state_industry.sample(
            rng, v["home_state"][who] * len(work.industry_vocab) + industry
        )
        seq = jobs[who] - j  # chronological: 1 = first job
        order = np.argsort(child_ids(ctx.person_id[who], seq, 100), kind="stable")

        cur_rows = np.flatnonzero(current)
        cur_salary = np.zeros(n, np.int64)
        cur_salary[who[cur_rows]] = salary[cur_rows]
        tenure = np.zeros(n)
        tenure[who[cur_rows]] = (today - start_d[cur_rows]) / DAYS_PER_YEAR
        work_years = np.zeros(n)
        np.add.at(work_years, who, (np.where(current, today, end_d) - start_d) / DAYS_PER_YEAR)
        current_employer = np.full(n, -1, np.int64)
        current_employer[who[cur_rows]] = employer[cur_rows]
        v.update(employed=employed, current_salary=cur_salary, current_employer=current_employer,
                 job_tenure_years=tenure, work_years=work_years)  # fmt: skip

        return {
            "employment_id": child_ids(ctx.person_id[who], seq, 100)[order],
            "person_id": ctx.person_id[who][order],
            "employer_name": take(work.employer_names, employer[order]),
            "job_title": take(work.job_title, occ[order]),
            "occupation_code": take(work.soc_code, occ[order]),
            "industry": take(work.industry_vocab, industry[order]),
            "start_date": date_array(start_d[order]),
            "end_date": date_array(end_d[order], null_mask=current[order]),
            "annual_salary": salary[order],
            "is_current": current[order],
        }


def _gated_occupations(
    work: Work, rng: np.random.Generator, group: np.ndarray, edu: np.ndarray, start_age: np.ndarray
) -> np.ndarray:
    """An occupation per job from its state x education sampler (which holds only occupations the education
    allows), redrawn where the job starts younger than the occupation's minimum age: drawing again from the
    same distribution until the draw fits is exactly the distribution restricted to what fits."""
    occ = work.by_state_education.sample(rng, group)
    bad = np.flatnonzero(work.min_age[occ] > start_age)
    for _ in range(MAX_REDRAWS):
        if not len(bad):
            break
        occ[bad] = work.by_state_education.sample(rng, group[bad])
        bad = bad[work.min_age[occ[bad]] > start_age[bad]]
    occ[bad] = work.fallback_occupation[edu[bad], np.minimum(start_age[bad], MAX_AGE)]
    return occ


def _completed_years(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whole years of age on ``day`` for birth dates ``birth`` (day numbers), never more than the calendar counts:
    whole calendar years span at most 365.25 days each plus 0.75 (1901-2099), so within a day or two of a
    birthday this may fall a year short, never a year long."""
    return np.floor((np.asarray(day) - np.asarray(birth) - 0.75) / 365.25).astype(np.int64)


def _wage_at(pct: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Wage at normal score ``z`` for rows of (p10, p25, p50, p75, p90): log-linear between the published
    percentiles; beyond p10 and p90 along the outer segments' slopes, but no steeper than gives p99 = TAIL_P99 x
    p90 (p1 = p10 / TAIL_P99), and flattening out so that no wage passes the one at p99.5 of that line."""
    logw = portable.log(np.maximum(pct, 1.0))
    rows = np.arange(len(z))
    inner = np.clip(z, Z_KNOTS[0], Z_KNOTS[-1])
    seg = np.clip(np.searchsorted(Z_KNOTS, inner) - 1, 0, len(Z_KNOTS) - 2)
    x0, x1 = Z_KNOTS[seg], Z_KNOTS[seg + 1]
    y0, y1 = logw[rows, seg], logw[rows, seg + 1]
    y = y0 + (y1 - y0) * (inner - x0) / (x1 - x0)
    cap = math.log(TAIL_P99) / (Z_99 - Z_KNOTS[-1])
    top = np.minimum((logw[:, 4] - logw[:, 3]) / (Z_KNOTS[4] - Z_KNOTS[3]), cap)
    bottom = np.minimum((logw[:, 1] - logw[:, 0]) / (Z_KNOTS[1] - Z_KNOTS[0]), cap)
    span = Z_TAIL - Z_KNOTS[-1]
    beyond = span * portable.tanh(np.maximum(np.abs(z) - Z_KNOTS[-1], 0.0) / span)  # in [0, span)
    return portable.exp(y + np.where(z > 0, top, -bottom) * beyond)
