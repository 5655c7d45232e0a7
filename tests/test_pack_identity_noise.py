"""The identity-graph pack's identity noise as users set it (`--set email_typo=...`): each kind a `noise` step
whose changed rows manifest.json counts, identity_truth's label of every row exactly what was applied, and each
kind doing what its name says (checked in SQL over the output, hashes by the test's own reference code)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 3000
#: Settings of the run: rates raised so every kind is seen often; every source has the person's own e-mail
#: (email_match_rate=1), so a hashed e-mail differs from the hash of their own address for typos only.
SETTINGS = {
    "email_typo": 0.1,
    "recycled_phone": 0.1,
    "ip_reassigned": 0.3,
    "cookie_churn": 0.5,
    "borrowed_device": 0.05,
    "email_match_rate": 1,
}
KINDS = ("borrowed_device", "email_typo", "recycled_phone", "ip_reassigned", "cookie_churn")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("noise") / "out"
    sets = [arg for name, value in SETTINGS.items() for arg in ("--set", f"{name}={value}")]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pii_gen",
            "generate",
            "--pack",
            "identity-graph",
            "-n",
            str(PEOPLE),
            "--seed",
            "21",
            "--format",
            "parquet",
            "--out",
            str(folder),
            "--workers",
            "1",
            "-q",
            *sets,
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def con(out: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for table in ("individuals", "devices", "identity_mappings", "identity_truth"):
        c.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{out}/{table}.parquet')")
    c.execute("""CREATE VIEW rows AS SELECT m.*, t.noise, i.email, i.phone FROM identity_mappings m
                 JOIN identity_truth t USING (identifier_id) JOIN individuals i ON i.person_id = m.person_id""")
    return c


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchone()  # type: ignore[return-value]


def test_every_kind_is_a_noise_step_its_labels_count_exactly(out: Path, con: duckdb.DuckDBPyConnection) -> None:
    steps = {s["type"]: s for s in json.loads((out / "manifest.json").read_text())["noise"]}
    assert set(steps) == set(KINDS)
    for kind in KINDS:
        assert steps[kind]["table"] == "identity_mappings" and float(steps[kind]["rate"]) == SETTINGS[kind]
        labelled = one(
            con, f"SELECT COUNT(*) FROM identity_truth WHERE '{kind}' IN (SELECT UNNEST(string_split(noise, '+')))"
        )
        assert labelled[0] == steps[kind]["rows"] > 0, kind
    assert one(con, "SELECT COUNT(*) FROM identity_truth WHERE noise IS NULL OR noise = ''")[0] == 0


def share(con: duckdb.DuckDBPyConnection, kind: str, where: str) -> tuple[float, int]:
    hit, n = one(con, f"SELECT COUNT(*) FILTER (WHERE noise LIKE '%{kind}%'), COUNT(*) FROM rows WHERE {where}")
    return hit / n, n


@pytest.mark.parametrize(
    ("kind", "where"),
    [
        ("email_typo", "id_type IN ('hashed_email', 'uid2')"),
        ("recycled_phone", "id_type = 'hashed_phone'"),
        ("ip_reassigned", "id_type = 'ip_address'"),
        ("borrowed_device", "device_id IS NOT NULL"),
    ],
)
def test_each_kind_hits_its_rate_on_the_rows_it_applies_to(
    con: duckdb.DuckDBPyConnection, kind: str, where: str
) -> None:
    measured, n = share(con, kind, where)
    rate = SETTINGS[kind]
    # a borrowed device is only applied where the pick is another household's (nearly always)
    assert abs(measured - rate) < 4.5 * math.sqrt(rate * (1 - rate) / n) + (0.005 if kind == "borrowed_device" else 0)
    assert one(con, f"SELECT COUNT(*) FROM rows WHERE noise LIKE '%{kind}%' AND NOT ({where})")[0] == 0


def test_email_typos_are_hashed_as_typed_and_phones_recycled_to_another_line(con: duckdb.DuckDBPyConnection) -> None:
    import base64

    rows = con.execute("""SELECT id_type, id_value, email, phone, noise FROM rows
                          WHERE id_type IN ('hashed_email', 'uid2', 'hashed_phone')""").fetchall()
    for kind, value, email, phone, noise in rows:  # the test's own reference code, row by row
        if kind == "hashed_phone":
            e164 = "+1" + "".join(c for c in phone if c.isdigit())
            own = hashlib.sha256(e164.encode()).hexdigest()
            assert (value != own) == (noise == "recycled_phone")
            if value != own:  # another line of the same exchange: the last two digits changed
                assert value in {hashlib.sha256(f"{e164[:-2]}{d:02d}".encode()).hexdigest() for d in range(100)}
            continue
        normal = email.strip().lower()
        if kind == "uid2" and normal.endswith("@gmail.com"):
            local, domain = normal.split("@")
            normal = local.split("+")[0].replace(".", "") + "@" + domain
        digest = hashlib.sha256(normal.encode())
        own = digest.hexdigest() if kind == "hashed_email" else base64.b64encode(digest.digest()).decode()
        assert (value != own) == (noise == "email_typo"), (kind, email, noise)


def test_reassigned_ips_are_not_the_households_usual_one(con: duckdb.DuckDBPyConnection) -> None:
    # the clean IP rows of a household share its one usual address; reassigned ones are elsewhere
    assert (
        one(
            con,
            """SELECT COUNT(*) FROM (SELECT household_id FROM rows WHERE id_type = 'ip_address'
                       AND noise = 'none' GROUP BY 1 HAVING COUNT(DISTINCT id_value) > 1)""",
        )[0]
        == 0
    )
    assert (
        one(
            con,
            """SELECT COUNT(*) FROM rows r JOIN (SELECT DISTINCT household_id, id_value FROM rows
                       WHERE id_type = 'ip_address' AND noise = 'none') u USING (household_id, id_value)
                       WHERE r.noise = 'ip_reassigned'""",
        )[0]
        == 0
    )
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    ips = [r[0] for r in con.execute("SELECT id_value FROM rows WHERE noise = 'ip_reassigned'").fetchall()]
    assert all(any(ipaddress.ip_address(ip) in net for net in docs) for ip in ips)


def test_cookie_churn_gives_one_device_several_cookies_one_after_another(con: duckdb.DuckDBPyConnection) -> None:
    # per person and device: the rows before the churn keep the cookie, those after carry one new id
    rows = con.execute("""SELECT person_id, device_id, first_seen, last_seen, id_value, noise LIKE '%cookie_churn%'
                          FROM rows WHERE id_type = 'cookie' ORDER BY person_id, device_id, first_seen""").fetchall()
    pairs: dict[tuple[int, int], list[tuple]] = {}
    for person, device, first, last, value, churned in rows:
        pairs.setdefault((person, device), []).append((first, last, value, churned))
    several = 0
    for seen in pairs.values():
        ids = [value for _, _, value, _ in seen]
        flags = [churned for *_, churned in seen]
        assert flags == sorted(flags)  # once churned, later rows stay churned
        assert len(set(ids)) == (2 if any(flags) else 1) and not flags[0]
        assert all(a[1] < b[0] for a, b in zip(seen, seen[1:]))  # seen ranges one after the other
        several += any(flags)
    assert several > 100


def test_borrowed_devices_are_real_devices_of_another_household(con: duckdb.DuckDBPyConnection) -> None:
    bad = one(
        con,
        """SELECT COUNT(*) FROM rows r LEFT JOIN devices d USING (device_id)
                      WHERE r.noise LIKE '%borrowed_device%' AND (d.device_id IS NULL OR d.household_id = r.household_id
                      OR (r.id_type = 'ifa' AND d.device_type NOT IN ('smartphone', 'tablet'))
                      OR (r.id_type = 'cookie' AND d.device_type NOT IN ('smartphone', 'tablet', 'computer'))
                      OR (r.id_type = 'ctv_id' AND d.device_type NOT IN ('smart_tv', 'streaming_device'))
                      OR d.device_type <> r.device_type)""",
    )
    assert bad[0] == 0
