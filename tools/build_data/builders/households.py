"""20-25: household types, sizes, householder ages, group quarters, spouse age gaps, births."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from .common import US_POP_2020, check_shares, grouped, read_input, rows_to_table, write_table


# Households (see data/SOURCES.md sections 20-24):
#   (type, share of households, share with a female householder, share of couples that are same-sex)
HOUSEHOLD_TYPES: list[tuple[str, float, float, float]] = read_input("household_types", str, float, float, float)
# People per household; size 7 stands for "7 or more".
HOUSEHOLD_SIZES: list[tuple[int, float]] = read_input("household_sizes", int, float)
# Size given type: modelled so the sizes above come out of the types above.
HOUSEHOLD_SIZE_BY_TYPE: dict[str, list[tuple[int, float]]] = grouped(
    read_input("household_size_by_type", str, int, float)
)
# Age of the householder by household type (modelled, then calibrated to the 2020 pyramid); every type has
# the same age groups, in the same order.
_HOUSEHOLDER_AGE = grouped(read_input("householder_age_by_type", str, int, int, float))
HOUSEHOLDER_AGE_GROUPS: list[tuple[int, int]] = [(lo, hi) for lo, hi, _ in next(iter(_HOUSEHOLDER_AGE.values()))]
if any([(lo, hi) for lo, hi, _ in v] != HOUSEHOLDER_AGE_GROUPS for v in _HOUSEHOLDER_AGE.values()):
    raise SystemExit("inputs/householder_age_by_type.csv: every household type needs the same age groups")
HOUSEHOLDER_AGE_BY_TYPE: dict[str, list[float]] = {t: [s for _, _, s in v] for t, v in _HOUSEHOLDER_AGE.items()}
# People in group quarters and their residents' ages and sex: (type, people, youngest, oldest, share male).
GROUP_QUARTERS: list[tuple[str, int, int, int, float]] = read_input("group_quarters", str, int, int, int, float)
GROUP_QUARTERS_POP_2020 = 8_239_000
# Husband's age minus wife's: (gap_min, gap_max, share).
SPOUSE_AGE_GAP: list[tuple[int, int, float]] = read_input("spouse_age_gap", int, int, float)
# Births by age of mother: (age_min, age_max, share).
BIRTHS_BY_MOTHER_AGE: list[tuple[int, int, float]] = read_input("births_by_mother_age", int, int, float)

def build_households() -> None:
    """Household types, sizes, householder ages, group quarters, spousal age gaps and mothers' ages at birth."""
    check_shares([(0, *(s for _, s, _, _ in HOUSEHOLD_TYPES))], 1)
    check_shares([(0, *(s for _, s in HOUSEHOLD_SIZES))], 1)
    implied = defaultdict(float)
    rows = []
    for t, share, female, same_sex in HOUSEHOLD_TYPES:
        check_shares([(t, *(s for _, s in HOUSEHOLD_SIZE_BY_TYPE[t]))], 1)
        check_shares([(t, *HOUSEHOLDER_AGE_BY_TYPE[t])], 1)
        rows.append((t, share, female, same_sex))
        for size, s in HOUSEHOLD_SIZE_BY_TYPE[t]:
            implied[size] += share * s
    print("  implied household sizes: " + ", ".join(f"{k}: {v:.3f}" for k, v in sorted(implied.items())))
    s = pa.schema(
        [("household_type", pa.string()), ("share", pa.float64()), ("female_householder", pa.float64()),
         ("same_sex", pa.float64())]
    )  # fmt: skip
    write_table("household_types", rows_to_table(rows, s), s)
    s = pa.schema([("size", pa.int16()), ("share", pa.float64())])
    write_table("household_sizes", rows_to_table(HOUSEHOLD_SIZES, s), s)
    rows = [(t, size, share) for t, _, _, _ in HOUSEHOLD_TYPES for size, share in HOUSEHOLD_SIZE_BY_TYPE[t]]
    s = pa.schema([("household_type", pa.string()), ("size", pa.int16()), ("share", pa.float64())])
    write_table("household_size_by_type", rows_to_table(rows, s), s)
    rows = [
        (t, lo, hi, share)
        for t, _, _, _ in HOUSEHOLD_TYPES
        for (lo, hi), share in zip(HOUSEHOLDER_AGE_GROUPS, HOUSEHOLDER_AGE_BY_TYPE[t])
    ]
    s = pa.schema(
        [("household_type", pa.string()), ("age_min", pa.int16()), ("age_max", pa.int16()), ("share", pa.float64())]
    )
    write_table("householder_age_by_type", rows_to_table(rows, s), s)
    if sum(p for _, p, _, _, _ in GROUP_QUARTERS) != GROUP_QUARTERS_POP_2020:
        raise SystemExit("group quarters figures do not sum to the 2020 total")
    rows = [(t, p, lo, hi, male, p / US_POP_2020) for t, p, lo, hi, male in GROUP_QUARTERS]
    s = pa.schema(
        [("gq_type", pa.string()), ("population", pa.int64()), ("age_min", pa.int16()), ("age_max", pa.int16()),
         ("male", pa.float64()), ("share_of_people", pa.float64())]
    )  # fmt: skip
    write_table("group_quarters", rows_to_table(rows, s), s)
    check_shares([(0, *(x for _, _, x in SPOUSE_AGE_GAP))], 1)
    s = pa.schema([("gap_min", pa.int16()), ("gap_max", pa.int16()), ("share", pa.float64())])
    write_table("spouse_age_gap", rows_to_table(SPOUSE_AGE_GAP, s), s)
    check_shares([(0, *(x for _, _, x in BIRTHS_BY_MOTHER_AGE))], 1)
    s = pa.schema([("age_min", pa.int16()), ("age_max", pa.int16()), ("share", pa.float64())])
    write_table("births_by_mother_age", rows_to_table(BIRTHS_BY_MOTHER_AGE, s), s)
