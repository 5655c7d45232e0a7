"""Schema files loaded into real databases: the five examples into PostgreSQL, MariaDB, DuckDB and SQLite
with every foreign key enforced and resolving, the same rows as a file run, resume after a cancel, and the
one-line refusals (tables holding rows, append, a changed file, the wrong kind of run).

Servers come from ``PII_GEN_TEST_*`` variables, else the local defaults (see servers.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest

from servers import server_url

from pii_gen import api
from pii_gen.backends import BlockDone, CancelToken, Interrupted
from pii_gen.config import build_config
from pii_gen.db.loaders import Connection, connect
from pii_gen.db.url import parse
from pii_gen.errors import OutputError
from pii_gen.record import read_runs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NAMES = ("shop", "bank", "hr", "saas", "gov_cases")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True,
                          timeout=600)  # fmt: skip


@pytest.fixture(params=["sqlite", "duckdb", "postgresql", "mariadb"])
def target(request, tmp_path) -> Iterator[tuple[str, str | None]]:
    """(url, database schema) of an empty place to load into, dropped afterwards."""
    kind = request.param
    if kind in ("sqlite", "duckdb"):
        yield f"{kind}:///{tmp_path / ('t.' + kind)}", None
        return
    url = server_url({"postgresql": "PII_GEN_TEST_POSTGRES_URL", "mariadb": "PII_GEN_TEST_MARIADB_URL"}[kind])
    schema = f"s_{uuid.uuid4().hex[:10]}"
    yield url, schema
    conn = connect(parse(url), schema)
    word = "DATABASE" if conn.dialect.name == "mysql" else "SCHEMA"
    conn.execute(f"DROP {word} IF EXISTS {conn.dialect.q(schema)}{'' if word == 'DATABASE' else ' CASCADE'}")
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Each example generated into Parquet files (the rows a load must hold), once."""
    out = {}
    for name in NAMES:
        out[name] = tmp_path_factory.mktemp(name) / "out"
        api.generate_schema(EXAMPLES / f"{name}.yaml", build_config({}, out=str(out[name]), format="parquet",
                                                                      workers=1))  # fmt: skip
    return out


def load(name: str, url: str, schema: str | None, **kw) -> api.RunResult:
    config = build_config({}, db=url, db_schema=schema, workers=kw.pop("workers", 1), **kw)
    return api.generate_schema(EXAMPLES / f"{name}.yaml", config)


def column(conn: Connection, table: str, col: str) -> list:
    rows = conn.execute(f"SELECT {conn.dialect.q(col)} FROM {conn.table(table)}")
    return sorted(r[0] for r in rows if r[0] is not None)


def orphans(conn: Connection, table: str, col: str, target: str, key: str) -> int:
    q = conn.dialect.q
    return conn.execute(
        f"SELECT COUNT(*) FROM {conn.table(table)} c LEFT JOIN {conn.table(target)} p ON c.{q(col)} = p.{q(key)} "
        f"WHERE c.{q(col)} IS NOT NULL AND p.{q(key)} IS NULL"
    )[0][0]


def check_against_files(conn: Connection, name: str, out: Path) -> None:
    """Every table holds the file run's rows (counts, keys, every foreign key column's values) and no orphan."""
    tables = api.schema_tables(EXAMPLES / f"{name}.yaml")
    for table, spec in tables.items():
        written = pq.read_table(out / f"{table}.parquet")
        assert conn.execute(f"SELECT COUNT(*) FROM {conn.table(table)}")[0][0] == written.num_rows, table
        keys = [k.strip() for k in spec.primary_key.split(",") if k.strip()]
        fk_columns = [c for c, _, _ in spec.foreign_keys]
        for col in dict.fromkeys([*keys, *fk_columns]):
            want = sorted(v for v in written.column(col).to_pylist() if v is not None)
            assert column(conn, table, col) == want, (table, col)
        for col, parent, key in spec.foreign_keys:
            assert orphans(conn, table, col, parent, key) == 0, (table, col)


@pytest.mark.parametrize("name", NAMES)
def test_every_example_loads_with_its_keys_enforced(target, files, name):
    url, schema = target
    result = load(name, url, schema)
    assert result.run_id and result.rows == {t: pq.read_metadata(files[name] / f"{t}.parquet").num_rows
                                             for t in result.rows}  # fmt: skip
    conn = connect(parse(url), schema)
    try:
        check_against_files(conn, name, files[name])
        (run,) = read_runs(conn.execute, conn.table)
        assert run.finished_at is not None and run.schema_run["file"] == str(EXAMPLES / f"{name}.yaml")
        assert run.count == sum(result.rows.values())
        if conn.dialect.name in ("postgresql", "mysql"):  # the foreign keys are real constraints there
            declared = sum(len(t.foreign_keys) for t in api.schema_tables(EXAMPLES / f"{name}.yaml").values())
            where = "table_schema = %s AND constraint_type = 'FOREIGN KEY' AND table_name NOT LIKE 'pii_gen%%'"
            found = conn.execute(f"SELECT COUNT(*) FROM information_schema.table_constraints WHERE {where}", (schema,))
            assert found[0][0] == declared
    finally:
        conn.close()


FORWARD = """
version: 1
name: forward
seed: 3
tables:
  customers:
    kind: entity
    rows: 30000
    key: customer_id
    columns:
      customer_id: {gen: sequence}
      manager_id: {gen: ref, to: self}
  tickets:
    kind: entity
    rows: 30000
    key: ticket_id
    columns:
      ticket_id: {gen: sequence}
      customer_id: {gen: ref, to: customers}
"""


def test_foreign_keys_across_batches_hold_at_every_commit(tmp_path):
    """Tickets of block 0 name customers of blocks 1 and 2, and customers name earlier customers (a
    self-reference); PostgreSQL checks each commit, so batches holding every table's blocks would be refused
    (the first names customers not loaded yet): each batch holds one table's blocks, parents first."""
    url = server_url("PII_GEN_TEST_POSTGRES_URL")
    schema = f"s_{uuid.uuid4().hex[:10]}"
    path = tmp_path / "forward.yaml"
    path.write_text(FORWARD)
    try:
        config = build_config({}, db=url, db_schema=schema, workers=2, batch_size=10_000)
        result = api.generate_schema(path, config)
        assert result.rows == {"customers": 30_000, "tickets": 30_000}
        conn = connect(parse(url), schema)
        assert orphans(conn, "tickets", "customer_id", "customers", "customer_id") == 0
        assert orphans(conn, "customers", "manager_id", "customers", "customer_id") == 0
        forward = conn.execute(f"SELECT COUNT(*) FROM {conn.table('tickets')} WHERE ticket_id <= 10000 "
                               "AND customer_id > 10000")[0][0]  # fmt: skip
        assert forward > 5_000  # block 0's tickets do name later blocks' customers
        log = conn.execute(f"SELECT table_name, batch_number, row_count FROM {conn.table('pii_gen_load_log')} "
                           "WHERE row_count > 0 ORDER BY batch_number")  # fmt: skip
        assert log == [("customers", 0, 10_000), ("customers", 1, 10_000), ("customers", 2, 10_000),
                       ("tickets", 3, 10_000), ("tickets", 4, 10_000), ("tickets", 5, 10_000)]  # fmt: skip
        conn.close()
    finally:
        conn = connect(parse(url), schema)
        conn.execute(f"DROP SCHEMA IF EXISTS {conn.dialect.q(schema)} CASCADE")
        conn.commit()
        conn.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_cancelled_load_resumes_to_the_same_rows(kind, tmp_path, files):
    if kind == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'r.db'}", None
    else:
        url, schema = server_url("PII_GEN_TEST_POSTGRES_URL"), f"s_{uuid.uuid4().hex[:10]}"
    cancel = CancelToken()
    seen = []

    def stop_after_two(event) -> None:
        if isinstance(event, BlockDone):
            seen.append(event.rows)
            if len(seen) == 2:
                cancel.cancel()

    config = build_config({}, db=url, db_schema=schema, workers=1, batch_size=10_000)
    try:
        with pytest.raises(Interrupted) as stopped:
            api.generate_schema(EXAMPLES / "shop.yaml", config, cancel=cancel, on_event=stop_after_two)
        message = str(stopped.value)
        run_id = message.split("(run ")[1].split(")")[0]
        assert f"--schema {EXAMPLES / 'shop.yaml'}" in message and f"--resume {run_id}" in message
        conn = connect(parse(url), schema)
        (run,) = read_runs(conn.execute, conn.table)
        assert run.finished_at is None and 2 <= run.batches < 10
        conn.close()
        result = api.generate_schema(EXAMPLES / "shop.yaml", build_config({}, db=url, db_schema=schema, resume=run_id))
        assert result.run_id == run_id
        conn = connect(parse(url), schema)
        check_against_files(conn, "shop", files["shop"])
        logged = conn.execute(f"SELECT COUNT(*), COUNT(DISTINCT batch_number) FROM {conn.table('pii_gen_load_log')}"
                              " WHERE table_name = 'customers'")  # fmt: skip
        assert logged[0][0] == logged[0][1]  # no batch twice
        conn.close()
    finally:
        if schema:
            conn = connect(parse(url), schema)
            conn.execute(f"DROP SCHEMA IF EXISTS {conn.dialect.q(schema)} CASCADE")
            conn.commit()
            conn.close()


def test_what_cannot_be_loaded_is_refused_before_any_row(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = load("bank", url, None)
    with pytest.raises(OutputError, match=r"^table \w+ in sqlite:///.* already holds rows; pass --if-exists replace$"):
        load("bank", url, None)
    with pytest.raises(OutputError, match=r"^--if-exists append cannot add a schema file's rows"):
        load("bank", url, None, if_exists="append")
    with pytest.raises(OutputError, match=rf"^run '{first.run_id}' already finished; nothing to resume$"):
        load("bank", url, None, resume=first.run_id)
    with pytest.raises(OutputError, match=rf"^run '{first.run_id}' loaded the schema file .*bank.yaml; resume it "
                                          rf"with --schema .*bank.yaml --resume {first.run_id}$"):  # fmt: skip
        api.generate(build_config({}, db=url, resume=first.run_id))
    again = load("bank", url, None, if_exists="replace")  # replace: the same rows again, one run recorded
    assert again.rows == first.rows
    conn = connect(parse(url))
    assert [r.run_id for r in read_runs(conn.execute, conn.table)] == [again.run_id]
    conn.close()


def test_a_changed_file_or_a_population_run_is_not_resumed(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    path = tmp_path / "shop.yaml"
    shutil.copy(EXAMPLES / "shop.yaml", path)
    cancel = CancelToken()

    def stop(event) -> None:
        if isinstance(event, BlockDone):
            cancel.cancel()

    config = build_config({}, db=url, workers=1, batch_size=10_000)
    with pytest.raises(Interrupted) as stopped:
        api.generate_schema(path, config, cancel=cancel, on_event=stop)
    run_id = str(stopped.value).split("(run ")[1].split(")")[0]
    path.write_text(path.read_text() + "\n# edited\n")
    with pytest.raises(OutputError, match=rf"^the schema file changed since run '{run_id}' loaded it"):
        api.generate_schema(path, build_config({}, db=url, resume=run_id))
    people = tmp_path / "p.db"
    api.generate(build_config({}, count=100, db=f"sqlite:///{people}", workers=1))
    conn = connect(parse(f"sqlite:///{people}"))
    (person_run,) = read_runs(conn.execute, conn.table)
    conn.execute("UPDATE pii_gen_runs SET finished_at = NULL")
    conn.commit()
    conn.close()
    with pytest.raises(OutputError, match=rf"^run '{person_run.run_id}' generated people, not a schema file"):
        api.generate_schema(path, build_config({}, db=f"sqlite:///{people}", resume=person_run.run_id))


def test_the_command_line_loads_a_schema_and_refuses_append_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    r = cli("generate", "--schema", str(EXAMPLES / "saas.yaml"), "--db", url, "--workers", "1")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    tables = len(api.schema_tables(EXAMPLES / "saas.yaml"))
    assert r.stderr.startswith(f"Loaded {tables} tables into {url} (run "), r.stderr
    r = cli("generate", "--schema", str(EXAMPLES / "saas.yaml"), "--db", url, "--if-exists", "append")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("pii_gen: error: --if-exists append cannot add a schema file's rows")
    assert r.stderr.count("\n") == 1
