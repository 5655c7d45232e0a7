"""The identity-graph pack in every output: PostgreSQL and MariaDB (row counts of a file run's, and every foreign
key the DDL declares holding in SQL on the database itself), Delta read back equal to Parquet, and the pack's
settings addressing its targets by name, the targets' bounds following the settings (`validate --pack --set`).

Spark runs of the pack are in test_spark.py (one session for every Spark test); the same bytes at one and two
workers for every table in test_pack_identity_events.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest

from pii_gen import schema_run
from pii_gen.dsl import packs
from pii_gen.dsl.settings import apply_settings
from pii_gen.errors import SchemaError
from pii_gen.validate.schema import validate_schema

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 1500
COMMON = ("--pack", "identity-graph", "-n", str(PEOPLE), "--seed", "9", "--workers", "1", "-q")
#: Links every run must keep: the foreign keys the pack's DDL declares for the event tables among them.
DECLARED = {
    ("outcome_metrics", "campaign_id", "campaigns", "campaign_id"),
    ("outcome_metrics", "person_id", "individuals", "person_id"),
    ("campaign_exposures", "person_id", "outcome_metrics", "person_id"),
    ("response_events", "person_id", "outcome_metrics", "person_id"),
    ("content_engagements", "person_id", "individuals", "person_id"),
    ("identity_match_pairs", "far_id", "identity_mappings", "identifier_id"),
    ("identity_truth", "identifier_id", "identity_mappings", "identifier_id"),
    ("devices", "household_id", "households", "household_id"),
}
#: Links a `pick` or a person field makes without a foreign key in the DDL: checked in SQL all the same.
UNDECLARED = [
    ("content_engagements", "device_id", "devices", "device_id"),
    ("campaign_exposures", "device_id", "devices", "device_id"),
    ("identity_mappings", "device_id", "devices", "device_id"),
    ("individuals", "household_id", "households", "household_id"),
    ("household_viewership", "household_id", "households", "household_id"),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pii_gen", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("idg") / "parquet"
    done = run("generate", *COMMON, "--format", "parquet", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def file_rows(folder: Path) -> dict[str, int]:
    return {p.stem: pq.read_metadata(p).num_rows for p in folder.glob("*.parquet")}


def test_delta_reads_back_equal_to_parquet(parquet: Path, tmp_path: Path) -> None:
    deltalake = pytest.importorskip("deltalake", reason="deltalake is not installed (pip install 'pii-gen[delta]')")
    done = run("generate", *COMMON, "--format", "delta", "--out", str(tmp_path / "lake"))
    assert done.returncode == 0, done.stderr
    tables = sorted(file_rows(parquet))
    assert len(tables) == 14 and sorted(p.name for p in (tmp_path / "lake").iterdir() if p.is_dir()) == tables
    for table in tables:
        mine = pq.read_table(parquet / f"{table}.parquet")
        theirs = deltalake.DeltaTable(str(tmp_path / "lake" / table)).to_pyarrow_table()
        assert theirs.select(mine.schema.names).cast(mine.schema).equals(mine), table  # rows in the same order
        del theirs
    manifest = json.loads((tmp_path / "lake" / "manifest.json").read_text())
    assert {t: info["rows"] for t, info in manifest["tables"].items()} == file_rows(parquet)


class Postgres:
    """A fresh namespace of the test PostgreSQL database, dropped at the end."""

    var = "PII_GEN_TEST_POSTGRES_URL"

    def __init__(self, url: str) -> None:
        import psycopg

        self.schema = f"idg_{uuid.uuid4().hex[:8]}"
        self.con = psycopg.connect(url, autocommit=True)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"'

    def foreign_keys(self) -> set[tuple[str, str, str, str]]:
        return set(
            self.rows(f"""
            SELECT kcu.table_name, kcu.column_name, ccu.table_name, ccu.column_name
            FROM information_schema.table_constraints tc
            JOIN information_schema.key_column_usage kcu
              ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
            JOIN information_schema.constraint_column_usage ccu
              ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
            WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = '{self.schema}'""")
        )

    def close(self) -> None:
        self.con.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.con.close()


class MariaDB(Postgres):
    """A fresh database of the test MariaDB server (its namespace), dropped at the end."""

    var = "PII_GEN_TEST_MARIADB_URL"

    def __init__(self, url: str) -> None:
        import pymysql

        parts = urlsplit(url)
        self.schema = f"{parts.path.lstrip('/') or 'test'}_idg_{uuid.uuid4().hex[:6]}"
        self.con = pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            autocommit=True,
        )

    def rows(self, sql: str) -> list[tuple]:
        with self.con.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def table(self, name: str) -> str:
        return f"`{self.schema}`.`{name}`"

    def foreign_keys(self) -> set[tuple[str, str, str, str]]:
        return set(
            self.rows(f"""
            SELECT table_name, column_name, referenced_table_name, referenced_column_name
            FROM information_schema.key_column_usage
            WHERE table_schema = '{self.schema}' AND referenced_table_name IS NOT NULL""")
        )

    def close(self) -> None:
        self.rows(f"DROP DATABASE IF EXISTS `{self.schema}`")
        self.con.close()


@pytest.mark.parametrize("kind", [Postgres, MariaDB], ids=["postgresql", "mariadb"])
def test_database_holds_the_file_runs_rows_and_every_foreign_key(parquet: Path, kind: type[Postgres]) -> None:
    from servers import server_url

    url = server_url(kind.var)
    db = kind(url)
    try:
        done = run("generate", *COMMON, "--db", url, "--db-schema", db.schema)
        assert done.returncode == 0, done.stderr
        expected = file_rows(parquet)
        for table, rows in expected.items():
            key = pq.read_schema(parquet / f"{table}.parquet").names[0]
            mine = pq.read_table(parquet / f"{table}.parquet", columns=[key]).column(key)
            total = sum(v for v in mine.to_pylist() if v is not None) if mine.type != "string" else None
            got = db.rows(
                f"SELECT COUNT(*), {'SUM(' + key + ')' if total is not None else 'NULL'} FROM {db.table(table)}"
            )[0]
            assert (got[0], None if got[1] is None else int(got[1])) == (rows, total), table
        declared = {fk for fk in db.foreign_keys() if not fk[0].startswith("pii_gen_")}
        assert DECLARED <= declared, DECLARED - declared
        for child, column, parent, key in sorted(declared) + UNDECLARED:
            orphans = db.rows(
                f"SELECT COUNT(*) FROM {db.table(child)} c LEFT JOIN {db.table(parent)} p "
                f"ON p.{key} = c.{column} WHERE c.{column} IS NOT NULL AND p.{key} IS NULL"
            )[0][0]
            assert orphans == 0, (child, column, parent)
        linked = db.rows(
            f"SELECT COUNT(*) FROM {db.table('campaign_exposures')} x "
            f"JOIN {db.table('outcome_metrics')} o ON o.person_id = x.person_id "
            "WHERE x.campaign_id <> o.campaign_id"
        )[0][0]
        assert linked == 0  # an impression belongs to the campaign of its person's outcome
    finally:
        db.close()


# -- settings address targets by name; the targets' bounds follow the settings ----------------------------------


def test_a_place_names_a_target_and_a_wrong_name_is_one_line(tmp_path: Path) -> None:
    doc = {
        "settings": {
            "r": {
                "default": 0.2,
                "at": ["targets[b].between.1", {"place": "targets[b].between.0", "value": "0.5 * r * (1 - h)"}],
            },
            "h": {"default": 0.5},
        },
        "targets": [{"name": "a", "between": [0, 1]}, {"name": "b", "between": [0, 0]}],
    }
    assert apply_settings(json.loads(json.dumps(doc)), {"r": "0.4"})["targets"][1]["between"] == [0.1, 0.4]

    def places(*at: object) -> dict:
        broken = json.loads(json.dumps(doc))
        broken["settings"]["r"]["at"] = list(at)
        return broken

    with pytest.raises(SchemaError, match=r"targets\[c\]\.between\.1: no item is named 'c' there \(names: a, b\)"):
        apply_settings(places("targets[c].between.1"))
    for value, message in (("r * q", "q is not a number or a numeric setting"), ("r *", "not an arithmetic")):
        with pytest.raises(SchemaError, match=message):
            apply_settings(places({"place": "targets[b].between.0", "value": value}))
    # the pack names every target it writes: a target renamed under its setting fails the load, in one line
    copy = tmp_path / "graph.yaml"
    copy.write_text(packs.text("identity-graph").replace("name: holdout share,", "name: holdout rate,"))
    done = run("generate", "--schema", str(copy), "--out", str(tmp_path / "o"), "-q")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert (
        "settings.holdout_share.at: targets[holdout share].between.0: no item is named 'holdout share'" in done.stderr
    )
    assert not (tmp_path / "o").exists()


def test_target_bounds_follow_the_settings() -> None:
    default = {t.name: t.between for t in packs.load("identity-graph").targets}
    assert default["exposed share"] == pytest.approx((0.65 * 0.0353 * 0.85, 1.3 * 0.0353 * 0.85))
    assert default["holdout share"] == pytest.approx((0.85 * 0.15, 1.15 * 0.15))
    moved = {
        t.name: t.between
        for t in packs.load("identity-graph", {"campaign_reach": "0.1", "holdout_share": "0.5"}).targets
    }
    assert moved["exposed share"] == pytest.approx((0.65 * 0.1 * 0.5, 1.3 * 0.1 * 0.5))
    assert moved["visit rate"] == pytest.approx((0.9 * 0.038 + 0.15 * 0.05, 1.55 * 0.038 + 0.45 * 0.05))
    assert "engagements per person" not in default  # the automatic fanout target follows engagements_power


def test_validate_with_the_runs_settings_passes_and_with_the_defaults_fails(parquet: Path, tmp_path: Path) -> None:
    """`validate --pack identity-graph --set campaign_reach=0.1` passes a run made with that --set and fails one
    made with the defaults (the exposed share)."""
    reach = tmp_path / "reach"
    assert (
        run("generate", *COMMON, "--set", "campaign_reach=0.1", "--format", "parquet", "--out", str(reach)).returncode
        == 0
    )
    tenth = ["--set", "campaign_reach=0.1"]
    for folder, sets, code in ((reach, tenth, 0), (parquet, tenth, 1)):
        report = tmp_path / "report.json"
        done = run("validate", "--pack", "identity-graph", *sets, str(folder), "-q", "--json", str(report))
        assert done.returncode == code, (folder.name, sets, done.stdout[-1500:])
        checks = {c["name"]: c["status"] for c in json.loads(report.read_text())["checks"]}
        if code == 0:
            assert [name for name, status in checks.items() if status != "pass"] == []
        else:  # the visit rate, which the reach raises too, may or may not leave its band at this size
            assert checks["exposed share"] == "fail" and checks["holdout share"] == "pass"


#: The targets whose bounds (or, for the fanout, expected values) the rate settings move.
FOLLOWING = {
    "exposed share",
    "holdout share",
    "visit rate",
    "conversion rate",
    "fanout content_engagements mean",
    "fanout content_engagements dispersion",
}


@pytest.mark.parametrize(
    ("setting", "value", "failing"),
    [
        ("base_visit_rate", "0.08", {"visit rate", "conversion rate"}),
        ("conversion_per_visit", "0.2", {"conversion rate"}),
        ("engagements_power", "2.5", {"fanout content_engagements mean", "fanout content_engagements dispersion"}),
    ],
)
def test_each_rate_setting_moves_its_targets(tmp_path: Path, setting: str, value: str, failing: set[str]) -> None:
    schema = packs.load("identity-graph", {setting: value}, people=3000)
    schema_run.generate_schema(schema, out=str(tmp_path), format="parquet", workers=1)
    same = {c.name: c.status for c in validate_schema(schema, str(tmp_path)).checks}
    assert all(same[name] == "pass" for name in FOLLOWING), same
    default = validate_schema(packs.load("identity-graph"), str(tmp_path))
    assert {c.name for c in default.checks if c.status == "fail"} & FOLLOWING == failing
