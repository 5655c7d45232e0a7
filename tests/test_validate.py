"""``pii_gen validate``: clean output passes, and each deliberately broken dataset fails the right check.

A clean 20,000-person Parquet dataset (seed 7) is generated once; every broken dataset is a copy of it
with one defect written in with pyarrow, so a failing check can only come from that defect.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from servers import server_url

from pii_gen import GenerateConfig, api
from pii_gen.errors import ConfigError
from pii_gen.packs.person.reference import data_dir
from pii_gen.packs.person.contract import TABLES
from pii_gen.validate import validate
from pii_gen.validate.noise import tolerance

ROOT = Path(__file__).resolve().parents[1]
N = 20_000


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True, timeout=600, **kw
    )


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """20,000 people, seed 7, strict mode, as Parquet."""
    out = tmp_path_factory.mktemp("clean") / "people"
    api.generate(GenerateConfig(count=N, seed=7, out=out, format="parquet", workers=1, quiet=True))
    return out


@pytest.fixture(scope="module")
def clean_report(clean):
    return validate(clean)


def variant(
    clean: Path,
    dest: Path,
    tables: dict[str, pa.Table | None] | None = None,
    manifest: dict | None = None,
    restamp: bool = True,
) -> Path:
    """A copy of the clean folder with some tables replaced (None: the file removed) and the manifest edited.

    With ``restamp`` the manifest records the new files' sizes and CRC-32s, as if the generator had written the
    defect, so only the check for that defect sees it; without, the files look edited in place.
    """
    shutil.copytree(clean, dest)
    manifest = manifest if manifest is not None else json.loads((clean / "manifest.json").read_text())
    for name, table in (tables or {}).items():
        path = dest / f"{name}.parquet"
        path.unlink(missing_ok=True)
        if table is not None:
            pq.write_table(table, path)
            if restamp and path.name in manifest.get("files", {}):
                data = path.read_bytes()
                manifest["files"][path.name].update(bytes=len(data), crc32=f"{zlib.crc32(data):08x}")
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return dest


def read(clean: Path, name: str) -> pa.Table:
    return pq.read_table(clean / f"{name}.parquet")


def replace(table: pa.Table, column: str, values: pa.Array | list) -> pa.Table:
    """``table`` with ``column``'s values replaced (nullable, so noise can empty it)."""
    i = table.schema.get_field_index(column)
    field = table.schema.field(i).with_nullable(True)
    return table.set_column(i, field, pa.array(values, field.type))


def test_clean_dataset_scores_at_least_95(clean_report):
    r = clean_report
    assert r.rows["persons"] == N
    assert r.score >= 95, [(c.name, c.status, c.figure) for c in r.checks if c.status != "pass"]
    assert r.failed == [] and r.ok
    assert {c.group for c in r.checks} == {"structural", "values", "statistical", "households", "noise"}
    # Ages come from households, which reproduce the pyramid to about 0.033 (see statistical.TVD_THRESHOLDS).
    assert r.check("statistical", "age/sex pyramid").metrics["tvd"] < 0.045
    assert all(c.status == "pass" for c in r.checks if c.group == "households")
    assert r.check("statistical", "state shares").metrics["tvd"] < 0.03
    assert 0.5 < r.check("statistical", "correlation log income - credit score").metrics["r"] < 0.65
    assert r.check("values", "SSN structure and non-issuability").metrics == {
        "violations": 0,
        "total": N,
        "malformed": 0,
        "issuable": 0,
        "area_9xx": 0,
        "known_misused": 0,
    }
    assert r.check("noise", "noise").status == "skip"


def test_orphaned_foreign_keys_fail_the_foreign_key_check(clean, tmp_path):
    addr = read(clean, "addresses")
    pid = addr.column("person_id").to_numpy().copy()
    pid[:37] += 10**9  # 37 addresses of people who do not exist
    r = validate(variant(clean, tmp_path / "d", {"addresses": replace(addr, "person_id", pid)}))
    c = r.check("structural", "addresses: person_id -> persons")
    assert c.status == "fail" and c.metrics["violations"] == 37
    assert r.check("structural", "phone_numbers: person_id -> persons").status == "pass"
    assert not r.ok


def test_duplicated_keys_fail_the_primary_key_check(clean, tmp_path):
    persons = read(clean, "persons")
    doubled = pa.concat_tables([persons, persons.slice(100, 12)])
    r = validate(variant(clean, tmp_path / "d", {"persons": doubled}))
    c = r.check("structural", "persons: primary key person_id")
    assert c.status == "fail" and c.metrics["duplicates"] == 12 and c.metrics["nulls"] == 0
    rows = r.check("structural", "row counts match the manifest")
    assert rows.status == "fail" and rows.metrics["rows"]["persons"] == N + 12
    assert r.check("values", "SSN unique per person").metrics["violations"] == 12


def test_zips_moved_to_the_wrong_state_fail_the_place_check(clean, tmp_path):
    addr = read(clean, "addresses")
    state = np.array(addr.column("state").to_pylist(), dtype=object)
    moved = np.flatnonzero(state != "AA")[:250]
    state[moved] = np.where(state[moved] == "TX", "OK", "TX")
    r = validate(variant(clean, tmp_path / "d", {"addresses": replace(addr, "state", state.tolist())}))
    c = r.check("values", "ZIP / city / state / county agree")
    assert c.status == "fail"
    assert c.metrics["wrong_state"] == 250 and c.metrics["wrong_city"] == 0 and c.metrics["unknown_zip"] == 0
    assert r.check("values", "coordinates near the ZIP").status == "pass"


def test_ages_skewed_young_fail_the_age_pyramid(clean, tmp_path):
    persons = read(clean, "persons")
    dob = persons.column("date_of_birth").to_numpy().astype("datetime64[D]")
    young = np.arange(len(dob)) % 2 == 0  # half the people made 18-24 years old
    rng = np.random.default_rng(1)
    new = np.datetime64("2026-01-01") - (rng.uniform(18.1, 24.9, len(dob)) * 365.25).astype("timedelta64[D]")
    dob = np.where(young, new, dob)
    r = validate(variant(clean, tmp_path / "d", {"persons": replace(persons, "date_of_birth", dob)}))
    c = r.check("statistical", "age/sex pyramid")
    assert c.status == "fail" and c.metrics["tvd"] > 0.2
    assert r.check("values", "birth dates in range").status == "pass"  # every age is still possible
    assert r.check("statistical", "race/ethnicity shares").status == "pass"


@pytest.mark.parametrize("n", [200, 1000, 3000, 20_000])
def test_clean_runs_of_any_size_and_seed_pass(tmp_path, n):
    # Members of a household share a state, a surname and a race: the allowance counts households, not people.
    for seed in range(5):
        out = tmp_path / f"seed{seed}"
        api.generate(GenerateConfig(count=n, seed=seed, out=out, format="parquet", workers=1, quiet=True))
        r = validate(out)
        assert r.ok and r.failed == [], (seed, [(c.name, c.figure, c.threshold) for c in r.failed])
        states = r.check("statistical", "state shares").metrics
        assert 2.0 < states["design_effect"] < 4.5 and states["effective_n"] < n / 2


def test_default_generate_then_validate_exits_0(tmp_path):
    out = tmp_path / "people"
    assert cli("generate", "-n", "1000", "--seed", "0", "--out", str(out), "--quiet").returncode == 0
    r = cli("validate", str(out), "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr


def test_state_design_effect_is_the_people_weighted_household_size(clean_report, clean):
    # Every member lives at the householder's home, so each household is one draw of a state weighing its size.
    size = read(clean, "households").column("size").to_numpy().astype(np.float64)
    states = clean_report.check("statistical", "state shares").metrics
    assert states["design_effect"] == pytest.approx((size**2).sum() / size.sum(), abs=1e-3)
    assert states["effective_n"] == pytest.approx(N / states["design_effect"], rel=1e-3)
    # First names are drawn per person: siblings almost never share one.
    assert clean_report.check("statistical", "first-name frequencies").metrics["design_effect"] < 1.05


def _households_picked(persons: pa.Table, share: float) -> np.ndarray:
    """People of a fixed pseudo-random ``share`` of the households (whole households, as they are drawn)."""
    household = persons.column("household_id").to_numpy()
    return (household * 2654435761 % 1000) < share * 1000


def test_household_level_skews_still_fail(clean, tmp_path):
    persons, addr = read(clean, "persons"), read(clean, "addresses")
    picked = persons.column("person_id").to_numpy()[_households_picked(persons, 0.10)]
    homes = np.array(addr.column("address_type").to_pylist()) == "home"
    moved = homes & np.isin(addr.column("person_id").to_numpy(), picked)  # a tenth of the households to Wyoming
    state = np.where(moved, "WY", np.array(addr.column("state").to_pylist(), dtype=object))
    r = validate(variant(clean, tmp_path / "states", {"addresses": replace(addr, "state", state.tolist())}))
    c = r.check("statistical", "state shares")
    assert c.status == "fail" and c.metrics["tvd"] > 0.09, c.figure
    last = np.where(_households_picked(persons, 0.08), "Smith", np.array(persons.column("last_name").to_pylist()))
    r = validate(variant(clean, tmp_path / "surnames", {"persons": replace(persons, "last_name", last.tolist())}))
    assert r.check("statistical", "surname frequencies").status == "fail"
    race = np.where(_households_picked(persons, 0.20), "White", np.array(persons.column("race_ethnicity").to_pylist()))
    r = validate(variant(clean, tmp_path / "race", {"persons": replace(persons, "race_ethnicity", race.tolist())}))
    assert r.check("statistical", "race/ethnicity shares").status == "fail"


def test_sampling_allowance_covers_chance_and_no_more():
    from pii_gen.validate.model import sampling_allowance, sampling_tvd

    rng = np.random.default_rng(0)
    race = np.array([0.5784, 0.1205, 0.0068, 0.0611, 0.046, 0.1873])  # six cells: a widely spread TVD
    many = rng.dirichlet(np.ones(51))  # fifty-one cells: a narrow one
    for q in (race, many):
        for n in (10, 74, 1000):
            tvd = 0.5 * np.abs(rng.multinomial(n, q, size=100_000) / n - q).sum(axis=1)
            allowance = sampling_allowance(q.tolist(), n)
            assert (tvd > allowance).mean() < 2e-4, (len(q), n)
            assert allowance < np.quantile(tvd, 0.99) * 2  # chance, not mush
    # 1.5 times the mean, the old allowance, was exceeded by about one clean sample of six cells in ten.
    tvd = 0.5 * np.abs(rng.multinomial(74, race, size=100_000) / 74 - race).sum(axis=1)
    assert (tvd > 1.5 * sampling_tvd(race.tolist(), 74)).mean() > 0.05


def test_broken_households_fail_their_checks(clean, tmp_path):
    persons, rel, addr, hh = (read(clean, t) for t in ("persons", "relationships", "addresses", "households"))
    role = np.array(persons.column("household_role").to_pylist(), dtype=object)
    spouses = np.flatnonzero(role == "spouse")[:9]
    role[spouses] = "householder"  # nine households with two householders
    kids = np.flatnonzero(role == "child")[:11]
    dob = persons.column("date_of_birth").to_numpy().astype("datetime64[D]").copy()
    head_dob = dict(zip(persons.column("person_id").to_pylist(), dob))
    hid = persons.column("household_id").to_numpy()
    dob[kids] = np.array([head_dob[h] for h in hid[kids]]) + np.timedelta64(3000, "D")  # born at ~8 to a parent
    broken_persons = replace(replace(persons, "household_role", role.tolist()), "date_of_birth", dob)
    street = np.array(addr.column("street").to_pylist(), dtype=object)
    moved = np.flatnonzero(
        (np.array(addr.column("address_type").to_pylist()) == "home")
        & np.isin(addr.column("person_id"), persons.column("person_id").to_numpy()[kids])
    )[:13]
    street[moved] = "1 Elsewhere St"  # eleven members whose home is not the household's
    related = rel.column("related_person_id").to_numpy().copy()
    related[:5] += 10**9  # five relationships to nobody
    size = hh.column("size").to_numpy().copy()
    size[:] = 1  # every household of one person
    income = hh.column("household_income").to_numpy().copy()
    income[:17] += 1
    r = validate(
        variant(
            clean,
            tmp_path / "d",
            {
                "persons": broken_persons,
                "addresses": replace(addr, "street", street.tolist()),
                "relationships": replace(rel, "related_person_id", related),
                "households": replace(replace(hh, "size", size), "household_income", income),
            },
        )
    )
    assert r.check("households", "one householder per household").metrics["violations"] == 9
    assert r.check("households", "members share the household's address").metrics["violations"] == 11
    gap = r.check("households", "parents at least 14 years older")
    assert gap.status == "fail" and gap.metrics["violations"] >= 11
    assert r.check("households", "relationships join members of one household").metrics["violations"] == 5
    assert r.check("structural", "relationships: related_person_id -> persons").metrics["violations"] == 5
    assert r.check("households", "household income is the members' sum").metrics["violations"] == 17
    assert r.check("households", "household sizes").status == "fail"
    assert r.check("households", "household types").status == "pass"
    assert not r.ok


REALISM_CHECKS = (
    ("values", "occupations fit education and age"),
    ("values", "salaries within 2.5x their occupation's 90th percentile"),
    ("values", "marital status possible for the age"),
    ("statistical", "employment rate by 65+ age band"),
    ("statistical", "salary medians vs OEWS by occupation group"),
)


def _ages(persons: pa.Table) -> np.ndarray:
    dob = persons.column("date_of_birth").to_numpy().astype("datetime64[D]")
    return ((np.datetime64("2026-01-01") - dob).astype(int) // 365.2425).astype(int)  # as_of of the clean run


def test_realism_checks_pass_on_clean_output(clean_report):
    for group, name in REALISM_CHECKS:
        assert clean_report.check(group, name).status == "pass", clean_report.check(group, name).figure
    fit = clean_report.check("values", "occupations fit education and age")
    assert fit.metrics["total"] > 50_000 and 0 < fit.metrics["one_level_below"] < 0.1 * fit.metrics["total"]
    bands = clean_report.check("statistical", "employment rate by 65+ age band").metrics["bands"]
    assert bands["65-69"]["observed"] > bands["70-74"]["observed"] > bands["75+"]["observed"]
    salaries = clean_report.check("statistical", "salary medians vs OEWS by occupation group")
    assert 0.97 < salaries.metrics["overall"] < 1.03


def test_high_school_physician_at_19_fails_the_occupation_check(clean, tmp_path):
    persons, jobs = read(clean, "persons"), read(clean, "employments")
    education = np.array(persons.column("education").to_pylist())
    high_school = persons.column("person_id").to_numpy()[education == "High school"]
    pid = jobs.column("person_id").to_numpy()
    rows = np.flatnonzero(np.isin(pid, high_school))[:7]
    code = np.array(jobs.column("occupation_code").to_pylist(), dtype=object)
    code[rows] = "29-1215"  # family medicine physicians: a doctoral or professional degree, from 26 on
    start = jobs.column("start_date").to_numpy().astype("datetime64[D]").copy()
    dob = dict(zip(persons.column("person_id").to_pylist(), persons.column("date_of_birth").to_numpy()))
    start[rows[:3]] = np.array([dob[i] for i in pid[rows[:3]]]).astype("datetime64[D]") + np.timedelta64(19 * 366, "D")
    broken = replace(replace(jobs, "occupation_code", code.tolist()), "start_date", start)
    r = validate(variant(clean, tmp_path / "d", {"employments": broken}))
    c = r.check("values", "occupations fit education and age")
    assert c.status == "fail" and c.metrics["violations"] == 7
    assert c.metrics["below_education"] == 7 and c.metrics["too_young"] >= 3 and c.metrics["unknown_occupation"] == 0
    assert not r.ok


def test_far_tail_salaries_and_inflated_medians_fail_the_salary_checks(clean, tmp_path):
    jobs = read(clean, "employments")
    salary = jobs.column("annual_salary").to_numpy().astype(np.int64).copy()
    code = np.array(jobs.column("occupation_code").to_pylist())
    transport = np.char.startswith(code.astype(str), "53-")
    oews = pq.read_table(data_dir() / "occupations.parquet")
    p90 = dict(zip(oews.column("soc_code").to_pylist(), oews.column("wage_p90").to_pylist()))
    far = np.flatnonzero(~transport)[:4]
    salary[far] = [3 * p90[c] for c in code[far]]  # four salaries three times their occupation's 90th percentile
    salary[transport] = (salary[transport] * 1.4).astype(np.int64)  # a whole occupation group paid 40% over OEWS
    r = validate(variant(clean, tmp_path / "d", {"employments": replace(jobs, "annual_salary", salary.tolist())}))
    cap = r.check("values", "salaries within 2.5x their occupation's 90th percentile")
    assert cap.status == "fail" and cap.metrics["violations"] >= 4 and cap.metrics["max_ratio"] >= 3.0
    medians = r.check("statistical", "salary medians vs OEWS by occupation group")
    assert medians.status == "fail" and medians.metrics["groups"]["53"]["ratio"] > 1.3
    assert medians.metrics["groups"]["43"]["ratio"] < 1.1


def test_divorced_minors_fail_the_marital_check(clean, tmp_path):
    persons = read(clean, "persons")
    age = _ages(persons)
    status = np.array(persons.column("marital_status").to_pylist(), dtype=object)
    status[np.flatnonzero((age >= 16) & (age <= 17))[:5]] = "Divorced"
    status[np.flatnonzero(age < 10)[:2]] = "Married"
    r = validate(variant(clean, tmp_path / "d", {"persons": replace(persons, "marital_status", status.tolist())}))
    c = r.check("values", "marital status possible for the age")
    assert c.status == "fail" and c.metrics["violations"] == 7
    assert c.metrics["under_15"] == 2 and c.metrics["minors_separated_divorced_widowed"] == 5


def test_flat_employment_past_65_fails_the_band_check(clean, tmp_path):
    persons, jobs = read(clean, "persons"), read(clean, "employments")
    old = persons.column("person_id").to_numpy()[_ages(persons) >= 75]
    current = jobs.column("is_current").to_numpy(zero_copy_only=False) | np.isin(jobs.column("person_id"), old)
    r = validate(variant(clean, tmp_path / "d", {"employments": replace(jobs, "is_current", current.tolist())}))
    c = r.check("statistical", "employment rate by 65+ age band")
    assert c.status == "fail" and c.metrics["bands"]["75+"]["observed"] > 0.3
    assert abs(c.metrics["bands"]["65-69"]["observed"] - c.metrics["bands"]["65-69"]["expected"]) < 0.03


def test_real_looking_ssn_fails_in_strict_mode(clean, tmp_path):
    persons = read(clean, "persons")
    ssn = persons.column("ssn").to_pylist()
    ssn[10], ssn[20], ssn[30] = "123-45-6789", "412-73-0518", "9xx-00-0000"
    r = validate(variant(clean, tmp_path / "d", {"persons": replace(persons, "ssn", ssn)}))
    c = r.check("values", "SSN structure and non-issuability")
    assert c.status == "fail"
    assert (c.metrics["issuable"], c.metrics["malformed"], c.metrics["violations"]) == (2, 1, 3)
    assert r.check("values", "SSN unique per person").status == "pass"
    assert not r.ok


def test_dropped_column_fails_the_columns_check(clean, tmp_path):
    persons = read(clean, "persons").drop_columns(["ssn"])
    r = validate(variant(clean, tmp_path / "d", {"persons": persons}))
    c = r.check("structural", "persons: columns and types")
    assert c.status == "fail" and c.metrics["missing"] == ["ssn"]
    assert r.check("structural", "addresses: columns and types").status == "pass"
    assert r.check("values", "persons: ssn").status == "skip"  # the SSN checks cannot run
    assert not r.ok


def test_missing_table_and_strict_identifiers(clean, tmp_path):
    fin = read(clean, "financial_profiles")
    cards = fin.column("credit_card_number").to_pylist()
    cards[5] = "4111111111111111"  # a live Visa test number: Luhn-valid but an issuer prefix
    cards[6] = cards[6][:-1] + str((int(cards[6][-1]) + 1) % 10)  # check digit broken
    emails = read(clean, "email_addresses")
    mail = emails.column("email").to_pylist()
    mail[3] = "someone@gmail.com"
    mail[4] = "not an address"
    r = validate(
        variant(
            clean,
            tmp_path / "d",
            {
                "phone_numbers": None,
                "financial_profiles": replace(fin, "credit_card_number", cards),
                "email_addresses": replace(emails, "email", mail),
            },
        )
    )
    assert r.check("structural", "tables present").metrics["missing"] == ["phone_numbers"]
    card = r.check("values", "card Luhn and prefix policy")
    assert (card.status, card.metrics["luhn_invalid"], card.metrics["wrong_prefix"]) == ("fail", 1, 1)
    assert r.check("values", "e-mail syntax").metrics["violations"] == 1
    assert r.check("values", "e-mail domain policy").metrics["violations"] == 2


def test_csv_type_errors_are_counted_per_column(tmp_path):
    out = tmp_path / "csv"
    api.generate(GenerateConfig(count=3000, seed=2, out=out, format="csv", workers=1, quiet=True))
    text = (out / "persons.csv").read_text().splitlines(keepends=True)
    text[5] = re.sub(r"\d{4}-\d{2}-\d{2}", "1965-13-45", text[5])  # an impossible birth date
    text[6] = text[6].replace(text[6].split(",")[0], "x7", 1)  # a person_id that is no integer
    (out / "persons.csv").write_text("".join(text))
    r = validate(out)
    c = r.check("structural", "persons: columns and types")
    assert c.status == "fail" and c.metrics["type_errors"] == {"person_id": 1, "date_of_birth": 1}
    assert r.check("structural", "persons: primary key person_id").metrics["nulls"] == 1


def test_values_edited_in_place_fail_the_checksums(clean, tmp_path):
    out = tmp_path / "csv"
    api.generate(GenerateConfig(count=2000, seed=2, out=out, format="csv", workers=1, quiet=True))
    assert validate(out).score == 100
    text = (out / "financial_profiles.csv").read_text()
    row = text.splitlines()[7]
    edited = row.replace(",7", ",6", 1) if ",7" in row else row.replace(",6", ",7", 1)  # same length, one digit
    assert edited != row
    (out / "financial_profiles.csv").write_text(text.replace(row, edited, 1))
    r = validate(out)
    c = r.check("structural", "files match the manifest's checksums")
    assert c.status == "fail" and c.metrics["mismatched"] == ["financial_profiles.csv"]
    assert c.figure.startswith("financial_profiles.csv: CRC-32 ") and r.score < 100 and not r.ok
    assert [c.name for c in r.failed] == ["files match the manifest's checksums"]  # a credit score, still in range
    # A Parquet file rewritten with other values, and a file gone, are named too.
    persons = read(clean, "persons")
    changed = replace(persons, "first_name", ["Ann"] + persons.column("first_name").to_pylist()[1:])
    r = validate(variant(clean, tmp_path / "d", {"persons": changed, "relationships": None}, restamp=False))
    c = r.check("structural", "files match the manifest's checksums")
    assert c.status == "fail" and c.metrics["mismatched"] == ["persons.parquet", "relationships.parquet"]
    assert "relationships.parquet: missing" in c.figure


def _noisy(clean: Path, dest: Path, logged_typos: float, unlogged_nulls: int = 0) -> Path:
    """The clean data with hand-made noise: typos and missing first names, logged as the noise format says."""
    persons = read(clean, "persons")
    n = persons.num_rows
    rng = np.random.default_rng(3)
    typo = rng.random(n) < 0.02
    missing = ~typo & (rng.random(n) < 0.01)
    first = np.array(persons.column("first_name").to_pylist(), dtype=object)
    original = first.copy()
    first[typo] = [s[::-1] for s in first[typo]]
    first[missing] = None
    logged = typo & (rng.random(n) < logged_typos)
    ids = persons.column("person_id").to_numpy()
    log = pa.table(
        {
            "table_name": ["persons"] * int(logged.sum() + missing.sum()),
            "record_id": np.concatenate([ids[logged], ids[missing]]),
            "column_name": ["first_name"] * int(logged.sum() + missing.sum()),
            "noise_type": ["typo"] * int(logged.sum()) + ["missing"] * int(missing.sum()),
            "variant": ["reversal"] * int(logged.sum()) + ["null"] * int(missing.sum()),
            "original_value": np.concatenate([original[logged], original[missing]]).tolist(),
        }
    )
    last = persons.column("last_name").to_pylist()
    for i in range(unlogged_nulls):  # damage the noise log does not account for
        last[1000 + i] = None
    persons = replace(persons, "last_name", last)
    manifest = json.loads((clean / "manifest.json").read_text())
    rates = {"persons.first_name": {"typo": 0.02, "missing": 0.01}}
    manifest["config"]["noise"] = {
        "profile": "realistic",
        "log": True,
        "columns": rates,
        "duplicates": {"rate": 0.0, "max_variants": 2},
    }
    manifest["noise"] = {"rates": rates}
    return variant(clean, dest, {"persons": replace(persons, "first_name", first.tolist()), "noise_log": log}, manifest)


def test_noise_rates_match_the_configured_ones(clean, tmp_path):
    r = validate(_noisy(clean, tmp_path / "d", logged_typos=1.0))
    typo, missing = r.check("noise", "typo rate"), r.check("noise", "missing rate")
    assert typo.status == "pass" and missing.status == "pass", (typo.figure, missing.figure)
    cell = typo.metrics["columns"][0]
    assert cell["column"] == "persons.first_name" and abs(cell["observed_rate"] - 0.02) < 0.003
    assert r.check("noise", "noise log records exist").status == "pass"
    # The logged missing values are left out of the null check, so it stays clean.
    assert r.check("structural", "persons: required columns non-null").status == "pass"
    assert r.failed == []


@pytest.mark.parametrize("profile", ["realistic", "heavy"])
def test_real_noisy_output_passes_every_noise_check(tmp_path, profile):
    out = tmp_path / profile
    config = GenerateConfig(
        count=N, seed=3, out=out, format="parquet", workers=1, quiet=True, noise={"profile": profile}
    )
    api.generate(config)
    r = validate(out)
    noise = {c.name: c for c in r.checks if c.group == "noise"}
    expected = {"noise log records exist", "duplicate rate", "typo rate", "name_variant rate", "missing rate",
                "format rate", "wrong_value rate", "outlier rate"}  # fmt: skip
    assert expected <= set(noise)
    assert [(c.name, c.figure) for c in noise.values() if c.status != "pass"] == []
    # What noise breaks on purpose is a warning, never a failure.
    assert r.failed == [], [(c.name, c.figure) for c in r.failed]


def test_noise_rates_far_from_configured_fail(clean, tmp_path):
    r = validate(_noisy(clean, tmp_path / "d", logged_typos=0.5, unlogged_nulls=4))  # typo rate ~1% for 2%
    typo = r.check("noise", "typo rate")
    assert typo.status == "fail" and 0.007 < typo.metrics["columns"][0]["observed_rate"] < 0.013
    assert r.check("noise", "missing rate").status == "pass"
    nulls = r.check("structural", "persons: required columns non-null")  # noise applied: a warning, not a failure
    assert nulls.status == "warn" and nulls.metrics["nulls"] == {"last_name": 4}
    assert not r.ok


def test_noise_tolerance_is_relative_or_binomial():
    assert tolerance(4000, 200_000) == pytest.approx(400)  # 10% of a large count
    assert tolerance(4, 200) == pytest.approx(3 * np.sqrt(200 * 0.02 * 0.98) + 1)  # small counts: 3 sd + 1


class Page(HTMLParser):
    """What a browser would find in the page: its images' sources, its tables, and unclosed tags."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.tables = 0
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        self.tables += tag == "table"
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()


class Document(HTMLParser):
    """The page as a reader meets it: headings and tables in order, each table's rows of cell texts, image alts."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.alts: list[str] = []
        self._heading: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "h2":
            self._heading = ""
        elif tag == "table":
            self.tables.append([])
            self.order.append(f"table {len(self.tables) - 1}")
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.alts.append(dict(attrs)["alt"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self.order.append(f"h2 {self._heading}")
            self._heading = None
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)


def test_reports_put_failures_first_and_name_soc_groups(clean, tmp_path):
    from rich.console import Console

    from pii_gen.validate.html import render
    from pii_gen.validate.report import print_console

    persons = read(clean, "persons")
    r = validate(variant(clean, tmp_path / "d", {"persons": pa.concat_tables([persons, persons.slice(100, 12)])}))
    failed = [(c.group, c.name, c.status, c.figure) for c in r.checks if c.status == "fail"]
    warned = [(c.group, c.name, c.status, c.figure) for c in r.checks if c.status == "warn"]
    assert len(failed) >= 3  # the primary key, the row count, SSN uniqueness
    doc = Document()
    doc.feed(render(r))
    # At the top, before the plots: every failed check, then every warning, with its measured figure.
    assert doc.order[:3] == [f"h2 Needs attention: {len(failed)} failed" + (f" and {len(warned)} warned" if warned
                             else ""), "table 0", "h2 Plots"]  # fmt: skip
    assert [tuple(row[:4]) for row in doc.tables[0][1:]] == failed + warned
    rank = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}
    for table in doc.tables[1:]:  # one per group, failures first
        verdicts = [row[1] for row in table[1:]]
        assert verdicts == sorted(verdicts, key=rank.get)
    assert doc.tables[1][1][:2] == ["persons: primary key person_id", "fail"]
    # The occupation plot names each SOC major group after its code.
    labels = next(a for a in doc.alts if a.startswith("Occupation mix: ")).removeprefix("Occupation mix: ").split("; ")
    assert len(labels) == 22 and "43 Office and Administrative Support" in labels
    assert all(re.fullmatch(r"\d\d [A-Z][A-Za-z ,]+", label) for label in labels), labels
    # The console lists the same checks again just above the score, and each group's failures first.
    out = io.StringIO()
    print_console(r, Console(file=out, width=250, color_system=None))
    text = out.getvalue()
    tail = text[text.index("failed and warning checks") :]
    assert tail.index("Quality score") > max(tail.index(name) for _, name, _, _ in failed + warned)
    structural = text[text.index("structural checks") :].splitlines()
    assert "persons: primary key person_id" in structural[4] and "fail" in structural[4]


def test_cli_exit_codes_json_and_html(tmp_path):
    out = tmp_path / "csv"
    r = cli("generate", "-n", str(N), "--seed", "7", "--out", str(out), "--quiet", "--workers", "1")
    assert r.returncode == 0, r.stderr
    js, page = tmp_path / "r.json", tmp_path / "r.html"
    r = cli("validate", str(out), "--json", str(js), "--html", str(page))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Quality score" in r.stdout and "age/sex pyramid" in r.stdout
    report = json.loads(js.read_text())
    assert report["score"] >= 95 and report["ok"] and report["counts"]["fail"] == 0
    assert {c["group"] for c in report["checks"]} == {"structural", "values", "statistical", "households", "noise"}
    page_parts = Page()
    page_parts.feed(page.read_text())
    assert page_parts.tables == 5 and page_parts.open == []  # one table per check group, every tag closed
    images = [src.removeprefix("data:image/png;base64,") for src in page_parts.images]
    assert len(images) == 7  # pyramid, income, credit score, states, first names, surnames, occupations
    import matplotlib.image as mpimg

    for data in images:
        png = base64.b64decode(data)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300 and pixels.std() > 0.05  # drawn, not blank
    # A score above what the data reaches fails even without a failed check: heavy noise leaves
    # warnings only (text dates, logged nulls), so its score is under 100 and every check passes or warns.
    noisy = tmp_path / "noisy"
    r = cli(
        "generate", "-n", "10000", "--seed", "7", "--out", str(noisy), "--quiet", "--workers", "1", "--noise", "heavy"
    )
    assert r.returncode == 0, r.stderr
    js2 = tmp_path / "noisy.json"
    assert cli("validate", str(noisy), "--json", str(js2), "--quiet").returncode == 0
    noisy_report = json.loads(js2.read_text())
    assert noisy_report["counts"]["fail"] == 0 and noisy_report["counts"]["warn"] > 0 and noisy_report["score"] < 100
    above = f"{min(100.0, noisy_report['score'] + 0.1):.2f}"
    strict = cli("validate", str(noisy), "--min-score", above, "--quiet")
    assert strict.returncode == 1 and strict.stderr == ""
    # Bad input gets one line and status 2.
    for args, message in (
        ((str(tmp_path / "nope"),), "does not exist"),
        ((str(tmp_path),), "no manifest.json"),
        ((str(out), "--min-score", "120"), "--min-score must be between 0 and 100"),
        (("--db", "foo://x"), "unsupported database URL scheme"),
        ((), "needs an output folder or --db"),
    ):
        bad = cli("validate", *args)
        assert bad.returncode == 2 and bad.stderr.startswith("pii_gen: error:") and message in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_html_without_matplotlib_names_the_extra(clean, tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.argv[0] = 'pii_gen'; "
        "from pii_gen.cli import main; main(sys.argv[1:])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run(
        [sys.executable, "-c", code, "validate", str(clean), "--html", str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.strip() == 'pii_gen: error: --html needs matplotlib: pip install "pii-gen[report]"'
    assert not (tmp_path / "r.html").exists()


def test_failing_dataset_exits_1_from_the_cli(clean, tmp_path):
    persons = read(clean, "persons").drop_columns(["education"])
    bad = variant(clean, tmp_path / "d", {"persons": persons})
    r = cli("validate", str(bad), "--json", str(tmp_path / "r.json"), "--quiet")
    assert r.returncode == 1, r.stderr
    checks = json.loads((tmp_path / "r.json").read_text())["checks"]
    failed = {c["name"] for c in checks if c["status"] == "fail"}
    assert failed == {"persons: columns and types"}


def test_validate_api_rejects_bad_input(tmp_path):
    with pytest.raises(ConfigError, match="between 0 and 100"):
        validate(tmp_path, min_score=-1)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read as JSON"):
        validate(tmp_path)


def test_duckdb_database(tmp_path):
    url = f"duckdb:///{tmp_path / 'p.duckdb'}"
    api.generate(GenerateConfig(count=5000, seed=4, db=url, workers=1, quiet=True))
    r = validate(db=url)
    assert r.rows["persons"] == 5000 and r.failed == [] and r.score >= 95
    assert r.check("structural", "row counts match the manifest").metrics["manifest"]["persons"] == 5000


def test_postgresql_database():
    from pii_gen.db.loaders import connect
    from pii_gen.db.url import parse

    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema = f"v_{uuid.uuid4().hex[:10]}"
    try:
        api.generate(GenerateConfig(count=5000, seed=4, db=url, db_schema=schema, workers=1, quiet=True))
        conn = connect(parse(url), schema)
        conn.execute("SET session_replication_role = replica")  # lets the delete orphan the person's rows
        conn.execute(f"DELETE FROM {conn.table('persons')} WHERE person_id = 17")
        conn.commit()
        conn.close()
        r = validate(db=url, schema=schema)
        assert r.rows["persons"] == 4999
        assert r.check("structural", "addresses: person_id -> persons").status == "fail"
        assert r.check("structural", "row counts match the manifest").status == "fail"
        # A deleted person also leaves links to them and their household without them.
        assert {c.name for c in r.failed} <= {
            "row counts match the manifest",
            *(f"{t}: person_id -> persons" for t in TABLES if t != "persons"),
            "relationships: related_person_id -> persons",
            "one householder per household",
            "members share the household's address",
            "relationships join members of one household",
            "household income is the members' sum",
        }
        assert r.check("statistical", "age/sex pyramid").status == "pass"
    finally:
        conn = connect(parse(url), schema)
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.commit()
        conn.close()


def test_realistic_identifiers_pass_their_own_rules_and_fail_strict_ones(tmp_path):
    out = tmp_path / "real"
    api.generate(GenerateConfig(count=5000, seed=8, pii_mode="realistic", out=out, format="parquet", workers=1))
    own = validate(out)
    assert own.failed == [] and own.check("values", "SSN structure").status == "pass"
    strict = validate(out, pii_mode="strict")
    failed = {c.name for c in strict.failed}
    assert failed == {"SSN structure and non-issuability", "phone structure (NANP)", "e-mail domain policy",
                      "card Luhn and prefix policy", "routing number checksum and prefix"}  # fmt: skip
    assert strict.check("values", "SSN structure and non-issuability").metrics["issuable"] == 5000
