"""12-16: age and sex, education, marital status, employment and race (census and survey tables)."""

from __future__ import annotations

import pyarrow as pa

from .common import US_POP_2020, check_shares, read_input, rows_to_table, write_table


# 2020 Census P2, folded into six groups: (race, population, label).
RACE_P2_2020: list[tuple[str, int, str]] = read_input("race_ethnicity", str, int, str)

# 2020 Census P12 in five-year groups: (age_min, age_max, male, female).
AGE_SEX_2020: list[tuple[int, int, int, int]] = read_input("age_sex_pyramid", int, int, int, int)
# ACS S1501 shares by age: less than HS, HS, some college, associate, bachelor's, graduate or professional.
EDUCATION_BY_AGE: list[tuple[int, int, float, float, float, float, float, float]] = read_input(
    "education_by_age", int, int, *[float] * 6
)
# ACS S1201 / B12002 shares: never married, married (except separated), separated, divorced, widowed.
MARITAL_BY_AGE_SEX: list[tuple[int, int, str, float, float, float, float, float]] = read_input(
    "marital_status_by_age_sex", int, int, str, *[float] * 5
)
# CPS 2024 Table 3 employment-population ratios; weighted by the 2020 pyramid the 65+ bands must give back
# the published 65-and-over ratios (EMPLOYMENT_65_PLUS, checked by the build).
EMPLOYMENT_BY_AGE_SEX: list[tuple[int, int, str, float]] = read_input("employment_by_age_sex", int, int, str, float)
EMPLOYMENT_65_PLUS = {"M": 0.229, "F": 0.153}

def build_demographics() -> None:
    """Age-sex pyramid, education, marital status, employment, race."""
    if sum(m + f for _, _, m, f in AGE_SEX_2020) != US_POP_2020:
        raise SystemExit("age/sex pyramid does not sum to the 2020 total")
    s = pa.schema([("age_min", pa.int16()), ("age_max", pa.int16()), ("male", pa.int64()), ("female", pa.int64())])
    write_table("age_sex_pyramid", rows_to_table(AGE_SEX_2020, s), s)

    check_shares(EDUCATION_BY_AGE, 2)
    s = pa.schema(
        [("age_min", pa.int16()), ("age_max", pa.int16())]
        + [
            (n, pa.float32())
            for n in ("less_than_high_school", "high_school", "some_college", "associate", "bachelor", "graduate")
        ]
    )
    write_table("education_by_age", rows_to_table(EDUCATION_BY_AGE, s), s)

    check_shares(MARITAL_BY_AGE_SEX, 3)
    rows = sorted(MARITAL_BY_AGE_SEX, key=lambda r: (r[0], r[2]))
    s = pa.schema(
        [("age_min", pa.int16()), ("age_max", pa.int16()), ("sex", pa.string())]
        + [(n, pa.float32()) for n in ("never_married", "married", "separated", "divorced", "widowed")]
    )
    write_table("marital_status_by_age_sex", rows_to_table(rows, s), s)

    _check_employment_65_plus()
    rows = sorted(EMPLOYMENT_BY_AGE_SEX, key=lambda r: (r[0], r[2]))
    s = pa.schema(
        [("age_min", pa.int16()), ("age_max", pa.int16()), ("sex", pa.string()), ("employment_rate", pa.float32())]
    )
    write_table("employment_by_age_sex", rows_to_table(rows, s), s)

    if sum(n for _, n, _ in RACE_P2_2020) != US_POP_2020:
        raise SystemExit("P2 race figures do not sum to the 2020 total")
    s = pa.schema([("race", pa.string()), ("population", pa.int64()), ("label", pa.string())])
    write_table("race_ethnicity", rows_to_table(RACE_P2_2020, s), s)


def _check_employment_65_plus() -> None:
    """The 65+ bands, weighted by the 2020 pyramid, must give back the published 65-and-over ratios."""
    for sex, published in EMPLOYMENT_65_PLUS.items():
        col = 2 if sex == "M" else 3
        employed = people = 0.0
        for lo, hi, s_, rate in EMPLOYMENT_BY_AGE_SEX:
            if s_ != sex or lo < 65:
                continue
            pop = sum(r[col] for r in AGE_SEX_2020 if lo <= r[0] and r[1] <= hi)
            employed, people = employed + rate * pop, people + pop
        if abs(employed / people - published) > 0.005:
            raise SystemExit(f"65+ employment bands ({sex}) give {employed / people:.3f}, published {published}")
