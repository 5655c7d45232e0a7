#!/usr/bin/env python3
"""Benchmark pii_gen against Faker, Mimesis and the raw disk; write a Markdown report.

Run from the repository root:  python3 benchmarks/run.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from baselines import disk_write_speed, faker_people, mimesis_people, time_baseline  # noqa: E402

#: Formats whose workers encode and write their own parts (Parquet row groups, Delta part files).
PARTED = ("parquet", "delta")
MiB = 1024**2
GiB = 1024**3
RUN_HEADERS = ["n", "format", "workers", "output", "seconds", "people/s", "MB written", "MB/s", "peak RSS MiB", "CPU s"]
BASELINES: dict[str, tuple[Callable[[int, int], int], int]] = {
    "faker": (faker_people, 20_000),
    "mimesis": (mimesis_people, 200_000),
}


# --------------------------------------------------------------------------- helpers


def int_list(text: str) -> list[int]:
    """Parse '1000000,10_000_000' into a list of ints."""
    return [int(part) for part in text.split(",") if part.strip()]


def str_list(text: str) -> list[str]:
    """Parse 'csv,parquet' into a list of strings."""
    return [part.strip() for part in text.split(",") if part.strip()]


def md_row(cells: list) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def md_table(headers: list[str], rows: list[list]) -> str:
    """A whole Markdown table."""
    lines = [md_row(headers), md_row(["---"] * len(headers))]
    return "\n".join(lines + [md_row(r) for r in rows])


def emit(text: str = "") -> None:
    """Print immediately (progress goes to stdout as it happens)."""
    print(text, flush=True)


# --------------------------------------------------------------------------- machine


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, falling back to platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, str]:
    """Describe the machine and the software versions in play."""
    import numpy
    import pyarrow

    physical = psutil.cpu_count(logical=False)
    return {
        "CPU": cpu_model(),
        "Cores": f"{physical or '?'} physical / {psutil.cpu_count()} logical",
        "Memory": f"{psutil.virtual_memory().total / GiB:.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "pii_gen": importlib.metadata.version("pii-gen"),
    }


# --------------------------------------------------------------------------- generator runs


class TreeRSS(threading.Thread):
    """Poll the RSS of a process plus all its descendants (summed per sample); keep the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()

    def sample(self) -> int:
        """Current summed RSS of the tree, in bytes."""
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.sample())
            self._done.wait(self.interval)

    def stop(self) -> int:
        """Stop polling and return the peak in bytes."""
        self._done.set()
        self.join()
        return self.peak


def children_cpu() -> float:
    """User + system CPU seconds of all reaped child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dir_bytes(path: Path) -> int:
    """Sum of the sizes of all files under path."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


SAME_FIELDS = BENCH_DIR / "same_fields.yaml"


def run_generator(
    n: int,
    fmt: str,
    workers: int,
    out_root: Path,
    seed: int,
    config: Path | None = None,
    noise: str | None = None,
    repo: Path = REPO,
) -> dict:
    """Run one generation as a subprocess of the checkout ``repo``, measure it, then delete its output."""
    out = out_root / f"{fmt}-{n}-w{workers}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        str(repo / "pii_gen.py"),
        "generate",
        "-n",
        str(n),
        "--format",
        fmt,
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--quiet",
        "--seed",
        str(seed),
    ]
    if config is not None:
        cmd += ["--config", str(config)]
    if noise is not None:
        cmd += ["--noise", noise]
    cpu_before = children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(repo / "src")})
    sampler = TreeRSS(proc.pid)
    sampler.start()
    code = proc.wait()
    seconds = time.perf_counter() - start
    peak = sampler.stop()
    try:
        if code != 0:
            raise subprocess.CalledProcessError(code, cmd)
        written = dir_bytes(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "n": n,
        "format": fmt,
        "workers": workers,
        "profile": "same fields" if config else (f"full + {noise} noise" if noise else "full"),
        "seconds": seconds,
        "people_per_s": n / seconds,
        "bytes": written,
        "bytes_per_s": written / seconds,
        "peak_rss": peak,
        "cpu_s": children_cpu() - cpu_before,
    }


def run_cells(r: dict) -> list[str]:
    """Format one generator run as table cells (order of RUN_HEADERS)."""
    return [
        f"{r['n']:,}",
        r["format"],
        r["workers"],
        r["profile"],
        f"{r['seconds']:.2f}",
        f"{r['people_per_s']:,.0f}",
        f"{r['bytes'] / 1e6:,.1f}",
        f"{r['bytes_per_s'] / 1e6:,.1f}",
        f"{r['peak_rss'] / MiB:,.0f}",
        f"{r['cpu_s']:.1f}",
    ]


# --------------------------------------------------------------------------- targets


def compute_targets(runs: list[dict], base: dict[str, dict], disk_bps: float) -> list[list[str]]:
    """Ratios against the performance targets: [check, value, target, PASS/MISS/info]."""
    same = [r for r in runs if r["profile"] == "same fields"]
    noisy = [r for r in runs if r["profile"].endswith("noise")]
    runs = [r for r in runs if r["profile"] == "full"]
    by = {(r["n"], r["format"], r["workers"]): r for r in runs}
    ns = sorted({r["n"] for r in runs})
    fmts = list(dict.fromkeys(r["format"] for r in runs))
    workers = sorted({r["workers"] for r in runs})
    big, small = ns[-1], ns[0]
    rows: list[list[str]] = []

    def check(label: str, value: str, target: str, ok: bool | None) -> None:
        rows.append([label, value, target, "info" if ok is None else ("PASS" if ok else "MISS")])

    for lib, goal in (("mimesis", 10), ("faker", 100)):
        if lib not in base:
            continue
        for r in same:
            ratio = r["people_per_s"] / base[lib]["people_per_s"]
            check(
                f"{r['format']} n={r['n']:,}, 1 worker, same fields ÷ {lib} (per core)",
                f"{ratio:,.1f}×",
                f"≥ {goal}×",
                ratio >= goal,
            )
        for fmt in fmts:
            one = by.get((big, fmt, 1))
            if one:
                ratio = one["people_per_s"] / base[lib]["people_per_s"]
                check(
                    f"{fmt} n={big:,}, 1 worker, full histories ÷ {lib} (per core)",
                    f"{ratio:,.1f}×",
                    "(info: ~12 rows per person vs their 1)",
                    None,
                )
    for n in ns:
        for fmt in fmts:
            for w in workers:
                one, many = by.get((n, fmt, 1)), by.get((n, fmt, w))
                if w > 1 and one and many:
                    ratio = many["people_per_s"] / one["people_per_s"]
                    # Parquet and Delta at full size: the workers encode and write their own parts (issue 20)
                    goal = 0.9 * w if fmt in PARTED and n == big else 0.85 * w
                    check(
                        f"{fmt} n={n:,}, {w} ÷ 1 workers throughput", f"{ratio:.2f}×", f"≥ {goal:.2f}×", ratio >= goal
                    )
    for fmt in fmts:
        for w in workers:
            hi, lo = by.get((big, fmt, w)), by.get((small, fmt, w))
            if not hi:
                continue
            if lo and big != small:
                ratio = hi["peak_rss"] / lo["peak_rss"]
                check(f"{fmt} {w}w peak RSS n={big:,} ÷ n={small:,}", f"{ratio:.2f}", "≤ 1.2", ratio <= 1.2)
                ratio = hi["seconds"] / lo["seconds"]
                check(f"{fmt} {w}w time n={big:,} ÷ n={small:,}", f"{ratio:.2f}", f"ideal {big / small:g}", None)
            check(
                f"{fmt} {w}w peak RSS at n={big:,}",
                f"{hi['peak_rss'] / MiB:,.0f} MiB",
                "< 1536 MiB",
                hi["peak_rss"] < 1.5 * GiB,
            )
            if fmt == "csv" and w > 1:
                ratio = hi["bytes_per_s"] / disk_bps
                check(f"csv {w}w n={big:,} write rate ÷ raw disk", f"{ratio:.2f}", "≥ 0.85", ratio >= 0.85)
    for r in noisy:
        clean = by.get((r["n"], r["format"], r["workers"]))
        if clean:
            ratio = r["people_per_s"] / clean["people_per_s"]
            check(
                f"{r['format']} n={r['n']:,}, {r['workers']} workers, {r['profile']} ÷ clean throughput",
                f"{ratio:.2f}×",
                "≥ 0.80× (noise costs ≤ 20%)",
                ratio >= 0.80,
            )
            cpu = r["cpu_s"] / clean["cpu_s"]
            check(f"{r['format']} n={r['n']:,}, {r['profile']} ÷ clean CPU seconds", f"{cpu:.2f}×", "(info)", None)
    for fmt in fmts:
        r = by.get((10_000_000, fmt, 2))
        if r:
            limit = 35 if fmt in PARTED else 60
            check(f"{fmt} n=10,000,000, 2 workers wall time", f"{r['seconds']:.1f} s", f"≤ {limit} s",
                  r["seconds"] <= limit)  # fmt: skip
    return rows


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="only n=1,000,000")
    p.add_argument("--sizes", type=int_list, help="people per run, comma-separated (default 1000000,10000000)")
    p.add_argument("--formats", type=str_list, default=["csv", "parquet", "delta"], help="default csv,parquet,delta")
    p.add_argument("--workers", type=int_list, default=[1, 2], help="default 1,2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", default="realistic", help="noise profile of the noisy CSV runs (default realistic)")
    p.add_argument("--baseline-n", type=int, help="people per baseline (default faker 20000, mimesis 200000)")
    p.add_argument("--disk-bytes", type=int, default=4 * GiB, help="bytes for the disk test (default 4 GiB)")
    p.add_argument("--out-dir", type=Path, default=REPO / "bench-out", help="scratch folder (default bench-out/)")
    p.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md", help="Markdown report path")
    args = p.parse_args()
    if args.sizes is None:
        args.sizes = [1_000_000] if args.quick else [1_000_000, 10_000_000]
    return args


def main() -> None:
    """Run the whole benchmark and write the report."""
    args = parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python3", "benchmarks/run.py", *sys.argv[1:]])

    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    machine_table = md_table(["", ""], [[k, v] for k, v in machine_info().items()])
    emit(f"Date: {date}\n\n## Machine\n\n{machine_table}")

    run_generator(1_000, args.formats[0], 1, args.out_dir, args.seed)  # warm-up: file cache, bytecode

    emit("\n## Generator runs\n")
    emit(md_table(RUN_HEADERS, []))
    runs = []
    for n in args.sizes:
        for fmt in args.formats:
            for w in args.workers:
                runs.append(run_generator(n, fmt, w, args.out_dir, args.seed))
                emit(md_row(run_cells(runs[-1])))
    # What data-quality noise costs: the same CSV runs with the noise profile (and its noise log).
    for n in args.sizes:
        runs.append(run_generator(n, "csv", max(args.workers), args.out_dir, args.seed, noise=args.noise))
        emit(md_row(run_cells(runs[-1])))
    # The per-core comparison with the per-row baselines, on the fields they emit.
    runs.append(run_generator(args.sizes[0], "csv", 1, args.out_dir, args.seed, SAME_FIELDS))
    emit(md_row(run_cells(runs[-1])))

    emit("\n## Baselines (single-core, per-row)\n")
    base_headers = ["library", "people", "seconds", "people/s"]
    emit(md_table(base_headers, []))
    base: dict[str, dict] = {}
    base_rows = []
    for name, (fn, default_n) in BASELINES.items():
        base[name] = time_baseline(fn, args.baseline_n or default_n, args.seed)
        b = base[name]
        base_rows.append([name, f"{b['rows']:,}", f"{b['seconds']:.2f}", f"{b['people_per_s']:,.0f}"])
        emit(md_row(base_rows[-1]))

    disk_bps = disk_write_speed(str(args.out_dir), args.disk_bytes)
    disk_line = (
        f"Raw sequential write in the output folder: **{disk_bps / 1e6:,.0f} MB/s** "
        f"({args.disk_bytes / MiB:,.0f} MiB, fsync'd)."
    )
    emit("\n## Disk\n\n" + disk_line)

    targets = md_table(["check", "value", "target", "status"], compute_targets(runs, base, disk_bps))
    emit("\n## Targets\n\n" + targets)

    report = "\n".join(
        [
            "# pii_gen benchmark results",
            "",
            f"Date: {date}",
            "",
            "## Machine",
            "",
            machine_table,
            "",
            "## Reproduce",
            "",
            "```sh",
            command,
            "```",
            "",
            "## Generator runs",
            "",
            "One subprocess per run; output deleted after measuring. MB = 10^6 bytes (all files incl. manifest). "
            "Peak RSS is the sum over the process tree (parent + workers) sampled every 0.05 s. "
            "CPU s = user + system seconds of the whole tree.",
            "",
            md_table(RUN_HEADERS, [run_cells(r) for r in runs]),
            "",
            "## Baselines (single-core, per-row)",
            "",
            md_table(base_headers, base_rows),
            "",
            "## Disk",
            "",
            disk_line,
            "",
            "## Targets",
            "",
            targets,
            "",
        ]
    )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(report)
    emit(f"\nReport written to {args.results}")


if __name__ == "__main__":
    main()
