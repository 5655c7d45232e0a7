"""The VariabilityEngine: observed rates, edit distances, nicknames, an exact noise log, safety,
determinism and clear errors, on real generated populations at fixed seeds."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.config import build_config, column_noise
from pii_gen.errors import ConfigError
from pii_gen.packs.person.reference import data_dir
from pii_gen.packs.person.contract import TABLES
from pii_gen.variability import make_plan, noise_types, tables_for
from pii_gen.variability.base import REGISTRY as NOISE_TYPES
from pii_gen.variability.base import Cells, Change, NoiseType
from pii_gen.variability.duplicates import DUPLICATE_ID_BASE

ROOT = Path(__file__).resolve().parents[1]
N = 100_000
RATE = 0.05  # every noise type on every column it can change


def every_rate(rate: float) -> dict[str, dict[str, float]]:
    cols: dict[str, dict[str, float]] = {}
    for t in noise_types():
        for table, names in t.columns_in(TABLES).items():
            for c in names:
                cols.setdefault(f"{table}.{c}", {})[t.name] = rate
    return cols


@pytest.fixture(scope="module")
def clean():
    return PersonGenerator(GenerateConfig(seed=11)).generate(N)


@pytest.fixture(scope="module")
def noisy():
    """Every noise type at 5% on every column it applies to; no duplicates (they are tested apart)."""
    cfg = build_config({"seed": 11, "noise": {"columns": every_rate(RATE)}})
    return PersonGenerator(cfg).generate(N)


@pytest.fixture(scope="module")
def with_duplicates():
    cfg = build_config({"seed": 4, "noise": {"profile": "heavy"}})
    return PersonGenerator(cfg).generate(30_000), PersonGenerator(GenerateConfig(seed=4)).generate(30_000)


def key_of(table: str) -> str:
    return TABLES[table].primary_key


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True,
                          timeout=600)  # fmt: skip


# -- registry and config ------------------------------------------------------------------------


def test_registry_names_match_config_fields_and_columns_exist():
    assert [t.name for t in noise_types()] == list(column_noise().model_fields)
    for t in noise_types():
        assert len(set(t.variants)) == len(t.variants), t.name
        for table, names in t.columns_in(TABLES).items():
            assert set(names) <= set(TABLES[table].column_names), (t.name, table)
            assert TABLES[table].primary_key not in names  # keys are never noisy


@pytest.mark.parametrize(
    "noise, message",
    [
        ({"columns": {"persons.frist_name": {"typo": 0.1}}}, "unknown column 'persons.frist_name'"),
        (
            {"columns": {"persons.sex": {"typo": 0.1}}},
            "typo noise cannot change persons.sex (noise types for it: missing)",
        ),
        ({"columns": {"persons.ssn": {"missing": 0.6, "format": 0.5}}}, "rates add up to 1.1"),
        ({"columns": {"persons.ssn": {"missing": 1.5}}}, "noise.columns.persons.ssn.missing"),
        ({"profile": "messy"}, "noise.profile"),
        ({"duplicates": {"rate": 0.1, "max_variants": 12}}, "noise.duplicates.max_variants"),
    ],
)
def test_bad_noise_config_is_one_clear_error(noise, message):
    with pytest.raises(ConfigError) as err:
        build_config({"noise": noise})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.fixture
def scratch_noise_types(monkeypatch):
    """Noise types a test registers are gone after it."""
    noise_types()
    monkeypatch.setattr(NOISE_TYPES, "_classes", dict(NOISE_TYPES._classes))


def test_a_new_noise_type_is_configurable_and_applied_with_no_other_edit(scratch_noise_types):
    class Shout(NoiseType):
        """First names typed with caps lock on: the whole noise type, defined where it is used."""

        name = "shout"
        position = 50
        kinds = frozenset({"given_name"})
        variants = ("upper",)
        description = "caps lock on"

        def apply(self, cells: Cells) -> Change:
            values = pc.utf8_upper(cells.values)
            return Change(values, np.asarray(pc.not_equal(values, cells.values)), np.zeros(len(cells), np.int64))

    assert [t.name for t in noise_types()][-1] == "shout" and list(column_noise().model_fields)[-1] == "shout"
    cfg = build_config({"seed": 7, "noise": {"columns": {"persons.first_name": {"shout": 0.3, "typo": 0.1}}}})
    assert make_plan(cfg.noise).rates == {("persons", "first_name"): {"typo": 0.1, "shout": 0.3}}
    clean_names = PersonGenerator(GenerateConfig(seed=7)).generate(5_000)["persons"].column("first_name")
    out = PersonGenerator(cfg).generate(5_000)
    names = out["persons"].column("first_name")
    log = out["noise_log"].filter(pc.equal(out["noise_log"].column("noise_type"), "shout"))
    assert 0.27 < log.num_rows / len(names) < 0.33 and set(log.column("variant").to_pylist()) == {"upper"}
    shouted = pc.is_in(out["persons"].column("person_id"), log.column("record_id"))
    assert pc.all(pc.equal(pc.filter(names, shouted), pc.utf8_upper(pc.filter(clean_names, shouted)))).as_py()
    assert log.column("original_value").to_pylist() == pc.filter(clean_names, shouted).to_pylist()
    with pytest.raises(ConfigError, match=r"shout noise cannot change persons\.ssn \(noise types for it: missing, "):
        build_config({"noise": {"columns": {"persons.ssn": {"shout": 0.1}}}})


def test_an_unknown_noise_type_is_an_unknown_config_field():
    with pytest.raises(ConfigError, match=r"^unknown config field 'noise\.columns\.persons\.first_name\.shout'$"):
        build_config({"noise": {"columns": {"persons.first_name": {"shout": 0.3}}}})


def test_override_that_pushes_a_profile_column_over_1_is_refused_when_the_config_is_read():
    # heavy has persons.ssn {missing: 0.10, format: 0.25, wrong_value: 0.02}; 0.9 missing makes 1.17.
    with pytest.raises(ConfigError, match=r"noise.columns.persons.ssn.*rates add up to 1.17"):
        build_config({"noise": {"profile": "heavy", "columns": {"persons.ssn": {"missing": 0.9}}}})
    ok = build_config({"noise": {"profile": "heavy", "columns": {"persons.ssn": {"missing": 0.6, "format": 0.1}}}})
    assert make_plan(ok.noise).rates[("persons", "ssn")] == {"missing": 0.6, "format": 0.1, "wrong_value": 0.02}


def test_profile_rates_are_laid_under_the_config_columns():
    plan = make_plan(
        build_config({"noise": {"profile": "realistic", "columns": {"persons.ssn": {"missing": 0.2}}}}).noise
    )
    assert plan.rates[("persons", "ssn")] == {"missing": 0.2, "format": 0.10, "wrong_value": 0.005}
    assert plan.rates[("persons", "first_name")]["name_variant"] == 0.06
    assert plan.duplicates.rate == 0.03 and plan.magnitude == 10
    assert not make_plan(GenerateConfig().noise).active


def test_cli_rejects_an_unknown_profile_in_one_line(tmp_path):
    r = run("generate", "-n", "10", "--noise", "messy", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "'messy' is not one of" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


# -- rates ----------------------------------------------------------------------------------------


def eligible(table: str, column: str, kind: str, clean: dict[str, pa.Table]) -> int:
    """Cells a noise type can be drawn for, counted from the clean data."""
    values = clean[table].column(column)
    if kind == "name_variant" and column == "middle_name":
        return len(values)
    if kind == "name_variant" and column == "name_suffix":  # dropped where present, "Jr." added for men
        return int(pc.sum(pc.or_(pc.is_valid(values), pc.equal(clean[table].column("sex"), "M"))).as_py())
    if kind == "typo":
        return int(pc.sum(pc.fill_null(pc.string_is_ascii(values), False)).as_py())
    return len(values) - values.null_count


def test_each_noise_type_hits_its_configured_rate_within_10_percent(noisy, clean):
    log = noisy["noise_log"]
    # A swap drawn for the first name also writes the last name: those count for the first name only.
    own = pc.invert(
        pc.and_(pc.equal(log.column("column_name"), "last_name"), pc.equal(log.column("variant"), "swapped"))
    )
    counts = log.filter(own).group_by(["table_name", "column_name", "noise_type"]).aggregate([("record_id", "count")])
    observed = {(r["table_name"], r["column_name"], r["noise_type"]): r["record_id_count"] for r in counts.to_pylist()}
    checked = 0
    for t in noise_types():
        for table, names in t.columns_in(TABLES).items():
            for column in names:
                base = eligible(table, column, t.name, clean)
                expected = RATE * base
                got = observed.get((table, column, t.name), 0)
                assert abs(got - expected) <= 0.10 * expected, (table, column, t.name, got, expected)
                checked += 1
    assert checked >= 60


def clean_households(pair) -> int:
    return pair[1]["households"].num_rows


def test_duplicates_follow_their_rate_and_point_at_real_people(with_duplicates):
    noisy, _ = with_duplicates
    persons = noisy["persons"]
    source = persons.column("source_person_id")
    dups = persons.filter(pc.is_valid(source))
    # heavy: 10% of people duplicated, 1-4 copies each (2.5 on average).
    people = persons.num_rows - dups.num_rows
    assert people == 30_000
    assert 0.9 * 0.10 * 2.5 * people <= dups.num_rows <= 1.1 * 0.10 * 2.5 * people
    assert pc.min(dups.column("person_id")).as_py() > DUPLICATE_ID_BASE
    originals = set(persons.filter(pc.is_null(source)).column("person_id").to_pylist())
    assert set(dups.column("source_person_id").to_pylist()) <= originals
    # Every per-person table carries the duplicates' rows: each adult duplicate has its financial profile
    # (minors have none), and a duplicate stays in its source's household.
    fp = noisy["financial_profiles"]
    profiled = fp.column("person_id").to_numpy()
    assert len(np.unique(profiled)) == fp.num_rows
    dup_profiled = np.isin(dups.column("person_id").to_numpy(), profiled)
    assert (dup_profiled == np.isin(dups.column("source_person_id").to_numpy(), profiled)).all()
    assert dup_profiled.mean() > 0.7
    households = set(noisy["households"].column("household_id").to_pylist())
    assert set(persons.column("household_id").to_pylist()) <= households
    assert noisy["households"].num_rows == clean_households(with_duplicates)
    log = noisy["noise_log"].filter(pc.equal(noisy["noise_log"].column("noise_type"), "duplicate"))
    assert log.num_rows == dups.num_rows


# -- what the changes look like -----------------------------------------------------------------


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def noisy_values(noisy: dict[str, pa.Table], log: pa.Table) -> list:
    """The current value of each logged cell, in log order."""
    out = []
    for table in TABLES:
        part = log.filter(pc.equal(log.column("table_name"), table))
        if part.num_rows == 0:
            continue
        t = noisy[table]
        where = pc.index_in(part.column("record_id"), t.column(key_of(table)))
        for column in set(part.column("column_name").to_pylist()):
            mask = pc.equal(part.column("column_name"), column)
            rows = where.filter(mask)
            out.extend(zip(part.filter(mask).column("original_value").to_pylist(),
                           t.column(column).take(rows).cast(pa.string()).to_pylist(),
                           part.filter(mask).column("variant").to_pylist()))  # fmt: skip
    return out


def test_typos_are_one_or_two_edits_away(noisy):
    log = noisy["noise_log"]
    typos = log.filter(pc.equal(log.column("noise_type"), "typo"))
    pairs = noisy_values(noisy, typos)
    assert len(pairs) > 10_000
    rng = np.random.default_rng(0)
    sample = [pairs[i] for i in rng.choice(len(pairs), 4000, replace=False)]
    distances = [levenshtein(a, b) for a, b, _ in sample]
    assert min(distances) >= 1 and max(distances) <= 2
    variants = {v for _, _, v in pairs}
    assert variants == {"substitution", "insertion", "deletion", "transposition", "ocr", "phonetic", "doubled",
                        "dropped"}  # fmt: skip
    # E-mail typos never touch the domain: it stays a reserved one.
    emails = [(a, b) for a, b, _ in noisy_values(noisy, typos.filter(pc.equal(typos.column("column_name"), "email")))]
    assert emails and all(a.split("@")[1] == b.split("@")[1] for a, b in emails)


def test_nicknames_come_from_the_nickname_table(noisy):
    log = noisy["noise_log"]
    nick = log.filter(pc.equal(log.column("variant"), "nickname"))
    pairs = noisy_values(noisy, nick)
    assert len(pairs) > 1000
    table = pq.read_table(data_dir() / "nicknames.parquet")
    known = set(zip(table.column("name").to_pylist(), table.column("nickname").to_pylist()))
    assert all((a, b) in known for a, b, _ in pairs)
    assert all(len(b) < len(a) for a, b, _ in pairs)


def test_formats_look_like_what_they_are_called(noisy):
    log = noisy["noise_log"]
    fmt = log.filter(pc.equal(log.column("noise_type"), "format"))
    patterns = {
        "phone_parentheses": r"^\(\d{3}\) 555-01\d\d$",
        "phone_dots": r"^\d{3}\.555\.01\d\d$",
        "phone_international": r"^\+1 \d{3} 555 01\d\d$",
        "phone_digits": r"^\d{3}55501\d\d$",
        "phone_extension": r"^\d{3}-555-01\d\d( x| ext\. )\d{1,4}$",
        "date_us": r"^(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])/(19|20)\d\d$",
        "date_day_first": r"^(0[1-9]|[12]\d|3[01])/(0[1-9]|1[0-2])/(19|20)\d\d$",
        "date_two_digit_year": r"^\d\d/\d\d/\d\d$",
        "date_compact": r"^(19|20)\d{6}$",
        "date_month_name": r"^[A-Z][a-z]{2} \d\d, \d{4}$",
        "ssn_digits": r"^\d{9}$",
        "ssn_spaces": r"^\d{3} \d\d \d{4}$",
        "card_spaces": r"^\d{4} \d{4} \d{4} \d{3,4}$",
        "card_dashes": r"^\d{4}-\d{4}-\d{4}-\d{3,4}$",
        "number_sign": r"^#\w+$",
        "spelt_out": r"^(\d+ .* [A-Z][a-z]{2,}|[A-Z][a-z]{3,} \w+)$",
    }
    pairs = noisy_values(noisy, fmt)
    import re

    seen = set()
    for original, value, variant in pairs:
        if variant in patterns:
            assert re.match(patterns[variant], value), (variant, original, value)
            seen.add(variant)
        if variant == "date_us":
            y, m, d = original.split("-")
            assert value == f"{m}/{d}/{y}"
        if variant == "upper":
            assert value == original.upper()
        if variant == "whitespace":
            assert value != original and " ".join(value.split()) == " ".join(original.split())
    assert seen == set(patterns)


# -- ground truth -----------------------------------------------------------------------------


def restore(noisy: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Every table as text with each logged cell set back to its original value."""
    log = noisy["noise_log"]
    out = {}
    for table in TABLES:
        t = noisy[table]
        cols = {c: t.column(c).cast(pa.string()).combine_chunks() for c in TABLES[table].column_names}
        part = log.filter(pc.and_(pc.equal(log.column("table_name"), table),
                                  pc.not_equal(log.column("noise_type"), "duplicate")))  # fmt: skip
        where = pc.index_in(part.column("record_id"), t.column(key_of(table)))
        assert where.null_count == 0, table  # every logged record exists
        for column in set(part.column("column_name").to_pylist()):
            mask = pc.equal(part.column("column_name"), column)
            rows = np.asarray(where.filter(mask))
            index = np.arange(len(cols[column]))
            index[rows] = len(index) + np.arange(len(rows))
            merged = pa.concat_arrays([cols[column], part.filter(mask).column("original_value").combine_chunks()])
            cols[column] = merged.take(pa.array(index))
        out[table] = pa.table(cols)
    return out


def as_text(t: pa.Table) -> pa.Table:
    return pa.table({c: t.column(c).cast(pa.string()) for c in t.column_names})


def test_noise_log_reproduces_every_change_exactly(noisy, clean):
    log = noisy["noise_log"]
    keys = log.group_by(["table_name", "record_id", "column_name"]).aggregate([])
    assert keys.num_rows == log.num_rows  # each cell changed at most once
    restored = restore(noisy)
    for table in TABLES:
        assert restored[table].equals(as_text(clean[table])), table
        # ...and the log holds only real changes: no logged cell equals its noisy value.
    assert all(a != b for a, b, _ in noisy_values(noisy, log))


def test_duplicates_restore_to_their_source_person(with_duplicates):
    noisy, clean = with_duplicates
    restored = restore(noisy)
    for table, spec in TABLES.items():
        t = restored[table]
        if not spec.per_person:  # households and relationships: duplicate records add no rows
            assert t.equals(as_text(clean[table])), table
            continue
        pid = t.column("person_id").cast(pa.int64())
        dup = pc.greater_equal(pid, DUPLICATE_ID_BASE)
        originals = t.filter(pc.invert(dup))
        assert originals.equals(as_text(clean[table])), table
        copies = t.filter(dup)
        dup_pid = np.asarray(copies.column("person_id").cast(pa.int64()))
        source = (dup_pid - DUPLICATE_ID_BASE) // 10
        key = np.asarray(copies.column(spec.primary_key).cast(pa.int64()))
        source_key = source if spec.key_factor is None else key - dup_pid * spec.key_factor + source * spec.key_factor
        rows = pc.index_in(pa.array(source_key), clean[table].column(spec.primary_key))
        assert rows.null_count == 0
        want = as_text(clean[table]).take(rows)
        for column in spec.column_names:
            if column not in (spec.primary_key, "person_id"):
                assert copies.column(column).equals(want.column(column)), (table, column)


# -- safety and determinism -------------------------------------------------------------------


def test_strict_mode_stays_safe_under_heavy_noise(noisy):
    from pii_gen.packs.person import identifiers as ids

    ssn = pc.replace_substring_regex(noisy["persons"].column("ssn").drop_null(), r"[ -]", "")
    digits = ssn.filter(pc.match_substring_regex(ssn, r"^\d{9}$")).to_numpy(zero_copy_only=False)
    assert len(digits) > 0.8 * N
    area = np.array([int(s[:3]) for s in digits])
    group = np.array([int(s[3:5]) for s in digits])
    serial = np.array([int(s[5:]) for s in digits])
    assert not ids.ssn_is_issuable(area, group, serial).any()
    assert not ids.itin_shaped(area, group).any()
    phones = pc.replace_substring_regex(noisy["phone_numbers"].column("phone_number").drop_null(), r"\D", "")
    # Everything with a number in it, less the 000-000-0000 placeholder, is a fictional 555-01XX line.
    real = phones.filter(pc.and_(pc.greater_equal(pc.utf8_length(phones), 10), pc.not_equal(phones, "0000000000")))
    assert len(real) > 0.8 * len(phones)
    assert pc.all(pc.match_substring_regex(real, r"^(1)?\d{3}55501\d\d")).as_py()
    emails = noisy["email_addresses"].column("email").drop_null()
    at = emails.filter(pc.match_substring(emails, "@"))
    domains = pc.utf8_lower(pc.utf8_trim_whitespace(pc.struct_field(pc.extract_regex(at, r"@(?P<d>.*)$"), "d")))
    ok = pc.or_(pc.match_substring_regex(domains, r"^example\.(com|net|org)$"),
                pc.match_substring_regex(domains, r"\.(example|test)$"))  # fmt: skip
    assert pc.all(ok).as_py()


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_noise_none_is_byte_identical_to_no_flag(tmp_path):
    plain, none = tmp_path / "plain", tmp_path / "none"
    assert run("generate", "-n", "15000", "--seed", "2", "--out", str(plain), "--quiet").returncode == 0
    r = run("generate", "-n", "15000", "--seed", "2", "--out", str(none), "--quiet", "--noise", "none")
    assert r.returncode == 0, r.stderr
    assert digests(plain) == digests(none)
    assert "noise_log.csv" not in digests(plain)


def test_noisy_output_is_identical_for_any_worker_count(tmp_path):
    outs = []
    for workers, batch in ((1, 10_000), (2, 20_000)):
        out = tmp_path / f"w{workers}"
        r = run("generate", "-n", "35000", "--seed", "8", "--noise", "realistic", "--workers", str(workers),
                "--batch-size", str(batch), "--out", str(out), "--quiet", "--format", "jsonl")  # fmt: skip
        assert r.returncode == 0, r.stderr
        outs.append(digests(out))
    assert outs[0] == outs[1]
    assert "noise_log.jsonl" in outs[0]


def test_cli_summary_and_manifest_describe_the_noise(tmp_path):
    import json

    r = run("generate", "-n", "20000", "--seed", "1", "--noise", "realistic", "--out", str(tmp_path), "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "Wrote 20,000 people (+" in r.stderr and "duplicate records)" in r.stderr
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["noise"]["profile"] == "realistic"
    assert m["noise"]["rates"]["persons.ssn"] == {"missing": 0.04, "format": 0.1, "wrong_value": 0.005}
    assert m["tables"]["noise_log"]["rows"] > 0
    header = (tmp_path / "persons.csv").open().readline()
    assert header.strip().endswith('"source_person_id"')


def test_noisy_contract_widens_what_noise_changes():
    tables = tables_for(build_config({"noise": {"profile": "heavy"}}))
    persons = tables["persons"]
    assert persons.column("date_of_birth").type == pa.string()  # dates drift into other formats
    assert persons.column("ssn").nullable and persons.column("ssn").max_length >= 22
    assert tables["employments"].column("annual_salary").type == pa.int64()  # room for outliers
    assert persons.column_names[-1] == "source_person_id" and "noise_log" in tables
    assert tables_for(GenerateConfig()) == dict(TABLES)


def identity_cells(column: str, kind: str, table: dict[str, pa.Array], rows: list[int], seed: int = 3) -> Cells:
    """The cells ``rows`` of ``column`` as the schema's noise modifier hands them to a noise type (one block)."""
    from pii_gen.core.contract import Column, Table

    values = table[column]
    spec = Table("t", tuple(Column(c, a.type, True, kind=kind if c == column else "") for c, a in table.items()), "")
    chosen = np.asarray(rows, np.int64)
    return Cells(
        table,
        column,
        kind,
        spec,
        chosen,
        values.take(pa.array(chosen)),
        values.type,
        [np.random.default_rng(seed)],
        np.array([0, len(values)]),
        None,
        True,
        None,
        1.0,
    )  # type: ignore[arg-type]


def test_identity_noise_types_change_identifiers_as_their_names_say():
    import ipaddress

    from pii_gen.variability.identity import BY, BorrowedDevice, CookieChurn, IpReassigned, RecycledPhone

    phones = pa.array([f"+1361555{100 + i:04d}"[:10] + f"{i:02d}" for i in range(50)])
    change = RecycledPhone().apply(identity_cells("v", "phone", {"v": phones}, list(range(50))))
    new = change.values.to_pylist()
    assert change.applied.all() and all(a[:-2] == b[:-2] and a != b for a, b in zip(phones.to_pylist(), new))

    ips = pa.array(["192.0.2.7", "2001:db8:0:1:2:3::1"] * 100)
    change = IpReassigned().apply(identity_cells("v", "ip_address", {"v": ips}, list(range(200))))
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    for old, ip, variant in zip(ips.to_pylist(), change.values.to_pylist(), change.variant):
        assert any(ipaddress.ip_address(ip) in net for net in docs) and (":" in ip) == (":" in old) == bool(variant)
    assert len(set(change.values.to_pylist())) > 150

    # one cookie seen five times, another once: from a point on the first carries one new id, the second none
    cookies = pa.array(["a"] * 5 + ["b"])
    change = CookieChurn().apply(identity_cells("v", "cookie", {"v": cookies}, list(range(6))))
    churned = np.flatnonzero(change.applied)
    assert 1 <= churned.min() and list(churned) == list(range(churned.min(), 5))
    assert len(set(change.values.filter(pa.array(change.applied)).to_pylist())) == 1

    # devices of three households (id // 100), two id types: a borrowed one is another household's, same type
    devices = pa.array([101, 102, 201, 202, 301, None, 302, 103], pa.int64())
    types = pa.array(["cookie", "ifa", "cookie", "ifa", "cookie", "ip", "ifa", "cookie"])
    table = {"v": devices, BY: types}
    for seed in range(20):
        change = BorrowedDevice().apply(identity_cells("v", "device", table, [0, 1, 3, 7], seed))
        for row, new, done in zip([0, 1, 3, 7], change.values.to_pylist(), change.applied):
            own = devices[row].as_py()
            assert not done or (new // 100 != own // 100 and types[devices.to_pylist().index(new)] == types[row])
    assert change.values.type == pa.int64()
