"""Stream benchmark: the highest sustained rate per destination, and rate accuracy at paced rates.

    python3 benchmarks/stream.py                              # stdout -> /dev/null and a file, 200,000 people
    python3 benchmarks/stream.py --accuracy 60 --rates 500    # 60 s at 500/s: total and one-second windows
    python3 benchmarks/stream.py --db postgresql://postgres@127.0.0.1:5432/test --http \\
        --redis redis://127.0.0.1:6379/0 --nats nats://127.0.0.1:4222

The highest sustained rate is ``--rate 0 --count N`` (as fast as the destination takes people) as the
stream's own summary reports it: from the first person on, start-up (loading the reference data,
generating the first block) left out.  Accuracy runs read the stream's stdout through a pipe and
count people per one-second window of arrival time.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"sent ([\d,]+), failed ([\d,]+), elapsed ([\d.]+) s, achieved rate ([\d,.]+)/s")


def stream(*args: str, stdout: object = subprocess.DEVNULL) -> tuple[int, float, float]:
    """Run ``pii_gen stream``; (sent, elapsed s, achieved rate) from its summary."""
    r = subprocess.run([sys.executable, str(ROOT / "pii_gen.py"), "stream", *args], stdout=stdout,
                       stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
    found = SUMMARY.search(r.stderr)
    if r.returncode != 0 or not found:
        raise SystemExit(f"stream {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return int(found.group(1).replace(",", "")), float(found.group(3)), float(found.group(4).replace(",", ""))


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def highest_rates(args: argparse.Namespace) -> list[tuple[str, int, float, float]]:
    n = str(args.count)
    rows = []
    sent, secs, rate = stream("--rate", "0", "--count", n, "--seed", "1")
    rows.append(("stdout -> /dev/null", sent, secs, rate))
    with tempfile.TemporaryDirectory() as tmp:
        sent, secs, rate = stream("--rate", "0", "--count", n, "--seed", "1", "--to", str(Path(tmp) / "p.jsonl"))
        rows.append(("file (JSON Lines)", sent, secs, rate))
        sent, secs, rate = stream("--rate", "0", "--count", n, "--seed", "1", "--format", "csv", "--to",
                                  str(Path(tmp) / "p.csv"))  # fmt: skip
        rows.append(("file (CSV, persons)", sent, secs, rate))
    small = str(max(1, args.count // 4))
    if args.db:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        sent, secs, rate = stream("--rate", "0", "--count", small, "--seed", "1", "--to", args.db,
                                  "--db-schema", schema)
        rows.append((f"database ({args.db.split(':')[0]}, COPY, commit per 1000)", sent, secs, rate))
        sys.path.insert(0, str(ROOT / "src"))
        from pii_gen.db.loaders import connect
        from pii_gen.db.url import parse

        conn = connect(parse(args.db), schema)
        conn.execute(f"DROP SCHEMA IF EXISTS {conn.dialect.q(schema)} CASCADE")
        conn.commit()
        conn.close()
    if args.http:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/people"
        sent, secs, rate = stream("--rate", "0", "--count", small, "--seed", "1", "--to", url)
        server.shutdown()
        rows.append(("HTTP (local http.server, 1000/POST)", sent, secs, rate))
    if args.redis:
        key = f"pii_gen:bench:{uuid.uuid4().hex[:8]}"
        sent, secs, rate = stream("--rate", "0", "--count", small, "--seed", "1", "--to", f"{args.redis}?stream={key}")
        rows.append(("Redis stream (XADD, pipelined)", sent, secs, rate))
        import redis

        redis.Redis.from_url(args.redis).delete(key)
    if args.nats:
        sent, secs, rate = stream("--rate", "0", "--count", small, "--seed", "1", "--to", f"{args.nats}/pii_gen.bench")
        rows.append(("NATS subject (core publish)", sent, secs, rate))
    return rows


def accuracy(rate: float, seconds: float) -> dict[str, float]:
    """Run ``seconds`` at ``rate`` to a pipe; the total and the worst one-second window."""
    cmd = [sys.executable, str(ROOT / "pii_gen.py"), "stream", "--rate", str(rate), "--duration", str(seconds), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stamps: list[tuple[float, int]] = []
    assert proc.stdout is not None
    while True:
        data = proc.stdout.read1(1 << 20)
        if not data:
            break
        stamps.append((time.monotonic(), data.count(b"\n")))
    proc.wait()
    t0 = stamps[0][0]
    windows = [0] * int(seconds)
    for t, n in stamps:
        k = int(t - t0)
        if k < len(windows):
            windows[k] += n
    total = sum(n for _, n in stamps)
    worst = max(abs(w - rate) / rate for w in windows)
    return {"rate": rate, "seconds": seconds, "total": total, "expected": rate * seconds,
            "total_error": total / (rate * seconds) - 1, "worst_window": worst,
            "min_window": min(windows), "max_window": max(windows)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=200_000, help="people per highest-rate run")
    p.add_argument("--accuracy", type=float, default=0, help="seconds per accuracy run (0: none)")
    p.add_argument("--rates", default="500", help="comma-separated paced rates for the accuracy runs")
    p.add_argument("--no-max", action="store_true", help="skip the highest-rate runs")
    p.add_argument("--db", help="also a database URL")
    p.add_argument("--http", action="store_true", help="also a local HTTP receiver")
    p.add_argument("--redis", help="also a Redis URL")
    p.add_argument("--nats", help="also a NATS URL")
    args = p.parse_args()
    if not args.no_max:
        print("| destination | people | seconds | people/s |\n|---|---|---|---|")
        for name, sent, secs, rate in highest_rates(args):
            print(f"| {name} | {sent:,} | {secs:.1f} | {rate:,.0f} |", flush=True)
    if args.accuracy:
        print("\n| rate | seconds | total (expected) | total error | one-second windows | worst window |")
        print("|---|---|---|---|---|---|")
        for rate in (float(r) for r in args.rates.split(",")):
            a = accuracy(rate, args.accuracy)
            print(f"| {rate:,.0f}/s | {a['seconds']:.0f} | {a['total']:,} ({a['expected']:,.0f}) | "
                  f"{a['total_error']:+.2%} | {a['min_window']:,}–{a['max_window']:,} | {a['worst_window']:.2%} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
