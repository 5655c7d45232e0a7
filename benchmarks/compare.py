#!/usr/bin/env python3
"""Compare generator throughput of two commits side by side, on the same machine in the same run.

Each commit is checked out into a temporary git worktree; every case runs for both, interleaved
(before, after, before, after ...), and the median of the repetitions is compared, so a change in machine
load hits both commits alike.  The default "before" is the commit before the golden test was added (the
start of issue 13, whose changes must not cost throughput); the default "after" is HEAD.

Run from the repository root:  python3 benchmarks/compare.py [--before REV] [--after REV] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from run import emit, load, machine_info, md_table, run_generator  # noqa: E402

#: The golden test froze the output at the start of issue 13: the commit before it is the baseline.
GOLDEN = "tests/golden"


@dataclasses.dataclass(frozen=True)
class Case:
    """One generator run to compare: people, format, workers and noise profile."""

    n: int
    fmt: str
    workers: int
    noise: str | None = None

    def label(self) -> str:
        noise = f", {self.noise} noise" if self.noise else ""
        return f"{self.n:,} {self.fmt}, {self.workers} workers{noise}"


CASES = (Case(1_000_000, "csv", 2), Case(1_000_000, "parquet", 2), Case(1_000_000, "csv", 2, "realistic"))
LARGE = Case(10_000_000, "csv", 2)


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def commit_before_golden() -> str:
    """The commit before the one that added the golden test."""
    added = git("log", "--format=%H", "--diff-filter=A", "--reverse", "--", GOLDEN).splitlines()
    if not added:
        sys.exit(f"compare.py: no commit adds {GOLDEN}; name the baseline with --before")
    return git("rev-parse", f"{added[0]}^")


@contextlib.contextmanager
def checkout(rev: str, root: Path) -> Iterator[Path]:
    """A detached worktree of ``rev`` under ``root``, removed afterwards."""
    path = root / rev[:12]
    git("worktree", "add", "--detach", "--quiet", str(path), rev)
    try:
        yield path
    finally:
        git("worktree", "remove", "--force", str(path))


def compare(case: Case, found: dict[tuple[Case, str], list[float]]) -> list[str]:
    """One table row: the medians of both commits, their ratio and every run."""
    before, after = (statistics.median(found[(case, k)]) for k in ("before", "after"))
    runs = [", ".join(f"{x:,.0f}" for x in found[(case, k)]) for k in ("before", "after")]
    return [case.label(), f"{before:,.0f}", f"{after:,.0f}", f"{after / before:.3f}", *runs]


def parse_case(text: str) -> Case:
    """A ``--case`` value: people, format, workers and, optionally, a noise profile."""
    parts = text.split(":")
    try:
        if len(parts) not in (3, 4):
            raise ValueError
        return Case(int(parts[0]), parts[1], int(parts[2]), parts[3] if len(parts) == 4 else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not N:FORMAT:WORKERS[:NOISE], e.g. 10000000:parquet:2") from None


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", help="baseline revision (default: the commit before the golden test was added)")
    p.add_argument("--after", default="HEAD", help="revision to compare with it (default HEAD)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each case per commit, median taken (default 3)")
    p.add_argument("--large", action="store_true", help="also 10,000,000 people CSV (slow on 2 cores)")
    p.add_argument("--people", type=int, help="people in every case instead (a quick check of the script)")
    p.add_argument("--case", action="append", type=parse_case, dest="cases", metavar="N:FORMAT:WORKERS[:NOISE]",
                   help="a case to run instead of the default ones (repeatable), e.g. 10000000:parquet:2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", type=Path, default=REPO / "bench-out", help="scratch folder (default bench-out/)")
    p.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS-compare.md", help="Markdown report path")
    args = p.parse_args()
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main() -> None:
    """Run every case for both commits, interleaved, and write the report."""
    args = parse_args()
    command = shlex.join(["python3", "benchmarks/compare.py", *sys.argv[1:]])
    revs = {"before": git("rev-parse", args.before or commit_before_golden()), "after": git("rev-parse", args.after)}
    titles = {k: f"{rev[:9]} {git('log', '-1', '--format=%s', rev)[:70]}" for k, rev in revs.items()}
    cases = tuple(args.cases) if args.cases else (*CASES, LARGE) if args.large else CASES
    if args.people:
        cases = tuple(dataclasses.replace(case, n=args.people) for case in cases)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    loads = [f"start: {load()}"]
    emit(f"Date: {date}\nbefore: {titles['before']}\nafter:  {titles['after']}\nload average {loads[0]}")

    speeds: dict[tuple[Case, str], list[float]] = {}  # people per wall-clock second
    per_cpu: dict[tuple[Case, str], list[float]] = {}  # people per CPU second of the whole process tree
    with tempfile.TemporaryDirectory(prefix="pii_gen-compare-") as tmp, contextlib.ExitStack() as stack:
        trees = {k: stack.enter_context(checkout(rev, Path(tmp))) for k, rev in revs.items()}
        for tree in trees.values():  # warm-up: file cache, bytecode
            run_generator(1_000, "csv", 1, args.out_dir, args.seed, repo=tree)
        for rep in range(args.repeat):
            for case in cases:
                for k, tree in trees.items():
                    r = run_generator(
                        case.n, case.fmt, case.workers, args.out_dir, args.seed, noise=case.noise, repo=tree
                    )
                    speeds.setdefault((case, k), []).append(r["people_per_s"])
                    per_cpu.setdefault((case, k), []).append(case.n / r["cpu_s"])
                    emit(
                        f"run {rep + 1}/{args.repeat} {case.label()} {k}: {r['people_per_s']:,.0f} people/s, "
                        f"{per_cpu[(case, k)][-1]:,.0f} people/CPU-s"
                    )
            loads.append(f"after repetition {rep + 1}: {load()}")
            emit(f"load average {loads[-1]}")

    headers = ["case", "before", "after", "after / before", "before runs", "after runs"]
    tables = {
        unit: md_table([f"{headers[0]} ({unit})", *headers[1:]], [compare(case, found) for case in cases])
        for unit, found in (("people/s", speeds), ("people/CPU-s", per_cpu))
    }
    emit("\n" + "\n\n".join(tables.values()))
    machine = md_table(["", ""], [[k, v] for k, v in machine_info().items()])
    report = [
        "# pii_gen throughput, two commits side by side",
        "",
        f"Date: {date}",
        "",
        f"* before: `{titles['before']}`",
        f"* after: `{titles['after']}`",
        "",
        "## Reproduce",
        "",
        "```sh",
        command,
        "```",
        "",
        "## Throughput",
        "",
        f"One subprocess per run, output deleted after measuring; {args.repeat} runs of each case per commit, "
        "interleaved (before, after, before, after ...), median shown. Other work on the machine slows both "
        "commits alike, but widens the spread: see the load averages.",
        "",
        tables["people/s"],
        "",
        "People per CPU second (user + system of the process tree) depend less on what else runs on the "
        "machine than the wall clock does: on a busy machine, compare these.",
        "",
        tables["people/CPU-s"],
        "",
        "## Load average (1 / 5 / 15 min)",
        "",
        *(f"* {line}" for line in loads),
        "",
        "## Machine",
        "",
        machine,
        "",
    ]
    args.results.write_text("\n".join(report), encoding="utf-8")
    emit(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
