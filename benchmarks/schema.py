#!/usr/bin/env python3
"""Benchmark the schema-file engine (``pii_gen generate --schema``) and its peers; write RESULTS-schema.md.

In one go: examples/shop.yaml at a million customers with 1 and 2 workers, the rows per CPU second of its
non-person tables and of the whole schema, peak memory at two sizes; a plain schema (sequences, choices,
distributions, datetimes, refs; benchmarks/schema_plain.yaml); the same shop recipe in Snowfakery
(benchmarks/shop_snowfakery.yml) and as a per-row Mimesis Schema loop (benchmarks/schema_peers.py); and a
profile of where pii_gen's time goes.  Every run is one subprocess writing CSV, deleted after measuring.

Run from the repository root:  python3 benchmarks/schema.py [--quick]
Peers and profiler:            pip install -r benchmarks/requirements.txt
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

sys.path.insert(0, str(REPO / "src"))

from run import MiB, TreeRSS, children_cpu, emit, load, machine_info, md_table  # noqa: E402

from pii_gen.backends.local import MEMORY_LIMIT  # noqa: E402

SHOP = REPO / "examples" / "shop.yaml"
PLAIN = BENCH_DIR / "schema_plain.yaml"
SNOWFAKERY_RECIPE = BENCH_DIR / "shop_snowfakery.yml"
PEERS_SCRIPT = BENCH_DIR / "schema_peers.py"
PERSON_TABLES = ("customers",)  # the shop's one population-backed table
#: What each benchmark-only package is for; the script names the missing ones and stops.
NEEDS = {"snowfakery": "the Snowfakery peer", "mimesis": "the Mimesis peer", "pyinstrument": "the profile"}

# Explanations of hot spots the profile can name, keyed by (file, function) of the frame with the self time.
KNOWN = {
    ("pii_gen/packs/schema/pack.py", "<listcomp>"): (
        "`SchemaRuntime.batch` joins each column's blocks with `pa.chunked_array([...])` over `ChunkedArray`s "
        "(`table.column(name).cast(type)`), not `Array`s: pyarrow then converts them value by value through "
        "Python objects (about 1 µs a value, more than every generator together). Passing the chunks "
        "(`.chunks`) or `pa.concat_arrays` makes the same bytes without the detour."
    ),
    ("pii_gen/sinks/codecs.py", "encode"): "CSV encoding of the Arrow batch (pyarrow's CSV writer).",
    ("pii_gen/core/sampling.py", "__init__"): "building the population's samplers from the reference tables.",
}
#: The files of the column generators, modifiers, fanout draws and expressions (the engine's own ones, ref,
#: lookup and person, live in packs/schema/ and are not counted with them).
GENERATOR_FILES = (
    "pii_gen/dsl/generators/",
    "pii_gen/dsl/modifiers.py",
    "pii_gen/dsl/fanout.py",
    "pii_gen/dsl/expr.py",
)
JOIN = "  of which joining the blocks' columns"
REFERENCE = "population reference data loaded (plan and run)"
POPULATION_BLOCKS = "population blocks made (plan and run)"
#: Named stages of a schema run: the (file, function) that measures each, by its cumulative time or (the
#: join, which calls only C code) its own.
STAGES = [
    ("plan: load, check, draw the fanout counts", "pii_gen/schema_run.py", "schema_plan", "cum"),
    ("  of which the parent table made to draw counts", "pii_gen/packs/schema/engine.py", "counting", "cum"),
    (REFERENCE, "pii_gen/packs/schema/population.py", "__init__", "cum"),
    (POPULATION_BLOCKS, "pii_gen/packs/schema/population.py", "_block", "cum"),
    ("run: the blocks of every table", "pii_gen/packs/schema/pack.py", "batch", "cum"),
    (JOIN, "pii_gen/packs/schema/pack.py", "<listcomp>", "self"),
    ("run: encoding and writing the files", "pii_gen/sinks/direct.py", "write", "cum"),
]


# --------------------------------------------------------------------------- measuring


class TreeSampler(TreeRSS):
    """:class:`TreeRSS` that also keeps the peak of the root process alone and of its largest child."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(pid, interval)
        self.root_peak = 0
        self.child_peak = 0

    def sample(self) -> int:
        import psutil

        try:
            children = self.root.children(recursive=True)
            root = self.root.memory_info().rss
        except psutil.Error:
            return 0
        sizes = []
        for child in children:
            try:
                sizes.append(child.memory_info().rss)
            except psutil.Error:
                pass
        self.root_peak = max(self.root_peak, root)
        self.child_peak = max([self.child_peak, *sizes])
        return root + sum(sizes)


def measure(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` as one subprocess (stdout and stderr to ``log``): wall and CPU seconds of its whole
    process tree, and the peak of its summed RSS."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cpu_before = children_cpu()
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        code = proc.wait()
    seconds = time.perf_counter() - start
    peak = sampler.stop()
    if code != 0:
        sys.exit(f"schema.py: {shlex.join(cmd)} exited {code}:\n{log.read_text()[-2000:]}")
    return {
        "seconds": seconds,
        "cpu_s": children_cpu() - cpu_before,
        "peak_rss": peak,
        "root_rss": sampler.root_peak,
        "child_rss": sampler.child_peak,
        "load": load(),
    }


def csv_rows(folder: Path) -> dict[str, int]:
    """Data rows of every CSV file in ``folder`` (header left out)."""
    rows = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fp:
            rows[path.stem] = max(0, sum(1 for _ in csv.reader(fp)) - 1)
    return rows


# --------------------------------------------------------------------------- the cases


def sub_once(pattern: str, repl: str, text: str) -> str:
    """``text`` with ``pattern`` replaced exactly once (else examples/shop.yaml changed under this script)."""
    out, count = re.subn(pattern, repl, text, flags=re.M | re.S)
    if count != 1:
        sys.exit(f"schema.py: {pattern!r} matches {count} times in {SHOP}; update shop_variant()")
    return out


def shop_variant(customers: int, scratch: Path, variant: str = "full", orders_mean: float | None = None) -> Path:
    """A copy of examples/shop.yaml with ``customers`` people (``--scale`` leaves a ``from: population`` table
    at the population's size and would only multiply the products); ``customers-only`` drops orders and
    order items, ``constant-fanout`` gives orders a fixed Poisson mean (``orders_mean``) instead of one over
    the customer's income.  Edited as text, so the file's comments and YAML spelling stay as they are."""
    text = sub_once(r"^(  size: )\d+", rf"\g<1>{customers}", SHOP.read_text(encoding="utf-8"))
    if variant == "customers-only":
        text = sub_once(r"^  orders:\n.*?(?=^constraints:)", "", text)
        text = sub_once(r"^constraints:.*", "constraints:\n  - fk: auto\n", text)
    elif variant == "constant-fanout":
        text = sub_once(r'mean: "0\.8 \+ [^"]*"', f"mean: {float(orders_mean or 1.0):.4f}", text)
    path = scratch / f"shop-{variant}-{customers}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def pii_gen_run(
    label: str, schema: Path, workers: int, scratch: Path, fmt: str = "csv", scale: float | None = None
) -> dict[str, Any]:
    """One ``pii_gen generate --schema`` run; rows per table from its manifest."""
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        str(REPO / "pii_gen.py"),
        "generate",
        "--schema",
        str(schema),
        "--workers",
        str(workers),
        "--format",
        fmt,
        "--out",
        str(out),
        "--quiet",
    ]
    if scale is not None:
        cmd += ["--scale", f"{scale:g}"]
    r = measure(cmd, scratch / "run.log")
    manifest = json.loads((out / "manifest.json").read_text())
    shutil.rmtree(out, ignore_errors=True)
    tables = {name: info["rows"] for name, info in manifest["tables"].items()}
    return {**r, "label": label, "tool": "pii_gen", "workers": workers, "format": fmt, "tables": tables}


def plan_run(label: str, schema: Path, scratch: Path) -> dict[str, Any]:
    """Only the plan of a schema (loading, checks, the fanout counts), in its own process."""
    code = f"from pii_gen.schema_run import schema_plan; schema_plan({str(schema)!r}, None, None)"
    r = measure([sys.executable, "-c", code], scratch / "run.log")
    return {**r, "label": label, "tool": "pii_gen", "workers": 1, "format": "-", "tables": {}}


def snowfakery_run(customers: int, scratch: Path) -> dict[str, Any]:
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "snowfakery",
        str(SNOWFAKERY_RECIPE),
        "--option",
        "n_customers",
        str(customers),
        "--output-format",
        "csv",
        "--output-folder",
        str(out),
    ]
    r = measure(cmd, scratch / "run.log")
    tables = csv_rows(out)
    shutil.rmtree(out, ignore_errors=True)
    return {
        **r,
        "label": f"Snowfakery shop, {customers:,} customers",
        "tool": "snowfakery",
        "workers": 1,
        "format": "csv",
        "tables": tables,
    }


def mimesis_run(customers: int, scratch: Path) -> dict[str, Any]:
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, str(PEERS_SCRIPT), "mimesis", "--customers", str(customers), "--out", str(out)]
    r = measure(cmd, scratch / "run.log")
    tables = csv_rows(out)
    shutil.rmtree(out, ignore_errors=True)
    return {
        **r,
        "label": f"Mimesis Schema loop shop, {customers:,} customers",
        "tool": "mimesis",
        "workers": 1,
        "format": "csv",
        "tables": tables,
    }


def rows(r: dict[str, Any], only: tuple[str, ...] | None = None, without: tuple[str, ...] = ()) -> int:
    return sum(n for t, n in r["tables"].items() if (only is None or t in only) and t not in without)


# --------------------------------------------------------------------------- profile


def profile_run(schema: Path, scale: float | None, out: Path, result: Path) -> None:
    """(In this process, ``--profile-run``) one serial ``generate_schema`` under pyinstrument: the frames with the
    most self time and the cumulative time of the named stages, as JSON."""
    from pyinstrument import Profiler

    from pii_gen.schema_run import generate_schema

    shutil.rmtree(out, ignore_errors=True)
    profiler = Profiler(interval=0.001)
    profiler.start()
    generate_schema(schema, out=str(out), workers=1, scale=scale)
    profiler.stop()
    shutil.rmtree(out, ignore_errors=True)
    root = profiler.last_session.root_frame()
    own: collections.Counter[tuple[str, str, int]] = collections.Counter()
    cum: collections.Counter[tuple[str, str, int]] = collections.Counter()

    generators = 0.0  # time inside pii_gen/dsl/ (the column generators and modifiers), counted once

    def walk(
        frame: Any, parent: tuple[str, str, int] | None, active: frozenset[tuple[str, str, int]], in_dsl: bool
    ) -> None:
        nonlocal generators
        if frame.is_synthetic and parent:  # pyinstrument's "[self]" leaf: its parent's own time
            key = parent
        else:
            key = (frame.file_path_short or "", frame.function or "", frame.line_no or 0)
            if key not in active:  # recursion counted once
                cum[key] += frame.time
            if not in_dsl and key[0].startswith(GENERATOR_FILES):
                generators += frame.time
                in_dsl = True
        children = frame.children
        own[key] += max(0.0, frame.time - sum(c.time for c in children))
        for child in children:
            walk(child, key, active | {key}, in_dsl)

    walk(root, None, frozenset(), False)
    total = root.time
    hot = [{"file": f, "function": fn, "line": line, "share": t / total} for (f, fn, line), t in own.most_common(8)]
    named = [
        {
            "stage": label,
            "share": sum(t for (f, fn, _), t in (cum if how == "cum" else own).items() if (f, fn) == (file, function))
            / total,
        }
        for label, file, function, how in STAGES
    ]
    named.append(
        {
            "stage": "the column generators, modifiers and fanout draws (`pii_gen/dsl/`, wherever called)",
            "share": generators / total,
        }
    )
    result.write_text(json.dumps({"seconds": total, "hot": hot, "stages": named}))


def profile(label: str, schema: Path, scale: float | None, scratch: Path) -> dict[str, Any]:
    result = scratch / "profile.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--profile-run",
        str(schema),
        "--profile-out",
        str(scratch / "out"),
        "--profile-json",
        str(result),
    ]
    if scale is not None:
        cmd += ["--profile-scale", f"{scale:g}"]
    measure(cmd, scratch / "run.log")
    return {"label": label, **json.loads(result.read_text())}


# --------------------------------------------------------------------------- report


def median_run(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """One case's repetitions as one run: median wall and CPU seconds, the highest peak RSS, every value kept."""
    out = dict(repeats[-1])
    for key in ("seconds", "cpu_s"):
        out[key] = statistics.median(r[key] for r in repeats)
        out[f"all_{key}"] = [r[key] for r in repeats]
    for key in ("peak_rss", "root_rss", "child_rss"):
        out[key] = max(r[key] for r in repeats)
    return out


def spread(r: dict[str, Any], key: str) -> str:
    """The median, and every repetition's value when there were several."""
    values = r.get(f"all_{key}", [r[key]])
    return f"{r[key]:.1f}" + (f" ({', '.join(f'{v:.1f}' for v in values)})" if len(values) > 1 else "")


def run_cells(r: dict[str, Any]) -> list[str]:
    n = rows(r)
    return [
        r["label"],
        r["tool"],
        str(r["workers"]),
        f"{n:,}",
        spread(r, "seconds"),
        spread(r, "cpu_s"),
        f"{n / r['seconds']:,.0f}" if n else "-",
        f"{n / r['cpu_s']:,.0f}" if n else "-",
        f"{r['peak_rss'] / MiB:,.0f}",
        f"{r['root_rss'] / MiB:,.0f}",
        f"{r['child_rss'] / MiB:,.0f}" if r["child_rss"] else "-",
        r["load"],
    ]


RUN_HEADERS = [
    "run",
    "tool",
    "workers",
    "rows",
    "wall s (median (runs))",
    "CPU s (median (runs))",
    "rows/s",
    "rows/CPU-s",
    "peak RSS MiB (tree)",
    "main process MiB",
    "largest worker MiB",
    "load after (1/5/15)",
]


def check(label: str, value: float, goal: float, unit: str = "×", higher: bool = True, fmt: str = ",.2f") -> list[str]:
    """One target row: value, target, PASS/MISS and, when missed, by how much."""
    ok = value >= goal if higher else value <= goal
    gap = "" if ok else (f"{value / goal:.2f} of the target" if higher else f"{value / goal:.2f}× the limit")
    sign = "≥" if higher else "≤"
    return [label, f"{value:{fmt}}{unit}", f"{sign} {goal:{fmt}}{unit}", "PASS" if ok else "MISS", gap]


def hot_table(p: dict[str, Any]) -> str:
    cells = [
        [
            f"`{h['file']}:{h['line'] or ''}` {h['function']}",
            f"{h['share']:.0%}",
            KNOWN.get((h["file"], h["function"]), ""),
        ]
        for h in p["hot"]
    ]
    return md_table(["frame (self time)", "share", "why"], cells)


def stage_table(p: dict[str, Any]) -> str:
    return md_table(["stage (cumulative)", "share"], [[s["stage"], f"{s['share']:.0%}"] for s in p["stages"]])


def versions() -> dict[str, str]:
    found = {}
    for name in ("snowfakery", "mimesis", "faker", "pyinstrument"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()


def why_lines(missed: set[str], f: dict[str, Any]) -> list[str]:
    """One bullet per missed target (and one on the Mimesis ratio), from this run's figures and profiles."""
    out = []
    one, two, plan, cust, large = f["one"], f["two"], f["plan"], f["cust"], f["large"]
    plain_p, shop_p = f["profiles"]
    stage = {s["stage"]: s["share"] for p in (shop_p,) for s in p["stages"]}
    gens = {p["label"]: p["stages"][-1]["share"] for p in f["profiles"]}
    if any(m.startswith("plain schema") for m in missed):
        top = plain_p["hot"][0]
        why = KNOWN.get((top["file"], top["function"]), "")
        out.append(
            f"* **Plain schema, {f['plain']['csv']:,.0f} rows/CPU-s ({f['plain']['csv'] / 1e6:.2f} of the "
            f"target; Parquet {f['plain']['parquet']:,.0f}).** {top['share']:.0%} of its profiled time is "
            f"self time in `{top['file']}:{top['line']}` ({top['function']}). {why} The column generators "
            f"take {gens[plain_p['label']]:.0%}."
        )
    if any(m.startswith("shop, 2 ÷ 1") for m in missed):
        text = (
            f"* **2 ÷ 1 workers, {f['wall_ratio']:.2f}×.** The plan runs first, alone, in the main process "
            f"({f['serial']:.0%} of the 1-worker CPU: with a fanout over `parent.annual_income` it makes every "
            f"customer block, population and all, to draw the counts), and the 2-worker run takes "
            f"{two['cpu_s'] / one['cpu_s']:.2f}× the 1-worker CPU (each worker process starts and loads the "
            f"population's reference data itself): on two idle cores that allows {f['best']:.2f}× at best."
        )
        if f["throttled"]:
            text += (
                f" And the tree's peak, {two['peak_rss'] / MiB:,.0f} MiB, is above the backend's memory limit "
                f"({MEMORY_LIMIT / MiB:,.0f} MiB): `PerformanceOptimizer._feed` hands out a new task only "
                "when none is in flight while the tree is above it, so the workers often take turns (the "
                f"2-worker run used {two['cpu_s'] / two['seconds']:.2f} cores on average)."
            )
        out.append(text)
    if any("peak RSS" in m for m in missed):
        out.append(
            f"* **Peak RSS, {two['peak_rss'] / MiB:,.0f} MiB ({f['n']:,}) and {large['peak_rss'] / MiB:,.0f} "
            f"MiB ({f['big']:,}), 2 workers.** The main process keeps {two['root_rss'] / MiB:,.0f} MiB "
            f"after making the plan (a process that only makes the plan peaks at {plan['peak_rss'] / MiB:,.0f}"
            f" MiB: the population's reference data, cached for the process, and the blocks made to draw "
            f"the counts) while each worker holds up to {two['child_rss'] / MiB:,.0f} MiB "
            f"({large['child_rss'] / MiB:,.0f} at {f['big']:,}): its own reference data and the blocks "
            f"cached for lookups. It is flat in size; three processes of that size do not fit 1.5 GiB."
        )
    if any(m.startswith("shop per core") for m in missed):
        theirs = rows(f["runs"]["snowfakery"]) / f["runs"]["snowfakery"]["cpu_s"]
        each = sorted(rows(one) / cpu / theirs for cpu in one.get("all_cpu_s", [one["cpu_s"]]))
        out.append(
            f"* **Shop per core ÷ Snowfakery, {f['whole'] / theirs:.1f}×** with the median 1-worker run "
            f"({', '.join(f'{x:.1f}×' for x in each)} over the repetitions). Where the shop's time goes "
            f"(profile below): joining the blocks' columns {stage.get(JOIN, 0):.0%} (the hot spot above), "
            f"population blocks {stage.get(POPULATION_BLOCKS, 0):.0%} (made in the plan to draw the counts "
            f"and again in the run), the population's reference data {stage.get(REFERENCE, 0):.0%}, the "
            f"column generators {shop_p['stages'][-1]['share']:.0%}."
        )
    if "mimesis" in f["runs"]:
        theirs = rows(f["runs"]["mimesis"]) / f["runs"]["mimesis"]["cpu_s"]
        out.append(
            f"* (No target.) Per core pii_gen's whole shop is {f['whole'] / theirs:.1f}× the per-row Mimesis "
            f"loop: its population-backed customers cost {cust['cpu_s'] / one['cpu_s']:.0%} of the 1-worker "
            f"run for {rows(cust) / rows(one):.0%} of the rows (every person is generated whole, with "
            "household, address, job and finances, before six of its fields are read), the join above "
            f"{stage.get(JOIN, 0):.0%} of the "
            "shop profile, and Mimesis makes none of that coherence."
        )
    return out


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000, help="shop customers (default 1,000,000)")
    p.add_argument("--large", type=int, default=10_000_000, help="customers of the second memory size (default 10M)")
    p.add_argument("--plain-scale", type=float, default=0.5, help="scale of schema_plain.yaml (default 0.5: 5M rows)")
    p.add_argument("--snowfakery-customers", type=int, default=10_000)
    p.add_argument("--mimesis-customers", type=int, default=50_000)
    p.add_argument("--profile-customers", type=int, default=100_000, help="shop customers of the profile")
    p.add_argument("--repeat", type=int, default=3, help="runs of each 1M-customer case, median taken (default 3)")
    p.add_argument("--no-peers", action="store_true", help="without Snowfakery and Mimesis")
    p.add_argument("--quick", action="store_true", help="small sizes: a check of the script, not a result")
    p.add_argument("--scratch", type=Path, help="scratch folder (default: a temporary one)")
    p.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS-schema.md", help="Markdown report path")
    for hidden in ("--profile-run", "--profile-out", "--profile-json", "--profile-scale"):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.customers, args.large, args.plain_scale = 20_000, 60_000, 0.02
        args.snowfakery_customers, args.mimesis_customers, args.profile_customers = 500, 2_000, 10_000
        args.repeat = 1
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def missing_packages(peers: bool) -> list[str]:
    wanted = [name for name in NEEDS if peers or name == "pyinstrument"]
    missing = [f"{name} ({NEEDS[name]})" for name in wanted if importlib.util.find_spec(name) is None]
    if peers and "snowfakery" not in " ".join(missing) and importlib.util.find_spec("pkg_resources") is None:
        missing.append("setuptools<81 (Snowfakery imports pkg_resources)")
    return missing


def main() -> None:  # noqa: C901 - one straight sequence of runs, then one report
    args = parse_args()
    if args.profile_run:
        scale = float(args.profile_scale) if args.profile_scale else None
        profile_run(Path(args.profile_run), scale, Path(args.profile_out), Path(args.profile_json))
        return
    missing = missing_packages(not args.no_peers)
    if missing:
        sys.exit(
            "schema.py: missing "
            + ", ".join(missing)
            + "\n  pip install -r benchmarks/requirements.txt"
            + ("" if args.no_peers else "   (or run with --no-peers)")
        )
    command = shlex.join(["python3", "benchmarks/schema.py", *sys.argv[1:]])
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    head = git("log", "-1", "--format=%h %s")[:90]
    started = time.perf_counter()
    loads = [f"start: {load()}"]
    emit(f"Date: {date}\ncommit: {head}\nload average {loads[0]}")

    with tempfile.TemporaryDirectory(prefix="pii_gen-schema-bench-") as tmp:
        scratch = args.scratch or Path(tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        n, big = args.customers, args.large
        runs: dict[str, list[dict[str, Any]]] = {}

        def record(key: str, r: dict[str, Any]) -> dict[str, Any]:
            runs.setdefault(key, []).append(r)
            total = rows(r)
            rate = f"{total / r['cpu_s']:,.0f} rows/CPU-s" if total else "plan only"
            emit(
                f"{r['label']}: {total:,} rows, {r['seconds']:.1f} s wall, {r['cpu_s']:.1f} CPU s, {rate}, "
                f"peak RSS {r['peak_rss'] / MiB:,.0f} MiB, load {r['load']}"
            )
            return r

        pii_gen_run("warm-up", shop_variant(1_000, scratch), 1, scratch)  # file cache, bytecode
        full, only = shop_variant(n, scratch), shop_variant(n, scratch, "customers-only")
        constant = None
        for rep in range(args.repeat):  # interleaved, so a change in load hits every case alike
            first = record("one", pii_gen_run(f"shop, {n:,} customers", full, 1, scratch))
            record("two", pii_gen_run(f"shop, {n:,} customers", full, 2, scratch))
            record("customers", pii_gen_run(f"shop customers only, {n:,}", only, 1, scratch))
            mean = first["tables"]["orders"] / first["tables"]["customers"]
            constant = constant or shop_variant(n, scratch, "constant-fanout", mean)
            record(
                "constant", pii_gen_run(f"shop, fanout mean fixed at {mean:.3f}, {n:,} customers", constant, 1, scratch)
            )
            record("plan", plan_run(f"shop plan only, {n:,} customers", full, scratch))
            loads.append(f"after repetition {rep + 1} of the {n:,}-customer runs: {load()}")
        record("large", pii_gen_run(f"shop, {big:,} customers", shop_variant(big, scratch), 2, scratch))
        loads.append(f"after the {big:,}-customer run: {load()}")
        for fmt in ("csv", "parquet"):
            record(
                f"plain-{fmt}",
                pii_gen_run(
                    f"plain ({PLAIN.name}, scale {args.plain_scale:g}), {fmt}", PLAIN, 1, scratch, fmt, args.plain_scale
                ),
            )
        peers = not args.no_peers
        if peers:
            for who, size in (("snowfakery", args.snowfakery_customers), ("mimesis", args.mimesis_customers)):
                record(f"{who}-ours", pii_gen_run(f"shop, {size:,} customers", shop_variant(size, scratch), 1, scratch))
            record("snowfakery", snowfakery_run(args.snowfakery_customers, scratch))
            record("mimesis", mimesis_run(args.mimesis_customers, scratch))
        loads.append(f"after the plain and peer runs: {load()}")
        emit("profiling ...")
        profiles = [
            profile(f"plain, scale {args.plain_scale / 5:g}", PLAIN, args.plain_scale / 5, scratch),
            profile(
                f"shop, {args.profile_customers:,} customers",
                shop_variant(args.profile_customers, scratch),
                None,
                scratch,
            ),
        ]
        loads.append(f"end: {load()}")
    elapsed = time.perf_counter() - started

    # ---- derived figures
    runs = {key: median_run(repeats) for key, repeats in runs.items()}
    one, two, large = runs["one"], runs["two"], runs["large"]
    cust, const, plan = runs["customers"], runs["constant"], runs["plan"]
    non_person_rows = rows(const, without=PERSON_TABLES)
    non_person_cpu = const["cpu_s"] - cust["cpu_s"]
    whole = rows(one) / one["cpu_s"]
    wall_ratio = one["seconds"] / two["seconds"]
    serial = plan["cpu_s"] / one["cpu_s"]
    # On two idle cores: the plan alone, then the 2-worker run's other CPU seconds shared by both workers.
    best = one["cpu_s"] / (plan["cpu_s"] + (two["cpu_s"] - plan["cpu_s"]) / 2)
    throttled = two["peak_rss"] > MEMORY_LIMIT
    rss_ratio = large["peak_rss"] / two["peak_rss"]
    plain = {fmt: rows(runs[f"plain-{fmt}"]) / runs[f"plain-{fmt}"]["cpu_s"] for fmt in ("csv", "parquet")}

    derived = [
        ["whole shop schema, 1 worker", f"{rows(one):,} rows / {one['cpu_s']:.1f} CPU s", f"{whole:,.0f} rows/CPU-s"],
        [
            "non-person tables (orders, order items, products, categories): the fixed-mean run less the "
            "customers-only run",
            f"{non_person_rows:,} rows / {non_person_cpu:.1f} CPU s",
            f"{non_person_rows / non_person_cpu:,.0f} rows/CPU-s" if non_person_cpu > 0 else "-",
        ],
        [
            "customers (population-backed) alone, with products and categories",
            f"{rows(cust):,} rows / {cust['cpu_s']:.1f} CPU s",
            f"{rows(cust) / cust['cpu_s']:,.0f} rows/CPU-s",
        ],
        [
            "fanout over income instead of a fixed mean (the plan makes the customers once more)",
            f"{one['cpu_s'] - const['cpu_s']:+.1f} CPU s",
            f"{(one['cpu_s'] - const['cpu_s']) / one['cpu_s']:.0%} of the run",
        ],
        [
            "plan alone (serial, before any worker starts)",
            f"{plan['cpu_s']:.1f} CPU s, {plan['seconds']:.1f} s wall",
            f"{serial:.0%} of the 1-worker CPU",
        ],
        [
            "2 workers ÷ 1 worker",
            f"{one['seconds']:.1f} s ÷ {two['seconds']:.1f} s wall",
            f"{wall_ratio:.2f}× (CPU {two['cpu_s'] / one['cpu_s']:.2f}× of the 1-worker run)",
        ],
        [
            "best 2 ÷ 1 workers on two idle cores: 1-worker CPU ÷ (plan + the 2-worker run's other CPU / 2)",
            f"{one['cpu_s']:.1f} ÷ ({plan['cpu_s']:.1f} + {two['cpu_s'] - plan['cpu_s']:.1f} / 2)",
            f"{best:.2f}×",
        ],
        [
            "the backend's memory limit (all processes together, `MEMORY_LIMIT` in `backends/local.py`)",
            f"{MEMORY_LIMIT / MiB:,.0f} MiB; 2-worker peak {two['peak_rss'] / MiB:,.0f} MiB "
            f"(main process {two['root_rss'] / MiB:,.0f}, largest worker {two['child_rss'] / MiB:,.0f})",
            "over it: no new task while one is in flight" if throttled else "below it: tasks are not held back",
        ],
    ]
    targets = [
        check("plain schema, CSV, 1 worker (rows/CPU-s)", plain["csv"], 1_000_000, "", fmt=",.0f"),
        check(f"shop, 2 ÷ 1 workers wall, {n:,} customers", wall_ratio, 1.7),
        check(f"shop peak RSS, 2 workers, {big:,} ÷ {n:,} customers", rss_ratio, 1.2, "", higher=False),
        check(f"shop peak RSS, 2 workers, {n:,} customers", two["peak_rss"] / MiB, 1536, " MiB", False, ",.0f"),
        check(f"shop peak RSS, 2 workers, {big:,} customers", large["peak_rss"] / MiB, 1536, " MiB", False, ",.0f"),
    ]
    peer_rows = []
    if peers:
        for who, goal in (("snowfakery", 50.0), ("mimesis", None)):
            theirs = rows(runs[who]) / runs[who]["cpu_s"]
            same = rows(runs[f"{who}-ours"]) / runs[f"{who}-ours"]["cpu_s"]
            peer_rows.append(
                [
                    runs[who]["label"],
                    f"{theirs:,.0f}",
                    f"{same:,.0f} ({same / theirs:,.1f}×)",
                    f"{whole:,.0f} ({whole / theirs:,.1f}×)",
                ]
            )
            if goal:
                targets.insert(
                    1, check(f"shop per core, pii_gen {n:,} customers ÷ Snowfakery", whole / theirs, goal, fmt=",.1f")
                )

    missed = {row[0] for row in targets if row[3] == "MISS"}
    why = why_lines(missed, locals())
    machine = md_table(["", ""], [[k, v] for k, v in {**machine_info(), **versions()}.items()])
    tables_of = md_table(
        ["run", *one["tables"]],
        [
            [r["label"], *(f"{r['tables'].get(t, 0):,}" for t in one["tables"])]
            for r in runs.values()
            if r["tables"] and "orders" in r["tables"]
        ],
    )
    report = [
        "# pii_gen schema-file engine: throughput, memory and peers",
        "",
        f"Date: {date}  ",
        f"Commit: `{head}`  ",
        f"Whole benchmark: {elapsed / 60:.1f} min",
        "",
        "## Reproduce",
        "",
        "```sh",
        "pip install -r benchmarks/requirements.txt   # Snowfakery, Mimesis, pyinstrument (benchmark only)",
        command,
        "```",
        "",
        "## How it measures",
        "",
        "Every run is one subprocess writing CSV (Parquet where it says so) into a scratch folder, deleted after "
        "measuring. *CPU s* is user + system time of the whole process tree (the main process and its "
        'workers); *rows/CPU-s* (rows per CPU second, "per core") depends much less on what else runs on this '
        "shared 2-core machine than the wall clock, so the per-core figures and ratios use it; wall times "
        "and the worker ratio do depend on it (see the load averages). Peak RSS is the sum over the tree, "
        f"sampled every 0.05 s. Rows are every table's rows (pii_gen's manifest; the peers' CSV files). The "
        f"{args.customers:,}-customer cases run {args.repeat} times, interleaved: the median is shown with every "
        "run in brackets, and the highest peak RSS.",
        "",
        f"The shop is `examples/shop.yaml` with `population.size` set to the customers wanted, written to a "
        f"scratch copy: `--scale` would multiply the 500 products too, which the customers-only and "
        f"non-person comparisons need fixed. The plain case is "
        f"`benchmarks/schema_plain.yaml` at `--scale {args.plain_scale:g}` (its stores scale too). The "
        "non-person tables are measured by difference: the shop with the orders' Poisson mean fixed at the "
        "measured orders per customer (same rows, no per-parent expression) less the shop without orders "
        "and order items.",
        "",
        "## Runs",
        "",
        md_table(RUN_HEADERS, [run_cells(r) for r in runs.values()]),
        "",
        "Rows per table:",
        "",
        tables_of,
        "",
        "## Derived figures",
        "",
        md_table(["figure", "from", "value"], derived),
        "",
    ]
    if peers:
        report += [
            "## Peers (rows per CPU second, one process, CSV)",
            "",
            md_table(
                [
                    "peer run",
                    "peer rows/CPU-s",
                    "pii_gen at the same size, 1 worker",
                    f"pii_gen at {n:,} customers, 1 worker",
                ],
                peer_rows,
            ),
            "",
            "pii_gen's fixed start-up (reading the population's reference data, in the plan and again in the "
            "run) weighs on the small runs; the target compares the rate at full size.",
            "",
            "The recipes, translated as closely as each tool allows (`benchmarks/shop_snowfakery.yml`, "
            "`benchmarks/schema_peers.py`): same five tables and columns, 500 products priced uniformly "
            "±52% around their category's level, Poisson orders with mean 0.8 + income / 50,000 (at most 20), "
            "1-5 uniform items, Poisson(1.5) quantities clamped to 1-10, the same status, shipping and "
            "hour weights and the November/December fee factor. Where they differ:",
            "",
            "* Customers: neither peer has the population, so names, e-mail, city and state are the tools' "
            "own fakes (not one coherent person: the e-mail does not follow the name), and income is drawn "
            "like the population's (23% missing, 5% zero, else lognormal μ 10.55, σ 0.92, fitted to pii_gen's "
            "output), so the orders per customer match (about 1.56).",
            "* Snowfakery: `random_reference` picks products uniformly (it has no weights), not Zipf(1.1); "
            "order times are a uniform day of 2024 with the hour weights (no weekday weights) and are not "
            "sorted within the customer; Poisson and lognormal come from its StatisticalDistributions "
            "plugin. It adds its own `id` column to every table.",
            "* Mimesis: weekday and hour weights, sorted times and Zipf products are exact (Python's "
            "`random.choices`); Poisson is Knuth's product of uniforms (Python's `random` has none).",
            "",
        ]
    report += [
        "## Targets",
        "",
        md_table(["check", "value", "target", "status", "missed by"], targets),
        "",
        *(["## Why the misses", "", *why, ""] if why else []),
        "## Where pii_gen's time goes",
        "",
        "Serial in-process runs (`generate_schema(workers=1)`) under pyinstrument, shares of the run's time.",
        "",
    ]
    for p in profiles:
        report += [f"### {p['label']} ({p['seconds']:.1f} s profiled)", "", stage_table(p), "", hot_table(p), ""]
    report += [
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
    emit("\n" + md_table(["check", "value", "target", "status", "missed by"], targets))
    emit(f"\nwrote {args.results} ({elapsed / 60:.1f} min)")


if __name__ == "__main__":
    main()
