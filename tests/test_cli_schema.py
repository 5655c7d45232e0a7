"""The schema-file command line as a user meets it: `schema check|preview|json-schema`, `--schema FILE`, and the
database namespace option renamed `--db-schema` on every command. Real processes, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pii_gen import dsl

ROOT = Path(__file__).resolve().parents[1]

SHOP = """\
version: 1
name: shop
seed: 7
tables:
  regions:
    kind: vocab
    key: region
    data: [{region: North, lift: 1.0}, {region: South, lift: 1.2}]
  stores:
    kind: entity
    rows: 40
    key: store_id
    columns:
      store_id: {gen: sequence, format: "ST-{:04d}"}
      region: {gen: choice, from: regions.region, weights: [3, 1]}
      size: {gen: distribution, dist: gamma, shape: 2, scale: 50, integer: true}
  orders:
    kind: fact
    parent: stores
    fanout: {dist: fixed, n: 3}
    key: order_id
    columns:
      order_id: {gen: sequence}
      amount:
        gen: distribution
        dist: lognormal
        mu: 3.6
        sigma: 0.6
        decimals: 2
  visits:
    kind: fact
    rows: 500
    columns:
      store: {gen: ref, to: stores}
      store_region: {gen: lookup, via: store, column: region}
"""

RENAMED = "pii_gen: error: --schema 'crm' is not a schema file; the database namespace option is now --db-schema\n"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(SHOP, encoding="utf-8")
    return path


@pytest.mark.parametrize("args", [
    ["generate", "-n", "5", "--schema", "crm"],
    ["stream", "--count", "1", "--schema", "crm"],
    ["create-schema", "--dry-run", "--dialect", "postgresql", "--schema", "crm"],
    ["validate", "--db", "duckdb:///nowhere.duckdb", "--schema", "crm"],
], ids=lambda args: args[0])  # fmt: skip
def test_the_old_namespace_spelling_is_refused_with_a_pointer_to_db_schema(tmp_path, args):
    r = run(*args, cwd=tmp_path)
    assert (r.returncode, r.stderr, r.stdout) == (2, RENAMED, "")
    assert list(tmp_path.iterdir()) == []  # nothing written, no database file created


def test_every_command_takes_the_namespace_as_db_schema(tmp_path):
    ddl = run("create-schema", "--dry-run", "--dialect", "postgresql", "--db-schema", "crm")
    assert ddl.returncode == 0, ddl.stderr
    assert 'CREATE SCHEMA IF NOT EXISTS "crm"' in ddl.stdout and 'CREATE TABLE "crm"."persons"' in ddl.stdout
    duckdb = pytest.importorskip("duckdb")
    url = f"duckdb:///{tmp_path / 'people.duckdb'}"
    loaded = run("generate", "-n", "200", "--seed", "1", "--workers", "1", "--db", url, "--db-schema", "crm", "-q")
    assert loaded.returncode == 0, loaded.stderr
    with duckdb.connect(str(tmp_path / "people.duckdb")) as conn:
        assert conn.execute("SELECT count(*) FROM crm.persons").fetchone() == (200,)
    streamed = run("stream", "--rate", "0", "--count", "5", "--seed", "1", "--to", url, "--db-schema", "crm", "-q")
    assert streamed.returncode == 0, streamed.stderr
    with duckdb.connect(str(tmp_path / "people.duckdb")) as conn:
        assert conn.execute("SELECT count(*) FROM crm.persons").fetchone()[0] > 200  # whole households: 5 or more
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"
                            ).fetchone() == (0,)  # fmt: skip
    checked = run("validate", "--db", url, "--db-schema", "crm", "--quiet")
    assert checked.returncode in (0, 1), checked.stderr  # it found the tables there: a verdict, not an error
    assert checked.stderr == ""


def test_json_schema_prints_the_file_formats_json_schema():
    r = run("schema", "json-schema")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(json.dumps(dsl.json_schema()))


def test_check_prints_the_tables_in_generation_order_with_kind_and_rows(shop):
    r = run("schema", "check", "shop.yaml", cwd=shop.parent)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "shop.yaml: ok, 4 tables in generation order (seed 7, scale 1)"
    rows = [line.split() for line in lines[3:]]
    assert [row[0] for row in rows] == dsl.order(dsl.load(shop))
    assert {row[0]: (row[1], row[2]) for row in rows} == {
        "regions": ("vocab", "2"), "stores": ("entity", "40"), "orders": ("fact", "120"), "visits": ("fact", "500")}
    scaled = run("schema", "check", str(shop), "--scale", "2.5")
    assert scaled.returncode == 0, scaled.stderr
    assert scaled.stdout.splitlines()[0].endswith("(seed 7, scale 2.5)")
    assert {row.split()[0]: row.split()[2] for row in scaled.stdout.splitlines()[3:]} == {
        "regions": "2", "stores": "100", "orders": "300", "visits": "1,250"}  # vocab is never scaled


def test_check_of_a_broken_file_is_its_one_line_with_file_line_and_path(shop):
    shop.write_text(SHOP.replace("sigma: 0.6", "sigma: 0"), encoding="utf-8")
    line = SHOP.splitlines().index("        sigma: 0.6") + 1
    r = run("schema", "check", "shop.yaml", cwd=shop.parent)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == f"pii_gen: error: shop.yaml:{line}: tables.orders.columns.amount.sigma: must be > 0\n"
    missing = run("schema", "check", "nope.yaml", cwd=shop.parent)
    assert missing.returncode == 2
    assert missing.stderr == "pii_gen: error: nope.yaml: cannot read the schema file: No such file or directory\n"


def _previewed(stdout: str) -> dict[str, list[str]]:
    """Table -> its printed lines (header, rule and rows, or the one note)."""
    out: dict[str, list[str]] = {}
    for block in stdout.strip("\n").split("\n\n"):
        first, *rest = block.splitlines()
        name, what = first.split(": ", 1)
        out[name] = [what, *rest]
    return out


def test_preview_prints_the_first_rows_of_every_table_as_a_run_makes_them(shop):
    from pii_gen.schema_run import preview

    r = run("schema", "preview", str(shop), "--rows", "4", "--seed", "3")
    assert r.returncode == 0, r.stderr
    shown = _previewed(r.stdout)
    assert list(shown) == dsl.order(dsl.load(shop))
    assert shown["regions"][0] == "2 rows" and shown["regions"][3].split() == ["North", "1.0"]
    made = preview(shop, 4, 3)
    for name in ("stores", "orders", "visits"):
        count, head, rule, *rows = shown[name]
        assert count == "4 rows" and head.split() == made[name].column_names
        assert [row.split() for row in rows] == [[str(v) for v in row.values()] for row in made[name].to_pylist()]
    assert [row.split()[0] for row in shown["stores"][3:]] == ["ST-0001", "ST-0002", "ST-0003", "ST-0004"]


def test_preview_is_the_same_at_a_seed_and_changes_with_it(shop):
    first, again, other = (run("schema", "preview", str(shop), "--seed", s) for s in ("3", "3", "4"))
    assert first.returncode == again.returncode == other.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout
    assert len(_previewed(first.stdout)["stores"]) == 2 + 10 + 1  # the count line, header, rule, 10 rows


@pytest.mark.parametrize("args, message", [
    (["generate", "--scale", "2", "-n", "5"], "--scale needs --schema FILE (it multiplies a schema file's rows)"),
    (["generate", "--schema", "shop.yaml", "-n", "5"],
     "-n/--count does not apply to --schema FILE (the file describes the tables)"),
    (["generate", "--schema", "shop.yaml", "--noise", "light"],
     "--noise does not apply to --schema FILE (the file describes the tables)"),
    (["create-schema", "--schema", "shop.yaml", "--noise", "light", "--dry-run", "--dialect", "postgresql"],
     "--noise does not apply to --schema FILE (the file describes the tables)"),
    (["generate", "--schema", "typo.yaml"], "typo.yaml: cannot read the schema file: No such file or directory"),
    (["stream", "--schema", "shop.yaml"],
     "stream takes no schema file yet (--schema shop.yaml); the database namespace option is --db-schema"),
    (["validate", "out", "--schema", "shop.yaml"], "'out' does not exist"),
    (["generate", "--dry-run"], "--dry-run needs --schema FILE or --pack NAME"),
    (["generate", "--clean-twin", "twin"], "--clean-twin needs --schema FILE or --pack NAME"),
    (["generate", "--schema", "shop.yaml", "--json"], "--json needs --dry-run (it prints the plan as JSON)"),
    (["generate", "--schema", "shop.yaml", "--clean-twin", "twin", "--db", "sqlite:///x.db"],
     "--clean-twin writes files: it goes with --out, not --db"),
    (["generate", "--schema", "shop.yaml", "--clean-twin", "out", "--out", "out"],
     "--clean-twin needs a folder of its own, not the --out folder"),
], ids=["scale_without_schema", "count_with_schema", "noise_with_schema", "create_schema_noise", "missing_file",
        "stream_file", "validate_file", "dry_run_without_schema", "twin_without_schema", "json_without_dry_run",
        "twin_with_db", "twin_is_out"])  # fmt: skip
def test_a_flag_that_does_not_fit_is_one_line_and_exit_2(shop, args, message):
    r = run(*args, cwd=shop.parent)
    assert (r.returncode, r.stderr, r.stdout) == (2, f"pii_gen: error: {message}\n", "")
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.yaml"]


def test_preview_rows_must_be_positive(shop):
    r = run("schema", "preview", str(shop), "--rows", "0")
    assert r.returncode == 2 and r.stderr.startswith("pii_gen: error: Invalid value for '--rows'")


@pytest.mark.parametrize("args", [
    ["generate", "--schema", "shop.yaml", "--seed", "1", "--scale", "2", "--out", "out"],
    ["create-schema", "--schema", "shop.yaml", "--dry-run", "--dialect", "postgresql"],
], ids=["generate", "create_schema"])  # fmt: skip
def test_a_broken_file_stops_generate_and_create_schema_before_anything_is_written(shop, args):
    shop.write_text(SHOP.replace("sigma: 0.6", "sigma: 0"), encoding="utf-8")
    r = run(*args, cwd=shop.parent)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("pii_gen: error: shop.yaml:") and r.stderr.count("\n") == 1
    assert "tables.orders.columns.amount.sigma: must be > 0" in r.stderr
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.yaml"]


def test_generate_schema_writes_every_table_with_its_manifest_and_keys_that_hold(shop):
    r = run("generate", "--schema", "shop.yaml", "--seed", "3", "--format", "parquet", "--out", "out", "--quiet",
            cwd=shop.parent)  # fmt: skip
    assert (r.returncode, r.stderr) == (0, "")
    out = shop.parent / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema"] == "shop" and manifest["seed"] == 3
    rows = {name: info["rows"] for name, info in manifest["tables"].items()}
    assert rows == {"regions": 2, "stores": 40, "orders": 120, "visits": 500}
    import pyarrow.parquet as pq

    stores = pq.read_table(out / manifest["tables"]["stores"]["file"])
    visits = pq.read_table(out / manifest["tables"]["visits"]["file"])
    region = dict(zip(stores.column("store_id").to_pylist(), stores.column("region").to_pylist()))
    pairs = zip(visits.column("store").to_pylist(), visits.column("store_region").to_pylist())
    assert all(region[s] == r for s, r in pairs)


def test_create_schema_prints_the_ddl_of_the_file(shop):
    r = run("create-schema", "--schema", "shop.yaml", "--dry-run", "--dialect", "postgresql", cwd=shop.parent)
    assert (r.returncode, r.stderr) == (0, "")
    for table in ("regions", "stores", "orders", "visits"):
        assert f'CREATE TABLE "{table}"' in r.stdout or f"CREATE TABLE {table}" in r.stdout
    assert "FOREIGN KEY" in r.stdout and "REFERENCES" in r.stdout
    first = r.stdout.splitlines()[0]
    assert first == "-- pii_gen schema for postgresql; generated from schema shop, do not edit by hand."
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop.yaml"]


ANOMALIES = """\
effects:
  - {name: spring, table: orders, time: placed_at, window: {start: 2024-03-01, end: 2024-05-31}, rate: 2.0}
anomalies:
  - {name: spikes, kind: spike, table: orders, column: amount, count: 9, severity: high}
  - {name: doubles, kind: duplicate, table: orders, count: 4}
  - {name: spring_spikes, kind: spike, table: orders, column: amount, count: 3, effect: spring}
"""


@pytest.fixture
def anomalous(shop: Path) -> Path:
    text = SHOP.replace("      order_id: {gen: sequence}\n",
                        "      order_id: {gen: sequence}\n      placed_at: {gen: datetime_series}\n")
    shop.write_text(text + ANOMALIES, encoding="utf-8")
    return shop


def test_dry_run_prints_the_plan_and_writes_nothing(anomalous):
    r = run("generate", "--schema", "shop.yaml", "--dry-run", cwd=anomalous.parent)
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert lines[0] == "dry run of schema shop (seed 7, scale 1): nothing is written"
    assert [line.split()[0] for line in lines[3:8]] == ["regions", "stores", "orders", "visits", "anomaly_labels"]
    assert lines[8] == ""
    assert any(line.split()[:2] == ["spring", "orders"] and "2024-03-01 .. 2024-05-31" in line for line in lines)
    assert any(line.split()[:3] == ["doubles", "duplicate", "orders"] for line in lines)
    assert sorted(p.name for p in anomalous.parent.iterdir()) == ["shop.yaml"]


def test_dry_run_json_is_the_plan_a_run_then_writes(anomalous):
    r = run("generate", "--schema", "shop.yaml", "--dry-run", "--json", "--seed", "4", cwd=anomalous.parent)
    assert (r.returncode, r.stderr) == (0, "")
    plan = json.loads(r.stdout)
    assert sorted(p.name for p in anomalous.parent.iterdir()) == ["shop.yaml"]
    assert [a["rows"] for a in plan["anomalies"]] == [9, 4, 3]
    assert plan["anomalies"][2]["window"] == ["2024-03-01", "2024-05-31"] and plan["effects"][0]["rate"] == 2.0
    r = run("generate", "--schema", "shop.yaml", "--seed", "4", "--out", "out", "--clean-twin", "twin",
            cwd=anomalous.parent)  # fmt: skip
    assert r.returncode == 0 and "without its anomalies to twin/" in r.stderr
    manifest = json.loads((anomalous.parent / "out" / "manifest.json").read_text())
    twin = json.loads((anomalous.parent / "twin" / "manifest.json").read_text())
    written = {name: info["rows"] for name, info in manifest["tables"].items()}
    assert written == {t["name"]: t["rows"] for t in plan["tables"]}
    assert (manifest["clean_twin"], twin["clean_twin"]) == (False, True)
    assert "anomaly_labels" not in twin["tables"] and "anomalies" not in twin
    assert twin["tables"]["orders"]["rows"] == written["orders"] - 4


def test_dry_run_of_a_pack_prints_its_plan_and_writes_nothing(tmp_path):
    r = run("generate", "--pack", "identity-graph", "-n", "300", "--dry-run", "--json", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (0, "")
    plan = json.loads(r.stdout)
    assert plan["schema"] == "identity-graph" and plan["tables"][1] == {"name": "individuals", "kind": "entity",
                                                                        "rows": 300}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("old, new, message", [
    ("kind: duplicate", "kind: twice",
     "anomalies[1].kind: unknown anomaly kind 'twice' (one of: spike, negative, late, off_hours, orphan, "
     "duplicate)"),
    ("effect: spring}", "effect: autumn}", "anomalies[2].effect: no effect named 'autumn'"),
    ("count: 9,", "count: 9, rate: 0.1,", "anomalies[0].count: needs count: N or rate: SHARE (one of them)"),
])  # fmt: skip
def test_check_of_a_bad_anomaly_is_its_one_line_with_file_line_and_path(anomalous, old, new, message):
    lines = anomalous.read_text(encoding="utf-8").replace(old, new).splitlines()
    anomalous.write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = next(i for i, text in enumerate(lines, 1) if new in text)
    r = run("schema", "check", "shop.yaml", cwd=anomalous.parent)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"pii_gen: error: shop.yaml:{line}: {message}\n")


def test_dry_run_with_a_database_connects_to_nothing(anomalous):
    r = run("generate", "--schema", "shop.yaml", "--db", "postgresql://nobody@127.0.0.1:9/none", "--dry-run",
            cwd=anomalous.parent)  # fmt: skip
    assert (r.returncode, r.stderr) == (0, "") and "nothing is written" in r.stdout
