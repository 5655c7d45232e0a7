#!/usr/bin/env python3
"""Database load throughput: people/s into each database, PostgreSQL against the server's own COPY
of the same rows from CSV files, and pyodbc fast_executemany against plain executemany.

Run from the repository root (the servers are the local PostgreSQL and MariaDB):
    python3 benchmarks/databases.py [--n 1000000] [--results benchmarks/RESULTS-databases.md]
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(BENCH_DIR))

from pii_gen import GenerateConfig, PersonGenerator  # noqa: E402
from pii_gen.db import ddl  # noqa: E402
from pii_gen.db.connections.odbc import OdbcConnection  # noqa: E402
from pii_gen.db.loaders import connect  # noqa: E402
from pii_gen.db.url import parse  # noqa: E402
from pii_gen.packs.person.contract import PERSONS, TABLES  # noqa: E402
from run import machine_info, md_table  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_ODBC = "postgresql+pyodbc://postgres@127.0.0.1:5432/test"
MARIADB = "mysql://root@127.0.0.1:3306/test"


def pii_gen(*args: str) -> float:
    """Run the CLI quietly; return wall seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "pii_gen.py"), *args, "--quiet"], check=True)
    return time.perf_counter() - start


def drop(url: str, schema: str) -> None:
    conn = connect(parse(url), schema)
    d = conn.dialect
    conn.execute(
        f"DROP DATABASE IF EXISTS {d.q(schema)}"
        if d.name == "mysql"
        else f"DROP SCHEMA IF EXISTS {d.q(schema)} CASCADE"
    )
    conn.commit()
    conn.close()


def load(label: str, url: str, n: int, schema: str | None, scratch: Path) -> list:
    """Load n people with 2 workers into a fresh schema (or file); one row of the report."""
    try:
        seconds = pii_gen("generate", "-n", str(n), "--db", url, "--workers", "2",
                          *(["--db-schema", schema] if schema else []))  # fmt: skip
    finally:
        if schema:
            drop(url, schema)
    return [label, f"{n:,}", f"{seconds:.1f}", f"{n / seconds:,.0f}"]


def server_copy(n: int, scratch: Path) -> tuple[float, float]:
    """(pii_gen COPY load seconds, the server's own COPY FROM file seconds) for the same n people."""
    ours_schema = f"b_{uuid.uuid4().hex[:8]}"
    ours = pii_gen("generate", "-n", str(n), "--db", POSTGRES, "--db-schema", ours_schema, "--workers", "2")
    drop(POSTGRES, ours_schema)
    files = scratch / "csv"
    pii_gen("generate", "-n", str(n), "--out", str(files), "--workers", "2")
    files.chmod(0o755)
    schema = f"b_{uuid.uuid4().hex[:8]}"
    conn = connect(parse(POSTGRES), schema)
    conn.execute(ddl.create_schema(conn.dialect, schema))
    for table in ddl.all_tables():
        for statement in ddl.create_table(conn.dialect, table, schema):
            conn.execute(statement)
    conn.commit()
    start = time.perf_counter()
    for name in TABLES:  # the server reads the files itself: no client, no network
        conn.execute(f"COPY {conn.table(name)} FROM '{files / (name + '.csv')}' WITH (FORMAT csv, HEADER true)")
    conn.commit()
    theirs = time.perf_counter() - start
    conn.close()
    drop(POSTGRES, schema)
    shutil.rmtree(files)
    return ours, theirs


def odbc_fast_vs_plain(url: str, rows: int) -> tuple[float, float]:
    """persons rows/s through pyodbc: the loader's fast path, then plain executemany."""
    data = PersonGenerator(GenerateConfig(seed=1)).generate(rows)["persons"]
    rates = []
    for fast in (True, False):
        schema = f"b_{uuid.uuid4().hex[:8]}"
        conn = connect(parse(url), schema)
        assert isinstance(conn, OdbcConnection)
        conn.execute(ddl.create_schema(conn.dialect, schema))
        for statement in ddl.create_table(conn.dialect, PERSONS, schema):
            conn.execute(statement)
        conn.commit()
        conn.fast_executemany = fast
        start = time.perf_counter()
        conn.load(PERSONS, data)
        conn.commit()
        rates.append(rows / (time.perf_counter() - start))
        conn.close()
        drop(url, schema)
    return rates[0], rates[1]


def ratio_row(label: str, ours: float, theirs: float, goal: float) -> list[str]:
    """One targets row: the ratio of two rates, both rates, and whether it meets ``goal``."""
    ratio = ours / theirs
    return [label, f"{ratio:.2f} ({ours:,.0f} vs {theirs:,.0f})", f"≥ {goal:g}", "PASS" if ratio >= goal else "MISS"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="people per load (default 1,000,000)")
    p.add_argument("--odbc-rows", type=int, default=20_000, help="rows for fast vs plain executemany")
    p.add_argument("--out-dir", type=Path, default=REPO / "bench-out")
    p.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS-databases.md")
    args = p.parse_args()
    scratch = args.out_dir / "db"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    rows = []
    for label, url, schema in (
        ("PostgreSQL (psycopg COPY)", POSTGRES, f"b_{uuid.uuid4().hex[:8]}"),
        ("PostgreSQL (pyodbc fast_executemany)", POSTGRES_ODBC, f"b_{uuid.uuid4().hex[:8]}"),
        ("MariaDB (ODBC, batched multi-row INSERT)", MARIADB, f"b_{uuid.uuid4().hex[:8]}"),
        ("DuckDB", f"duckdb:///{scratch / 'people.duckdb'}", None),
        ("SQLite", f"sqlite:///{scratch / 'people.db'}", None),
    ):
        rows.append(load(label, url, args.n, schema, scratch))
        print(rows[-1], flush=True)
    ours, theirs = server_copy(args.n, scratch)
    fast, plain = odbc_fast_vs_plain(POSTGRES_ODBC, args.odbc_rows)
    mfast, mplain = odbc_fast_vs_plain(MARIADB, args.odbc_rows)
    shutil.rmtree(scratch, ignore_errors=True)
    checks = [
        ratio_row("PostgreSQL load ÷ server COPY FROM file (people/s)", args.n / ours, args.n / theirs, 0.6),
        ratio_row("pyodbc fast ÷ plain executemany, PostgreSQL ODBC (rows/s)", fast, plain, 10),
        ratio_row("MariaDB ODBC multi-row INSERT ÷ plain executemany (rows/s)", mfast, mplain, 10),
    ]
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    report = "\n".join([
        "# pii_gen database load results", "", f"Date: {date}", "",
        md_table(["", ""], [[k, v] for k, v in machine_info().items()]), "",
        "## Reproduce", "", "```sh", shlex.join(["python3", "benchmarks/databases.py", *sys.argv[1:]]), "```", "",
        "## Loads (2 workers generating while the parent loads; each load into an empty schema or file)", "",
        md_table(["target", "people", "seconds", "people/s"], rows), "",
        "## Targets", "", md_table(["check", "value", "target", "status"], checks), "",
    ])  # fmt: skip
    args.results.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
