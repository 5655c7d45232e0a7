"""The Spark backend against the local one, same machine, same run: the population and the shop schema.

Run: python benchmarks/spark.py [--people 1000000] [--shop-scale 200] [--master local[2]] [--workers 2]

Both write Parquet; Spark twice, with Spark's writers (``df.write.parquet``, rows "spark") and with the direct
write (the executors write the parts with pyarrow, rows "direct"), and the population once more as Delta through
the direct write (deltalake commits, no delta-spark).  For each it prints people/s (the population) or rows/s
(all tables), the start-up overhead, peak memory of the whole process tree (the JVM and its Python workers
included) and the CPU seconds the tree spent, sampled with psutil.  The figure that matters is the per-core
cost: CPU seconds per million people on Spark over those of the local backend (target: within 1.5x).  A cluster
of N cores then does about N / cost-per-core of the work per second.  Other processes on the machine compete for the
same cores: wall times move with them, CPU seconds much less.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"


class TreeSampler(threading.Thread):
    """Peak resident memory and CPU seconds of this process and all its descendants, sampled.

    CPU is each process's own user + system time at its last sample (a process that ends between two
    samples loses at most one interval), so a parent's reaped children are not counted twice."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_rss = 0
        self.cpu: dict[tuple[int, float], float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        me = psutil.Process()
        rss = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                with proc.oneshot():
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
                    self.cpu[(proc.pid, proc.create_time())] = times.user + times.system
            except psutil.Error:
                pass
        self.peak_rss = max(self.peak_rss, rss)

    def stop(self) -> TreeSampler:
        self._done.set()
        self.join()
        self.sample()
        return self

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


@dataclass
class Figures:
    engine: str
    what: str
    seconds: float
    people: int
    rows: int
    cpu: float
    peak_rss: int


def measure(engine: str, what: str, run: Callable[[], tuple[int, int]]) -> Figures:
    """Run ``run`` (which returns people and rows) under a fresh sampler."""
    sampler = TreeSampler()
    sampler.sample()
    before = dict(sampler.cpu)  # what the processes alive now (this one, a running JVM) had spent already
    sampler.start()
    started = time.perf_counter()
    people, rows = run()
    seconds = time.perf_counter() - started
    sampler.stop()
    cpu = sum(spent - before.get(key, 0.0) for key, spent in sampler.cpu.items())
    return Figures(engine, what, seconds, people, rows, cpu, sampler.peak_rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--shop-scale", type=float, default=200.0, help="200: a million customers")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, help="Spark partitions (default: four per core)")
    parser.add_argument("--driver-memory", default="2g")
    args = parser.parse_args()

    from pii_gen import api, schema_run
    from pii_gen import spark as pii_spark
    from pii_gen.config import build_config

    scratch = Path(tempfile.mkdtemp(prefix="pii_gen-bench-spark-"))
    figures: list[Figures] = []
    print("load average (1, 5, 15 min) at the start:", " ".join(f"{x:.1f}" for x in os.getloadavg()), flush=True)
    try:
        def local_people() -> tuple[int, int]:
            config = build_config({}, count=args.people, format="parquet", out=scratch / "local-people",
                                  workers=args.workers)
            result = api.write_files(config)
            return result.people, sum(result.rows.values())

        def local_shop() -> tuple[int, int]:
            result = schema_run.generate_schema(SHOP, out=str(scratch / "local-shop"), scale=args.shop_scale,
                                                format="parquet", workers=args.workers)
            return result.rows["customers"], sum(result.rows.values())

        figures.append(measure("local", "population", local_people))
        figures.append(measure("local", "shop", local_shop))

        from pyspark.sql import SparkSession

        def session() -> SparkSession:
            return (SparkSession.builder.master(args.master).appName("pii_gen benchmark")
                    .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                    .config("spark.driver.memory", args.driver_memory).getOrCreate())  # fmt: skip

        state: dict[str, SparkSession] = {}

        def spark_start() -> tuple[int, int]:
            """A session and one block generated and written: the JVM's start and warm-up, the executors'
            Python workers and their reference data (what every run on a fresh cluster pays once)."""
            state["spark"] = spark = session()
            spark.sparkContext.setLogLevel("ERROR")
            result = pii_spark.generate(build_config({}, count=10_000), out=str(scratch / "spark-warm-up"),
                                        spark=spark)
            return result.people, sum(result.rows.values())

        def spark_people(direct: bool, fmt: str = "parquet") -> Callable[[], tuple[int, int]]:
            def run() -> tuple[int, int]:
                result = pii_spark.generate(build_config({}, count=args.people), spark=state["spark"],
                                            out=str(scratch / f"spark-people-{direct}-{fmt}"), format=fmt,
                                            partitions=args.partitions, direct=direct)
                return result.people, sum(result.rows.values())
            return run

        def spark_shop(direct: bool) -> Callable[[], tuple[int, int]]:
            def run() -> tuple[int, int]:
                result = pii_spark.generate(SHOP, out=str(scratch / f"spark-shop-{direct}"), scale=args.shop_scale,
                                            spark=state["spark"], partitions=args.partitions, direct=direct)
                return result.rows["customers"], sum(result.rows.values())
            return run

        warm = measure("spark", "start-up", spark_start)
        figures.append(measure("spark", "population", spark_people(False)))
        figures.append(measure("spark", "shop", spark_shop(False)))
        figures.append(measure("direct", "population", spark_people(True)))
        figures.append(measure("direct", "shop", spark_shop(True)))
        figures.append(measure("direct", "delta", spark_people(True, "delta")))
        state["spark"].stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"{'engine':7} {'run':10} {'seconds':>8} {'people/s':>10} {'rows/s':>10} "
          f"{'CPU s':>7} {'CPU s/M people':>14} {'peak MB':>8}")
    for f in figures:
        print(f"{f.engine:7} {f.what:10} {f.seconds:8.1f} {f.people / f.seconds:10,.0f} "
              f"{f.rows / f.seconds:10,.0f} {f.cpu:7.1f} {f.cpu / f.people * 1e6:14.1f} {f.peak_rss / 2**20:8.0f}")
    print(f"spark start-up (session, JVM warm-up, one block of 10,000 people): {warm.seconds:.1f} s, "
          f"{warm.cpu:.1f} CPU s, peak {warm.peak_rss / 2**20:.0f} MB")
    for engine, what, against in [("spark", "population", "population"), ("spark", "shop", "shop"),
                                  ("direct", "population", "population"), ("direct", "shop", "shop"),
                                  ("direct", "delta", "population")]:
        local = next(f for f in figures if f.engine == "local" and f.what == against)
        spark = next(f for f in figures if f.engine == engine and f.what == what)
        print(f"{engine} {what}: per-core cost Spark/local {spark.cpu / local.cpu:.2f}x by CPU seconds, "
              f"{spark.seconds / local.seconds:.2f}x by wall time on the same cores (start-up left out)")
    print("load average (1, 5, 15 min) at the end:", " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
