"""The identity-graph pack (households, individuals, devices, identity_mappings, identity_truth,
identity_match_pairs) as users run it: `packs list|show`, `generate --pack -n --set`, `validate --pack`.

Real processes and files; checks in SQL (DuckDB over the output), tolerances from the sample size."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import math
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pii_gen import dsl
from pii_gen.dsl import packs
from pii_gen.dsl.generators.identity import keyed_unit, negbin_cdf
from pii_gen.dsl.settings import apply_settings
from pii_gen.errors import SchemaError
from pii_gen.packs.schema.near import near_positions

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 3000
TABLES = ("households", "individuals", "devices", "identity_mappings", "identity_truth", "identity_match_pairs")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pii_gen", *args], capture_output=True, text=True, cwd=cwd,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    out = tmp_path_factory.mktemp("graph") / "out"
    done = run("generate", "--pack", "identity-graph", "-n", str(PEOPLE), "--seed", "5", "--format", "parquet",
               "--out", str(out), "--workers", "1", "-q")
    assert done.returncode == 0, done.stderr
    con = duckdb.connect()
    for table in TABLES:
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{out}/{table}.parquet')")
    con.execute(f"SET VARIABLE out = '{out}'")
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchone()  # type: ignore[return-value]


def test_packs_list_and_show_give_a_file_that_runs_as_a_schema(tmp_path: Path) -> None:
    listed = run("packs", "list")
    assert listed.returncode == 0 and any(line.startswith("identity-graph  ") for line in listed.stdout.splitlines())
    shown = run("packs", "show", "identity-graph")
    assert shown.returncode == 0 and shown.stdout == packs.text("identity-graph")
    copy = tmp_path / "graph.yaml"
    copy.write_text(shown.stdout.replace("size: 10000", "size: 200"))
    checked = run("schema", "check", str(copy))
    assert checked.returncode == 0, checked.stderr
    assert "identity_mappings" in checked.stdout and "devices" in checked.stdout
    settings = run("packs", "show", "identity-graph", "--settings")
    assert re.search(r"^devices_per_household +17 +1\.\.90$", settings.stdout, re.M)


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "devices_per_household=0"], "--set devices_per_household=0: must be >= 1"),
    (["--set", "devices_per_houshold=3"], "--set devices_per_houshold: no such setting"),
    (["--set", "devices_per_household=many"], "must be a whole number"),
    (["--set", "nonsense"], "--set nonsense: must be NAME=VALUE"),
    (["-n", "0"], "-n 0: must be >= 1"),
])
def test_bad_pack_settings_are_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = run("generate", "--pack", "identity-graph", *args, "--out", str(tmp_path / "o"), "-q")
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()  # found before any row


def test_unknown_pack_is_one_line() -> None:
    done = run("generate", "--pack", "nope", "-n", "10", "-q")
    assert done.returncode == 2 and "no such pack (packs: erp, identity-graph)" in done.stderr


def test_settings_reach_their_places_and_scale_bounds() -> None:
    schema = packs.load("identity-graph", {"devices_per_household": "12", "limit_ad_tracking_ios": "0.5"}, people=50)
    assert schema.tables["households"].columns["device_count"].mean == 12
    assert schema.targets[0].mean == pytest.approx((10.8, 13.2))
    assert "1000 * 0.5 if" in schema.tables["identity_mappings"].columns["limit_ad_tracking"].expr
    assert schema.population.size == 50
    tv = packs.load("identity-graph", {"smart_tv_share": "0.2"})
    assert tv.tables["devices"].columns["device_type"].model.types["smart_tv"] == 0.2
    assert tv.tables["identity_mappings"].columns["device_id"].model.types["smart_tv"] == 0.2
    with pytest.raises(SchemaError, match="not a place in the file"):
        apply_settings({"version": 1, "settings": {"a": {"default": 1, "at": ["tables.x.y"]}}})


def test_people_households_and_device_counts(graph: duckdb.DuckDBPyConnection) -> None:
    people, households = one(graph, "SELECT (SELECT COUNT(*) FROM individuals), (SELECT COUNT(*) FROM households)")
    assert people == PEOPLE
    assert one(graph, "SELECT SUM(household_size) FROM households")[0] == PEOPLE
    # every household has exactly its device_count devices, and keys hold
    assert one(graph, """SELECT COUNT(*) FROM households h LEFT JOIN (SELECT household_id, COUNT(*) n FROM devices
                         GROUP BY 1) d USING (household_id) WHERE COALESCE(d.n, 0) <> h.device_count""")[0] == 0
    assert one(graph, "SELECT COUNT(*) - COUNT(DISTINCT device_id) FROM devices")[0] == 0
    mean = one(graph, "SELECT AVG(device_count) FROM households")[0]
    sd = math.sqrt(17 + 17 ** 2 / 4)  # negative binomial, dispersion 4
    assert abs(mean - 17) < 4 * sd / math.sqrt(households)
    # P(a household has a smart TV) = E[1 - (1 - 0.073)^N] over the negative binomial N: about two thirds
    share = one(graph, """SELECT AVG(CASE WHEN tv THEN 1 ELSE 0 END) FROM (SELECT household_id,
                          BOOL_OR(device_type = 'smart_tv') tv FROM devices GROUP BY 1)""")[0]
    assert abs(share - 0.66) < 4 * math.sqrt(0.25 / households)
    # mobile devices (smartphones, tablets, wearables: 0.47 of devices) per person: about 3.3 (the pack's
    # figure, North America); the tolerance is the ratio's standard error over households
    per_household = np.array(graph.execute("""SELECT h.household_size, COUNT(d.device_id) FILTER (WHERE d.device_type
                                              IN ('smartphone', 'tablet', 'wearable')) FROM households h
                                              JOIN devices d USING (household_id) GROUP BY h.household_id,
                                              h.household_size""").fetchall(), dtype=float)
    size, mobile = per_household[:, 0], per_household[:, 1]
    ratio = mobile.sum() / size.sum()
    error = np.std(mobile - ratio * size) / math.sqrt(len(size)) / size.mean()
    assert abs(ratio - 17 * 0.47 / size.mean()) < 4 * error and abs(ratio - 3.3) < 0.25
    # a device's owner lives in its household; shared devices have none
    assert one(graph, """SELECT COUNT(*) FROM devices d LEFT JOIN individuals i ON i.person_id = d.person_id
                         WHERE (d.shared AND d.person_id IS NOT NULL) OR (NOT d.shared AND
                         (i.person_id IS NULL OR i.household_id <> d.household_id))""")[0] == 0
    assert one(graph, "SELECT COUNT(*) FROM devices WHERE device_type = 'smart_tv' AND NOT shared")[0] == 0


def test_identifiers_per_person_and_their_devices(graph: duckdb.DuckDBPyConnection) -> None:
    lo, hi, mean, persons = one(graph, """SELECT MIN(n), MAX(n), AVG(n), COUNT(*) FROM (SELECT person_id, COUNT(*) n
                                          FROM identity_mappings GROUP BY 1)""")
    assert persons == PEOPLE and lo >= 2 and hi <= 15
    assert 5.5 < mean < 7.0
    # device-bound identifiers sit on a device of the person's own household the person owns or shares,
    # but borrowed ones (identity noise) on a real device of another household
    assert one(graph, """SELECT COUNT(*) FROM identity_mappings m JOIN identity_truth t USING (identifier_id)
                         LEFT JOIN devices d ON d.device_id = m.device_id
                         WHERE m.id_type IN ('cookie', 'ifa', 'ctv_id') AND (d.device_id IS NULL OR
                         CASE WHEN t.noise LIKE '%borrowed_device%' THEN d.household_id = m.household_id
                         ELSE d.household_id <> m.household_id OR NOT (d.shared OR d.person_id = m.person_id)
                         END)""")[0] == 0
    borrowed, device_bound = one(graph, """SELECT COUNT(*) FILTER (WHERE t.noise LIKE '%borrowed_device%'), COUNT(*)
                                           FROM identity_mappings m JOIN identity_truth t USING (identifier_id)
                                           WHERE m.device_id IS NOT NULL""")
    assert abs(borrowed / device_bound - 0.02) < 4.5 * math.sqrt(0.02 * 0.98 / device_bound)
    assert one(graph, """SELECT COUNT(*) FROM identity_mappings m JOIN devices d USING (device_id) WHERE
                         (m.id_type = 'ifa' AND d.device_type NOT IN ('smartphone', 'tablet')) OR
                         (m.id_type = 'ctv_id' AND d.device_type NOT IN ('smart_tv', 'streaming_device'))
                         OR m.device_type <> d.device_type OR m.os <> d.os""")[0] == 0
    assert one(graph, "SELECT COUNT(*) FROM identity_mappings WHERE id_type NOT IN ('cookie', 'ifa', 'ctv_id') "
                      "AND device_id IS NOT NULL")[0] == 0


def test_hashes_are_of_the_persons_own_normalised_email_and_phone(graph: duckdb.DuckDBPyConnection) -> None:
    rows = graph.execute("""SELECT m.id_type, m.id_value, i.email, i.phone, t.noise FROM identity_mappings m
                            JOIN individuals i USING (person_id) JOIN identity_truth t USING (identifier_id)
                            WHERE m.id_type IN ('hashed_email', 'uid2', 'hashed_phone')""").fetchall()
    assert len(rows) > 500
    typos = own = 0
    for kind, value, email, phone, noise in rows:  # the test's own reference implementation, row by row
        if kind == "hashed_phone":
            e164 = "+1" + "".join(c for c in phone if c.isdigit())
            assert (value == hashlib.sha256(e164.encode()).hexdigest()) == (noise == "none")
            continue
        digest = hashlib.sha256(email.strip().lower().encode())
        expected = digest.hexdigest() if kind == "hashed_email" else base64.b64encode(digest.digest()).decode()
        # a source may have another address of the person (email_match_rate): a typo never hashes to their own
        assert value != expected or noise == "none", (kind, email, noise)
        typos += noise == "email_typo"
        own += value == expected
    emails = sum(kind != "hashed_phone" for kind, *_ in rows)
    assert 0 < typos < 0.06 * emails and own > 0.6 * emails  # sqrt(0.5) of sources have the own address


def test_hashed_emails_match_across_two_sources_at_the_setting(graph: duckdb.DuckDBPyConnection) -> None:
    # persons seen with a (typo-free) hashed e-mail in two sources: the share whose hashes there agree
    pairs, persons, rate = one(graph, """WITH e AS (SELECT m.person_id, m.source, m.id_value FROM identity_mappings m
                                         JOIN identity_truth t USING (identifier_id)
                                         WHERE m.id_type = 'hashed_email' AND t.noise = 'none'),
                                         p AS (SELECT a.person_id, a.source, b.source,
                                         BOOL_OR(a.id_value = b.id_value) matched FROM e a JOIN e b
                                         ON a.person_id = b.person_id AND a.source < b.source GROUP BY ALL)
                                         SELECT COUNT(*), COUNT(DISTINCT person_id), AVG(matched::INT) FROM p""")
    assert persons > 200 and abs(rate - 0.5) < 4.5 * math.sqrt(0.25 / persons)  # per person, the wider bound


def test_ad_ids_cookies_and_ips(graph: duckdb.DuckDBPyConnection) -> None:
    zero = "00000000-0000-0000-0000-000000000000"
    ifa = graph.execute("""SELECT device_id, ifa_type, limit_ad_tracking, id_value FROM identity_mappings
                           WHERE id_type = 'ifa'""").fetchall()
    assert ifa and all((v == zero) == lmt for _, _, lmt, v in ifa)
    live = [(d, t, v) for d, t, lmt, v in ifa if not lmt]
    assert live and all((v == v.upper()) == (t == "idfa") and v.lower()[14] == "4" for _, t, v in live)
    by_device: dict[int, set[str]] = {}
    for d, _, v in live:
        by_device.setdefault(d, set()).add(v)
    assert all(len(v) == 1 for v in by_device.values())  # one IFA per device
    idfa_lmt = np.mean([lmt for _, t, lmt, _ in ifa if t == "idfa"])
    assert abs(idfa_lmt - 0.75) < 0.15
    # Safari-like browsers cap a cookie's life at 7 days; others expire 400 days after the last visit
    bad = one(graph, """SELECT COUNT(*) FROM identity_mappings WHERE id_type = 'cookie' AND (last_seen < first_seen
                        OR (browser = 'Safari' AND last_seen > first_seen + INTERVAL 7 DAY)
                        OR expires_at <> last_seen
                           + INTERVAL (CASE WHEN browser = 'Safari' THEN 7 ELSE 400 END) DAY)""")
    assert bad[0] == 0
    # a cookie id is one person's on one device; a person has several on a device only after cookie churn,
    # one after the other (seen ranges never overlap)
    assert one(graph, """SELECT COUNT(*) FROM (SELECT id_value FROM identity_mappings WHERE id_type = 'cookie'
                         GROUP BY 1 HAVING COUNT(DISTINCT (person_id, device_id)) > 1)""")[0] == 0
    ranges = """SELECT person_id, device_id, id_value, MIN(first_seen) a, MAX(last_seen) b FROM identity_mappings
                WHERE id_type = 'cookie' GROUP BY ALL"""
    assert one(graph, f"""SELECT COUNT(*) FROM ({ranges}) x JOIN ({ranges}) y USING (person_id, device_id)
                          WHERE x.id_value < y.id_value AND x.a <= y.b AND y.a <= x.b""")[0] == 0
    several = one(graph, """SELECT COUNT(*) FROM (SELECT person_id, device_id FROM identity_mappings
                            WHERE id_type = 'cookie' GROUP BY ALL HAVING COUNT(DISTINCT id_value) > 1)""")[0]
    assert several > 50
    doc = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    ips = [r[0] for r in graph.execute("SELECT DISTINCT id_value FROM identity_mappings WHERE id_type = 'ip_address'")
           .fetchall()]
    assert len(ips) > 100 and all(any(ipaddress.ip_address(ip) in net for net in doc) for ip in ips)


def test_truth_and_match_pairs(graph: duckdb.DuckDBPyConnection) -> None:
    assert one(graph, """SELECT COUNT(*) FROM identity_truth t JOIN identity_mappings m USING (identifier_id)
                         JOIN individuals i ON i.person_id = t.person_id
                         WHERE t.person_id <> m.person_id OR t.household_id <> i.household_id""")[0] == 0
    assert one(graph, "SELECT (SELECT COUNT(*) FROM identity_truth) - (SELECT COUNT(*) FROM identity_mappings)")[0] == 0
    # labels agree with the truth, pair by pair
    assert one(graph, """SELECT COUNT(*) FROM identity_match_pairs p JOIN identity_truth a
                         ON a.identifier_id = p.left_identifier_id JOIN identity_truth b
                         ON b.identifier_id = p.right_identifier_id
                         WHERE p.is_match <> (a.person_id = b.person_id)
                         OR p.same_household <> (a.household_id = b.household_id)""")[0] == 0
    near, far = one(graph, """SELECT AVG(CASE WHEN pair_kind = 'neighbour' THEN is_match::INT END),
                              AVG(CASE WHEN pair_kind = 'random' THEN is_match::INT END) FROM identity_match_pairs""")
    assert 0.5 < near < 0.9 and far < 0.01


def test_strict_mode_output_is_safe(graph: duckdb.DuckDBPyConnection) -> None:
    # e-mails only at reserved example domains, phones only 555-01XX fictional lines (hashes are of these)
    reserved = r"'@([a-z0-9-]+\.)*(example(\.(com|org|net))?|test)$'"
    assert one(graph, f"SELECT COUNT(*) FROM individuals WHERE NOT regexp_matches(email, {reserved})")[0] == 0
    fictional = r"'^\d{3}-555-01\d{2}$'"
    assert one(graph, f"SELECT COUNT(*) FROM individuals WHERE NOT regexp_matches(phone, {fictional})")[0] == 0


def test_validate_pack_scores_its_targets(graph: duckdb.DuckDBPyConnection) -> None:
    out = one(graph, "SELECT getvariable('out')")[0]
    done = run("validate", "--pack", "identity-graph", out, "-q", "--json", f"{out}/report.json")
    assert done.returncode == 0, done.stdout + done.stderr
    import json

    checks = {c["name"]: c for c in json.loads(Path(f"{out}/report.json").read_text())["checks"]}
    assert checks["devices_per_household"]["status"] == "pass" and checks["identifiers_per_person"]["status"] == "pass"
    wrong = run("validate", "--pack", "identity-graph", out, "-q", "--set", "devices_per_household=10")
    assert wrong.returncode == 1  # a run of other settings fails the devices target


def test_deterministic_at_one_and_two_workers(tmp_path: Path) -> None:
    # more people than one block (10,000), so two workers really split the work
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        done = run("generate", "--pack", "identity-graph", "-n", "10300", "--seed", "3", "--format", "csv",
                   "--out", str(out), "--workers", workers, "-q", "--set", "devices_per_household=4",
                   "--set", "identifiers_per_person=3")
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for table in TABLES:
        assert (outs[0] / f"{table}.csv").read_bytes() == (outs[1] / f"{table}.csv").read_bytes(), table


def test_keyed_draws_and_near_picks() -> None:
    keys = np.arange(1, 100_001)
    u = keyed_unit(keys, 1, "x")
    assert np.array_equal(u, keyed_unit(keys, 1, "x")) and not np.array_equal(u, keyed_unit(keys, 2, "x"))
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / len(u))
    cdf = negbin_cdf(6.0, 3.0, 2, 15)
    assert cdf[1] == 0 and cdf[-1] == pytest.approx(1.0) and np.all(np.diff(cdf) >= 0)
    own = np.arange(1000)
    picked = near_positions(own, 1000, 3, np.random.default_rng(0))
    assert np.all((np.abs(picked - own) >= 1) & (np.abs(picked - own) <= 3)) and picked.min() >= 0
    assert picked.max() <= 999
    # block: true keeps each pick inside its own block [lo, hi), reflecting at the block's edges
    lo, hi = np.where(own < 400, 0, 400), np.where(own < 400, 400, 1000)
    inside = near_positions(own, 1000, 50, np.random.default_rng(0), lo, hi)
    assert np.all((inside >= lo) & (inside < hi)) and np.all(np.abs(inside - own) >= 1)
    assert np.all(np.abs(inside - own) <= 50) and ((inside < 400) != (own < 400)).sum() == 0


def test_digest_normalisation_rules() -> None:
    import pyarrow as pa

    from pii_gen.dsl.generators.identity import normalize_email, normalize_phone, sha256

    emails = pa.array([" Jane.Doe+news@GMAIL.com ", "Jane.Doe+news@example.com", None])
    assert normalize_email(emails, uid2=True).to_pylist() == ["janedoe@gmail.com", "jane.doe+news@example.com", None]
    assert normalize_email(emails, uid2=False).to_pylist()[0] == "jane.doe+news@gmail.com"
    assert normalize_phone(pa.array(["361-555-0180", "+44 20 7946 0000"]), "1").to_pylist() == [
        "+13615550180", "+442079460000"]
    got = sha256(pa.array(["a@example.com"]), "base64").to_pylist()[0]
    assert got == base64.b64encode(hashlib.sha256(b"a@example.com").digest()).decode()


def test_the_pack_file_loads_as_a_plain_schema_file(tmp_path: Path) -> None:
    path = tmp_path / "copy.yaml"
    path.write_text(packs.text("identity-graph"))
    schema = dsl.load(path, {"devices_per_household": "9"})
    assert schema.tables["individuals"].columns["device_count"].mean == 9


def test_delta_and_postgresql_outputs_hold_the_same_graph(tmp_path: Path) -> None:
    import uuid

    from servers import server_url

    pytest.importorskip("deltalake", reason="deltalake is not installed (pip install 'pii-gen[delta]')")
    import deltalake
    import psycopg

    common = ["--pack", "identity-graph", "-n", "150", "--seed", "9", "-q"]
    assert run("generate", *common, "--format", "parquet", "--out", str(tmp_path / "p")).returncode == 0
    done = run("generate", *common, "--format", "delta", "--out", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    url, schema = server_url("PII_GEN_TEST_POSTGRES_URL"), f"idg_{uuid.uuid4().hex[:8]}"
    done = run("generate", *common, "--db", url, "--db-schema", schema)
    assert done.returncode == 0, done.stderr
    con = duckdb.connect()
    try:
        with psycopg.connect(url, autocommit=True) as pg:
            for table in ("devices", "identity_mappings", "identity_truth"):
                parquet = con.execute(f"SELECT * FROM read_parquet('{tmp_path}/p/{table}.parquet') "
                                      "ORDER BY 1, 2").fetchall()
                con.register("d", deltalake.DeltaTable(str(tmp_path / "d" / table)).to_pyarrow_dataset())
                assert con.execute("SELECT * FROM d ORDER BY 1, 2").fetchall() == parquet, table
                rows = pg.execute(f'SELECT COUNT(*) FROM {schema}."{table}"')
                assert rows.fetchone()[0] == len(parquet), table
            # referential integrity inside the database: every device-bound identifier's device exists
            orphans = pg.execute(f"""SELECT COUNT(*) FROM {schema}.identity_mappings m LEFT JOIN {schema}.devices d
                                     ON d.device_id = m.device_id WHERE m.device_id IS NOT NULL
                                     AND d.device_id IS NULL""").fetchone()[0]
            assert orphans == 0
    finally:
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
