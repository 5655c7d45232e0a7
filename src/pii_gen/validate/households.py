"""Household checks: members agree with their household, and household sizes and types follow the census.

Consistency: one householder per household (the household's key is the householder's person_id), every
member's current home is the household's address, every relationship joins two people of one household,
parents are at least 14 years older than their children, household income is the sum of its members'.
Shares: household sizes and types (group quarters left out) and the share of people in each kind of group
quarters, by total variation distance against data/household_*.parquet and data/group_quarters.parquet,
with the sampling allowance of :func:`.model.tvd_check`.
"""

from __future__ import annotations

from ..packs.person import reference
from .model import Check, tvd_check, violations
from .source import Source, quote
from .checks import CheckGroup, Run

GROUP = "households"
MIN_PARENT_GAP_YEARS = 14
PARENT_TYPES = ("child", "adopted_child", "stepchild")
# (warn_at, fail_at) TVD bases before the sampling allowance.  Measured on clean output: sizes about 0.010 and
# types about 0.007 (the size-given-type table is modelled so its sizes come within a point of the published
# ones; a block's last people live alone), group quarters about 0.
TVD_THRESHOLDS = {
    "household sizes": (0.02, 0.04),
    "household types": (0.02, 0.04),
    "group quarters shares": (0.005, 0.01),
}


def run(src: Source) -> list[Check]:
    """Every household check whose tables and columns are present."""
    plan = [
        ("one householder per household", ("persons", "household_role"), _one_householder),
        ("members share the household's address", ("addresses", "person_id", "address_type", "street", "unit",
                                                   "zip_code"), _shared_address),
        (f"parents at least {MIN_PARENT_GAP_YEARS} years older", ("relationships", "person_id", "related_person_id",
                                                                  "relationship_type"), _parent_gap),
        ("relationships join members of one household", ("relationships", "person_id", "related_person_id"),
         _same_household),
        ("household income is the members' sum", ("financial_profiles", "person_id", "annual_income"), _income),
        ("household sizes", ("households", "size", "is_group_quarters"), _sizes),
        ("household types", ("households", "household_type", "is_group_quarters"), _types),
        ("group quarters shares", ("households", "size", "household_type", "is_group_quarters"), _group_quarters),
    ]  # fmt: skip
    checks = []
    ready = src.has("households", "household_id") and src.has("persons", "person_id", "household_id")
    alone = (src.config.get("households") or {}).get("enabled", True) is False  # everyone lives alone by design
    for name, (table, *cols), make in plan:
        if not (ready and src.has(table, *cols)):
            checks.append(Check(GROUP, name, "skip", "table or column missing"))
            continue
        if alone and make in (_sizes, _types, _group_quarters):
            checks.append(Check(GROUP, name, "skip", "households disabled (households.enabled: false)"))
            continue
        check = make(src)
        if check.status == "fail" and src.noise is not None:
            check.status = "warn"
            check.figure += " (noise applied)"
        checks.append(check)
    return checks


def _people(src: Source) -> str:
    """The real people (duplicate records left out), noise-logged rows too: keys and roles are never noised."""
    where = " WHERE source_person_id IS NULL" if src.has("persons", "source_person_id") else ""
    return f"(SELECT * FROM {quote('persons')}{where})"


def _one_householder(src: Source) -> Check:
    """One householder per household."""
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE heads <> 1 OR NOT head_is_key) FROM ("
        f"SELECT h.household_id, COUNT(p.person_id) FILTER (WHERE p.household_role IN ('householder', 'resident')) "
        f"AS heads, bool_or(p.person_id = h.household_id AND p.household_role IN ('householder', 'resident')) "
        f"AS head_is_key FROM {quote('households')} h LEFT JOIN {_people(src)} p USING (household_id) "
        f"GROUP BY h.household_id)"
    )
    return violations(GROUP, "one householder per household", int(bad), int(total), "households", weight=2,
                      threshold="exactly one, whose person_id is the household_id")  # fmt: skip


def _shared_address(src: Source) -> Check:
    """Members share the household's current address."""
    a = src.clean("addresses")
    total, bad = src.one(
        f"WITH home AS (SELECT person_id, street, unit, zip_code FROM {a} WHERE address_type = 'home') "
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE h.person_id IS NOT NULL AND (m.street IS DISTINCT FROM h.street "
        f"OR m.unit IS DISTINCT FROM h.unit OR m.zip_code IS DISTINCT FROM h.zip_code)) "
        f"FROM {_people(src)} p JOIN home m ON m.person_id = p.person_id "
        f"LEFT JOIN home h ON h.person_id = p.household_id WHERE p.person_id <> p.household_id"
    )
    return violations(GROUP, "members share the household's address", int(bad), int(total), "members",
                      threshold="street, unit and ZIP equal to the householder's home")  # fmt: skip


def _parent_gap(src: Source) -> Check:
    """Parents at least 14 years older than their children."""
    types = ", ".join(f"'{t}'" for t in PARENT_TYPES)
    p = src.clean("persons")
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE c.date_of_birth < parent.date_of_birth + INTERVAL "
        f"{MIN_PARENT_GAP_YEARS} YEAR) FROM {quote('relationships')} r "
        f"JOIN {p} parent ON parent.person_id = r.person_id JOIN {p} c ON c.person_id = r.related_person_id "
        f"WHERE r.relationship_type IN ({types}) AND parent.date_of_birth IS NOT NULL "
        f"AND c.date_of_birth IS NOT NULL"
    )
    return violations(
        GROUP,
        f"parents at least {MIN_PARENT_GAP_YEARS} years older",
        int(bad),
        int(total),
        "parent-child pairs",
        threshold=f"child born >= {MIN_PARENT_GAP_YEARS} years after the parent",
    )


def _same_household(src: Source) -> Check:
    """Relationships join members of one household."""
    people = _people(src)
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE a.household_id IS NULL OR b.household_id IS NULL "
        f"OR a.household_id <> b.household_id OR r.person_id = r.related_person_id) "
        f"FROM {quote('relationships')} r LEFT JOIN {people} a ON a.person_id = r.person_id "
        f"LEFT JOIN {people} b ON b.person_id = r.related_person_id"
    )
    return violations(GROUP, "relationships join members of one household", int(bad), int(total), "relationships",
                      weight=2, threshold="both people exist and share a household")  # fmt: skip


def _income(src: Source) -> Check:
    """Household income is the members' sum (households with a noise-logged income left out)."""
    f, clean = quote("financial_profiles"), src.clean("financial_profiles")
    total, bad = src.one(
        f"SELECT COUNT(*), COUNT(*) FILTER (WHERE h.household_income IS DISTINCT FROM COALESCE(s.income, 0)) "
        f"FROM {quote('households')} h LEFT JOIN (SELECT p.household_id, SUM(f.annual_income) AS income, "
        f"COUNT(*) FILTER (WHERE c.person_id IS NULL) AS noised FROM {_people(src)} p JOIN {f} f USING (person_id) "
        f"LEFT JOIN (SELECT person_id FROM {clean}) c USING (person_id) GROUP BY 1) s USING (household_id) "
        f"WHERE COALESCE(s.noised, 0) = 0"
    )
    return violations(GROUP, "household income is the members' sum", int(bad), int(total), "households",
                      threshold="sum of the members' annual_income")  # fmt: skip


def _regular(src: Source, column: str) -> tuple[dict[str, float], int]:
    rows = src.all(f"SELECT {column}, COUNT(*) FROM {quote('households')} WHERE NOT is_group_quarters GROUP BY 1")
    counts = {str(k): float(v) for k, v in rows if k is not None}
    return counts, int(sum(counts.values()))


def _tvd(
    name: str, observed: dict[str, float], expected: dict[str, float], n: int, effective_n: float | None = None
) -> Check:
    warn_at, fail_at = TVD_THRESHOLDS[name]
    return tvd_check(GROUP, name, observed, expected, n, warn_at, fail_at, effective_n=effective_n)


def _sizes(src: Source) -> Check:
    """Household sizes against the census."""
    counts, n = _regular(src, "LEAST(size, 7)")
    published = reference.load().households.sizes
    return _tvd("household sizes", counts, {str(i + 1): float(s) for i, s in enumerate(published)}, n)


def _types(src: Source) -> Check:
    """Household types against the census."""
    counts, n = _regular(src, "household_type")
    hh = reference.load().households
    return _tvd("household types", counts, dict(zip(hh.types, map(float, hh.type_share))), n)


def _group_quarters(src: Source) -> Check:
    """Share of people in group quarters: households are drawn whole, so people count as n / deff with
    deff = sum(size^2) / sum(size) (see :func:`.statistical.design_effect`)."""
    rows = src.all(
        f"SELECT CASE WHEN is_group_quarters THEN household_type ELSE 'household' END, SUM(size) "
        f"FROM {quote('households')} GROUP BY 1"
    )
    counts = {str(k): float(v) for k, v in rows}
    hh = reference.load().households
    expected = dict(zip(hh.gq_types, map(float, hh.gq_share)))
    expected["household"] = 1.0 - sum(expected.values())
    people, squares = src.one(f"SELECT SUM(size)::DOUBLE, SUM(size * size)::DOUBLE FROM {quote('households')}")
    n_eff = people * people / squares if squares else None
    return _tvd("group quarters shares", counts, expected, int(sum(counts.values())), n_eff)


class Households(CheckGroup):
    """The households checks, as one registered group."""

    name = "households"
    order = 40

    def run(self, ctx: Run) -> list[Check]:
        return run(ctx.src)
