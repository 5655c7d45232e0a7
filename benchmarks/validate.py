"""Time ``pii_gen validate`` on generated datasets: wall time, peak RSS and score.

    python3 benchmarks/validate.py                       # 1M people, CSV and Parquet
    python3 benchmarks/validate.py -n 10000000 --format csv

Each dataset is generated into a temporary folder (all cores), validated in a fresh process whose own
peak RSS comes from wait4(), and deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), *args], capture_output=True, text=True)


def measure(count: int, fmt: str, seed: int, workdir: Path) -> dict[str, object]:
    """Generate, then validate in a child process; the child's own peak RSS is the figure."""
    out = workdir / f"people_{fmt}"
    gen = run("generate", "-n", str(count), "--seed", str(seed), "--format", fmt, "--out", str(out), "--quiet")
    if gen.returncode != 0:
        raise SystemExit(gen.stderr)
    size = sum(p.stat().st_size for p in out.iterdir())
    report = workdir / "report.json"
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "pii_gen.py"), "validate", str(out), "--json", str(report), "--quiet"]
    )
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource use
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    result = json.loads(report.read_text())
    shutil.rmtree(out)
    return {
        "people": count,
        "format": fmt,
        "bytes": size,
        "seconds": round(seconds, 1),
        "exit": child.returncode,
        "score": result["score"],
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "counts": result["counts"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1_000_000)
    parser.add_argument("--format", action="append", choices=["csv", "jsonl", "parquet"])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pii_gen_bench_") as tmp:
        for fmt in args.format or ["csv", "parquet"]:
            r = measure(args.count, fmt, args.seed, Path(tmp))
            print(
                f"{r['people']:,} people {fmt} ({r['bytes'] / 1e9:.2f} GB): {r['seconds']} s, "
                f"peak RSS {r['peak_rss_mib']} MiB, score {r['score']}, exit {r['exit']}, {r['counts']}"
            )


if __name__ == "__main__":
    main()
