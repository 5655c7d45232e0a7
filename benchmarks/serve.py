#!/usr/bin/env python3
"""Load on the job server (``pii_gen serve``) while it runs a 1M-person job; write RESULTS-serve.md.

One server process on loopback (its job in a worker process of its own, two generation workers under it).
While the job runs: 20 clients poll ``GET /jobs/{id}`` (each every 50 ms, one connection each) and 5 clients
follow ``GET /jobs/{id}/events`` (Server-Sent Events); one of the five drops its connection after its fifth
event and reconnects with ``Last-Event-ID``.  Job creation is timed on the big job and on 20 more small jobs
posted while it runs (they wait in the queue and are cancelled).  Figures: status latency percentiles, creation
times, events each listener got against the job's events (none lost, none twice), and the job's own time with
and without the load (the same job run again alone, in the same run).

Run from the repository root:  python3 benchmarks/serve.py [--people 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from packs import REPORT, emit  # noqa: E402
from run import load, machine_info, md_table  # noqa: E402

POLLERS, LISTENERS, EXTRA_JOBS = 20, 5, 20
POLL_EVERY = 0.05
FINAL = ("succeeded", "failed", "cancelled", "crashed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    log = open(data.parent / "server.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "pii_gen", "serve", "--port", str(port), "--data", str(data),
                             "--max-jobs", "1"], stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the server did not start: " + (data.parent / "server.log").read_text()[-2000:])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def wait_done(url: str, job_id: str) -> dict:
    with httpx.Client(base_url=url, timeout=30) as c:
        while True:
            job = c.get(f"/jobs/{job_id}").json()
            if job["state"] in ("succeeded", "failed", "cancelled", "crashed"):
                return job
            time.sleep(0.2)


def listen(url: str, job_id: str, got: list[int], drop_after: int | None) -> None:
    """Follow the job's events to their end; with ``drop_after``, drop the connection once after that many
    events and reconnect with Last-Event-ID."""
    last, kind = 0, ""
    while kind not in FINAL:
        headers = {"Last-Event-ID": str(last)} if last else {}
        with httpx.Client(base_url=url, timeout=None) as c, c.stream("GET", f"/jobs/{job_id}/events",
                                                                      headers=headers) as response:
            for line in response.iter_lines():
                if line.startswith("id: "):
                    last = int(line[4:])
                    got.append(last)
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line == "" and drop_after is not None and len(got) >= drop_after:
                    drop_after = None
                    break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS-serve.md")
    args = parser.parse_args()
    info = machine_info()
    emit("# pii_gen serve: status and events under load during a job")
    emit()
    emit(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {info['CPU']}, {info['Cores']} cores, "
         f"{info['Memory']}; Python {info['Python']}, pii_gen {info['pii_gen']}; load average {load()} at the start.")
    emit()
    emit(f"```sh\npython3 benchmarks/serve.py --people {args.people}\n```")
    emit()
    body = {"count": args.people, "format": "csv", "workers": 2, "seed": 1, "validate": False}
    with tempfile.TemporaryDirectory(prefix="pii_gen-serve-") as tmp:
        server, url = start_server(Path(tmp) / "data")
        try:
            with httpx.Client(base_url=url, timeout=30) as c:
                # alone: the same job with nobody asking
                alone = wait_done(url, c.post("/jobs", json=body).json()["id"])
                started = time.perf_counter()
                created = c.post("/jobs", json=body)
                creations = [time.perf_counter() - started]
                job_id = created.json()["id"]
            latencies: list[float] = []
            errors: list[str] = []
            stop = threading.Event()

            def poll() -> None:
                with httpx.Client(base_url=url, timeout=30) as client:
                    while not stop.is_set():
                        t0 = time.perf_counter()
                        r = client.get(f"/jobs/{job_id}")
                        latencies.append(time.perf_counter() - t0)
                        if r.status_code != 200:
                            errors.append(str(r.status_code))
                        if r.json()["state"] in ("succeeded", "failed", "cancelled", "crashed"):
                            return
                        time.sleep(POLL_EVERY)

            received: list[list[int]] = [[] for _ in range(LISTENERS)]
            threads = [threading.Thread(target=poll) for _ in range(POLLERS)]
            threads += [threading.Thread(target=listen, args=(url, job_id, received[i], 5 if i == 0 else None))
                        for i in range(LISTENERS)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            queued = []
            with httpx.Client(base_url=url, timeout=30) as c:
                for _ in range(EXTRA_JOBS):
                    t0 = time.perf_counter()
                    r = c.post("/jobs", json={"count": 1000, "validate": False})
                    creations.append(time.perf_counter() - t0)
                    queued.append(r.json()["id"])
                for q in queued:
                    c.post(f"/jobs/{q}/cancel")
            for t in threads:
                t.join()
            stop.set()
            loaded = wait_done(url, job_id)
            with httpx.Client(base_url=url, timeout=30) as c:
                total_events = c.get(f"/jobs/{job_id}").json()["events"]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    expected = list(range(1, total_events + 1))
    lost = [len(set(expected) - set(r)) for r in received]
    doubled = [len(r) - len(set(r)) for r in received]
    ms = [x * 1000 for x in latencies]
    rows = [
        ["status polls", f"{len(ms):,}", f"{percentile(ms, 50):.1f}", f"{percentile(ms, 95):.1f}",
         f"{percentile(ms, 99):.1f}", f"{max(ms):.1f}", "< 50 (p95)"],
        ["job creation", f"{len(creations)}", f"{percentile([x * 1000 for x in creations], 50):.1f}",
         f"{percentile([x * 1000 for x in creations], 95):.1f}", f"{percentile([x * 1000 for x in creations], 99):.1f}",
         f"{max(creations) * 1000:.1f}", "< 100 (each)"],
    ]
    emit(md_table(["request", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "target"], rows))
    emit()
    emit(md_table(["listener", "events received", "job's events", "lost", "twice", "reconnected"],
                  [[i + 1, len(r), total_events, lost[i], doubled[i], "yes (Last-Event-ID)" if i == 0 else "no"]
                   for i, r in enumerate(received)]))
    emit()
    seconds = lambda job: job["finished"] - job["started"]  # noqa: E731
    emit(md_table(["job", "state", "people", "rows", "seconds (worker start to end)"],
                  [["alone", alone["state"], f"{args.people:,}", f"{sum(alone['result']['rows'].values()):,}",
                    f"{seconds(alone):.1f}"],
                   ["under the load above", loaded["state"], f"{args.people:,}",
                    f"{sum(loaded['result']['rows'].values()):,}", f"{seconds(loaded):.1f}"]]))
    emit()
    emit(f"Status errors: {len(errors)}. Targets: status p95 {'met' if percentile(ms, 95) < 50 else 'MISSED'}, "
         f"creation {'met' if max(creations) < 0.1 else 'MISSED'}, events {'none lost' if not any(lost) else 'LOST'}.")
    args.out.write_text("\n".join(REPORT) + "\n", encoding="utf-8")
    print(json.dumps({"p95_ms": percentile(ms, 95), "creation_max_ms": max(creations) * 1000, "lost": lost}))


if __name__ == "__main__":
    main()
