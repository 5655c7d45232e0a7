"""The database safety guard and ``pii_gen cleanup``, on real SQLite, DuckDB, PostgreSQL and MariaDB.

The guard refuses (exit 2, one line naming the rule and its flag, nothing written) a production
environment, a production-looking name, a database marked production and a schema pii_gen did not make;
cleanup drops what pii_gen created, and only that, with a token that works once, for 300 s, and only
for the list it was issued for.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from servers import server_url

from pii_gen import api
from pii_gen.config import build_config
from pii_gen.db import guard
from pii_gen.db.guard import Overrides, Refused
from pii_gen.db.loaders import connect
from pii_gen.db.url import parse
from pii_gen.dsl import packs
from pii_gen.packs.person.contract import TABLES
from pii_gen.stream import build_options, stream

ROOT = Path(__file__).resolve().parents[1]
BOOKKEEPING = {"pii_gen_runs", "pii_gen_load_log", "pii_gen_marker"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})  # fmt: skip


def _schema_args(schema: str | None) -> list[str]:
    return ["--db-schema", schema] if schema else []


def _execute(url: str, schema: str | None, *statements: str) -> None:
    conn = connect(parse(url), schema)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def tables(url: str, schema: str | None) -> set[str]:
    conn = connect(parse(url), schema)
    try:
        return set(conn.table_names())
    finally:
        conn.close()


def _create_namespace(url: str, schema: str | None) -> None:
    if schema:
        what = "DATABASE" if parse(url).dialect == "mysql" else "SCHEMA"
        _execute(url, None, f"CREATE {what} {schema}")


@pytest.fixture(params=["sqlite", "duckdb", "postgresql", "mariadb"])
def place(request, tmp_path):
    """(url, schema) of a place that does not exist yet, dropped afterwards."""
    kind = request.param
    if kind in ("sqlite", "duckdb"):
        yield f"{kind}:///{tmp_path / ('t.' + kind)}", None
        return
    url = server_url({"postgresql": "PII_GEN_TEST_POSTGRES_URL", "mariadb": "PII_GEN_TEST_MARIADB_URL"}[kind])
    schema = f"t_{uuid.uuid4().hex[:10]}"
    yield url, schema
    drop = f"DROP DATABASE IF EXISTS {schema}" if kind == "mariadb" else f"DROP SCHEMA IF EXISTS {schema} CASCADE"
    _execute(url, None, drop)


def _load(url: str, schema: str | None, overrides: Overrides = guard.NONE, **settings) -> None:
    config = build_config(settings, count=100, seed=1, db=url, db_schema=schema, workers=1, quiet=True)
    api.generate(config, overrides=overrides)


def _refused(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    for needle in needles:
        assert needle in r.stderr, r.stderr


# -- the rules ---------------------------------------------------------------------------------------------
def test_production_names_match_by_word_and_the_patterns_are_configurable():
    def refused(url: str, schema: str | None = None, environ: dict[str, str] | None = None) -> bool:
        try:
            guard.check_target(parse(url), schema, guard.NONE, environ or {})
        except Refused:
            return True
        return False

    assert refused("postgresql://u@db-prod-1.example.com/shop")
    assert refused("postgresql://u@10.0.0.1/orders_production")
    assert refused("mysql://u@10.0.0.1/shop", "prod2")
    assert refused("sqlite:///data/live.db")
    assert refused("mssql+pyodbc:///?odbc_connect=DRIVER%3D%7Bx%7D%3BSERVER%3Dsql-prod%3BDATABASE%3Dshop")
    # Words, not substrings: a products table set or a database about delivery is no production.
    assert not refused("postgresql://u@10.0.0.1/products", "delivery")
    assert not refused("sqlite:///data/prod/people.db")  # only a file's own name counts
    assert refused("postgresql://u@10.0.0.1/products", environ={guard.PATTERNS_VAR: "prod*, *.corp"})
    assert refused("postgresql://u@db.corp/x", environ={guard.PATTERNS_VAR: "prod*, *.corp"})
    assert not refused("sqlite:///prod.db", environ={guard.PATTERNS_VAR: ""})
    assert refused("sqlite:///people.db", environ={guard.ENV_VAR: "Production"})
    assert refused("sqlite:///people.db", environ={guard.ENV_VAR: "prod"})
    assert not refused("sqlite:///people.db", environ={guard.ENV_VAR: "staging"})
    assert not guard.check_target(parse("sqlite:///prod.db"), None, Overrides(allow_production=True), {})


def test_a_production_name_or_environment_is_refused_before_connecting(tmp_path, monkeypatch):
    target = tmp_path / "prod.db"
    r = cli("generate", "-n", "100", "--db", f"sqlite:///{target}")
    _refused(r, "file name 'prod.db'", "production pattern 'prod'", "--allow-production")
    r = cli("create-schema", "--db", f"sqlite:///{target}")
    _refused(r, "--allow-production")
    r = cli("stream", "--count", "10", "--to", f"sqlite:///{target}")
    _refused(r, "--allow-production")
    assert not target.exists()  # not even created
    people = tmp_path / "people.duckdb"
    r = cli("generate", "-n", "100", "--db", f"duckdb:///{people}", env={"PII_GEN_ENV": "production"})
    _refused(r, "PII_GEN_ENV is 'production'", "--allow-production")
    monkeypatch.setenv("PII_GEN_ENV", "prod")  # a pack's (a schema file's) load passes the same guard
    with pytest.raises(Refused, match="PII_GEN_ENV is 'prod'"):
        api.generate_schema(packs.load("identity-graph", people=100), build_config({}, db=f"duckdb:///{people}"))
    assert not people.exists()
    monkeypatch.delenv("PII_GEN_ENV")
    r = cli("generate", "-n", "100", "--db", f"sqlite:///{target}", "--allow-production", "-q")
    assert r.returncode == 0, r.stderr
    assert set(TABLES) | BOOKKEEPING <= tables(f"sqlite:///{target}", None)


def test_a_production_schema_name_on_a_server_is_never_created():
    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema = f"prod_{uuid.uuid4().hex[:8]}"
    r = cli("generate", "-n", "100", "--db", url, "--db-schema", schema)
    _refused(r, f"schema name '{schema}'", "--allow-production")
    conn = connect(parse(url))
    try:
        assert not conn.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,))
    finally:
        conn.close()


def test_a_database_that_marks_itself_production_is_refused(place):
    url, schema = place
    _create_namespace(url, schema)
    conn = connect(parse(url), schema)
    _execute(url, schema, f"CREATE TABLE {conn.table(guard.PRODUCTION_TABLE)} (note VARCHAR(20))")
    conn.close()
    _refused(cli("create-schema", "--db", url, *_schema_args(schema)), guard.PRODUCTION_TABLE, "--allow-production")
    for write in (lambda: _load(url, schema, Overrides(allow_unmarked=True)), lambda: api.cleanup(url, schema)):
        with pytest.raises(Refused, match=f"holds the table {guard.PRODUCTION_TABLE}.*--allow-production"):
            write()
    assert tables(url, schema) == {guard.PRODUCTION_TABLE}


def test_a_production_marker_in_the_default_schema_covers_every_schema(tmp_path):
    url = f"duckdb:///{tmp_path / 'd.duckdb'}"
    _execute(url, None, f"CREATE TABLE {guard.PRODUCTION_TABLE} (note VARCHAR)")
    r = cli("create-schema", "--db", url, "--db-schema", "people")
    _refused(r, "its default schema holds the table pii_gen_production")
    assert tables(url, "people") == set()


def test_a_schema_pii_gen_did_not_make_is_refused_and_cleanup_keeps_its_tables(place):
    url, schema = place
    _create_namespace(url, schema)
    conn = connect(parse(url), schema)
    customers = conn.table("customers")
    conn.close()
    _execute(url, schema, f"CREATE TABLE {customers} (id INTEGER)", f"INSERT INTO {customers} VALUES (7)")
    refusal = r"holds 1 tables \(customers\) but no pii_gen_marker.*--allow-unmarked"
    _refused(cli("create-schema", "--db", url, *_schema_args(schema)), "holds 1 tables (customers)", "--allow-unmarked")
    for if_exists in ("fail", "replace"):
        with pytest.raises(Refused, match=refusal):
            _load(url, schema, if_exists=if_exists)
    with pytest.raises(Refused, match=refusal):  # a stream into it too
        stream(build_config({}, seed=1), build_options(count=10, to=url, db_schema=schema, quiet=True))
    assert tables(url, schema) == {"customers"}
    _load(url, schema, Overrides(allow_unmarked=True))
    assert tables(url, schema) == {"customers"} | set(TABLES) | BOOKKEEPING
    _load(url, schema, if_exists="append")  # marked now: no override needed
    issued = api.cleanup(url, schema)
    assert [name for name, _ in issued.tables][-3:] == ["pii_gen_load_log", "pii_gen_runs", "pii_gen_marker"]
    assert dict(issued.tables)["persons"] == 200 and "customers" not in dict(issued.tables)
    done = api.cleanup(url, schema, confirm=issued.token)
    assert done.dropped and tables(url, schema) == {"customers"}
    conn = connect(parse(url), schema)
    try:
        assert conn.execute(f"SELECT id FROM {customers}") == [(7,)]
    finally:
        conn.close()


# -- cleanup's tokens --------------------------------------------------------------------------------------
def test_wrong_expired_and_reused_tokens_drop_nothing(place):
    url, schema = place
    _load(url, schema)
    everything = set(TABLES) | BOOKKEEPING
    assert api.cleanup(url, schema, dry_run=True).token is None
    token = api.cleanup(url, schema).token
    assert token is not None and re.fullmatch(r"[0-9a-f]{8}", token)
    with pytest.raises(Refused, match="not one .* issued, or it was used already"):
        api.cleanup(url, schema, confirm="0badc0de")
    stale = api.cleanup(url, schema, clock=lambda: time.time() - 301).token  # issued 301 s ago: expired
    with pytest.raises(Refused, match=r"expired \d+ s ago"):
        api.cleanup(url, schema, confirm=stale)
    late = api.cleanup(url, schema).token
    with pytest.raises(Refused, match=r"expired \d+ s ago"):  # the clock decides, not the wall: 301 s later
        api.cleanup(url, schema, confirm=late, clock=lambda: time.time() + 301)
    assert tables(url, schema) == everything
    assert api.cleanup(url, schema, confirm=token).dropped
    assert tables(url, schema) == set()
    _load(url, schema)  # a new load: the used token does not drop it
    with pytest.raises(Refused, match="used already"):
        api.cleanup(url, schema, confirm=token)
    assert tables(url, schema) == everything


def test_a_token_is_bound_to_what_it_drops(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    _load(url, None)
    token = api.cleanup(url).token
    assert cli("create-schema", "--db", url, "--noise", "realistic").returncode == 0  # adds noise_log
    with pytest.raises(Refused, match="changed since token"):
        api.cleanup(url, confirm=token)
    assert "noise_log" in tables(url, None)
    fresh = api.cleanup(url)
    assert "noise_log" in dict(fresh.tables) and api.cleanup(url, confirm=fresh.token).dropped
    assert tables(url, None) == set()


def test_cleanup_on_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert cli("generate", "-n", "100", "--db", url, "-q").returncode == 0
    dry = cli("cleanup", "--db", url, "--dry-run")
    assert dry.returncode == 0 and "Would drop 11 tables" in dry.stdout and "--confirm" not in dry.stdout
    assert re.search(r"persons\s+100\n", dry.stdout), dry.stdout
    first = cli("cleanup", "--db", url)
    found = re.search(r"pii_gen cleanup --db \S+ --confirm ([0-9a-f]{8})$", first.stdout.strip())
    assert first.returncode == 0 and "within 300 s" in first.stdout and found, first.stdout
    _refused(cli("cleanup", "--db", url, "--confirm", "ffffffff"), "used already")
    _refused(cli("cleanup", "--db", url, "--confirm", found.group(1), "--dry-run"), "pass one of them")
    assert set(TABLES) <= tables(url, None)
    done = cli("cleanup", "--db", url, "--confirm", found.group(1))
    assert done.returncode == 0 and "Dropped 11 tables" in done.stdout, done.stderr
    assert tables(url, None) == set()
    _refused(cli("cleanup", "--db", url, "--confirm", found.group(1)), "used already")
    nothing = cli("cleanup", "--db", url)
    assert nothing.returncode == 0 and "Nothing of pii_gen's" in nothing.stdout
