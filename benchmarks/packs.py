#!/usr/bin/env python3
"""Benchmark the schema packs (``pii_gen generate --pack NAME``); write RESULTS-packs.md.

Each case is one subprocess writing Parquet (deleted after measuring): wall and CPU seconds of its process
tree, peak summed RSS, the rows of every table (from its manifest), rows/s and people/s, and the seconds spent
planning (the run plan counts every table's rows per block in the parent process before workers start).

Run from the repository root:  python3 benchmarks/packs.py [--people 1000000] [--workers 2] [--pack identity-graph]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO / "src"))

from run import MiB, load, machine_info, md_table  # noqa: E402
from schema import measure  # noqa: E402

REPORT: list[str] = []


def emit(text: str = "") -> None:
    """Print a line of the report as it is made, and keep it for the file."""
    print(text, flush=True)
    REPORT.append(text)


def plan_seconds(pack: str, people: int, workers: int) -> float:
    """Seconds to build the pack's run plan in this process (what the parent does before any worker)."""
    from pii_gen.dsl import packs
    from pii_gen.schema_run import schema_plan

    schema = packs.load(pack, people=people)
    start = time.perf_counter()
    schema_plan(schema, None, None, None, workers)
    return time.perf_counter() - start


def run_case(pack: str, people: int, workers: int, scratch: Path) -> dict:
    """One ``generate --pack`` run into ``scratch``: its measures and the rows of every table."""
    out = scratch / f"{pack}-{people}-{workers}"
    cmd = [sys.executable, str(REPO / "pii_gen.py"), "generate", "--pack", pack, "-n", str(people),
           "--workers", str(workers), "--format", "parquet", "--out", str(out), "--quiet"]
    got = measure(cmd, scratch / f"{pack}-{people}-{workers}.log")
    manifest = json.loads((out / "manifest.json").read_text())
    got["rows"] = {entry["table"]: int(entry["rows"]) for entry in manifest["files"].values()}
    shutil.rmtree(out)
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default="identity-graph")
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS-packs.md")
    args = parser.parse_args()
    info = machine_info()
    emit(f"# pii_gen packs: throughput ({args.pack})")
    emit()
    emit(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {info['CPU']}, {info['Cores']} cores, "
         f"{info['Memory']}; Python {info['Python']}, pii_gen {info['pii_gen']}; load average {load()} at the start.")
    emit()
    emit("```sh\n" + f"python3 benchmarks/packs.py --pack {args.pack} --people "
         + " ".join(str(n) for n in args.people) + f" --workers {args.workers}\n```")
    emit()
    rows, details = [], []
    with tempfile.TemporaryDirectory(prefix="pii_gen-packs-") as tmp:
        for people in args.people:
            planning = plan_seconds(args.pack, people, args.workers)
            got = run_case(args.pack, people, args.workers, Path(tmp))
            total = sum(got["rows"].values())
            rows.append([f"{people:,}", args.workers, f"{total:,}", f"{got['seconds']:.1f}", f"{planning:.1f}",
                         f"{got['cpu_s']:.1f}", f"{total / got['seconds']:,.0f}", f"{people / got['seconds']:,.0f}",
                         f"{got['peak_rss'] / MiB:,.0f}", got["load"]])
            details.append(f"{people:,} people: " + ", ".join(f"{t} {n:,}" for t, n in got["rows"].items()))
    emit(md_table(["people", "workers", "rows (all tables)", "wall s", "of it planning s", "CPU s (tree)",
                   "rows/s", "people/s", "peak RSS MiB (tree)", "load after"], rows))
    emit()
    emit("Rows per table:")
    emit()
    for line in details:
        emit(f"- {line}")
    args.out.write_text("\n".join(REPORT) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
