"""The generated population honours the output contract and agrees with itself and the census tables."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.packs.person import identifiers as ids
from pii_gen.config import build_config
from pii_gen.errors import ConfigError
from pii_gen.core.dates import age_on
from pii_gen.packs.person.reference import data_dir
from pii_gen.packs.person.contract import TABLES

AS_OF = GenerateConfig().as_of


def col(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def days(table: pa.Table, name: str) -> np.ndarray:
    return pc.cast(table.column(name), pa.int32()).to_numpy(zero_copy_only=False)


def test_every_table_and_column_with_contract_types(population):
    assert set(population) == set(TABLES)
    for name, spec in TABLES.items():
        assert population[name].schema == spec.arrow_schema, name
        for c in spec.columns:
            if not c.nullable:
                assert population[name].column(c.name).null_count == 0, (name, c.name)
            if c.max_length:
                longest = pc.max(pc.utf8_length(population[name].column(c.name))).as_py() or 0
                assert longest <= c.max_length, (name, c.name, longest)
    assert population["persons"].num_rows == 20_000
    # Every adult has a financial profile; minors (children in households) have none.
    age = age_on(AS_OF, days(population["persons"], "date_of_birth"))
    assert population["financial_profiles"].num_rows == (age >= 18).sum()


def test_keys_unique_and_foreign_keys_resolve(population):
    persons = set(col(population["persons"], "person_id").tolist())
    assert persons == set(range(1, 20_001))
    for name, spec in TABLES.items():
        keys = col(population[name], spec.primary_key)
        assert len(np.unique(keys)) == len(keys), name
        for column, parent, parent_col in spec.foreign_keys:
            parent_keys = set(col(population[parent], parent_col).tolist())
            assert set(col(population[name], column).tolist()) <= parent_keys, name


def test_child_rows_come_in_key_order(population):
    for name, spec in TABLES.items():
        keys = col(population[name], spec.primary_key)
        assert (np.diff(keys) > 0).all(), name


@pytest.fixture(scope="module")
def zips():
    z = pq.read_table(data_dir() / "zip_codes.parquet")
    return {
        zc: (city, st, county)
        for zc, city, st, county in zip(*(z.column(c).to_pylist() for c in ("zip_code", "city", "state", "county")))
    }


def test_city_state_zip_county_agree(population, zips):
    a = population["addresses"]
    rows = zip(*(a.column(c).to_pylist() for c in ("zip_code", "city", "state", "county")))
    for zc, city, st, county in rows:
        ref_city, ref_state, ref_county = zips[zc]
        assert st == ref_state
        assert city.lower() == ref_city.lower()
        assert (county or "") == ref_county


def test_coordinates_near_the_zip(population):
    a = population["addresses"]
    lat = a.column("latitude").to_numpy(zero_copy_only=False)
    lat = lat[~np.isnan(lat.astype(float))]
    assert ((lat > 17) & (lat < 72)).all()  # the 50 states and DC lie between these latitudes


def test_phone_area_codes_belong_to_home_state(population):
    ac = pq.read_table(data_dir() / "area_codes.parquet")
    state_of = dict(zip(ac.column("area_code").to_pylist(), ac.column("state").to_pylist()))
    a = population["addresses"]
    home = a.filter(pc.equal(a.column("address_type"), "home"))
    home_state = dict(zip(home.column("person_id").to_pylist(), home.column("state").to_pylist()))
    p = population["phone_numbers"]
    for pid, number in zip(p.column("person_id").to_pylist(), p.column("phone_number").to_pylist()):
        assert state_of[number[:3]] == home_state[pid]


def test_first_names_fit_sex_and_birth_year(population):
    fn = pq.read_table(data_dir() / "first_names.parquet")
    given = set(zip(fn.column("name").to_pylist(), fn.column("sex").to_pylist(), fn.column("year").to_pylist()))
    p = population["persons"]
    # Children born after the SSA table's last year (2022) are named from that year's names.
    last = pc.max(fn.column("year")).as_py()
    years = [min(y, last) for y in pc.year(p.column("date_of_birth")).to_pylist()]
    rows = list(zip(p.column("first_name").to_pylist(), p.column("sex").to_pylist(), years))
    assert all((name, sex, year) in given for name, sex, year in rows)
    # And concretely: nobody born before 1960 is called Nevaeh (first recorded in 1999).
    assert not any(name == "Nevaeh" and year < 1990 for name, _, year in rows)


def test_ages_within_configured_range_and_dates_possible(population):
    p = population["persons"]
    age = age_on(AS_OF, days(p, "date_of_birth"))
    assert age.min() >= 0 and age.max() <= 90
    assert 37 <= age.mean() <= 41  # everyone 0-90: mean age about 39.5 (Census 2020, median 38.8)
    assert 0.20 <= (age < 18).mean() <= 0.24  # 22.1% under 18 (Census 2020)


def test_jobs_start_after_16_and_end_after_start(population):
    e = population["employments"]
    birth = dict(
        zip(col(population["persons"], "person_id").tolist(), days(population["persons"], "date_of_birth").tolist())
    )
    start = days(e, "start_date")
    end = e.column("end_date")
    b = np.array([birth[p] for p in col(e, "person_id").tolist()])
    assert ((start - b) / 365.2425 >= 16).all()
    finished = pc.is_valid(end).to_numpy(zero_copy_only=False)
    assert (pc.cast(end, pa.int32()).to_numpy(zero_copy_only=False)[finished] >= start[finished]).all()
    current = col(e, "is_current")
    assert (current == ~finished).all()
    # At most one current job per person.
    pid = col(e, "person_id")[current]
    assert len(np.unique(pid)) == len(pid)


def test_address_histories_do_not_overlap(population):
    a = population["addresses"]
    homes = a.filter(pc.is_in(a.column("address_type"), pa.array(["home", "previous"])))
    pid = col(homes, "person_id")
    start = days(homes, "valid_from")
    end = pc.fill_null(pc.cast(homes.column("valid_to"), pa.int32()), 10**6).to_numpy()
    assert (end >= start).all()
    same = pid[1:] == pid[:-1]
    # Rows are ordered newest first within a person: each earlier stay ends before the later begins.
    assert (end[1:][same] < start[:-1][same]).all()
    assert (col(homes, "address_type")[np.r_[True, ~same]] == "home").all()


def test_strict_identifiers_are_well_formed_yet_never_real(population):
    p = population["persons"]
    ssns = p.column("ssn").to_pylist()
    assert all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", s) for s in ssns)
    area, group, serial = (np.array(x) for x in zip(*[map(int, s.split("-")) for s in ssns]))
    assert not ids.ssn_is_issuable(area, group, serial).any()
    assert not ids.itin_shaped(area, group).any()
    assert len(set(ssns)) == len(ssns)
    assert "078-05-1120" not in ssns

    phones = population["phone_numbers"].column("phone_number").to_pylist()
    assert all(re.fullmatch(r"[2-9]\d\d-555-01\d\d", x) for x in phones)

    reserved = re.compile(r".*@([a-z0-9.-]+\.)?(example\.(com|net|org)|[a-z0-9-]+\.(example|test|invalid|localhost))$")
    emails = population["email_addresses"].column("email").to_pylist()
    assert all(reserved.fullmatch(e) for e in emails)
    assert all(re.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+", e) for e in emails)

    f = population["financial_profiles"]
    cards = np.array([[int(c) for c in x] for x in f.column("credit_card_number").to_pylist()])
    assert ids.luhn_valid(cards).all() and (cards[:, 0] == 0).all()
    routing = np.array([[int(c) for c in x] for x in f.column("routing_number").to_pylist()])
    assert ids.aba_valid(routing).all()
    assert set(routing[:, 0] * 10 + routing[:, 1]) <= set(ids.STRICT_ROUTING_PREFIXES)


def test_realistic_mode_is_structurally_real(realistic_population):
    p = realistic_population["persons"]
    area, group, serial = (np.array(x) for x in zip(*[map(int, s.split("-")) for s in p.column("ssn").to_pylist()]))
    assert ids.ssn_is_issuable(area, group, serial).all()
    phones = realistic_population["phone_numbers"].column("phone_number").to_pylist()
    assert sum("-555-01" in x for x in phones) < len(phones) * 0.01
    domains = {e.split("@")[1] for e in realistic_population["email_addresses"].column("email").to_pylist()}
    assert "gmail.com" in domains


def test_minor_and_age_range_configurable():
    cfg = GenerateConfig(seed=3, demographics={"min_age": 30, "max_age": 40}, households={"enabled": False})
    p = PersonGenerator(cfg).generate(3_000)["persons"]
    age = age_on(cfg.as_of, days(p, "date_of_birth"))
    assert age.min() >= 30 and age.max() <= 40
    assert (col(p, "household_id") == col(p, "person_id")).all()  # without households everyone lives alone


def test_households_need_the_full_age_range():
    with pytest.raises(ConfigError, match="households.enabled: false"):
        build_config({"demographics": {"min_age": 18}})


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def test_documented_correlations(population):
    """The README quotes these strengths (Pearson r at seed 7, 20,000 people)."""
    p, f = population["persons"], population["financial_profiles"]
    # Over adults: minors have no financial profile (the README's figures are for adults too).
    p = p.filter(pc.is_in(p.column("person_id"), f.column("person_id")))
    assert (col(p, "person_id") == col(f, "person_id")).all()
    age = age_on(AS_OF, days(p, "date_of_birth")).astype(float)
    income = col(f, "annual_income").astype(float)
    score = col(f, "credit_score").astype(float)
    log_income = np.log1p(income)
    working = age < 62
    # Age and income: positive over working ages.
    assert 0.05 < _corr(age[working], log_income[working]) < 0.5
    # Income and credit score: positive.
    assert 0.2 < _corr(log_income, score) < 0.7
    # Age and credit score: positive.
    assert 0.15 < _corr(age, score) < 0.6
    # Education and income: positive among the employed.
    edu_rank = {"Less than high school": 0, "High school": 1, "Some college": 2, "Associate degree": 3,
                "Bachelor's degree": 4, "Graduate degree": 5}  # fmt: skip
    edu = np.array([edu_rank[e] for e in p.column("education").to_pylist()], dtype=float)
    e = population["employments"]
    cur = e.filter(e.column("is_current"))
    employed = np.isin(col(p, "person_id"), col(cur, "person_id"))
    assert 0.2 < _corr(edu[employed], log_income[employed]) < 0.7
    # Credit scores stay within FICO's range with a realistic centre.
    assert score.min() >= 300 and score.max() <= 850
    assert 680 <= score.mean() <= 730


def test_deterministic_and_seed_sensitive():
    a = PersonGenerator(GenerateConfig(seed=11)).generate(12_000)
    b = PersonGenerator(GenerateConfig(seed=11)).generate(12_000)
    c = PersonGenerator(GenerateConfig(seed=12)).generate(12_000)
    for name in TABLES:
        assert a[name].equals(b[name]), name
    assert not a["persons"].equals(c["persons"])


def test_batches_do_not_change_output():
    gen = PersonGenerator(GenerateConfig(seed=5))
    whole = gen.generate(25_000)
    for batch_size in (10_000, 17_000):
        parts = list(gen.iter_batches(25_000, batch_size))
        for name in TABLES:
            assert pa.concat_tables([p[name] for p in parts]).equals(whole[name]), (name, batch_size)


ALONE = {"households": {"enabled": False}}
EDGE_CONFIGS = {
    "nobody over 12": {**ALONE, "demographics": {"min_age": 0, "max_age": 12}},  # no e-mail, job, card
    "newborns only": {**ALONE, "demographics": {"min_age": 0, "max_age": 0}},
    "nobody employed": {**ALONE, "demographics": {"min_age": 13, "max_age": 17}},  # phones, but no work or card
    "no optional rows": {
        "address": {"max_previous": 0, "unit_rate": 0, "po_box_rate": 0, "military_rate": 0, "shipping_rate": 0},
        "contact": {"home_phone_rate": 0, "work_phone_rate": 0, "work_email_rate": 0},
    },
    "default": {},
}


@pytest.mark.parametrize("n", [0, 1, 2, 300])
@pytest.mark.parametrize("edge", EDGE_CONFIGS)
def test_empty_columns_generate_and_validate(tmp_path, edge, n):
    """Populations where whole tables or columns come out empty generate, keep the contract and validate."""
    from pii_gen import api
    from pii_gen.validate import validate

    cfg = GenerateConfig(seed=4, count=n, out=tmp_path / "out", workers=1, quiet=True, **EDGE_CONFIGS[edge])
    t = PersonGenerator(cfg).generate(n)
    for name, spec in TABLES.items():
        assert t[name].schema == spec.arrow_schema, name
    p = t["persons"]
    age = age_on(AS_OF, days(p, "date_of_birth"))
    d = cfg.demographics
    assert p.num_rows == n and ((age >= d.min_age) & (age <= d.max_age)).all()
    assert col(t["households"], "size").sum() == n
    assert t["addresses"].num_rows >= n  # everyone has a home
    adult = set(col(p, "person_id")[age >= 18].tolist())
    assert set(col(t["financial_profiles"], "person_id").tolist()) == adult  # a card per adult, none for minors
    assert set(col(t["employments"], "person_id").tolist()) <= adult
    over_12 = set(col(p, "person_id")[age >= 13].tolist())
    assert set(col(t["email_addresses"], "person_id").tolist()) <= over_12
    mobile = t["phone_numbers"].filter(pc.equal(t["phone_numbers"].column("phone_type"), "mobile"))
    assert set(col(mobile, "person_id").tolist()) <= over_12
    if not cfg.households.enabled:
        assert t["households"].num_rows == n and t["relationships"].num_rows == 0
    if d.max_age <= 12:
        assert t["email_addresses"].num_rows == t["employments"].num_rows == t["financial_profiles"].num_rows == 0
    if d.max_age < 18:
        assert t["employments"].num_rows == t["financial_profiles"].num_rows == 0

    api.generate(cfg)
    r = validate(cfg.out)
    assert r.rows["persons"] == n
    assert r.ok and r.failed == [], [(c.name, c.figure) for c in r.failed]
    if n and d.max_age < 18:
        assert r.check("statistical", "occupation mix").status == "skip"  # no jobs: nothing to compare
    if not cfg.households.enabled:  # everyone lives alone by design, so the census's sizes do not apply
        assert r.check("households", "household sizes").status == "skip"
    if n == 300:
        from pii_gen.validate.html import render

        assert "<table>" in render(r)  # plots of empty tables draw too
