#!/usr/bin/env python3
"""Benchmark the ERP pack (orders and all their child rows over a calendar year) against DuckDB's TPC-H
``dbgen`` in the same run; write RESULTS-erp.md.

Each pii_gen case is one subprocess (``generate --pack erp --scenario normal-ops`` for 2024, Parquet, deleted
after measuring): orders, rows of every table (from its manifest), orders and rows per CPU second of its
process tree (per core: CPU seconds, not wall, so workers and other load on the machine do not flatter or
hurt it), peak summed RSS.  ``dbgen`` runs in its own subprocess with ``threads=1``; its rows per core are all
TPC-H tables' rows over the CPU seconds of the ``CALL dbgen`` itself (its startup left out, which favours it).

The ``tpch`` extension is installed by DuckDB itself when it can reach its extension site; without network it
is loaded from the ``duckdb-ext-tpch`` package (whose version must match DuckDB's: ``--dbgen-python`` names an
interpreter holding such a pair).

Run from the repository root:  python3 benchmarks/erp.py [--quick] [--dbgen-python PYTHON]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO / "src"))

from packs import REPORT, emit  # noqa: E402
from run import MiB, load, machine_info, md_table  # noqa: E402
from schema import measure  # noqa: E402

SCENARIO = "normal-ops"
#: Multipliers of the full run: about 20k, 115k, 570k and 1.9M orders a year (normal-ops draws about 19k a
#: multiplier); the largest shows what a run costs once startup and reference data are spread thin.
MULTIPLIERS = (1.0, 6.0, 30.0, 100.0)
QUICK_MULTIPLIERS = (0.5,)
SCALE_FACTOR, QUICK_SCALE_FACTOR = 0.5, 0.05
#: What the dbgen subprocess runs: the extension from DuckDB's site, else from the duckdb-ext-tpch package.
DBGEN = """
import glob, json, os, sys, time
import duckdb
con = duckdb.connect()
con.execute("SET threads=1")
try:
    con.execute("INSTALL tpch")
    con.execute("LOAD tpch")
except duckdb.Error:
    try:
        import duckdb_ext
    except ImportError:
        sys.exit("no tpch extension: pip install duckdb-ext-tpch of duckdb " + duckdb.__version__
                 + "'s version, or give --dbgen-python an interpreter that has the pair")
    found = [path for root in duckdb_ext.__path__
             for path in glob.glob(os.path.join(root, "extensions", "*", "*", "tpch.duckdb_extension"))]
    if not found:
        sys.exit("no tpch extension in duckdb-ext-tpch")
    con.execute("LOAD '" + found[0] + "'")
start_cpu, start = time.process_time(), time.perf_counter()
con.execute("CALL dbgen(sf=%s)")
cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
tables = [name for (name,) in con.execute("SHOW TABLES").fetchall()]
rows = {name: con.execute('SELECT count(*) FROM "' + name + '"').fetchone()[0] for name in tables}
print(json.dumps({"call_cpu_s": cpu, "call_wall_s": wall, "rows": rows, "duckdb": duckdb.__version__}))
"""


def plan_cpu(multiplier: float, workers: int) -> float:
    """CPU seconds to build the run plan in this (warm) process (what the parent does before any block is written:
    drawing every block's fanout counts makes the parent blocks those counts depend on)."""
    from pii_gen.dsl import packs
    from pii_gen.schema_run import schema_plan

    schema = packs.load("erp", settings={"multiplier": str(multiplier)}, scenario=SCENARIO)
    start = time.process_time()
    schema_plan(schema, None, None, None, workers)
    return time.process_time() - start


def erp_case(multiplier: float, workers: int, scratch: Path) -> dict[str, Any]:
    """One year of the ERP pack into ``scratch``: its measures and the rows of every table."""
    out = scratch / f"erp-{multiplier}-{workers}"
    cmd = [
        sys.executable,
        str(REPO / "pii_gen.py"),
        "generate",
        "--pack",
        "erp",
        "--scenario",
        SCENARIO,
        "--from",
        "2024-01-01",
        "--to",
        "2024-12-31",
        "--multiplier",
        str(multiplier),
        "--workers",
        str(workers),
        "--format",
        "parquet",
        "--out",
        str(out),
        "--quiet",
    ]
    got = measure(cmd, scratch / f"erp-{multiplier}-{workers}.log")
    manifest = json.loads((out / "manifest.json").read_text())
    rows: dict[str, int] = {}
    for entry in manifest["files"].values():
        rows[entry["table"]] = rows.get(entry["table"], 0) + int(entry["rows"])
    got["rows"] = rows
    shutil.rmtree(out)
    return got


def dbgen_case(python: str, sf: float, scratch: Path) -> dict[str, Any]:
    """``CALL dbgen(sf=...)`` on one DuckDB thread in a subprocess: its own measures and its JSON line."""
    log = scratch / f"dbgen-{sf}.log"
    got = measure([python, "-c", DBGEN % sf], log)
    got.update(json.loads(log.read_text().strip().splitlines()[-1]))
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small year and a small dbgen (a smoke run)")
    parser.add_argument(
        "--dbgen-python", default=sys.executable, help="the interpreter whose duckdb runs dbgen (default: this one)"
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS-erp.md")
    args = parser.parse_args()
    multipliers = QUICK_MULTIPLIERS if args.quick else MULTIPLIERS
    sf = QUICK_SCALE_FACTOR if args.quick else SCALE_FACTOR
    info = machine_info()
    emit("# pii_gen ERP pack: orders per core, against DuckDB's TPC-H dbgen")
    emit()
    emit(
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {info['CPU']}, {info['Cores']} cores, "
        f"{info['Memory']}; Python {info['Python']}, pii_gen {info['pii_gen']}; load average {load()} at the start."
    )
    emit()
    given = " --quick" if args.quick else ""
    given += " --dbgen-python PYTHON" if args.dbgen_python != sys.executable else ""
    emit("```sh\npython3 benchmarks/erp.py" + given + "\n```")
    emit()
    emit(
        f"pii_gen: `generate --pack erp --scenario {SCENARIO} --from 2024-01-01 --to 2024-12-31 --multiplier M "
        "--format parquet`; per core = per CPU second of the whole process tree (startup, plan, workers, "
        "writing). dbgen: `SET threads=1; CALL dbgen(sf=...)` in memory, per CPU second of the call."
    )
    emit()
    table, details = [], []
    with tempfile.TemporaryDirectory(prefix="pii_gen-erp-") as tmp:
        scratch = Path(tmp)
        db = dbgen_case(args.dbgen_python, sf, scratch)
        db_rows = sum(db["rows"].values())
        db_rate = db_rows / db["call_cpu_s"]
        plan_cpu(multipliers[0], 1)  # warm this process up: imports and reference data are not the plan's
        for multiplier in multipliers:
            for workers in (1, 2):
                got = erp_case(multiplier, workers, scratch)
                planning = plan_cpu(multiplier, workers)
                orders = got["rows"].get("orders", 0)
                total = sum(got["rows"].values())
                table.append(
                    [
                        f"{multiplier:g}",
                        workers,
                        f"{orders:,}",
                        f"{total:,}",
                        f"{(total - orders) / max(orders, 1):.1f}",
                        f"{got['seconds']:.1f}",
                        f"{got['cpu_s']:.1f}",
                        f"{planning:.1f}",
                        f"{orders / got['cpu_s']:,.0f}",
                        f"{total / got['cpu_s']:,.0f}",
                        f"{total / got['cpu_s'] / db_rate:.3f}",
                        f"{got['peak_rss'] / MiB:,.0f}",
                        got["load"],
                    ]
                )
                details.append(
                    f"multiplier {multiplier:g}, {workers} worker(s): "
                    + ", ".join(f"{t} {n:,}" for t, n in got["rows"].items())
                )
    emit(
        md_table(
            [
                "multiplier",
                "workers",
                "orders",
                "rows (all tables)",
                "other rows per order",
                "wall s",
                "CPU s (tree)",
                "plan CPU s (measured apart)",
                "orders/s per core",
                "rows/s per core",
                "÷ dbgen rows/s per core",
                "peak RSS MiB (tree)",
                "load after",
            ],
            table,
        )
    )
    emit()
    emit(
        md_table(
            [
                "dbgen",
                "DuckDB",
                "rows (all 8 tables)",
                "CPU s (dbgen call)",
                "CPU s (tree)",
                "rows/s per core",
                "peak RSS MiB (tree)",
                "load after",
            ],
            [
                [
                    f"sf={sf:g}",
                    db["duckdb"],
                    f"{db_rows:,}",
                    f"{db['call_cpu_s']:.1f}",
                    f"{db['cpu_s']:.1f}",
                    f"{db_rate:,.0f}",
                    f"{db['peak_rss'] / MiB:,.0f}",
                    db["load"],
                ]
            ],
        )
    )
    emit()
    emit("Rows per table:")
    emit()
    for line in details:
        emit(f"- {line}")
    emit(f"- dbgen sf={sf:g}: " + ", ".join(f"{t} {n:,}" for t, n in db["rows"].items()))
    body = "\n".join(REPORT) + "\n"
    notes = args.out.read_text(encoding="utf-8").split(NOTES, 1) if args.out.exists() else []
    args.out.write_text(body + (NOTES + notes[1] if len(notes) == 2 else ""), encoding="utf-8")


#: The heading of the hand-written part of RESULTS-erp.md (the profile), kept when the figures are rewritten.
NOTES = "\n## Where the time goes"


if __name__ == "__main__":
    main()
