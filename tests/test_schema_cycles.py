"""Tables that reference each other in a cycle (teams.lead_id -> employees, employees.team_id -> teams): a
positional ref breaks it, the rows resolve and are identical at any worker count, the DDL closes the cycle
with ALTER TABLE where the dialect can, loads end with every foreign key a real constraint, and a cycle no
positional ref can break is one line naming the ref that could.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import duckdb
import pyarrow.csv as pacsv
import pytest
import sqlglot
from sqlglot import exp

from servers import server_url

from pii_gen import api, dsl
from pii_gen.backends import BlockDone, CancelToken, Interrupted
from pii_gen.config import build_config
from pii_gen.db.loaders import connect
from pii_gen.db.url import parse
from pii_gen.dsl.checks import not_positional
from pii_gen.errors import SchemaError

ROOT = Path(__file__).resolve().parents[1]

# projects come before employees in the file: counting their fanout (an expression over teams) generates a
# teams block, whose positional lead_id needs the row count of employees, a table generated after it.
CYCLE = """version: 1
name: org
seed: 11
tables:
  teams:
    kind: entity
    rows: 40
    key: team_id
    columns:
      team_id: {gen: sequence}
      lead_id: {gen: ref, to: employees, pick: {zipf: {s: 1.2}}}
      size: {gen: choice, values: [1, 2, 3]}
  projects:
    kind: fact
    parent: teams
    fanout: {dist: poisson, mean: "parent.size"}
    key: project_id
    columns:
      project_id: {gen: sequence}
  employees:
    kind: entity
    rows: 23000
    key: employee_id
    columns:
      employee_id: {gen: sequence}
      team_id: {gen: ref, to: teams}
      team_size: {gen: lookup, via: team_id, column: size}
      manager_id: {gen: ref, to: self, root_share: 0.05}
"""
#: Foreign keys of CYCLE as (table, column, target, target column).
FKS = {("teams", "lead_id", "employees", "employee_id"), ("projects", "team_id", "teams", "team_id"),
       ("employees", "team_id", "teams", "team_id"), ("employees", "manager_id", "employees", "employee_id")}


@pytest.fixture
def cycle(tmp_path) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(CYCLE)
    return path


def read(out: Path) -> dict[str, dict[str, list]]:
    return {t: pacsv.read_csv(out / f"{t}.csv").to_pydict() for t in ("teams", "projects", "employees")}


# ---- order and refusals -------------------------------------------------------------------------------------


FLIPPED = """version: 1
tables:
  employees:
    kind: entity
    rows: 100
    key: employee_id
    columns:
      employee_id: {gen: sequence}
      team_id: {gen: ref, to: teams}
      team_size: {gen: lookup, via: team_id, column: size}
  teams:
    kind: entity
    rows: 5
    key: team_id
    columns:
      team_id: {gen: sequence}
      lead_id: {gen: ref, to: employees}
      size: {gen: choice, values: [1, 2, 3]}
"""


def test_a_positional_ref_lets_its_table_come_before_its_target():
    schema = dsl.loads(CYCLE, "org.yaml")
    assert dsl.order(schema) == ["teams", "projects", "employees"]
    assert not_positional(schema, "teams", "lead_id") is None
    assert not_positional(schema, "employees", "team_id") == "a lookup reads through it"
    assert not_positional(schema, "employees", "manager_id") == "it is not a ref to another table"
    # met the other way round (the positional ref closing the cycle, not opening it): left out all the same
    assert dsl.order(dsl.loads(FLIPPED, "flipped.yaml")) == ["teams", "employees"]


def test_without_a_cycle_a_positional_ref_still_orders_its_table_after_its_target():
    schema = dsl.loads(CYCLE.replace("      team_id: {gen: ref, to: teams}\n", "")
                       .replace("      team_size: {gen: lookup, via: team_id, column: size}\n", ""), "org.yaml")
    assert dsl.order(schema) == ["employees", "teams", "projects"]


UNBREAKABLE = {
    "weighted_by": ("pick: {zipf: {s: 1.2}}}", "pick: {weighted_by: employee_id}}", "it picks weighted_by"),
    "where": ("pick: {zipf: {s: 1.2}}}", "where: \"employee_id > 3\"}", "it has where:"),
    "unique": ("pick: {zipf: {s: 1.2}}}", "unique: true}", "it is unique"),
    "uuid_key": ("employee_id: {gen: sequence}", "employee_id: {gen: uuid}",
                 "employees.employee_id is not a plain sequence"),
    "lookup": ("      size: {gen: choice", "      lead_team: {gen: lookup, via: lead_id, column: team_id}\n"
                                          "      size: {gen: choice", "a lookup reads through it"),
}


@pytest.mark.parametrize("case", UNBREAKABLE)
def test_a_cycle_no_positional_ref_breaks_is_one_line_naming_the_ref(tmp_path, case):
    old, new, why = UNBREAKABLE[case]
    assert old in CYCLE
    text = CYCLE.replace(old, new)
    with pytest.raises(SchemaError) as caught:
        dsl.loads(text, "org.yaml")
    assert str(caught.value) == ("org.yaml:5: tables.teams: tables reference each other in a cycle: teams -> employees "
                                 f"-> teams (ref teams.lead_id would break it if positional, but {why})")
    path = tmp_path / "org.yaml"
    path.write_text(text)
    done = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), "schema", "check", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.endswith(f"tables.teams: tables reference each other in a cycle: teams -> employees -> teams (ref "
                         f"teams.lead_id would break it if positional, but {why})")


# ---- generation ---------------------------------------------------------------------------------------------


def test_a_cycle_generates_identically_at_one_and_two_workers_with_every_ref_resolving(cycle, tmp_path):
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        api.generate_schema(cycle, build_config({}, out=str(out), workers=workers, batch_size=10_000))
        outs.append(out)
    for name in ("teams.csv", "projects.csv", "employees.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    got = read(outs[0])
    teams, employees = got["teams"], got["employees"]
    assert len(teams["team_id"]) == 40 and len(employees["employee_id"]) == 23_000
    assert set(teams["lead_id"]) <= set(employees["employee_id"])
    assert len(set(teams["lead_id"])) > 3  # many distinct employees lead, not one value repeated
    assert min(teams["lead_id"]) == 1  # zipf over position order: the first employee leads most
    assert set(employees["team_id"]) <= set(teams["team_id"])
    assert set(got["projects"]["team_id"]) <= set(teams["team_id"])
    size = dict(zip(teams["team_id"], teams["size"]))
    assert employees["team_size"] == [size[t] for t in employees["team_id"]]
    # the self reference: an earlier employee, or none for a root
    managers = [(e, m) for e, m in zip(employees["employee_id"], employees["manager_id"]) if m is not None]
    assert all(m < e for e, m in managers) and 0.9 * 23_000 < len(managers) < 0.99 * 23_000


# ---- DDL ----------------------------------------------------------------------------------------------------


def _split(script: str, dialect: str) -> list[str]:
    sep = "\nGO\n" if dialect == "tsql" else ";\n"
    return [s.strip() for s in script.split(sep) if s.strip() and not s.strip().startswith("--")]


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "tsql"])
def test_the_ddl_closes_the_cycle_with_alter_table_after_every_create(cycle, dialect):
    statements = _split(api.schema_ddl(cycle, dialect), dialect)
    creates = [i for i, s in enumerate(statements) if s.startswith("CREATE TABLE")]
    alters = [i for i, s in enumerate(statements) if s.startswith("ALTER TABLE")]
    assert len(alters) == 1 and alters[0] > max(creates)
    assert "fk_teams_lead_id" in statements[alters[0]] and "FOREIGN KEY" in statements[alters[0]]
    teams = next(s for s in statements if s.startswith("CREATE TABLE") and "teams" in s.split("(")[0])
    assert "fk_teams_lead_id" not in teams and "fk_teams" not in teams
    if dialect == "tsql":
        tree = sqlglot.parse_one(statements[alters[0]], read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
        assert isinstance(tree, exp.Alter)


def test_sqlite_keeps_the_cycle_inline_and_enforces_it(cycle):
    con = sqlite3.connect(":memory:")
    script = api.schema_ddl(cycle, "sqlite", drop_existing=True)
    assert "ALTER TABLE" not in script
    con.executescript(script)
    fks = {(r[3], r[2], r[4]) for r in con.execute('PRAGMA foreign_key_list("teams")').fetchall()}
    assert fks == {("lead_id", "employees", "employee_id")}
    con.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError):
        con.execute('INSERT INTO "teams" ("team_id", "lead_id", "size") VALUES (1, 5, 1)')
    con.executescript(script)  # again: the drops pass with the cycle in place


def test_duckdb_leaves_the_cycle_closing_key_out(cycle):
    con = duckdb.connect()
    con.execute(api.schema_ddl(cycle, "duckdb"))
    found = {(t, c[0], r) for t, c, r in con.execute(
        "SELECT table_name, constraint_column_names, referenced_table FROM duckdb_constraints() "
        "WHERE constraint_type = 'FOREIGN KEY' AND table_name NOT LIKE 'pii_gen%'").fetchall()}
    assert found == {("projects", "team_id", "teams"), ("employees", "team_id", "teams")}


def test_postgresql_and_mariadb_run_the_cycle_ddl_twice(cycle):
    import psycopg
    import pymysql
    from pymysql.constants import CLIENT

    namespace = f"cyc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url("PII_GEN_TEST_POSTGRES_URL"), autocommit=True) as con:
        try:
            for _ in range(2):  # the second run drops the tables with the cycle closed
                con.execute(api.schema_ddl(cycle, "postgresql", db_schema=namespace, drop_existing=True))
            got = {r[0] for r in con.execute(
                "SELECT constraint_name FROM information_schema.table_constraints WHERE table_schema = %s "
                "AND constraint_type = 'FOREIGN KEY' AND table_name NOT LIKE 'pii_gen%%'", (namespace,))}
        finally:
            con.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE')
    assert got == {f"fk_{t}_{c}" for t, c, _, _ in FKS}
    parts = urlsplit(server_url("PII_GEN_TEST_MARIADB_URL"))
    con = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                          password=parts.password or "", client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True)
    try:
        with con.cursor() as cur:
            for _ in range(2):
                cur.execute(api.schema_ddl(cycle, "mysql", db_schema=namespace, drop_existing=True))
                while cur.nextset():
                    pass
            cur.execute("SELECT constraint_name FROM information_schema.table_constraints WHERE table_schema = %s "
                        "AND constraint_type = 'FOREIGN KEY' AND table_name NOT LIKE 'pii_gen%%'", (namespace,))
            got = {r[0] for r in cur.fetchall()}
    finally:
        with con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{namespace}`")
        con.close()
    assert got == {f"fk_{t}_{c}" for t, c, _, _ in FKS}


# ---- loads --------------------------------------------------------------------------------------------------


@pytest.fixture(params=["postgresql", "mariadb", "sqlite", "duckdb"])
def target(request, tmp_path) -> Iterator[tuple[str, str | None]]:
    kind = request.param
    if kind in ("sqlite", "duckdb"):
        yield f"{kind}:///{tmp_path / ('t.' + kind)}", None
        return
    url = server_url({"postgresql": "PII_GEN_TEST_POSTGRES_URL", "mariadb": "PII_GEN_TEST_MARIADB_URL"}[kind])
    schema = f"cyc_{uuid.uuid4().hex[:10]}"
    yield url, schema
    conn = connect(parse(url), schema)
    word = "DATABASE" if conn.dialect.name == "mysql" else "SCHEMA"
    conn.execute(f"DROP {word} IF EXISTS {conn.dialect.q(schema)}{'' if word == 'DATABASE' else ' CASCADE'}")
    conn.commit()
    conn.close()


def test_a_cycle_loads_resumes_and_reloads_with_every_foreign_key_in_place(target, cycle, tmp_path):
    url, schema = target
    api.generate_schema(cycle, build_config({}, out=str(tmp_path / "files"), workers=1))
    files = read(tmp_path / "files")
    cancel = CancelToken()

    def stop_after_one(event: object) -> None:
        if isinstance(event, BlockDone):
            cancel.cancel()

    config = build_config({}, db=url, db_schema=schema, workers=1, batch_size=10_000)
    with pytest.raises(Interrupted) as stopped:
        api.generate_schema(cycle, config, cancel=cancel, on_event=stop_after_one)
    run_id = str(stopped.value).split("--resume ")[1].split()[0]
    api.generate_schema(cycle, build_config({}, db=url, db_schema=schema, resume=run_id))
    for again in (False, True):  # resumed, then replaced over tables whose cycle is closed
        if again:
            api.generate_schema(cycle, build_config({}, db=url, db_schema=schema, if_exists="replace"))
        conn = connect(parse(url), schema)
        try:
            q = conn.dialect.q
            for table, column, parent, key in FKS:
                held = sorted(r[0] for r in conn.execute(f"SELECT {q(column)} FROM {conn.table(table)}")
                              if r[0] is not None)
                assert held == sorted(v for v in files[table][column] if v is not None), (table, column)
                orphans = conn.execute(
                    f"SELECT COUNT(*) FROM {conn.table(table)} c LEFT JOIN {conn.table(parent)} p "
                    f"ON c.{q(column)} = p.{q(key)} WHERE c.{q(column)} IS NOT NULL AND p.{q(key)} IS NULL")
                assert orphans[0][0] == 0, (table, column)
            if conn.dialect.name in ("postgresql", "mysql"):
                found = {r[0] for r in conn.execute(
                    "SELECT constraint_name FROM information_schema.table_constraints WHERE table_schema = %s "
                    "AND constraint_type = 'FOREIGN KEY' AND table_name NOT LIKE 'pii_gen%%'", (schema,))}
                assert found == {f"fk_{t}_{c}" for t, c, _, _ in FKS}
            elif conn.dialect.name == "sqlite":
                declared = {r[3] for r in conn.execute('PRAGMA foreign_key_list("teams")')}
                assert declared == {"lead_id"} and conn.execute("PRAGMA foreign_key_check") == []
        finally:
            conn.close()


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_create_schema_closes_the_cycle_and_drops_it_again(cycle, kind):
    url = server_url({"postgresql": "PII_GEN_TEST_POSTGRES_URL", "mariadb": "PII_GEN_TEST_MARIADB_URL"}[kind])
    schema = f"cyc_{uuid.uuid4().hex[:10]}"
    for _ in range(2):  # the second drops the tables with the cycle closed
        done = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), "create-schema", "--schema", str(cycle),
                               "--db", url, "--db-schema", schema, "--drop-existing"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    conn = connect(parse(url), schema)
    try:
        found = {r[0] for r in conn.execute(
            "SELECT constraint_name FROM information_schema.table_constraints WHERE table_schema = %s "
            "AND constraint_type = 'FOREIGN KEY' AND table_name NOT LIKE 'pii_gen%%'", (schema,))}
        assert found == {f"fk_{t}_{c}" for t, c, _, _ in FKS}
        word = "DATABASE" if conn.dialect.name == "mysql" else "SCHEMA"
        conn.execute(f"DROP {word} {conn.dialect.q(schema)}{'' if word == 'DATABASE' else ' CASCADE'}")
        conn.commit()
    finally:
        conn.close()
