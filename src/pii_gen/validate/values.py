"""Value checks: identifiers well formed and (strict mode) never real, places that agree, possible dates.

Every check counts violating rows in SQL over the whole table; when noise was applied, the rows the
noise log names are left out (see :meth:`Source.clean`) and what remains is a warning, not a failure.
"""

from __future__ import annotations

from typing import Callable

from ..packs.person.identifiers import KNOWN_MISUSED_SSNS, REALISTIC_ROUTING_PREFIXES, STRICT_ROUTING_PREFIXES
from ..packs.person.reference import ENTRY_EDUCATION_LEVEL, min_education
from .model import Check, violations
from .source import Source, literal, quote
from .statistical import EDUCATION_RANK
from .checks import CheckGroup, Run

GROUP = "values"
RESERVED_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # RFC 2606
RESERVED_EMAIL_TLDS = (".example", ".test")  # RFC 2606 / RFC 6761
COORDINATE_TOLERANCE = 0.1  # degrees from the ZIP's centre (homes scatter with sd 0.012)
MIN_WORKING_AGE = 16
EMAIL_PATTERN = (
    r"[A-Za-z0-9!#$%&*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&*+/=?^_{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
REALISTIC_CARD_PATTERN = r"4\d{15}|5[1-5]\d{14}|3[47]\d{13}|6011\d{12}"  # Visa, Mastercard, Amex, Discover
SALARY_CAP = 2.5  # times the occupation's OEWS 90th percentile (the generator's tail stays below 1.65 x 1.5)
ADULT_ONLY_MARITAL = ("Separated", "Divorced", "Widowed")
MARITAL_MIN_AGE = 15  # the census asks marital status from 15 on: nobody younger is anything but never married
ADULT = 18


def run(src: Source, pii_mode: str) -> list[Check]:
    """Every value check whose tables and columns are present."""
    strict = pii_mode == "strict"
    plan: list[tuple[tuple[str, ...], Callable[[], Check]]] = [
        (("persons", "ssn"), lambda: _ssn(src, strict)),
        (("persons", "ssn"), lambda: _ssn_unique(src)),
        (("phone_numbers", "phone_number"), lambda: _phone(src, strict)),
        (("phone_numbers", "phone_number", "person_id"), lambda: _phone_state(src)),
        (("email_addresses", "email"), lambda: _email_syntax(src)),
        (("email_addresses", "email"), lambda: _email_domain(src, strict)),
        (("addresses", "zip_code", "city", "state", "county"), lambda: _zip(src)),
        (("addresses", "zip_code", "latitude", "longitude"), lambda: _coordinates(src)),
        (("financial_profiles", "credit_card_number"), lambda: _card(src, strict)),
        (("financial_profiles", "routing_number"), lambda: _routing(src, strict)),
        (("financial_profiles", "annual_income", "credit_score", "total_debt", "debt_to_income"), lambda: _money(src)),
        (("persons", "date_of_birth"), lambda: _birth_dates(src)),
        (("employments", "start_date", "person_id"), lambda: _job_age(src)),
        (("employments", "start_date", "end_date"), lambda: _date_order(src)),
        (("employments", "start_date", "end_date"), lambda: _future_dates(src)),
        (("employments", "occupation_code", "start_date", "person_id"), lambda: _occupation_fit(src)),
        (("employments", "occupation_code", "annual_salary"), lambda: _salary_cap(src)),
        (("persons", "marital_status", "date_of_birth"), lambda: _marital_age(src)),
        (
            ("addresses", "address_id", "person_id", "address_type", "valid_from", "valid_to"),
            lambda: _address_overlap(src),
        ),
    ]
    checks = []
    for (table, *cols), make in plan:
        check = make() if src.has(table, *cols) else None
        if check is None:
            continue
        if check.status == "fail" and src.noise is not None:
            check.status = "warn"
            check.figure += " (noise applied)"
        checks.append(check)
    for table, *cols in _needs_missing(src, [p[0] for p in plan]):
        checks.append(Check(GROUP, f"{table}: {', '.join(cols)}", "skip", "table or column missing"))
    return checks


def _needs_missing(src: Source, needs: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    seen, out = set(), []
    for table, *cols in needs:
        if not src.has(table, *cols) and (table, *cols) not in seen:
            seen.add((table, *cols))
            out.append((table, *cols))
    return out


def _home_states(src: Source) -> str:
    return (
        f"(SELECT person_id, any_value(state) AS state FROM {quote('addresses')} "
        "WHERE address_type = 'home' GROUP BY person_id)"
    )


def _ssn(src: Source, strict: bool) -> Check:
    """SSNs are AAA-GG-SSSS; strict: never SSA-issuable (area 000/666, group 00 or serial 0000), never 9xx."""
    ok = r"regexp_full_match(ssn, '\d{3}-\d{2}-\d{4}')"
    area, group, serial = "substr(ssn, 1, 3)", "substr(ssn, 5, 2)", "substr(ssn, 8, 4)"
    issuable = f"({area} NOT IN ('000', '666') AND {area} < '900' AND {group} <> '00' AND {serial} <> '0000')"
    misused = ", ".join(literal(s) for s in KNOWN_MISUSED_SSNS)
    total, malformed, issued, itin, known = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT {ok}), COUNT(*) FILTER (WHERE {ok} AND {issuable}), "
        f"COUNT(*) FILTER (WHERE {ok} AND {area} >= '900'), COUNT(*) FILTER (WHERE ssn IN ({misused})) "
        f"FROM {src.clean('persons')} WHERE ssn IS NOT NULL"
    )
    if strict:
        bad = malformed + issued + itin
        rule = "AAA-GG-SSSS, never SSA-issuable, never area 9xx"
    else:
        bad = malformed + (total - malformed - issued) + known
        rule = "AAA-GG-SSSS, SSA-issuable, not a publicly misused number"
    check = violations(
        GROUP,
        "SSN structure" + (" and non-issuability" if strict else ""),
        bad,
        total,
        "SSNs",
        threshold=rule,
        weight=3,
        malformed=malformed,
        issuable=issued,
        area_9xx=itin,
        known_misused=known,
    )
    if bad:
        check.figure += f": {malformed:,} malformed, {issued:,} issuable, {itin:,} area 9xx"
    return check


def _ssn_unique(src: Source) -> Check:
    total, distinct = src.one(f"SELECT COUNT(ssn), COUNT(DISTINCT ssn) FROM {src.clean('persons')}")
    return violations(GROUP, "SSN unique per person", total - distinct, total, "SSNs repeated")


def _phone(src: Source, strict: bool) -> Check:
    """NANP NPA-NXX-XXXX (no N11 codes); strict: the fictional 555-01XX lines."""
    nanp = (
        r"regexp_full_match(phone_number, '[2-9]\d{2}-[2-9]\d{2}-\d{4}') AND substr(phone_number, 2, 2) <> '11' "
        "AND substr(phone_number, 6, 2) <> '11'"
    )
    fiction = r"regexp_full_match(phone_number, '\d{3}-555-01\d{2}')"
    total, malformed, real = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT ({nanp})), COUNT(*) FILTER (WHERE ({nanp}) AND NOT {fiction}) "
        f"FROM {src.clean('phone_numbers')} WHERE phone_number IS NOT NULL"
    )
    bad = malformed + (real if strict else 0)
    rule = "NANP NPA-NXX-XXXX" + (", 555-0100..0199 lines" if strict else "")
    return violations(
        GROUP,
        "phone structure (NANP)",
        bad,
        total,
        "phones",
        threshold=rule,
        weight=2,
        malformed=malformed,
        dialable=real,
    )


def _phone_state(src: Source) -> Check:
    """Every phone's area code serves the state of its owner's home."""
    if not src.has("addresses", "person_id", "address_type", "state"):
        return Check(GROUP, "phone area code in home state", "skip", "addresses.state is missing")
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE a.area_code IS NULL) "
        f"FROM {src.clean('phone_numbers')} ph JOIN {_home_states(src)} h USING (person_id) "
        f"LEFT JOIN ref_area_codes a ON a.area_code = substr(ph.phone_number, 1, 3) AND a.state = h.state "
        f"WHERE ph.phone_number IS NOT NULL"
    )
    return violations(GROUP, "phone area code in home state", bad, total, "phones", threshold="NPA serves the state")


def _email_syntax(src: Source) -> Check:
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT regexp_full_match(email, {literal(EMAIL_PATTERN)}) "
        f"OR length(email) > 254) FROM {src.clean('email_addresses')} WHERE email IS NOT NULL"
    )
    return violations(GROUP, "e-mail syntax", bad, total, "e-mails", threshold="local@domain.tld, <= 254 chars")


def _email_domain(src: Source, strict: bool) -> Check:
    """Strict: only reserved domains (RFC 2606/6761) so no mail can reach anyone."""
    domain = "lower(split_part(email, '@', 2))"
    reserved = (
        f"({domain} IN ({', '.join(literal(d) for d in RESERVED_EMAIL_DOMAINS)}) OR "
        + " OR ".join(f"ends_with({domain}, {literal(t)})" for t in RESERVED_EMAIL_TLDS)
        + ")"
    )
    total, real = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT {reserved}) FROM {src.clean('email_addresses')} "
        f"WHERE email IS NOT NULL"
    )
    if not strict:
        return Check(
            GROUP,
            "e-mail domain policy",
            "pass",
            f"{real:,} of {total:,} at real domains (realistic mode)",
            "any domain in realistic mode",
            {"real_domains": real, "total": total},
        )
    return violations(
        GROUP,
        "e-mail domain policy",
        real,
        total,
        "e-mails at deliverable domains",
        threshold="reserved domains only (strict)",
        weight=2,
    )


def _zip(src: Source) -> Check:
    """ZIP, city, state and county agree with the ZIP table in data/."""
    wrong = {
        "state": "a.state IS DISTINCT FROM z.state",
        "city": "upper(a.city) IS DISTINCT FROM upper(z.city)",
        "county": "coalesce(a.county, '') <> z.county",
    }
    any_wrong = "z.zip_code IS NULL OR " + " OR ".join(wrong.values())
    total, bad, unknown, state, city, county = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE {any_wrong}), COUNT(*) FILTER (WHERE z.zip_code IS NULL), "
        + ", ".join(f"COUNT(*) FILTER (WHERE z.zip_code IS NOT NULL AND {w})" for w in wrong.values())
        + f" FROM {src.clean('addresses')} a LEFT JOIN ref_zip_codes z ON a.zip_code = z.zip_code"
    )
    check = violations(
        GROUP,
        "ZIP / city / state / county agree",
        bad,
        total,
        "addresses",
        threshold="as in data/zip_codes.parquet",
        weight=2,
        unknown_zip=unknown,
        wrong_state=state,
        wrong_city=city,
        wrong_county=county,
    )
    if bad:
        check.figure += (
            f": {unknown:,} unknown ZIPs, {state:,} wrong state, {city:,} wrong city, {county:,} wrong county"
        )
    return check


def _coordinates(src: Source) -> Check:
    total, bad = src.one(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE CASE WHEN z.latitude = 0 THEN a.latitude IS NOT NULL "
        f"ELSE a.latitude IS NULL OR abs(a.latitude - z.latitude) > {COORDINATE_TOLERANCE} "
        f"OR abs(a.longitude - z.longitude) > {COORDINATE_TOLERANCE} END) "
        f"FROM {src.clean('addresses')} a JOIN ref_zip_codes z ON a.zip_code = z.zip_code"
    )
    return violations(
        GROUP,
        "coordinates near the ZIP",
        bad,
        total,
        "addresses",
        threshold=f"within {COORDINATE_TOLERANCE} degrees of the ZIP centre",
    )


def _luhn(reversed_digits: str) -> str:
    """SQL: True when the digit string whose reverse is ``reversed_digits`` (up to 19 digits) passes Luhn."""
    r = reversed_digits
    terms = []
    for i in range(1, 20):  # position from the right; every second one is doubled (digit sum of 2d)
        d = f"(CASE WHEN length({r}) >= {i} THEN ord(substr({r}, {i}, 1)) - 48 ELSE 0 END)"
        terms.append(f"(2 * {d} - 9 * ({d} // 5))" if i % 2 == 0 else d)
    return f"(({' + '.join(terms)}) % 10 = 0)"


def _card(src: Source, strict: bool) -> Check:
    """Luhn-valid; strict: major industry identifier 0 (no issuer), else the big networks' ranges."""
    pattern = r"0\d{15}" if strict else REALISTIC_CARD_PATTERN
    total, bad, malformed, not_luhn, bad_prefix = src.one(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT (ok AND luhn AND prefix)), COUNT(*) FILTER (WHERE NOT ok), "
        "COUNT(*) FILTER (WHERE ok AND NOT luhn), COUNT(*) FILTER (WHERE ok AND NOT prefix) FROM ("
        rf"SELECT regexp_full_match(c, '\d{{12,19}}') AS ok, {_luhn('r')} AS luhn, "
        f"regexp_full_match(c, {literal(pattern)}) AS prefix FROM (SELECT credit_card_number AS c, "
        f"reverse(credit_card_number) AS r FROM {src.clean('financial_profiles')} "
        "WHERE credit_card_number IS NOT NULL))"
    )
    rule = "Luhn-valid, " + ("MII 0 prefix, 16 digits (strict)" if strict else "Visa/MC/Amex/Discover ranges")
    return violations(
        GROUP, "card Luhn and prefix policy", bad, total, "cards", threshold=rule, weight=2,
        malformed=malformed, luhn_invalid=not_luhn, wrong_prefix=bad_prefix,
    )  # fmt: skip


def _routing(src: Source, strict: bool) -> Check:
    """ABA check digit valid; strict: prefix 50-59, which the ABA has not assigned."""
    col = "routing_number"
    d = [f"TRY_CAST(substr({col}, {i}, 1) AS INTEGER)" for i in range(1, 10)]
    aba = f"((3 * ({d[0]} + {d[3]} + {d[6]}) + 7 * ({d[1]} + {d[4]} + {d[7]}) + {d[2]} + {d[5]} + {d[8]}) % 10 = 0)"
    prefixes = STRICT_ROUTING_PREFIXES if strict else REALISTIC_ROUTING_PREFIXES
    prefix = f"substr({col}, 1, 2) IN ({', '.join(literal(f'{p:02d}') for p in prefixes)})"
    ok = rf"regexp_full_match({col}, '\d{{9}}')"
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT ({ok} AND {aba} AND {prefix})) "
        f"FROM {src.clean('financial_profiles')} WHERE {col} IS NOT NULL"
    )
    rule = "9 digits, ABA checksum, prefix " + ("50-59 (unassigned)" if strict else "01-12 or 21-32")
    return violations(GROUP, "routing number checksum and prefix", bad, total, "routing numbers", threshold=rule)


def _money(src: Source) -> Check:
    total, bad = src.one(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE credit_score NOT BETWEEN 300 AND 850 OR annual_income < 0 "
        f"OR total_debt < 0 OR debt_to_income < 0) FROM {src.clean('financial_profiles')}"
    )
    return violations(
        GROUP,
        "financial figures in range",
        bad,
        total,
        "profiles",
        threshold="credit score 300-850; income, debt, DTI >= 0",
    )


def _birth_dates(src: Source) -> Check:
    lo, hi = src.age_range
    as_of = f"DATE {literal(src.as_of.isoformat())}"
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE date_of_birth > {as_of} "
        f"OR date_sub('year', date_of_birth, {as_of}) NOT BETWEEN {lo} AND {hi}) "
        f"FROM {src.clean('persons')} WHERE date_of_birth IS NOT NULL"
    )
    return violations(
        GROUP, "birth dates in range", bad, total, "people", threshold=f"aged {lo}-{hi} on {src.as_of}", weight=2
    )


def _job_age(src: Source) -> Check:
    if not src.has("persons", "person_id", "date_of_birth"):
        return Check(GROUP, f"no job before age {MIN_WORKING_AGE}", "skip", "persons.date_of_birth is missing")
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE e.start_date < p.date_of_birth + INTERVAL {MIN_WORKING_AGE} YEAR) "
        f"FROM {src.clean('employments')} e JOIN {src.clean('persons')} p USING (person_id) "
        "WHERE e.start_date IS NOT NULL"
    )
    return violations(
        GROUP, f"no job before age {MIN_WORKING_AGE}", bad, total, "jobs", threshold="start_date >= 16th birthday"
    )


def _date_order(src: Source) -> Check:
    """Jobs and addresses end on or after the day they start."""
    jobs_total, jobs_bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE end_date < start_date) FROM {src.clean('employments')}"
    )
    addr_total, addr_bad = 0, 0
    if src.has("addresses", "valid_from", "valid_to"):
        addr_total, addr_bad = src.one(
            f"SELECT COUNT(*), COUNT(*) FILTER (WHERE valid_to < valid_from) FROM {src.clean('addresses')}"
        )
    return violations(
        GROUP,
        "end dates on or after start dates",
        jobs_bad + addr_bad,
        jobs_total + addr_total,
        "jobs and addresses",
        threshold="end >= start",
        jobs=jobs_bad,
        addresses=addr_bad,
    )


def _future_dates(src: Source) -> Check:
    """Nothing starts or ends after the run's 'today' (a finished job is over by then)."""
    as_of = f"DATE {literal(src.as_of.isoformat())}"
    total, starts, ends = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE start_date > {as_of}), COUNT(*) FILTER (WHERE end_date > {as_of}) "
        f"FROM {src.clean('employments')}"
    )
    if src.has("addresses", "valid_from"):
        starts += src.one(f"SELECT COUNT(*) FROM {src.clean('addresses')} WHERE valid_from > {as_of}")[0]
    check = violations(
        GROUP,
        f"no dates after {src.as_of}",
        starts + ends,
        total,
        "jobs and addresses",
        threshold="start and end <= as_of",
        starts_after=starts,
        ends_after=ends,
    )
    if starts + ends:
        check.figure += f": {starts:,} start later, {ends:,} past jobs end later"
    return check


def _address_overlap(src: Source) -> Check:
    """A person's home and previous homes never overlap in time."""
    total, bad = src.one(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE prev_to >= valid_from) FROM ("
        "SELECT valid_from, lag(coalesce(valid_to, DATE '9999-12-31')) OVER (PARTITION BY person_id "
        f"ORDER BY valid_from, address_id) AS prev_to FROM {src.clean('addresses')} "
        "WHERE address_type IN ('home', 'previous'))"
    )
    return violations(
        GROUP,
        "address histories do not overlap",
        bad,
        total,
        "home addresses",
        threshold="each home starts after the previous one ended",
    )


def _case(column: str, mapping: dict[str, int]) -> str:
    return f"CASE {column} " + " ".join(f"WHEN {literal(k)} THEN {v}" for k, v in mapping.items()) + " END"


def _occupation_fit(src: Source) -> Check:
    """Every job's occupation is open to its holder: the education it needs for entry (BLS; one level below
    only for occupations entered with up to a bachelor's degree) and old enough when the job started."""
    name = "occupations fit education and age"
    if not src.has("persons", "person_id", "date_of_birth", "education"):
        return Check(GROUP, name, "skip", "persons.date_of_birth or persons.education is missing")
    edu = _case("p.education", EDUCATION_RANK)
    lowest = _case("o.education", {e: min_education(e) for e in ENTRY_EDUCATION_LEVEL})
    entry = _case("o.education", ENTRY_EDUCATION_LEVEL)
    age = "date_sub('year', p.date_of_birth, e.start_date)"
    total, bad, unknown, schooling, young, below = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE o.soc_code IS NULL OR {edu} < {lowest} OR {age} < o.min_age), "
        f"COUNT(*) FILTER (WHERE o.soc_code IS NULL), COUNT(*) FILTER (WHERE {edu} < {lowest}), "
        f"COUNT(*) FILTER (WHERE {age} < o.min_age), COUNT(*) FILTER (WHERE {edu} = {entry} - 1) "
        f"FROM {src.clean('employments')} e JOIN {src.clean('persons')} p USING (person_id) "
        "LEFT JOIN ref_occupation_education o ON o.soc_code = e.occupation_code "
        "WHERE e.start_date IS NOT NULL AND e.occupation_code IS NOT NULL AND p.education IS NOT NULL "
        "AND p.date_of_birth IS NOT NULL"
    )
    check = violations(
        GROUP, name, bad, total, "jobs", threshold="entry education (bachelor's or lower: one level below) and min age",
        weight=2, unknown_occupation=unknown, below_education=schooling, too_young=young,
        one_level_below=below, one_level_below_share=round(below / total, 4) if total else 0.0,
    )  # fmt: skip
    if bad:
        check.figure += f": {schooling:,} below the education, {young:,} too young, {unknown:,} unknown SOC codes"
    return check


def _salary_cap(src: Source) -> Check:
    """No salary beyond SALARY_CAP times its occupation's OEWS 90th percentile."""
    total, bad, worst = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE e.annual_salary > {SALARY_CAP} * o.wage_p90), "
        f"max(e.annual_salary / o.wage_p90) FROM {src.clean('employments')} e "
        "JOIN ref_occupations o ON o.soc_code = e.occupation_code WHERE e.annual_salary IS NOT NULL"
    )
    check = violations(
        GROUP, f"salaries within {SALARY_CAP}x their occupation's 90th percentile", bad, total, "jobs",
        threshold=f"annual_salary <= {SALARY_CAP} x OEWS p90", max_ratio=round(float(worst or 0.0), 3),
    )  # fmt: skip
    check.figure += f"; highest {float(worst or 0.0):.2f}x p90"
    return check


def _marital_age(src: Source) -> Check:
    """Nobody under 15 is other than never married, and no minor is separated, divorced or widowed."""
    as_of = f"DATE {literal(src.as_of.isoformat())}"
    age = f"date_sub('year', date_of_birth, {as_of})"
    adult_only = ", ".join(literal(m) for m in ADULT_ONLY_MARITAL)
    total, young, minors = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE {age} < {MARITAL_MIN_AGE} AND marital_status <> 'Never married'), "
        f"COUNT(*) FILTER (WHERE {age} >= {MARITAL_MIN_AGE} AND {age} < {ADULT} AND marital_status IN ({adult_only})) "
        f"FROM {src.clean('persons')} WHERE date_of_birth IS NOT NULL AND marital_status IS NOT NULL"
    )
    check = violations(
        GROUP, "marital status possible for the age", young + minors, total, "people",
        threshold=f"under {MARITAL_MIN_AGE}: never married; under {ADULT}: never separated, divorced or widowed",
        under_15=young, minors_separated_divorced_widowed=minors,
    )  # fmt: skip
    if young + minors:
        check.figure += f": {young:,} under {MARITAL_MIN_AGE} not never married, {minors:,} minors no longer married"
    return check


class Values(CheckGroup):
    """The values checks, as one registered group."""

    name = "values"
    order = 20

    def run(self, ctx: Run) -> list[Check]:
        return run(ctx.src, ctx.pii_mode)
