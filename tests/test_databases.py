"""Loading into real databases: counts, foreign keys, identical rows, faults and resume.

Servers come from environment variables (``.ci/run`` sets them), else the local defaults
(see servers.py): PII_GEN_TEST_POSTGRES_URL, PII_GEN_TEST_MARIADB_URL (native, PyMySQL),
PII_GEN_TEST_MARIADB_ODBC_URL and PII_GEN_TEST_POSTGRES_ODBC_URL (through ODBC, the SQL
Server path).  A test without its server skips with the reason, unless PII_GEN_REQUIRE_DB=1,
which makes it fail instead.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import pyarrow.compute as pc

from servers import server_url, terminate_copy

from pii_gen import GenerateConfig, PersonGenerator
from pii_gen.config import build_config
from pii_gen.variability import tables_for
from pii_gen.db import ddl
from pii_gen.db.loaders import connect
from pii_gen.db.url import parse
from pii_gen.packs.person.contract import TABLES

ROOT = Path(__file__).resolve().parents[1]
N = 12_000
BATCH = 5_000  # three batches of 10,000-person blocks... rounded up to whole blocks: 2 batches


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True,
                          timeout=600, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def expected():
    return PersonGenerator(GenerateConfig(seed=5)).generate(N)


@pytest.fixture(params=["duckdb", "sqlite", "postgresql", "postgresql_odbc", "mariadb", "mariadb_odbc"])
def target(request, tmp_path):
    """(url, schema) of an empty place to load into, cleaned up afterwards."""
    kind = request.param
    if kind in ("duckdb", "sqlite"):
        yield f"{kind}:///{tmp_path / ('t.' + kind)}", None
        return
    var = {"postgresql": "PII_GEN_TEST_POSTGRES_URL", "postgresql_odbc": "PII_GEN_TEST_POSTGRES_ODBC_URL",
           "mariadb": "PII_GEN_TEST_MARIADB_URL", "mariadb_odbc": "PII_GEN_TEST_MARIADB_ODBC_URL"}[kind]  # fmt: skip
    url = server_url(var)
    schema = f"t_{uuid.uuid4().hex[:10]}"
    yield url, schema
    conn = connect(parse(url), schema)
    d = conn.dialect
    stmt = (
        f"DROP DATABASE IF EXISTS {d.q(schema)}"
        if d.name == "mysql"
        else f"DROP SCHEMA IF EXISTS {d.q(schema)} CASCADE"
    )
    conn.execute(stmt)
    conn.commit()
    conn.close()


def test_load_counts_keys_and_rows(target, expected):
    url, schema = target
    args = ["generate", "-n", str(N), "--seed", "5", "--db", url, "--batch-size", str(BATCH), "--workers", "2"]
    r = cli(*args, *(["--db-schema", schema] if schema else []))
    assert r.returncode == 0, r.stderr
    conn = connect(parse(url), schema)
    try:
        for name in TABLES:
            assert conn.execute(f"SELECT COUNT(*) FROM {conn.table(name)}")[0][0] == expected[name].num_rows, name
        for name, spec in TABLES.items():
            for column, parent, parent_col in spec.foreign_keys:
                child, key = conn.dialect.q(column), conn.dialect.q(parent_col)
                orphans = conn.execute(
                    f"SELECT COUNT(*) FROM {conn.table(name)} c LEFT JOIN {conn.table(parent)} p "
                    f"ON c.{child} = p.{key} WHERE p.{key} IS NULL"
                )[0][0]
                assert orphans == 0, name
        # A sample of rows equals the file output for the same seed.
        persons = expected["persons"]
        cols = ["person_id", "ssn", "first_name", "last_name", "date_of_birth"]
        q = ", ".join(conn.dialect.q(c) for c in cols)
        for pid in (1, 777, 10_001, N):
            got = conn.execute(f"SELECT {q} FROM {conn.table('persons')} WHERE person_id = %s", (pid,))[0]
            want = persons.slice(pid - 1, 1).select(cols).to_pylist()[0]
            assert [str(x) for x in got] == [str(want[c]) for c in cols]
        log = conn.execute(f"SELECT COUNT(DISTINCT batch_number) FROM {conn.table('pii_gen_load_log')}")[0][0]
        assert log == 2
        # The run's stored config reads back whole (what --resume regenerates from).
        stored = json.loads(conn.execute(f"SELECT config FROM {conn.table('pii_gen_runs')}")[0][0])
        assert stored["seed"] == 5 and stored["count"] == N and stored["noise"]["profile"] == "none"
    finally:
        conn.close()
    again = cli(*args, *(["--db-schema", schema] if schema else []))
    assert again.returncode == 2 and "already holds rows" in again.stderr


@pytest.fixture(scope="module")
def expected_noisy():
    return PersonGenerator(build_config({"seed": 5, "noise": {"profile": "heavy"}})).generate(N)


def test_noisy_load_holds_the_noise_and_its_log(target, expected_noisy):
    url, schema = target
    args = ["generate", "-n", str(N), "--seed", "5", "--db", url, "--batch-size", str(BATCH), "--workers", "2",
            "--noise", "heavy", *(["--db-schema", schema] if schema else [])]  # fmt: skip
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert f"Loaded {N:,} people (+" in r.stderr
    conn = connect(parse(url), schema)
    try:
        for name in [*TABLES, "noise_log"]:
            got = conn.execute(f"SELECT COUNT(*) FROM {conn.table(name)}")[0][0]
            assert got == expected_noisy[name].num_rows, name
        # Noisy values arrive as generated: text dates in other formats, nulls, duplicates' sources.
        q = conn.dialect.q
        cols = ["person_id", "ssn", "first_name", "last_name", "date_of_birth", "source_person_id"]
        persons = expected_noisy["persons"]
        dup = persons.filter(pc.is_valid(persons.column("source_person_id"))).column("person_id")[0].as_py()
        for pid in (1, 777, 10_001, dup):
            row = conn.execute(
                f"SELECT {', '.join(q(c) for c in cols)} FROM {conn.table('persons')} WHERE person_id = %s", (pid,)
            )[0]
            want = persons.filter(pc.equal(persons.column("person_id"), pid)).select(cols).to_pylist()[0]
            assert [None if x is None else str(x) for x in row] == [
                None if want[c] is None else str(want[c]) for c in cols
            ]
        changed = conn.execute(
            f"SELECT COUNT(*) FROM {conn.table('noise_log')} WHERE {q('noise_type')} = 'format' "
            f"AND {q('column_name')} = 'date_of_birth'"
        )[0][0]
        assert changed > 1000
    finally:
        conn.close()


def _retried(stderr: str) -> int:
    """The retried batches the load's summary line counts."""
    found = re.search(r"(\d+) retried batches", stderr)
    assert found, stderr
    return int(found.group(1))


def _pg(url: str, schema: str):
    return connect(parse(url), schema)


def test_killed_connection_is_retried_without_duplicates(tmp_path):
    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    n = 80_000
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", str(n), "--seed", "2", "--db", url,
         "--db-schema", schema, "--batch-size", "10000", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watcher = _pg(url, None)
    killed = 0
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not killed:
            if terminate_copy(watcher, schema):
                killed += 1
            time.sleep(0.05)
        out, err = proc.communicate(timeout=300)
        assert killed, "never caught the loader mid-COPY"
        assert proc.returncode == 0, err
        assert _retried(err) >= 1
        conn = _pg(url, schema)
        assert conn.execute(f"SELECT COUNT(*), COUNT(DISTINCT person_id) FROM {conn.table('persons')}")[0] == (n, n)
        expected = PersonGenerator(GenerateConfig(seed=2, count=n)).generate(n)
        for name in TABLES:
            assert conn.execute(f"SELECT COUNT(*) FROM {conn.table(name)}")[0][0] == expected[name].num_rows, name
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        watcher.commit()
        watcher.close()


def test_killed_mariadb_connection_is_retried_without_duplicates():
    """The native MySQL/MariaDB path keeps the retry semantics: a connection killed mid-LOAD DATA reconnects,
    and the load log decides what is in."""
    url, schema = _mariadb_schema()
    n = 60_000
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", str(n), "--seed", "2", "--db", url,
         "--db-schema", schema, "--batch-size", "10000", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watcher = connect(parse(url))
    killed = 0
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not killed:
            rows = watcher.execute(
                "SELECT id FROM information_schema.processlist WHERE info LIKE 'LOAD DATA%%' AND info LIKE %s",
                (f"%{schema}%",),
            )
            watcher.commit()
            if rows:
                watcher.execute(f"KILL {int(rows[0][0])}")
                killed += 1
            time.sleep(0.05)
        out, err = proc.communicate(timeout=300)
        assert killed, "never caught the loader mid-LOAD DATA"
        assert proc.returncode == 0, err
        assert _retried(err) >= 1
        conn = connect(parse(url), schema)
        assert conn.execute(f"SELECT COUNT(*), COUNT(DISTINCT person_id) FROM {conn.table('persons')}")[0] == (n, n)
        want = PersonGenerator(GenerateConfig(seed=2, count=n)).generate(n)
        for name in TABLES:
            assert conn.execute(f"SELECT COUNT(*) FROM {conn.table(name)}")[0][0] == want[name].num_rows, name
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
        _drop_mariadb(url, schema)


def test_ctrl_c_then_resume_gives_exact_counts(tmp_path):
    import sqlite3

    db = tmp_path / "r.db"  # SQLite lets the test watch the log while the load runs
    url = f"sqlite:///{db}"
    n = 100_000
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "generate", "-n", str(n), "--seed", "4", "--db", url,
         "--batch-size", "10000", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            with sqlite3.connect(db) as c:
                if c.execute("SELECT COUNT(*) FROM pii_gen_load_log").fetchone()[0] >= 6:
                    break
        except sqlite3.Error:  # not created yet
            continue
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err and len(err.strip().splitlines()) == 1
    run_id = err.split("--resume")[1].split()[0]
    with sqlite3.connect(db) as c:
        loaded = c.execute("SELECT COUNT(*) FROM persons").fetchone()[0]
    assert 0 < loaded < n and loaded % 10_000 == 0  # whole batches only
    r = cli("generate", "--db", url, "--resume", run_id)
    assert r.returncode == 0, r.stderr
    expected = PersonGenerator(GenerateConfig(seed=4, count=n)).generate(n)
    with sqlite3.connect(db) as c:
        for name in TABLES:
            assert c.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] == expected[name].num_rows, name
        assert c.execute("SELECT COUNT(*) FROM pii_gen_runs WHERE finished_at IS NOT NULL").fetchone()[0] == 1
        got = c.execute("SELECT ssn FROM persons ORDER BY person_id").fetchall()
    assert [g[0] for g in got] == expected["persons"].column("ssn").to_pylist()


@pytest.mark.parametrize("name", ddl.DIALECTS)
def test_checked_in_ddl_matches_the_contract(name):
    assert (ROOT / "sql" / f"{name}.sql").read_text() == ddl.script(name)


@pytest.mark.parametrize("name,read", [("tsql", "tsql"), ("postgresql", "postgres"), ("mysql", "mysql"),
                                       ("sqlite", "sqlite"), ("duckdb", "duckdb")])  # fmt: skip
def test_ddl_parses(name, read):
    import sqlglot

    for statement in ddl.statements(name, schema="people" if name != "sqlite" else None, drop_existing=True):
        parsed = sqlglot.parse_one(statement, read=read, error_level=sqlglot.ErrorLevel.RAISE)
        assert parsed is not None
    tsql = "\n".join(ddl.statements("tsql"))
    assert "MAX)" not in tsql and "NVARCHAR(" in tsql and "DATETIME2" in tsql
    # The noisy contract (text dates, wider columns, noise_log with a composite key) parses too.
    noisy = tables_for(build_config({"noise": {"profile": "heavy"}}))
    for statement in ddl.statements(name, drop_existing=True, tables=noisy):
        assert sqlglot.parse_one(statement, read=read, error_level=sqlglot.ErrorLevel.RAISE) is not None


def test_create_schema_cli_for_noisy_output():
    r = cli("create-schema", "--dry-run", "--dialect", "tsql", "--noise", "realistic")
    assert r.returncode == 0, r.stderr
    assert "CREATE TABLE [noise_log]" in r.stdout and "[source_person_id] BIGINT" in r.stdout
    assert "[date_of_birth] NVARCHAR(12)" in r.stdout  # format drift makes birth dates text
    assert "CONSTRAINT [pk_noise_log] PRIMARY KEY ([table_name], [record_id], [column_name])" in r.stdout
    assert "CREATE TABLE [noise_log]" not in cli("create-schema", "--dry-run", "--dialect", "tsql").stdout


def test_create_schema_cli(tmp_path):
    r = cli("create-schema", "--dry-run", "--dialect", "tsql")
    assert r.returncode == 0 and "CREATE TABLE [persons]" in r.stdout
    url = f"duckdb:///{tmp_path / 's.duckdb'}"
    assert cli("create-schema", "--db", url).returncode == 0
    import duckdb

    with duckdb.connect(str(tmp_path / "s.duckdb")) as c:
        names = {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(TABLES) | {"pii_gen_runs", "pii_gen_load_log"} <= names


@pytest.mark.parametrize(
    "args,needle",
    [
        (["create-schema", "--dry-run", "--dialect", "oracle"], "oracle"),
        (["generate", "-n", "10", "--db", "oracle://x/y"], "oracle"),
        (["create-schema", "--dry-run"], "--dialect"),
        (["generate", "-n", "10", "--resume", "abc"], "--db"),
        (["generate", "-n", "10", "--db", "postgresql://postgres:hunter2secret@127.0.0.1:1/test"], "cannot connect"),
    ],
)
def test_bad_database_input_is_one_line_without_password(args, needle):
    r = cli(*args)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr
    assert "hunter2secret" not in r.stderr + r.stdout and "Traceback" not in r.stderr


def _mariadb_schema() -> tuple[str, str]:
    return server_url("PII_GEN_TEST_MARIADB_URL"), f"t_{uuid.uuid4().hex[:10]}"


def _drop_mariadb(url: str, schema: str) -> None:
    conn = connect(parse(url), schema)
    conn.execute(f"DROP DATABASE IF EXISTS {conn.dialect.q(schema)}")
    conn.commit()
    conn.close()


def test_mariadb_native_inserts_when_local_infile_is_off(expected):
    url, schema = _mariadb_schema()
    try:
        r = cli("generate", "-n", "3000", "--seed", "5", "--db", url + "?local_infile=0", "--db-schema", schema)
        assert r.returncode == 0, r.stderr
        conn = connect(parse(url), schema)
        try:
            inserts = connect(parse(url + "?local_infile=0"), schema)
            assert not inserts.local_infile
            inserts.close()
            for name in TABLES:
                want = PersonGenerator(GenerateConfig(seed=5)).generate(3000)[name].num_rows
                assert conn.execute(f"SELECT COUNT(*) FROM {conn.table(name)}")[0][0] == want, name
        finally:
            conn.close()
    finally:
        _drop_mariadb(url, schema)


def test_mariadb_load_data_refuses_rows_the_server_skipped():
    """LOAD DATA LOCAL turns a duplicate key into a warning and skips the row: the loader must raise."""
    from pii_gen.errors import OutputError
    from pii_gen.sinks.database import ensure_schema

    url, schema = _mariadb_schema()
    conn = connect(parse(url), schema)
    try:
        assert conn.local_infile  # the test server allows it, so this is the LOAD DATA path
        ensure_schema(conn)
        batch = PersonGenerator(GenerateConfig(seed=5)).batch(10_000, 0, 1)
        conn.load(TABLES["households"], batch["households"].slice(0, 50))
        conn.commit()
        with pytest.raises(OutputError, match="took 0 of 50 rows"):
            conn.load(TABLES["households"], batch["households"].slice(0, 50))
        conn.rollback()
    finally:
        conn.close()
        _drop_mariadb(url, schema)


def test_missing_drivers_say_what_to_install():
    no_pymysql = "import sys; sys.modules['pymysql'] = None; from pii_gen.cli import main; main(sys.argv[1:])"
    r = subprocess.run([sys.executable, "-c", no_pymysql, "generate", "-n", "10", "--db", "mysql://root@127.0.0.1:1/x"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and 'pip install "pii-gen[mysql]"' in r.stderr and "Traceback" not in r.stderr, r.stderr
    import pyodbc

    if "ODBC Driver 18 for SQL Server" not in pyodbc.drivers():
        r = cli("generate", "-n", "10", "--db", "mssql+pyodbc://sa:pw@127.0.0.1:1/db")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "ODBC driver 'ODBC Driver 18 for SQL Server' is not installed" in r.stderr and "msodbcsql18" in r.stderr


@pytest.mark.parametrize("target", ["sqlite", "postgresql", "mariadb"], indirect=True)
def test_noisy_load_validates_like_its_files(target):
    """validate --db rebuilds the run's noise plan from pii_gen_runs, as a folder's manifest records it."""
    url, schema = target
    where = ["--db-schema", schema] if schema else []
    r = cli("generate", "-n", "12000", "--seed", "6", "--noise", "realistic", "--db", url, *where, "-q")
    assert r.returncode == 0, r.stderr
    r = cli("validate", "--db", url, *where, "--json", "/dev/stdout", "-q")
    report = json.loads(r.stdout)
    noise = [c for c in report["checks"] if c["group"] == "noise"]
    assert len(noise) > 3 and all(c["status"] == "pass" for c in noise), [(c["name"], c["figure"]) for c in noise]
    assert r.returncode == 0, [(c["name"], c["figure"]) for c in report["checks"] if c["status"] == "fail"]


def test_stored_run_config_regenerates_the_same_noise():
    """A column override in pii_gen_runs.config reads back with the profile's other rates (resume, validate)."""
    from pii_gen.record import config_json as _config_json
    from pii_gen.variability import make_plan

    noise = {"profile": "realistic", "columns": {"persons.first_name": {"typo": 0.2}}}
    config = build_config({"seed": 5, "noise": noise})
    again = GenerateConfig.model_validate_json(_config_json(config))
    assert make_plan(again.noise).describe() == make_plan(config.noise).describe()
    assert make_plan(again.noise).rates[("persons", "first_name")]["name_variant"] > 0
