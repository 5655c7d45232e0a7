"""Statistical checks: the population's shape against the census-style reference tables in data/.

Distributions are compared by total variation distance (TVD = half the sum of absolute differences
of shares, 0 = identical, 1 = disjoint).  Each check passes up to ``warn_at`` and fails beyond
``fail_at``, both widened by what sampling alone gives at the dataset's size: the mean TVD of a
sample plus five of its standard deviations plus 1/n (:func:`.model.sampling_allowance`), so a small
sample is not failed for chance and a large one is held to the model's accuracy.  People are drawn a
household at a time and members share their state, surname and race, so that size is the effective
one, n_eff = n / deff with Kish's design effect deff = sum(s^2) / sum(s) over the groups of one
household's members who share the checked value (:func:`design_effect`), not the count of people.
The bases were set from clean output (seeds 1-5 at 20,000 and seed 7 at 100,000 and 1,000,000
people); README.md ("Validating") lists them with the measured values.

Correlations (Pearson r, as the README's table defines them) must lie in a range around the measured
value, widened by 3 / sqrt(n); outside it, the wrong sign fails and the right one warns.  A wrong sign
inside the widened range is what chance gives a small sample (r = -0.15 of 113 people for +0.10).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..packs.person import reference
from ..packs.person.reference import EDUCATION_EMPLOYMENT_FACTOR, RACE_LABELS, RACES, SEXES, SURNAME_SHARE_COLUMNS
from .model import Check
from .source import Source, literal, quote
from .checks import CheckGroup, Run

GROUP = "statistical"
TOP_NAMES = 100  # name cells compared (plus one for all other names)
EDUCATION_RANK = {
    "Less than high school": 0,
    "High school": 1,
    "Some college": 2,
    "Associate degree": 3,
    "Bachelor's degree": 4,
    "Graduate degree": 5,
}

# (warn_at, fail_at) TVD bases, before the sampling allowance.  Measured on clean output (TVD minus its
# sampling expectation, i.e. the model's own distance): about 0 for age/sex, race, states and names,
# about 0.01 for the occupation mix (education shifts it from the national OEWS mix).
TVD_THRESHOLDS = {
    # Ages come from households (householder ages by type, spouses' gaps, children younger than their parents),
    # which reproduce the pyramid to a TVD of about 0.033, not from the pyramid itself: hence the wider bases.
    "age/sex pyramid": (0.04, 0.06),
    "race/ethnicity shares": (0.01, 0.03),
    "state shares": (0.01, 0.03),
    "first-name frequencies": (0.01, 0.03),
    "surname frequencies": (0.01, 0.03),
    "occupation mix": (0.03, 0.06),
}
# Employment past 65, by band: the observed share employed against the CPS employment-population ratios the
# people's sexes, ages and education imply, passing within EMPLOYMENT_BAND_TOLERANCE (warn: twice that), both
# widened by three binomial standard deviations.
EMPLOYMENT_BANDS = ((65, 69), (70, 74), (75, 100))
EMPLOYMENT_BAND_TOLERANCE = 0.02
# Current salaries over their occupation's OEWS median, median per SOC major group: pass within
# SALARY_MEDIAN_TOLERANCE of 1 (warn: twice that), widened by three standard errors of a sample median
# (about SALARY_MEDIAN_NOISE / sqrt(n): 1.25 times the ~0.5 spread of log wages within an occupation).
SALARY_MEDIAN_TOLERANCE = 0.06
SALARY_MEDIAN_NOISE = 0.65
SALARY_GROUP_MIN_JOBS = 50
# name -> (expected r as measured, lowest r that passes, highest r that passes)
CORRELATIONS = {
    "age - log income (ages 18-61)": (0.10, 0.03, 0.30),
    "log income - credit score": (0.58, 0.40, 0.75),
    "age - credit score": (0.43, 0.25, 0.60),
    "debt-to-income - credit score": (-0.59, -0.75, -0.40),
    "education - log income (employed)": (0.55, 0.35, 0.70),
}


def run(src: Source) -> tuple[list[Check], dict[str, Any]]:
    """Every statistical check whose columns are present, and the aggregates the HTML plots draw."""
    plots: dict[str, Any] = {}
    checks: list[Check] = []
    persons = src.has("persons", "sex", "date_of_birth")
    steps = [
        (persons, lambda: _age_sex(src, plots)),
        (src.has("persons", "race_ethnicity"), lambda: _race(src)),
        (src.has("addresses", "address_type", "state"), lambda: _states(src, plots)),
        (src.has("persons", "first_name", "sex", "date_of_birth"), lambda: _first_names(src, plots)),
        (src.has("persons", "last_name", "race_ethnicity"), lambda: _surnames(src, plots)),
        (src.has("employments", "occupation_code", "is_current"), lambda: _occupations(src, plots)),
        (persons and src.has("employments", "person_id", "is_current"), lambda: _employment_bands(src)),
        (src.has("employments", "occupation_code", "annual_salary", "is_current"), lambda: _salary_medians(src)),
    ]
    for ok, make in steps:
        if ok:
            checks.append(make())
    if src.has("financial_profiles", "person_id", "annual_income", "credit_score", "debt_to_income") and persons:
        checks += _correlations(src)
        _histograms(src, plots)
    return checks, plots


def _tvd(
    name: str,
    observed: dict[Any, float],
    expected: dict[Any, float],
    n: int,
    deff: float = 1.0,
    **metrics: Any,
) -> Check:
    from .model import tvd_check

    warn_at, fail_at = TVD_THRESHOLDS[name]
    return tvd_check(
        GROUP, name, observed, expected, n, warn_at, fail_at, effective_n=n / deff, design_effect=round(deff, 3),
        **metrics,
    )  # fmt: skip


def design_effect(src: Source, relation: str, *cells: str) -> float:
    """Kish's design effect of drawing people a household at a time, for a check over ``cells``.

    Members of one household who fall in the same cell (share a state, a surname, a race, an age
    group) were drawn together: a group of s such people is one draw that weighs s.  With groups of
    sizes s_1..s_k (sum n), a cell share varies like that of n_eff = (sum s)^2 / sum s^2 independent
    people, so deff = n / n_eff = sum s^2 / sum s (1 when nobody shares; the people-weighted mean
    household size when everyone in a household does, as for states).  ``relation`` holds
    ``household_id`` and the cell columns; without households every person is their own group.
    """
    if not src.has("persons", "household_id"):
        return 1.0
    total, squares = src.one(
        f"SELECT SUM(s), SUM(s * s) FROM (SELECT COUNT(*)::DOUBLE AS s FROM {relation} "
        f"GROUP BY household_id, {', '.join(cells)})"
    )
    return max(1.0, float(squares) / float(total)) if total else 1.0


def _members(src: Source, table: str, where: str) -> str:
    """``table``'s rows matching ``where`` with their person's household_id (keys are never noised)."""
    return (
        f"(SELECT t.*, p.household_id FROM {src.clean(table)} t JOIN {quote('persons')} p USING (person_id) "
        f"WHERE {where})"
    )


def _age(src: Source) -> str:
    return f"date_sub('year', date_of_birth, DATE {literal(src.as_of.isoformat())})"


def _age_sex(src: Source, plots: dict[str, Any]) -> Check:
    """Age and sex in the census pyramid's five-year groups, within the run's age range."""
    lo, hi = src.age_range
    weights = reference.load().people.age_sex_weights  # (sex F/M, age 0..100): the pyramid by single year
    rows = src.all(
        f"SELECT sex, {_age(src)} AS age, COUNT(*) FROM {src.clean('persons')} "
        "WHERE date_of_birth IS NOT NULL GROUP BY ALL"
    )
    groups = [(a, min(a + 4, 100)) for a in range(0, 85, 5)] + [(85, 100)]

    def group_of(age: int) -> str:
        for a, b in groups:
            if a <= age <= b:
                return f"{a}-{b}" if b < 100 else f"{a}+"
        return "out of range"

    observed: dict[tuple[str, str], float] = {}
    for sex, age, count in rows:
        key = (str(sex), group_of(int(age)) if age is not None and 0 <= age <= 100 else "out of range")
        observed[key] = observed.get(key, 0) + count
    expected: dict[tuple[str, str], float] = {}
    for s, sex in enumerate(("F", "M")):
        for age in range(lo, hi + 1):
            key = (sex, group_of(age))
            expected[key] = expected.get(key, 0) + float(weights[s, age])
    n = int(sum(observed.values()))
    age_group = f"least({_age(src)} // 5, 17)"  # the groups above: 0-4, ..., 80-84, 85+
    deff = design_effect(src, f"(SELECT * FROM {src.clean('persons')} WHERE date_of_birth IS NOT NULL)", "sex",
                         age_group)  # fmt: skip
    check = _tvd(
        "age/sex pyramid",
        {f"{s} {g}": v for (s, g), v in observed.items()},
        {f"{s} {g}": v for (s, g), v in expected.items()},
        n,
        deff,
        ages=f"{lo}-{hi}",
    )
    labels = [g for g in dict.fromkeys(group_of(a) for a in range(lo, hi + 1))]
    exp_total = sum(expected.values()) or 1
    plots["age_pyramid"] = {
        "groups": labels,
        **{
            f"{sex}_{kind}": [src_[(sex, g)] / tot if (sex, g) in src_ else 0.0 for g in labels]
            for sex in ("F", "M")
            for kind, src_, tot in (("observed", observed, n or 1), ("expected", expected, exp_total))
        },
    }
    return check


def _race(src: Source) -> Check:
    observed = dict(src.all(f"SELECT race_ethnicity, COUNT(*) FROM {src.clean('persons')} GROUP BY 1"))
    labels = dict(zip(RACES, RACE_LABELS))  # persons carry the generator's short labels
    expected = {labels.get(r, r): p for r, p in src.all("SELECT race, population FROM ref_race_ethnicity")}
    deff = design_effect(src, src.clean("persons"), "race_ethnicity")
    return _tvd("race/ethnicity shares", observed, expected, int(sum(observed.values())), deff)


def _states(src: Source, plots: dict[str, Any]) -> Check:
    """Home states against the generator's model (ZIP populations by race, Census 2020), and census counts."""
    races = dict(src.all("SELECT race, population FROM ref_race_ethnicity"))
    total_pop = sum(races.values())
    pops = ", ".join(f"SUM(pop_{r})" for r in RACES)
    per_state = src.all(
        f"SELECT state, {pops} FROM ref_zip_codes WHERE zip_type = 'STANDARD' AND population > 0 "
        "AND state IN (SELECT state FROM ref_states) GROUP BY state"
    )
    race_totals = [sum(row[1 + i] for row in per_state) for i in range(len(RACES))]
    expected = {
        row[0]: sum(races[r] / total_pop * row[1 + i] / race_totals[i] for i, r in enumerate(RACES))
        for row in per_state
    }
    census = dict(src.all("SELECT state, population FROM ref_states"))
    observed = dict(
        src.all(f"SELECT state, COUNT(*) FROM {src.clean('addresses')} WHERE address_type = 'home' GROUP BY 1")
    )
    n = int(sum(observed.values()))
    census_total = sum(census.values())
    tvd_census = 0.5 * sum(
        abs(observed.get(s, 0) / max(n, 1) - census.get(s, 0) / census_total) for s in set(observed) | set(census)
    )
    deff = design_effect(src, _members(src, "addresses", "t.address_type = 'home'"), "state")
    check = _tvd("state shares", observed, expected, n, deff, tvd_vs_census_2020_counts=round(tvd_census, 4))
    top = sorted(expected, key=lambda s: -expected[s])
    plots["states"] = [(s, observed.get(s, 0) / max(n, 1), expected[s], census.get(s, 0) / census_total) for s in top]
    return check


def _name_check(src: Source, name: str, column: str, expected_sql: str, plots: dict[str, Any], key: str) -> Check:
    """Observed against expected counts for the TOP_NAMES most expected names and all others together."""
    rows = src.all(
        f"WITH e AS ({expected_sql}), o AS (SELECT {column} AS name, COUNT(*) AS observed FROM {src.clean('persons')} "
        f"WHERE {column} IS NOT NULL GROUP BY 1) "
        "SELECT name, coalesce(observed, 0), coalesce(expected, 0) FROM e FULL JOIN o USING (name) "
        f"ORDER BY expected DESC NULLS LAST, observed DESC LIMIT {TOP_NAMES}"
    )
    n = int(src.one(f"SELECT COUNT({column}) FROM {src.clean('persons')}")[0])
    exp_total = float(src.one(f"WITH e AS ({expected_sql}) SELECT SUM(expected) FROM e")[0] or 0.0)
    observed = {r[0]: float(r[1]) for r in rows}
    expected = {r[0]: float(r[2]) for r in rows}
    observed["(all other names)"] = n - sum(observed.values())
    expected["(all other names)"] = exp_total - sum(expected.values())
    plots[key] = [(r[0], r[1] / max(n, 1), r[2] / max(exp_total, 1e-9)) for r in rows[:20]]
    deff = design_effect(src, f"(SELECT * FROM {src.clean('persons')} WHERE {column} IS NOT NULL)", column)
    return _tvd(name, observed, expected, n, deff, top_names=TOP_NAMES)


def _first_names(src: Source, plots: dict[str, Any]) -> Check:
    """First names against SSA baby names of the person's sex and birth year (1880-2022 clipped)."""
    y0, y1 = src.one("SELECT MIN(year), MAX(year) FROM ref_first_names")
    expected_sql = (
        f"WITH g AS (SELECT least(greatest(year(date_of_birth), {y0}), {y1}) AS year, sex, COUNT(*) AS n "
        f"FROM {src.clean('persons')} WHERE date_of_birth IS NOT NULL GROUP BY ALL), "
        "f AS (SELECT year, sex, name, count / SUM(count) OVER (PARTITION BY year, sex) AS p FROM ref_first_names) "
        "SELECT name, SUM(n * p) AS expected FROM g JOIN f USING (year, sex) GROUP BY name"
    )
    return _name_check(src, "first-name frequencies", "first_name", expected_sql, plots, "first_names")


def _surnames(src: Source, plots: dict[str, Any]) -> Check:
    """Surnames against the Census 2020 surname table, for the observed mix of race/ethnicity."""
    counts = dict(src.all(f"SELECT race_ethnicity, COUNT(*) FROM {src.clean('persons')} GROUP BY 1"))
    weight = {r: f"count * coalesce({c}, 0) / 100" for r, c in SURNAME_SHARE_COLUMNS.items()}
    totals = src.one("SELECT " + ", ".join(f"SUM({w})" for w in weight.values()) + " FROM ref_surnames")
    terms = [f"{w} / {tot} * {counts.get(label, 0)}" for (r, w), tot, label in zip(weight.items(), totals, RACE_LABELS)]
    expected_sql = f"SELECT name, {' + '.join(terms)} AS expected FROM ref_surnames"
    return _name_check(src, "surname frequencies", "last_name", expected_sql, plots, "surnames")


def _occupations(src: Source, plots: dict[str, Any]) -> Check:
    """Current jobs by SOC major group against national OEWS employment (May 2025)."""
    observed = dict(
        src.all(
            f"SELECT left(occupation_code, 2), COUNT(*) FROM {src.clean('employments')} WHERE is_current GROUP BY 1"
        )
    )
    expected = dict(src.all("SELECT left(soc_code, 2), SUM(employment) FROM ref_occupations GROUP BY 1"))
    n = int(sum(observed.values()))
    total = sum(expected.values())
    plots["occupations"] = [  # by SOC major group code; the HTML page names them
        (g, observed.get(g, 0) / max(n, 1), expected[g] / total) for g in sorted(expected, key=lambda g: -expected[g])
    ]
    deff = design_effect(src, _members(src, "employments", "t.is_current"), "left(occupation_code, 2)")
    return _tvd("occupation mix", observed, expected, n, deff)


def _employment_bands(src: Source) -> Check:
    """The share of people employed at 65-69, 70-74 and 75+ against the CPS ratios for their sex, age and education."""
    name = "employment rate by 65+ age band"
    rate = reference.load().work.employment_rate  # (sex, age) as in data/employment_by_age_sex.parquet
    edu = "NULL"
    if src.has("persons", "education"):
        edu = "CASE education " + " ".join(f"WHEN {literal(k)} THEN {v}" for k, v in EDUCATION_RANK.items()) + " END"
    # Who works comes from every job row: noise may change a job's other columns, never whether it is current.
    rows = src.all(
        f"SELECT sex, {_age(src)} AS age, {edu} AS edu, COUNT(*), COUNT(e.person_id) "
        f"FROM {src.clean('persons')} p LEFT JOIN (SELECT DISTINCT person_id FROM {quote('employments')} "
        "WHERE is_current) e USING (person_id) "
        f"WHERE date_of_birth IS NOT NULL AND {_age(src)} >= {EMPLOYMENT_BANDS[0][0]} GROUP BY ALL"
    )
    bands = {f"{lo}-{hi}" if hi < 100 else f"{lo}+": [0, 0, 0.0] for lo, hi in EMPLOYMENT_BANDS}
    for sex, age, level, people, employed in rows:
        if sex not in SEXES or age is None:
            continue
        for (lo, hi), band in zip(EMPLOYMENT_BANDS, bands.values()):
            if lo <= age <= hi:
                factor = EDUCATION_EMPLOYMENT_FACTOR[level] if level is not None else 1.0
                band[0] += people
                band[1] += employed
                band[2] += people * min(rate[SEXES.index(sex), min(age, reference.MAX_AGE)] * factor, 0.97)
    figures, worst = {}, -1.0
    for label, (people, employed, expected) in bands.items():
        if people < 30:
            continue
        observed, expected = employed / people, expected / people
        figures[label] = {"n": people, "observed": round(observed, 4), "expected": round(expected, 4)}
        worst = max(worst, abs(observed - expected) - 3 * math.sqrt(expected * (1 - expected) / people))
    if not figures:
        return Check(GROUP, name, "skip", "fewer than 30 people aged 65 or more")
    status = "pass" if worst <= EMPLOYMENT_BAND_TOLERANCE else "warn"
    if worst > 2 * EMPLOYMENT_BAND_TOLERANCE:
        status = "fail"
    figure = "; ".join(f"{k}: {v['observed']:.1%} vs {v['expected']:.1%}" for k, v in figures.items())
    threshold = f"within {EMPLOYMENT_BAND_TOLERANCE:.0%} (warn {2 * EMPLOYMENT_BAND_TOLERANCE:.0%}) + 3 binomial sd"
    return Check(GROUP, name, status, figure, threshold, {"bands": figures, "worst_excess": round(worst, 4)})


def _salary_medians(src: Source) -> Check:
    """Current salaries over their occupation's OEWS median, median per SOC major group, near 1."""
    name = "salary medians vs OEWS by occupation group"
    rows = src.all(
        "SELECT left(e.occupation_code, 2), COUNT(*), median(e.annual_salary / o.wage_p50) "
        f"FROM {src.clean('employments')} e JOIN ref_occupations o ON o.soc_code = e.occupation_code "
        "WHERE e.is_current AND e.annual_salary IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    groups = {g: (int(n), float(r)) for g, n, r in rows if n >= SALARY_GROUP_MIN_JOBS}
    if not groups:
        return Check(GROUP, name, "skip", f"no occupation group with {SALARY_GROUP_MIN_JOBS} current jobs")
    excess = {g: abs(r - 1) - 3 * SALARY_MEDIAN_NOISE / math.sqrt(n) for g, (n, r) in groups.items()}
    worst = max(excess, key=lambda g: excess[g])
    status = "pass" if excess[worst] <= SALARY_MEDIAN_TOLERANCE else "warn"
    if excess[worst] > 2 * SALARY_MEDIAN_TOLERANCE:
        status = "fail"
    n_w, r_w = groups[worst]
    overall = float(src.one(
        "SELECT median(e.annual_salary / o.wage_p50) FROM "
        f"{src.clean('employments')} e JOIN ref_occupations o ON o.soc_code = e.occupation_code "
        "WHERE e.is_current AND e.annual_salary IS NOT NULL"
    )[0])  # fmt: skip
    figure = f"{len(groups)} groups, all jobs {overall:.3f}x OEWS median; furthest: SOC {worst} {r_w:.3f}x (n={n_w:,})"
    threshold = (
        f"each group within {SALARY_MEDIAN_TOLERANCE:.0%} of 1 (warn {2 * SALARY_MEDIAN_TOLERANCE:.0%}) "
        f"+ 3 x {SALARY_MEDIAN_NOISE}/sqrt(n)"
    )
    metrics = {
        "overall": round(overall, 4),
        "groups": {g: {"n": n, "ratio": round(r, 4)} for g, (n, r) in groups.items()},
    }
    return Check(GROUP, name, status, figure, threshold, metrics)


def _correlations(src: Source) -> list[Check]:
    """The documented correlations, each with its expected sign and range."""
    edu = "NULL::DOUBLE"
    if src.has("persons", "education"):
        edu = "CASE p.education " + " ".join(f"WHEN {literal(k)} THEN {v}" for k, v in EDUCATION_RANK.items()) + " END"
    employed = (
        "(SELECT DISTINCT person_id FROM employments WHERE is_current)"
        if src.has("employments", "person_id", "is_current")
        else "(SELECT NULL::BIGINT AS person_id WHERE false)"
    )
    age = _age(src).replace("date_of_birth", "p.date_of_birth")
    li = "ln(1 + f.annual_income)"
    row = src.one(
        f"SELECT corr({age}, {li}) FILTER (WHERE {age} < 62), COUNT(*) FILTER (WHERE {age} < 62), "
        f"corr({li}, f.credit_score), corr({age}, f.credit_score), corr(f.debt_to_income, f.credit_score), "
        f"COUNT(*), corr({edu}, {li}) FILTER (WHERE e.person_id IS NOT NULL), "
        "COUNT(*) FILTER (WHERE e.person_id IS NOT NULL) "
        f"FROM {src.clean('financial_profiles')} f JOIN {src.clean('persons')} p USING (person_id) "
        f"LEFT JOIN {employed} e ON e.person_id = f.person_id WHERE f.annual_income >= 0"
    )
    r_age_inc, n_work, r_inc_score, r_age_score, r_dti_score, n, r_edu_inc, n_emp = row
    figures = {
        "age - log income (ages 18-61)": (r_age_inc, n_work),
        "log income - credit score": (r_inc_score, n),
        "age - credit score": (r_age_score, n),
        "debt-to-income - credit score": (r_dti_score, n),
        "education - log income (employed)": (r_edu_inc, n_emp),
    }
    return [_correlation(name, r, count) for name, (r, count) in figures.items()]


def _correlation(name: str, r: float | None, n: int) -> Check:
    measured, lo, hi = CORRELATIONS[name]
    label = f"correlation {name}"
    if r is None or n < 30 or math.isnan(r):
        return Check(GROUP, label, "skip", f"too few rows ({n:,})")
    slack = 3 / math.sqrt(n)
    sign_ok = (r > 0) == (measured > 0)
    status = "pass" if lo - slack <= r <= hi + slack else ("warn" if sign_ok else "fail")
    figure = f"r = {r:+.3f} (n={n:,}; documented {measured:+.2f})"
    threshold = f"{lo:+.2f}..{hi:+.2f} +/- {slack:.3f}; outside it the wrong sign fails"
    return Check(
        GROUP,
        label,
        status,
        figure,
        threshold,
        {"r": round(float(r), 4), "n": n, "expected": measured, "range": [lo, hi], "slack": round(slack, 4)},
    )


def _histograms(src: Source, plots: dict[str, Any]) -> None:
    """Binned income (5k steps to 300k) and credit score (10-point steps) for the HTML page."""
    f = src.clean("financial_profiles")
    income = src.all(
        f"SELECT least(floor(annual_income / 5000), 60)::INTEGER AS b, COUNT(*) FROM {f} "
        "WHERE annual_income >= 0 GROUP BY 1 ORDER BY 1"
    )
    score = src.all(
        f"SELECT (floor(credit_score / 10) * 10)::INTEGER AS b, COUNT(*) FROM {f} "
        "WHERE credit_score BETWEEN 300 AND 850 GROUP BY 1 ORDER BY 1"
    )
    inc = np.zeros(61)
    for b, c in income:
        inc[int(b)] = c
    plots["income"] = {"edges": [i * 5000 for i in range(62)], "counts": inc.tolist()}
    plots["credit_score"] = {"bins": [int(b) for b, _ in score], "counts": [int(c) for _, c in score]}


class Statistical(CheckGroup):
    """The statistical checks, as one registered group."""

    name = "statistical"
    order = 30

    def run(self, ctx: Run) -> list[Check]:
        checks, plots = run(ctx.src)
        ctx.plots.update(plots)
        return checks
