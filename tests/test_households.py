"""Households: census shares of sizes and types, members that agree with each other, relationships that resolve,
and minors without jobs or credit, on real generated populations at fixed seeds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.core.dates import age_on
from pii_gen.packs.person.reference import load

N = 60_000
AS_OF = GenerateConfig().as_of


@pytest.fixture(scope="module")
def pop() -> dict[str, pa.Table]:
    return PersonGenerator(GenerateConfig(seed=21)).generate(N)


def col(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def days(table: pa.Table, name: str) -> np.ndarray:
    return pc.cast(table.column(name), pa.int32()).to_numpy(zero_copy_only=False)


def test_sizes_and_types_follow_the_census(pop):
    hh = load().households
    h = pop["households"]
    regular = h.filter(pc.invert(h.column("is_group_quarters")))
    size = np.minimum(col(regular, "size"), 7)
    observed = np.bincount(size, minlength=8)[1:] / len(size)
    assert np.abs(observed - hh.sizes).max() < 0.015, (observed, hh.sizes)  # every size within 1.5 points
    types = col(regular, "household_type")
    shares = np.array([(types == t).mean() for t in hh.types])
    assert np.abs(shares - hh.type_share).max() < 0.015, (shares, hh.type_share)
    # People in group quarters: 2.5% of the population (2020 Census), by type within 0.3 points.
    people = h.filter(h.column("is_group_quarters"))
    for t, share in zip(hh.gq_types, hh.gq_share):
        got = pc.sum(people.filter(pc.equal(people.column("household_type"), t)).column("size")).as_py() or 0
        assert abs(got / N - share) < 0.003, (t, got / N, share)


def test_n_counts_people_and_households_hold_them_all():
    for n in (1, 7, 12_345):
        t = PersonGenerator(GenerateConfig(seed=2)).generate(n)
        assert t["persons"].num_rows == n
        assert pc.sum(t["households"].column("size")).as_py() == n


def test_members_are_consecutive_householder_first(pop):
    p, h = pop["persons"], pop["households"]
    pid, hid = col(p, "person_id"), col(p, "household_id")
    role = col(p, "household_role")
    # The household's key is its first member, the householder (or the group-quarters resident).
    assert (np.isin(role[pid == hid], ["householder", "resident"])).all()
    assert (np.isin(role[pid != hid], ["householder", "resident"], invert=True)).all()
    assert (np.diff(hid) >= 0).all() and (hid <= pid).all()
    sizes = dict(zip(col(h, "household_id").tolist(), col(h, "size").tolist()))
    ids, counts = np.unique(hid, return_counts=True)
    assert all(sizes[i] == c for i, c in zip(ids.tolist(), counts.tolist()))
    assert set(sizes) == set(ids.tolist())


def test_children_are_at_least_14_years_younger_than_each_parent(pop):
    p, r = pop["persons"], pop["relationships"]
    birth = dict(zip(col(p, "person_id").tolist(), days(p, "date_of_birth").tolist()))
    kids = r.filter(pc.is_in(r.column("relationship_type"), pa.array(["child", "adopted_child", "stepchild"])))
    parent = np.array([birth[i] for i in col(kids, "person_id").tolist()])
    child = np.array([birth[i] for i in col(kids, "related_person_id").tolist()])
    assert len(kids) > 0.2 * N
    assert ((child - parent) / 365.2425 >= 14).all()
    # Mothers' ages at birth stay within 15-50 for the children of women householders and spouses.
    female = {i for i, s in zip(col(p, "person_id").tolist(), col(p, "sex").tolist()) if s == "F"}
    mother = np.array([i in female for i in col(kids, "person_id").tolist()])
    gap = (child - parent)[mother] / 365.2425
    assert gap.min() >= 14 and gap.max() <= 51


def test_members_share_the_address_and_home_phone(pop):
    p, a, ph = pop["persons"], pop["addresses"], pop["phone_numbers"]
    household = dict(zip(col(p, "person_id").tolist(), col(p, "household_id").tolist()))
    home = a.filter(pc.equal(a.column("address_type"), "home"))
    assert home.num_rows == N  # everyone has exactly one current home
    key = list(zip(*(home.column(c).to_pylist() for c in ("street", "unit", "city", "zip_code", "latitude"))))
    at = dict(zip(col(home, "person_id").tolist(), key))
    assert all(at[i] == at[household[i]] for i in at)
    # The households table points at the householder's home row.
    addr_person = dict(zip(col(home, "address_id").tolist(), col(home, "person_id").tolist()))
    h = pop["households"]
    assert all(addr_person[x] == y for x, y in zip(col(h, "address_id").tolist(), col(h, "household_id").tolist()))
    # A landline is the household's: every member lists the householder's number, or nobody does.
    line = ph.filter(pc.equal(ph.column("phone_type"), "home"))
    number = dict(zip(col(line, "person_id").tolist(), col(line, "phone_number").tolist()))
    assert len(number) > 0.1 * N
    assert all(number.get(i) == number.get(household[i]) for i in household)


def test_relationships_resolve_pair_up_and_stay_in_the_household(pop):
    p, r = pop["persons"], pop["relationships"]
    household = dict(zip(col(p, "person_id").tolist(), col(p, "household_id").tolist()))
    a, b = col(r, "person_id").tolist(), col(r, "related_person_id").tolist()
    assert set(a) <= set(household) and set(b) <= set(household)
    assert all(household[x] == household[y] and x != y for x, y in zip(a, b))
    pairs = set(zip(a, b))
    assert all((y, x) in pairs for x, y in pairs)  # every link is recorded from both sides
    keys = col(r, "relationship_id")
    assert len(np.unique(keys)) == len(keys) and (np.diff(keys) > 0).all()
    kinds = set(r.column("relationship_type").to_pylist())
    assert {"spouse", "partner", "child", "parent", "stepchild", "adopted_child", "grandchild", "sibling",
            "roommate"} <= kinds  # fmt: skip


def test_couples_and_surnames(pop):
    p, r = pop["persons"], pop["relationships"]
    pid = col(p, "person_id")
    pos = {i: k for k, i in enumerate(pid.tolist())}
    sex, last = col(p, "sex"), col(p, "last_name")
    age = age_on(AS_OF, days(p, "date_of_birth"))
    married = r.filter(pc.equal(r.column("relationship_type"), "spouse"))
    married = married.filter(pc.less(married.column("person_id"), married.column("related_person_id")))
    x = np.array([pos[i] for i in col(married, "person_id").tolist()])
    y = np.array([pos[i] for i in col(married, "related_person_id").tolist()])
    in_household = np.isin(col(p, "household_role")[x], ["householder"])
    x, y = x[in_household], y[in_household]
    same_sex = sex[x] == sex[y]
    assert 0.002 < same_sex.mean() < 0.03  # 1.2% of married couples (ACS)
    husband = np.where(sex[x] == "M", x, y)[~same_sex]
    wife = np.where(sex[x] == "M", y, x)[~same_sex]
    gap = age[husband] - age[wife]
    assert 1.5 < gap.mean() < 3.0  # husbands are about 2.2 years older on average (CPS)
    shared = last[x] == last[y]
    assert 0.72 < shared.mean() < 0.88  # 80% share, 5% hyphenate, the rest keep their names
    hyphen = np.char.find(last[y].astype(str), "-") >= 0
    assert 0.02 < hyphen.mean() < 0.08
    # Children carry a parent's surname (a hyphenated parent passes on the own part).
    kids = r.filter(pc.is_in(r.column("relationship_type"), pa.array(["parent", "stepparent", "adoptive_parent"])))
    c = np.array([pos[i] for i in col(kids, "person_id").tolist()])
    q = np.array([pos[i] for i in col(kids, "related_person_id").tolist()])
    is_child = col(p, "household_role")[c] == "child"
    names: dict[int, set] = {}
    for ci, qi in zip(c[is_child].tolist(), q[is_child].tolist()):
        names.setdefault(ci, set()).update([last[qi], *last[qi].split("-")])
    assert len(names) > 0.15 * N
    assert all(last[ci] in s for ci, s in names.items())


def test_minors_have_no_job_credit_or_work_email(pop):
    p = pop["persons"]
    minors = col(p, "person_id")[age_on(AS_OF, days(p, "date_of_birth")) < 18]
    assert 0.19 * N < len(minors) < 0.25 * N
    assert not np.isin(col(pop["employments"], "person_id"), minors).any()
    assert not np.isin(col(pop["financial_profiles"], "person_id"), minors).any()
    e = pop["email_addresses"]
    work = e.filter(pc.equal(e.column("email_type"), "work"))
    assert not np.isin(col(work, "person_id"), minors).any()
    ph = pop["phone_numbers"]
    assert not np.isin(col(ph.filter(pc.equal(ph.column("phone_type"), "work")), "person_id"), minors).any()


def test_household_income_is_the_members_sum(pop):
    p, f, h = pop["persons"], pop["financial_profiles"], pop["households"]
    household = dict(zip(col(p, "person_id").tolist(), col(p, "household_id").tolist()))
    total: dict[int, int] = {}
    for i, income in zip(col(f, "person_id").tolist(), col(f, "annual_income").tolist()):
        total[household[i]] = total.get(household[i], 0) + income
    assert all(
        total.get(k, 0) == v for k, v in zip(col(h, "household_id").tolist(), col(h, "household_income").tolist())
    )
